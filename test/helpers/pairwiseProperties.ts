/**
 * The property suite of the part-A pairwise families (netrep style), shared by measures16a.properties.test.ts and
 * measures16a.predictivity.test.ts (split so each file stays fast): over 3 seeds × (n > p, n < p), inputs of
 * different widths,
 *   - every invariance the catalogue declares holds (to 1e-8 relative) on either input, and every one it does not
 *     declare breaks (by > 1e-4) on at least one case — so the declaration is exact, not merely safe;
 *   - a transformed copy inside the declared group reaches the self value s(A, copy of A) (0 for a distance, 1 for
 *     unregularised CCA);
 *   - symmetry where declared, and an asymmetric example where not;
 *   - the triangle inequality on every triple of four models for every setting that declares a metric.
 */
import { describe, expect, it } from 'vitest';
import type { Representation } from '../../src/features/types.js';
import { describeMeasure, INVARIANCE_DESCRIPTIONS, standardPairwiseIds, type Invariance } from '../../src/measures/registry.js';
import { crossSimilarity, pairSimilarity, similarityMatrix } from '../../src/measures/similarity.js';
import { transform } from './invariances.js';
import { gaussian, randomRep } from './random.js';

export { transform };

const HOLD = 1e-8;
const BREAK = 1e-4;
const INVARIANCES = Object.keys(INVARIANCE_DESCRIPTIONS) as Invariance[];

// Channel units need conv-shaped inputs (these cases are vectors, where channels = features): matchingChannels.test.ts.
export const PART_A_IDS = [
  ...standardPairwiseIds().filter((id) => !id.includes('units=channels')),
  'procrustes:center=false,scale=false',
  'procrustes:scale=false',
  'procrustes:squared',
  'shape:score=euclidean',
  'shape:alpha=0.5,score=euclidean,center=false',
  'shape:alpha=0,center=false',
  'permutation:score=euclidean',
  'permutation:center=false',
  'softmatch:center=false',
  'cca:stat=mean,ridge=1',
  'svcca:dims=4',
  'svcca:ridge=0.1',
  'pwcca:ridge=0.1',
].filter((id) => ['procrustes', 'shape', 'permutation', 'softmatch', 'cca', 'svcca', 'pwcca', 'predictivity'].includes(id.split(':')[0]));

const SIZES = [
  { n: 30, pa: 8, pb: 6 },
  { n: 12, pa: 24, pb: 10 },
];
const SEEDS = [1, 2, 3];

/** A (n×pa) and B (n×pb, a noisy nonlinear function of A), C (independent), on the same images. */
function makeCase(seed: number, size: { n: number; pa: number; pb: number }) {
  const { n, pa, pb } = size;
  const a = randomRep('A', n, [pa], 1000 + seed);
  const noise = gaussian(2000 + seed);
  const bData = new Float64Array(n * pb);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < pb; j++) bData[i * pb + j] = Math.tanh(a.data[i * pa + j] + 0.4 * a.data[i * pa + ((j + 1) % pa)]) + 0.6 * noise() + 0.05 * j;
  const b: Representation = { label: 'B', n, p: pb, shape: [pb], data: bData, source: 'B' };
  const c = randomRep('C', n, [pb + 1], 3000 + seed);
  return { name: `seed ${seed}, n=${n}, p=${pa}/${pb}`, a, b, c, seed, wide: pa >= n };
}
export const CASES = SIZES.flatMap((size) => SEEDS.map((seed) => makeCase(seed, size)));

/** CCA without a ridge has no value when rank A + rank B > n − 1 (it refuses; tested below). */
export const refuses = (id: string, wide: boolean) => wide && /^(cca|svcca|pwcca)(:|$)/.test(id) && !/ridge=/.test(id) && !/dims=/.test(id);

/** The two property describe blocks for these ids. */
export function pairwisePropertySuite(ids: string[]): void {
  describe('part-A pairwise families: invariances declared exactly', () => {
    for (const id of ids) {
      const info = describeMeasure(id);
      const declared = new Set(info.invariances);
      it(`${id} [${[...declared].join(', ')}]`, async () => {
        const moved = new Map<Invariance, number>(INVARIANCES.map((inv) => [inv, 0]));
        for (const c of CASES) {
          if (refuses(id, c.wide)) continue;
          const transformed = INVARIANCES.map((inv) => ({ ...transform(c.a, inv, c.seed), label: `A:${inv}` }));
          const transformedB = INVARIANCES.map((inv) => ({ ...transform(c.b, inv, c.seed + 100), label: `B:${inv}` }));
          // s(T_k(A), B) and s(A, T_k(B)): both arguments, for the asymmetric families; only these pairs are computed.
          const first = await crossSimilarity([c.a, ...transformed], [c.b], id);
          const second = await crossSimilarity([c.a], transformedB, id);
          const base = first.matrix.data[0];
          expect(Number.isFinite(base), `${id} ${c.name}`).toBe(true);
          INVARIANCES.forEach((inv, k) => {
            for (const [after, side] of [
              [first.matrix.data[k + 1], 'first'],
              [second.matrix.data[k], 'second'],
            ] as const) {
              const diff = Math.abs(after - base);
              if (declared.has(inv)) {
                expect(diff, `${id} ${c.name}: declared ${inv} (${side} input): ${after} vs ${base}`).toBeLessThanOrEqual(HOLD * Math.max(1, Math.abs(base)));
              }
              moved.set(inv, Math.max(moved.get(inv)!, diff));
            }
          });
        }
        for (const inv of INVARIANCES) {
          if (declared.has(inv)) continue;
          expect(moved.get(inv)!, `${id}: ${inv} is not declared, so some case must show it breaking (largest change ${moved.get(inv)})`).toBeGreaterThan(
            BREAK,
          );
        }
      });
    }
  });

  describe('self value, symmetry, metric', () => {
    for (const id of ids) {
      const info = describeMeasure(id);
      const family = id.split(':')[0];
      it(`${id}: transformed copies reach the self value; symmetric ${info.symmetric}; metric ${info.metric}`, async () => {
        for (const c of CASES) {
          if (refuses(id, c.wide)) continue;
          // Identity that computes: a transformed copy (never the same object) inside the declared group.
          // s(A, copy of A) computes the self value (no shortcut: a different object); it is 0 for the distances, 1 for
          // unregularised CCA, data-dependent for a ridge or a cross-validated R².
          const self = await pairSimilarity(c.a, { ...c.a, data: Float64Array.from(c.a.data), label: 'A copy' }, id);
          if (!info.largerIsMoreSimilar) expect(self, `${id} ${c.name}: d(A, A copy)`).toBeLessThanOrEqual(1e-6);
          else if (family !== 'predictivity' && !/ridge=/.test(id)) expect(Math.abs(self - 1), `${id} ${c.name}: s(A, A copy)`).toBeLessThanOrEqual(1e-9);
          else expect(self, `${id} ${c.name}: s(A, A copy)`).toBeLessThan(1);
          for (const inv of info.invariances) {
            const v = await pairSimilarity(c.a, transform(c.a, inv, c.seed), id);
            expect(Math.abs(v - self), `${id} ${c.name}: s(A, ${inv}(A)) = ${v} vs ${self}`).toBeLessThanOrEqual(1e-6);
          }
          const ab = await pairSimilarity(c.a, c.b, id);
          const ba = await pairSimilarity(c.b, c.a, id);
          if (info.symmetric) expect(Math.abs(ab - ba), `${id} ${c.name}: symmetry`).toBeLessThanOrEqual(1e-10 * Math.max(1, Math.abs(ab)));
          if (info.metric) {
            const m = await similarityMatrix([c.a, c.b, c.c, transform(c.b, 'translation', c.seed + 5)], id);
            const d = (i: number, j: number) => m.matrix.data[i * 4 + j];
            for (let i = 0; i < 4; i++)
              for (let j = 0; j < 4; j++)
                for (let k = 0; k < 4; k++) expect(d(i, k), `${id} ${c.name}: triangle ${i}-${j}-${k}`).toBeLessThanOrEqual(d(i, j) + d(j, k) + 1e-9);
          }
        }
        if (!info.symmetric) {
          const c = CASES[0];
          expect(Math.abs((await pairSimilarity(c.a, c.b, id)) - (await pairSimilarity(c.b, c.a, id)))).toBeGreaterThan(1e-3);
        }
      });
    }
  });
}
