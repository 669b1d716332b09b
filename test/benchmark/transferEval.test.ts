import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TRANSFER_EXCLUDED_MEASURES, TRANSFER_REPRESENTATION_MEASURES } from '../../src/benchmark/transfer.js';
import { bootstrapMean, evaluateTransfer, judge, stratifiedDraw, type TransferTask } from '../../src/benchmark/transferEval.js';
import { oneBlasThreadEach } from '../../src/linalg/lapack.js';
import { mulberry32 } from '../../src/linalg/resample.js';
import { canonicalId } from '../../src/measures/catalogue.js';
import { pairSimilarity } from '../../src/measures/similarity.js';

describe('stratifiedDraw', () => {
  const labels = [...Array(30).keys()].map((i) => (i < 12 ? 'a' : i < 27 ? 'b' : 'c'));
  it('takes k of each class, all of a smaller class, sorted and without repeats', () => {
    const idx = stratifiedDraw(labels, 5, mulberry32(7));
    const counts = { a: 0, b: 0, c: 0 } as Record<string, number>;
    for (const i of idx) counts[labels[i]]++;
    expect(counts).toEqual({ a: 5, b: 5, c: 3 });
    expect(new Set(idx).size).toBe(idx.length);
    expect([...idx]).toEqual([...idx].sort((x, y) => x - y));
  });
  it('is a function of the seed', () => {
    expect([...stratifiedDraw(labels, 4, mulberry32(1))]).toEqual([...stratifiedDraw(labels, 4, mulberry32(1))]);
    expect([...stratifiedDraw(labels, 4, mulberry32(1))]).not.toEqual([...stratifiedDraw(labels, 4, mulberry32(2))]);
  });
});

describe('judge', () => {
  // ALGORITHMS.md §13.4 (scipy 1.17): a = scores, b = truth.
  const a = [0.9, 0.8, 0.8, 0.3, 0.1, 0.5];
  const b = [10, 7, 9, 2, 2, 4];
  it('matches scipy on the §13.4 vectors', () => {
    expect(judge('weightedtau', a, b)).toBeCloseTo(0.9486881540658599, 12);
    expect(judge('kendall', a, b)).toBeCloseTo(0.9285714285714286, 12);
    expect(judge('spearman', a, b)).toBeCloseTo(0.9705882352941178, 12);
  });
  it('top-1 and regret by hand', () => {
    expect(judge('top1', a, b)).toBe(1);
    expect(judge('regret', a, b)).toBe(0);
    // The score's favourite (index 3) has truth 2; the best is 10.
    expect(judge('top1', [0, 0, 0, 1, 0, 0], b)).toBe(0);
    expect(judge('regret', [0, 0, 0, 1, 0, 0], b)).toBe(8);
  });
  it('leaves out candidates without a value, and is undefined below three or for constant scores', () => {
    expect(judge('kendall', [0.9, null, 0.8, 0.3, 0.1, 0.5], b)).toBeCloseTo(judge('kendall', [0.9, 0.8, 0.3, 0.1, 0.5], [10, 9, 2, 2, 4])!, 12);
    expect(judge('spearman', [1, null, null, 2, null, null], b)).toBeNull();
    expect(judge('spearman', [1, 1, 1, 1, 1, 1], b)).toBeNull();
  });
});

describe('bootstrapMean', () => {
  it('is the mean of group means; a constant group has a zero-width interval', () => {
    const r = bootstrapMean([[2, 2, 2], [4]], 200, mulberry32(3))!;
    expect(r.mean).toBe(3);
    expect(r.lo).toBe(3);
    expect(r.hi).toBe(3);
    expect(r.n).toBe(4);
  });
  it('brackets the mean of varied data and skips empty groups', () => {
    const r = bootstrapMean([[0, 1, 0, 1, 1, 0, 1, 0], []], 500, mulberry32(5))!;
    expect(r.mean).toBe(0.5);
    expect(r.lo).toBeLessThan(0.5);
    expect(r.hi).toBeGreaterThan(0.5);
    expect(bootstrapMean([[], []], 10, mulberry32(1))).toBeNull();
  });
});

/** Candidate k carries the class signal with noise growing in k, so its ground truth falls with k. */
function syntheticTask(): TransferTask {
  const n = 60;
  const labels = [...Array(n).keys()].map((i) => i % 3);
  const random = mulberry32(11);
  const candidates = [0.05, 0.4, 1.5, 6].map((noise, k) => {
    const d = 5;
    const data = new Float64Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[i * d + j] = (j === labels[i] ? 1 : 0) + noise * (random() - 0.5);
    return { label: `m${k}`, features: { rows: n, cols: d, data } };
  });
  return { id: 'toy', labels, candidates, truth: { logistic: [0.99, 0.9, 0.6, 0.4] } };
}

describe('evaluateTransfer', () => {
  it('scores the same draws for every measure and recovers a planted ranking', async () => {
    const task = syntheticTask();
    const r = await evaluateTransfer([task], { measures: ['rsa', 'cka'], perClass: [5, 10], draws: 3, seed: 1, resamples: 100 });
    expect(r.records).toHaveLength(2 * 2 * 3);
    // RSA ties the two cleanest candidates (both separate the classes perfectly); CKA orders all four.
    const mean = r.rows.find((x) => x.measure === 'cka' && x.target === 'mean' && x.perClass === 10 && x.head === 'logistic')!;
    expect(mean.metrics.top1!.mean).toBe(1);
    expect(mean.metrics.spearman!.mean).toBe(1);
    expect(mean.candidates).toBe(4);
    // Same seed → same records (values), another seed → other draws.
    const again = await evaluateTransfer([task], { measures: ['rsa'], perClass: [5], draws: 2, seed: 1, resamples: 10 });
    expect(again.records[0].values).toEqual(r.records.find((x) => x.measure === 'rsa' && x.perClass === 5 && x.draw === 0)!.values);
  });
  it('rejects bad options and mismatched inputs with clear errors', async () => {
    const task = syntheticTask();
    await expect(evaluateTransfer([task], { measures: ['nope'], perClass: [5], draws: 1, seed: 1 })).rejects.toThrow(/unknown measure "nope"/);
    await expect(evaluateTransfer([task], { measures: ['rsa'], perClass: [0], draws: 1, seed: 1 })).rejects.toThrow(/images per class/);
    await expect(evaluateTransfer([{ ...task, truth: { logistic: [1, 2] } }], { measures: ['rsa'], perClass: [5], draws: 1, seed: 1 })).rejects.toThrow(
      /2 values for 4 candidates/,
    );
  });
  it('label-based scores on worker threads (TASKMAP_THREADS=2): the records of one thread, notes included', async () => {
    const task = syntheticTask();
    // Probabilities for two of the four candidates: LEEP scores those, and notes the others.
    const probs = (k: number) => {
      const random = mulberry32(40 + k);
      const data = new Float64Array(task.labels.length * 4);
      for (let i = 0; i < task.labels.length; i++) {
        let sum = 0;
        for (let z = 0; z < 4; z++) sum += data[i * 4 + z] = Math.exp(random() + (z === Number(task.labels[i]) ? 1 : 0));
        for (let z = 0; z < 4; z++) data[i * 4 + z] /= sum;
      }
      return { rows: task.labels.length, cols: 4, data };
    };
    task.candidates[0].probabilities = probs(0);
    task.candidates[2].probabilities = probs(2);
    // A candidate with a NaN: its scores fail, with the reason in the notes.
    const bad = {
      label: 'nan',
      features: { ...task.candidates[3].features, data: task.candidates[3].features.data.map((x, i) => (i % 5 === 0 ? Number.NaN : x)) },
    };
    const tasks = [{ ...task, candidates: [...task.candidates, bad], truth: { logistic: [...task.truth.logistic, 0.3] } }];
    const opts = { measures: ['logme', 'leep', 'rsa', 'knn'], perClass: [5, 10], draws: 2, seed: 4, resamples: 10 };
    const strip = (r: Awaited<ReturnType<typeof evaluateTransfer>>) => r.records.map(({ ms: _ms, ...rest }) => rest);
    const before = process.env.TASKMAP_THREADS;
    const restoreBlas = oneBlasThreadEach(); // the workers' one BLAS thread, for a bit-for-bit reference
    try {
      process.env.TASKMAP_THREADS = '1';
      const one = await evaluateTransfer(tasks, opts);
      process.env.TASKMAP_THREADS = '2';
      const steps: number[] = [];
      const two = await evaluateTransfer(tasks, { ...opts, onProgress: (d, _t, what) => (what === 'judging' ? undefined : steps.push(d)) });
      expect(strip(two)).toEqual(strip(one));
      // Every (target, size, draw, measure) counted once as it finishes: 1 target × 2 sizes × 2 draws × 4 measures.
      expect(steps.filter((d) => d > 0)).toEqual(Array.from({ length: 16 }, (_, k) => k + 1));
      const leep = one.records.find((r) => r.measure === 'leep')!;
      expect(leep.values.map((v) => v !== null)).toEqual([true, false, true, false, false]);
      expect(leep.notes).toEqual(['no class probabilities (not a classifier)']);
      const logme = one.records.find((r) => r.measure === 'logme')!;
      expect(logme.values[4]).toBeNull();
      expect(logme.notes!.join(' ')).toMatch(/nan.*NaN/);
    } finally {
      restoreBlas();
      if (before === undefined) delete process.env.TASKMAP_THREADS;
      else process.env.TASKMAP_THREADS = before;
    }
  }, 60_000);

  it('gives LEEP no value for candidates without class probabilities, and says why', async () => {
    const task = syntheticTask();
    const r = await evaluateTransfer([task], { measures: ['leep'], perClass: [5], draws: 1, seed: 1, resamples: 10 });
    expect(r.records[0].values).toEqual([null, null, null, null]);
    expect(r.records[0].notes).toEqual(['no class probabilities (not a classifier)']);
  });
});

/**
 * Hand-made: candidate 0 is the one-hot labels rotated and scaled, so its Procrustes distance to the labels is 0; the
 * others add ever more noise to the same one-hot features, then pure noise. Ground truth falls in the same order.
 */
function distanceTask(): TransferTask {
  const n = 24;
  const c = 3;
  const labels = [...Array(n).keys()].map((i) => i % c);
  const random = mulberry32(5);
  const noisy = (noise: number, signal: number) => {
    const data = new Float64Array(n * c);
    for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) data[i * c + j] = signal * (j === labels[i] ? 1 : 0) + noise * (random() - 0.5);
    return { rows: n, cols: c, data };
  };
  // A rotation by 90° in the first two features, times 3: Procrustes (centred, unit norm) is invariant to both.
  const rotated = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    rotated[i * c + 0] = y === 1 ? -3 : 0;
    rotated[i * c + 1] = y === 0 ? 3 : 0;
    rotated[i * c + 2] = y === 2 ? 3 : 0;
  }
  const candidates = [{ rows: n, cols: c, data: rotated }, noisy(0.5, 1), noisy(2, 1), noisy(1, 0)].map((features, k) => ({ label: `m${k}`, features }));
  return { id: 'hand', labels, candidates, truth: { logistic: [0.99, 0.9, 0.6, 0.4] } };
}

describe('evaluateTransfer with pairwise measures against the labels', () => {
  it('judges a distance smaller = better: the zero-distance candidate is the pick', async () => {
    const r = await evaluateTransfer([distanceTask()], { measures: ['procrustes', 'cca:ridge=0.1'], perClass: [8], draws: 2, seed: 3, resamples: 20 });
    for (const rec of r.records.filter((x) => x.measure === 'procrustes')) {
      expect(rec.largerIsBetter).toBe(false);
      const v = rec.values as number[];
      expect(v[0]).toBeCloseTo(0, 7);
      // Recorded as distances (what `taskmap rank` shows), increasing with the noise.
      expect(v[1]).toBeGreaterThan(v[0]);
      expect(v[2]).toBeGreaterThan(v[1]);
      expect(v[3]).toBeGreaterThan(v[2]);
      // Judged on the raw distances the ranking would be exactly backwards.
      expect(judge('spearman', v, [0.99, 0.9, 0.6, 0.4])).toBe(-1);
    }
    const row = (measure: string) => r.rows.find((x) => x.measure === measure && x.target === 'mean')!;
    expect(row('procrustes').metrics.spearman!.mean).toBe(1);
    expect(row('procrustes').metrics.top1!.mean).toBe(1);
    expect(row('procrustes').metrics.regret!.mean).toBe(0);
    // A similarity keeps its sign.
    expect(r.records.find((x) => x.measure === 'cca:ridge=0.1')!.largerIsBetter).toBe(true);
    expect(row('cca:ridge=0.1').metrics.top1!.mean).toBe(1);
  });

  it('records why an unregularised CCA has no value when n < p, instead of failing the run', async () => {
    const n = 12;
    const random = mulberry32(2);
    const labels = [...Array(n).keys()].map((i) => i % 2);
    const wide = (k: number) => ({ label: `w${k}`, features: { rows: n, cols: 30, data: Float64Array.from({ length: n * 30 }, () => random()) } });
    const task: TransferTask = { id: 'wide', labels, candidates: [wide(0), wide(1), wide(2)], truth: { logistic: [0.9, 0.8, 0.7] } };
    const r = await evaluateTransfer([task], { measures: ['cca', 'svcca:ridge=0.1'], perClass: [6], draws: 1, seed: 1, resamples: 10 });
    const cca = r.records.find((x) => x.measure === 'cca')!;
    expect(cca.values).toEqual([null, null, null]);
    expect(cca.notes![0]).toMatch(/rank 11 and labels rank 1 on 12 images.*ridge=0\.1/);
    expect(r.records.find((x) => x.measure === 'svcca:ridge=0.1')!.values.every((v) => v !== null && Number.isFinite(v))).toBe(true);
  });

  it('predictivity is the R² of the source features predicting the labels, not the reverse', async () => {
    // The one-hot labels plus 12 wide noise features: the labels are a linear function of the features (R² near 1),
    // while the labels predict none of the noise (R² near 0 the other way).
    const n = 30;
    const p = 15;
    const random = mulberry32(4);
    const labels = [...Array(n).keys()].map((i) => i % 3);
    const data = new Float64Array(n * p);
    for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) data[i * p + j] = j < 3 ? (j === labels[i] ? 1 : 0) : 10 * (random() - 0.5);
    const features = { rows: n, cols: p, data };
    const task: TransferTask = { id: 'dir', labels, candidates: [{ label: 'x', features }], truth: { logistic: [1] } };
    const r = await evaluateTransfer([task], { measures: ['predictivity'], perClass: [10], draws: 1, seed: 1, resamples: 10 });
    const forward = r.records[0].values[0]!;
    expect(forward).toBeGreaterThan(0.95);
    const onehot = Float64Array.from({ length: n * 3 }, (_, k) => (labels[Math.floor(k / 3)] === k % 3 ? 1 : 0));
    const rep = (label: string, m: { rows: number; cols: number; data: Float64Array }) => ({
      label,
      n: m.rows,
      p: m.cols,
      shape: [m.cols],
      data: m.data,
      source: label,
    });
    const backward = await pairSimilarity(rep('y', { rows: n, cols: 3, data: onehot }), rep('x', features), 'predictivity');
    expect(backward).toBeLessThan(0.3);
  });

  it('rejects a bad parameter before scoring anything', async () => {
    await expect(evaluateTransfer([distanceTask()], { measures: ['cca:ridge=-1'], perClass: [4], draws: 1, seed: 1 })).rejects.toThrow(/ridge/);
  });

  it('the default list: canonical ids, rsa/dds/cka kept, nothing it also excludes', () => {
    expect(TRANSFER_REPRESENTATION_MEASURES.slice(0, 3)).toEqual(['rsa', 'dds', 'cka']);
    // rsa, dds and cka are presets (dds expands to its norm and kernel); every pairwise setting is written canonically,
    // so the report's measure names are the ids `taskmap measures` lists.
    for (const id of [...TRANSFER_REPRESENTATION_MEASURES.slice(3), ...Object.keys(TRANSFER_EXCLUDED_MEASURES)]) expect(canonicalId(id)).toBe(id);
    for (const id of TRANSFER_REPRESENTATION_MEASURES) expect(TRANSFER_EXCLUDED_MEASURES[id]).toBeUndefined();
  });

  it('the exclusions hold: eigenspace-overlap and shape:alpha=0 cannot tell n < p sources apart; shape ranks as procrustes', async () => {
    const n = 12;
    const random = mulberry32(9);
    const labels = [...Array(n).keys()].map((i) => i % 3);
    const candidates = [0.2, 1, 3, 10].map((noise, k) => {
      const p = 20 + 5 * k;
      const data = new Float64Array(n * p);
      for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) data[i * p + j] = (j % 3 === labels[i] ? 1 : 0) + noise * (random() - 0.5);
      return { label: `c${k}`, features: { rows: n, cols: p, data } };
    });
    const task: TransferTask = { id: 'nlp', labels, candidates, truth: { logistic: [0.9, 0.8, 0.7, 0.6] } };
    const r = await evaluateTransfer([task], {
      measures: ['eigenspace-overlap', 'shape:alpha=0', 'shape', 'procrustes'],
      perClass: [4],
      draws: 1,
      seed: 1,
      resamples: 10,
    });
    const values = (m: string) => r.records.find((x) => x.measure === m)!.values as number[];
    // eigenspace-overlap: C / p for every full-rank source; shape:alpha=0: one distance for all.
    values('eigenspace-overlap').forEach((v, k) => expect(v).toBeCloseTo(3 / (20 + 5 * k), 9));
    for (const v of values('shape:alpha=0')) expect(v).toBeCloseTo(values('shape:alpha=0')[0], 9);
    const order = (v: number[]) => v.map((_, k) => k).sort((a, b) => v[a] - v[b]);
    expect(order(values('shape'))).toEqual(order(values('procrustes')));
    expect(new Set(values('procrustes')).size).toBe(4);
  });
});

describe('evaluateTransfer with a score cache', () => {
  it('reads a re-run from the cache, recomputes only the records whose inputs changed, and trusts no foreign file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'taskmap-scores-'));
    try {
      const opts = { measures: ['rsa', 'hscore'], perClass: [5], draws: 2, seed: 3, resamples: 20, cacheDir: dir };
      const first = await evaluateTransfer([syntheticTask()], opts);
      expect(first.records.every((r) => !r.cached)).toBe(true);
      const files = await readdir(join(dir, 'transfer', 'scores'));
      expect(files).toHaveLength(4);

      // A fresh, equal task (new objects, same values): every record from the cache, identical values and times.
      const second = await evaluateTransfer([syntheticTask()], opts);
      expect(second.records.every((r) => r.cached)).toBe(true);
      expect(second.records.map((r) => [r.values, r.ms])).toEqual(first.records.map((r) => [r.values, r.ms]));
      expect(second.rows).toEqual(first.rows);

      // One feature value of one candidate changed: all four records depend on every candidate, so all are recomputed.
      const changed = syntheticTask();
      changed.candidates[2].features.data[7] += 1e-9;
      const third = await evaluateTransfer([changed], opts);
      expect(third.records.every((r) => !r.cached)).toBe(true);
      // Another seed draws other images: new records; the old ones stay.
      const other = await evaluateTransfer([syntheticTask()], { ...opts, seed: 4 });
      expect(other.records.every((r) => !r.cached)).toBe(true);
      expect(await readdir(join(dir, 'transfer', 'scores'))).toHaveLength(12);

      // --rescore computes again and rewrites; a corrupt or foreign record is recomputed, not read.
      const rescored = await evaluateTransfer([syntheticTask()], { ...opts, rescore: true });
      expect(rescored.records.every((r) => !r.cached)).toBe(true);
      expect(rescored.records.map((r) => r.values)).toEqual(first.records.map((r) => r.values));
      const victim = join(dir, 'transfer', 'scores', files[0]);
      await writeFile(victim, '{"key": "not this one", "values": [1, 2, 3, 4], "largerIsBetter": true, "ms": 1}');
      const fourth = await evaluateTransfer([syntheticTask()], opts);
      expect(fourth.records.filter((r) => r.cached)).toHaveLength(3);
      expect(fourth.records.map((r) => r.values)).toEqual(first.records.map((r) => r.values));
      await writeFile(victim, '{"trunc');
      expect((await evaluateTransfer([syntheticTask()], opts)).records.filter((r) => r.cached)).toHaveLength(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
