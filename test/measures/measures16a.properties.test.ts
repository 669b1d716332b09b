/**
 * netrep-style property tests of the part-A pairwise families except linear predictivity (which has its own file,
 * measures16a.predictivity.test.ts, to keep both fast): the shared suite of test/helpers/pairwiseProperties.ts
 * (declared invariances hold on either input and undeclared ones break, over 3 seeds × (n > p, n < p); self value
 * by transformed copies; symmetry; the triangle inequality where a metric is declared), plus the metric flag of d²,
 * CCA's refusal of n < p without a ridge, shape at α = 0 with n ≤ p, and the transport solver against brute force.
 */
import { describe, expect, it } from 'vitest';
import type { Representation } from '../../src/features/types.js';
import { describeMeasure } from '../../src/measures/registry.js';
import { pairSimilarity } from '../../src/measures/similarity.js';
import { maxAssignment, transport } from '../../src/measures/transport.js';
import { CASES, PART_A_IDS, pairwisePropertySuite } from '../helpers/pairwiseProperties.js';
import { randomRep, rng } from '../helpers/random.js';

const IDS = PART_A_IDS.filter((id) => !id.startsWith('predictivity'));

describe('coverage', () => {
  it('the suite covers every part-A family (predictivity in its own file)', () => {
    const fams = new Set(PART_A_IDS.map((id) => id.split(':')[0]));
    expect([...fams].sort()).toEqual(['cca', 'permutation', 'predictivity', 'procrustes', 'pwcca', 'shape', 'softmatch', 'svcca']);
  });
});

pairwisePropertySuite(IDS);

describe('metric flag, refusals, n ≤ p', () => {
  it('procrustes:squared is no metric, and the flag says so: d² breaks the triangle inequality on collinear points', async () => {
    expect(describeMeasure('procrustes:squared').metric).toBe(false);
    // Three one-feature models on three images: x, x + εu, x + 2εu after centring and scaling lie on a great circle.
    const mk = (label: string, v: number[]): Representation => ({ label, n: 3, p: 2, shape: [2], data: Float64Array.from(v), source: label });
    const a = mk('a', [1, 0, 0, 1, -1, -1]);
    const b = mk('b', [1, 0.3, 0, 1, -1, -1.3]);
    const c = mk('c', [1, 0.6, 0, 1, -1, -1.6]);
    const id = 'procrustes:squared,center=false,scale=false';
    const [ab, bc, ac] = [await pairSimilarity(a, b, id), await pairSimilarity(b, c, id), await pairSimilarity(a, c, id)];
    expect(ac).toBeGreaterThan(ab + bc);
  });
  it('CCA without a ridge refuses n < p; every ridge or a fixed SVCCA cut computes', async () => {
    const c = CASES[3];
    for (const id of ['cca', 'svcca', 'pwcca']) await expect(pairSimilarity(c.a, c.b, id)).rejects.toThrow(/whatever the data/);
    for (const id of ['cca:ridge=0.1', 'svcca:ridge=0.1', 'pwcca:ridge=0.1', 'svcca:dims=4']) {
      const v = await pairSimilarity(c.a, c.b, id);
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThan(1);
    }
  });
  it('shape at α = 0 with n ≤ p: both models span every centred direction, so the distance is 0 (documented)', async () => {
    const c = CASES[3];
    expect(await pairSimilarity(c.a, randomRep('Z', 12, [15], 77), 'shape:alpha=0')).toBeLessThan(1e-6);
    expect(await pairSimilarity(c.a, randomRep('Z', 12, [15], 77), 'shape:alpha=0.5')).toBeGreaterThan(0.1);
  });
});

describe('transport solver', () => {
  function permutations(n: number): number[][] {
    if (n === 1) return [[0]];
    return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, k) => [...p.slice(0, k), n - 1, ...p.slice(k)]));
  }
  it('the assignment equals brute force over every permutation (6×6 and rectangular 4×6 / 6×4, 4 seeds, with ties)', () => {
    for (const seed of [1, 2, 3, 4]) {
      const u = rng(seed);
      const n = 6;
      // Rounded profits make ties common.
      const profit = Float64Array.from({ length: n * n }, () => Math.round(u() * 8) - 3);
      let best = -Infinity;
      for (const p of permutations(n))
        best = Math.max(
          best,
          p.reduce((s, j, i) => s + profit[i * n + j], 0),
        );
      expect(maxAssignment(profit, n, n)).toBe(best);
      // Rectangular: the first 4 rows into 6 columns, and its transpose, equal the zero-padded square problem.
      const rect = profit.slice(0, 4 * n);
      const padded = Float64Array.from({ length: n * n }, (_, k) => (k < 4 * n ? profit[k] : 0));
      let bestPadded = -Infinity;
      for (const p of permutations(n))
        bestPadded = Math.max(
          bestPadded,
          p.reduce((s, j, i) => s + padded[i * n + j], 0),
        );
      expect(maxAssignment(rect, 4, n)).toBe(bestPadded);
      const rectT = Float64Array.from({ length: 4 * n }, (_, k) => rect[(k % 4) * n + Math.floor(k / 4)]);
      expect(maxAssignment(rectT, n, 4)).toBe(bestPadded);
    }
  });
  it('uneven masses: equals the assignment over copies of each row and column, and keeps the marginals', () => {
    for (const seed of [5, 6, 7]) {
      const u = rng(seed);
      const [r, c] = [2, 3];
      const cost = Float64Array.from({ length: r * c }, () => u());
      const plan = transport(cost, r, c, [3, 3], [2, 2, 2]);
      // Copies: row i three times, column j twice → a 6×6 assignment.
      const big = new Float64Array(36);
      for (let a = 0; a < 6; a++) for (let b = 0; b < 6; b++) big[a * 6 + b] = -cost[Math.floor(a / 3) * c + Math.floor(b / 2)];
      expect(plan.cost).toBeCloseTo(-maxAssignment(big, 6, 6), 12);
      const rows = [0, 0];
      const cols = [0, 0, 0];
      for (const [i, j, f] of plan.flows) {
        rows[i] += f;
        cols[j] += f;
      }
      expect([rows, cols]).toEqual([
        [3, 3],
        [2, 2, 2],
      ]);
    }
  });
  it('refuses bad masses and non-finite costs by name', () => {
    expect(() => transport(new Float64Array(4), 2, 2, [1, 1.5], [1, 1])).toThrow('transport: supply 1 is 1.5, not a positive integer');
    expect(() => transport(new Float64Array(4), 2, 2, [2, 1], [1, 1])).toThrow('transport: total supply 3 exceeds total demand 2');
    expect(() => transport(Float64Array.of(0, Number.NaN, 0, 0), 2, 2, [1, 1], [1, 1])).toThrow('transport: cost (0, 1) is NaN');
  });
});
