/**
 * Bootstrap subsets from the full matrices (measures/subsets.ts, issue 15): for every measure whose subset matrix
 * follows from the full set's, the prepared form equals the one recomputed from the subset's features to 1e-12,
 * and rankSources gives the same draw scores with and without recomputing (RankOptions.recomputeDraws).
 * Measures whose subsets do not follow (z-scoring, batch_norm, Euclidean RDMs) are not served.
 */
import { describe, expect, it } from 'vitest';
import type { Representation } from '../../src/features/types.js';
import { getGemmEngine } from '../../src/linalg/gemm.js';
import { loadLapack } from '../../src/linalg/lapack.js';
import { sampleWithoutReplacement } from '../../src/linalg/resample.js';
import type { Prepared } from '../../src/measures/compare.js';
import { parseMeasure, pipelineOf } from '../../src/measures/registry.js';
import { prepareRepresentation } from '../../src/measures/similarity.js';
import { prepareDraws, startDrawWorkers } from '../../src/measures/subsetDraws.js';
import { slicesSubsets, subsetPreparer } from '../../src/measures/subsets.js';
import { rankSources, subsetImages } from '../../src/taxonomy/rank.js';
import { gaussian, rng } from '../helpers/random.js';

/** Features with per-feature offsets and scales, and per-image offsets: centring and row means matter. */
function features(label: string, n: number, shape: number[], seed: number): Representation {
  const p = shape.reduce((a, b) => a * b, 1);
  const g = gaussian(seed);
  const featureOffset = Array.from({ length: p }, () => 3 * g());
  const featureScale = Array.from({ length: p }, () => 0.5 + Math.abs(g()));
  const data = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    const imageOffset = 0.5 * g();
    for (let j = 0; j < p; j++) data[i * p + j] = featureOffset[j] + imageOffset + featureScale[j] * g();
  }
  return { label, n, p, shape, data, source: label };
}

function vectorOf(p: Prepared): Float64Array {
  if (p.kind === 'unit') return p.vector;
  return p.triangle;
}

function maxDiff(a: Float64Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

const SLICED = [
  'rsa',
  'rsa:rdm=cosine',
  'rsa:compare=pearson',
  'rsa:compare=kendall',
  'dds:norm=centering,kernel=linear',
  'dds:norm=centering,kernel=cosine',
  'dds:norm=centering,kernel=pearson',
  'dds:norm=centering,kernel=rbf',
  'dds:norm=centering,kernel=lap',
  'dds:norm=none,kernel=pearson',
  'dds:norm=none,kernel=cosine,compare=spearman',
  'dds:norm=layer_norm,kernel=cosine',
  'dds:norm=instance_norm,kernel=linear,centering=biased',
  'dds:norm=group_norm,kernel=rbf',
  'cka',
  'cka:debiased',
  'cka:kernel=rbf',
  'cka:kernel=rbf,debiased',
];

const RECOMPUTED = [
  'dds:norm=znorm,kernel=cosine',
  'dds:norm=batch_norm,kernel=linear',
  'rsa:rdm=euclidean',
  'rsa:rdm=sqeuclidean',
  'dds:norm=none,kernel=euclidean',
];

describe('subset preparers', () => {
  for (const id of SLICED) {
    it(`${id}: the prepared form of a subset equals the recomputation from its features (1e-12; 3 seeds, N < D and N > D)`, async () => {
      const engine = await getGemmEngine();
      const pipeline = pipelineOf(parseMeasure(id));
      expect(slicesSubsets(pipeline)).toBe(true);
      for (const seed of [1, 2, 3]) {
        // 2×2×4 = 16 and 4×4×4 = 64 features per image (instance/group norms read the shape): fewer and more than the images.
        for (const [n, shape] of [
          [40, [2, 2, 4]],
          [18, [4, 4, 4]],
        ] as const) {
          const rep = features(`m${seed}`, n, [...shape], seed);
          const prep = await subsetPreparer(rep, pipeline, { engine });
          expect(prep).toBeDefined();
          const random = rng(100 + seed);
          for (const s of [Math.floor(n / 2), n - 3]) {
            const idx = sampleWithoutReplacement(n, s, random);
            const fast = prep!.prepare(idx);
            expect(fast).toBeDefined();
            const slow = await prepareRepresentation(subsetImages(rep, idx), pipeline, { engine });
            expect(fast!.kind).toBe(slow.kind);
            expect(maxDiff(vectorOf(fast!), vectorOf(slow))).toBeLessThan(1e-12);
          }
        }
      }
    });
  }

  it('is not offered where a subset needs its own feature statistics or exact-tie distances', () => {
    for (const id of RECOMPUTED) expect(slicesSubsets(pipelineOf(parseMeasure(id))), id).toBe(false);
  });

  it('hands a degenerate subset back to the recomputation (an image with constant features under correlation)', async () => {
    const rep = features('c', 20, [6], 4);
    for (let j = 0; j < 6; j++) rep.data[5 * 6 + j] = 2.5; // image 5 is constant
    const prep = await subsetPreparer(rep, pipelineOf(parseMeasure('dds:norm=none,kernel=pearson')));
    const idx = Uint32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(prep!.prepare(idx)).toBeUndefined();
    await expect(prepareRepresentation(subsetImages(rep, idx), pipelineOf(parseMeasure('dds:norm=none,kernel=pearson')))).rejects.toThrow(
      /image 5 has constant features/,
    );
    // Subsets without that image are served.
    expect(prep!.prepare(Uint32Array.from([0, 1, 2, 3, 4, 6, 7, 8, 9, 10]))).toBeDefined();
  });
});

describe('draws on worker threads', () => {
  // rsa and cka: vectors written into shared slots (cka's through the comparator's copy); kendall: triangles posted back.
  it.each(['rsa', 'cka:debiased', 'rsa:compare=kendall'])(
    '%s: give exactly the prepared forms of this thread, in draw order (2 threads, 5 members × 48 draws)',
    async (id) => {
      const pipeline = pipelineOf(parseMeasure(id));
      const reps = Array.from({ length: 5 }, (_, k) => features(`w${k}`, 30, [2, 2, 4], 20 + k));
      const preparers = await Promise.all(reps.map((r) => subsetPreparer(r, pipeline)));
      const random = rng(5);
      const subsets = Array.from({ length: 48 }, () => sampleWithoutReplacement(30, 14, random));
      // Two OpenBLAS threads before, so that holding it to one while the workers run is visible (where it is built).
      const blas = loadLapack();
      const blasBefore = blas?.threads();
      blas?.threads(2);
      const threaded = prepareDraws(
        preparers.map((p) => p!),
        subsets,
        2,
      );
      try {
        // Wait for the worker's first draw: otherwise this thread may claim every draw before the worker is up.
        expect(await threaded.workerReady()).toBe(true);
        if (blas) expect(blas.threads(), 'one BLAS thread on this thread while workers prepare draws').toBe(1);
        for (let d = 0; d < subsets.length; d++) {
          const got = await threaded.draw(d);
          const here = preparers.map((p) => p!.prepare(subsets[d]));
          expect(got.map((x) => Array.from(vectorOf(x!)))).toEqual(here.map((x) => Array.from(vectorOf(x!))));
        }
        // The worker took a share of the draws (claimed as threads come free, so the share varies).
        expect(threaded.fromWorkers).toBeGreaterThan(0);
        expect(threaded.fromWorkers).toBeLessThanOrEqual(48);
        await threaded.close();
        if (blas) expect(blas.threads(), 'close() restores the BLAS thread count').toBe(2);
      } finally {
        await threaded.close();
        if (blasBefore !== undefined) blas?.threads(blasBefore);
      }
    },
    30_000,
  );

  it('a worker that dies midway leaves its undelivered draws to this thread, with the same results; draws are asked in order', async () => {
    const pipeline = pipelineOf(parseMeasure('rsa'));
    const reps = Array.from({ length: 5 }, (_, k) => features(`x${k}`, 30, [2, 2, 4], 40 + k));
    const preparers = (await Promise.all(reps.map((r) => subsetPreparer(r, pipeline)))).map((p) => p!);
    const random = rng(9);
    const subsets = Array.from({ length: 60 }, () => sampleWithoutReplacement(30, 14, random));
    const started = startDrawWorkers(2);
    expect(started).toHaveLength(1);
    const threaded = prepareDraws(preparers, subsets, 2, started);
    try {
      expect(await threaded.workerReady()).toBe(true);
      await expect(threaded.draw(1)).rejects.toThrow(/in order: asked for draw 1 after -1/);
      for (let d = 0; d < subsets.length; d++) {
        if (d === 3) await started[0].terminate();
        const got = await threaded.draw(d);
        const here = preparers.map((p) => p.prepare(subsets[d]));
        expect(
          got.map((x) => Array.from(vectorOf(x!))),
          `draw ${d}`,
        ).toEqual(here.map((x) => Array.from(vectorOf(x!))));
      }
      expect(threaded.fromWorkers).toBeGreaterThan(0);
      expect(threaded.fromWorkers).toBeLessThan(60);
    } finally {
      await threaded.close();
    }
  }, 30_000);
});

describe('rank bootstrap on two threads (TASKMAP_THREADS=2: workers started before the full matrices)', () => {
  it('gives the same draw scores, bit for bit, as one thread', async () => {
    const candidates = Array.from({ length: 6 }, (_, k) => features(`t${k}`, 40, [2, 2, 3], 60 + k));
    const opts = { measure: 'rsa', bootstrap: 48, subset: 24, seed: 3, keepDraws: true };
    const before = process.env.TASKMAP_THREADS;
    try {
      process.env.TASKMAP_THREADS = '1';
      const one = await rankSources(candidates, { kind: 'member', label: 't0' }, opts);
      process.env.TASKMAP_THREADS = '2';
      const two = await rankSources(candidates, { kind: 'member', label: 't0' }, opts);
      expect(two.draws!.scores).toEqual(one.draws!.scores);
      expect(two.ranking).toEqual(one.ranking);
    } finally {
      if (before === undefined) delete process.env.TASKMAP_THREADS;
      else process.env.TASKMAP_THREADS = before;
    }
  }, 30_000);
});

describe('rank bootstrap: draws (and full scores) from the full matrices vs every draw recomputed', () => {
  const candidates = Array.from({ length: 5 }, (_, k) => features(`cand${k}`, 36, [2, 2, 3], 10 + k));
  const labels = Array.from({ length: 36 }, (_, i) => `c${i % 3}`);
  for (const measure of ['rsa', 'dds:norm=centering,kernel=cosine', 'cka:debiased', 'dds:norm=znorm,kernel=cosine']) {
    for (const target of ['member', 'labels'] as const) {
      it(`${measure}, ${target} target: the same draw scores to 1e-12`, async () => {
        const t = target === 'member' ? ({ kind: 'member', label: 'cand2' } as const) : ({ kind: 'labels', labels, labelKind: 'class' } as const);
        const opts = { measure, bootstrap: 6, subset: 20, seed: 7, keepDraws: true };
        const fast = await rankSources(candidates, t, opts);
        const slow = await rankSources(candidates, t, { ...opts, recomputeDraws: true });
        expect(fast.draws!.labels).toEqual(slow.draws!.labels);
        expect(fast.draws!.scores.length).toBe(6);
        let d = 0;
        for (let r = 0; r < 6; r++)
          for (let k = 0; k < fast.draws!.scores[r].length; k++) d = Math.max(d, Math.abs(fast.draws!.scores[r][k] - slow.draws!.scores[r][k]));
        expect(d).toBeLessThan(1e-12);
        expect(fast.ranking.map((e) => e.label)).toEqual(slow.ranking.map((e) => e.label));
        // The scores on all images come from the same full matrices when the draws do.
        for (let k = 0; k < fast.ranking.length; k++) expect(Math.abs(fast.ranking[k].score - slow.ranking[k].score)).toBeLessThan(1e-12);
      });
    }
  }
});
