import { describe, expect, it } from 'vitest';
import { bootstrapMean, evaluateTransfer, judge, stratifiedDraw, type TransferTask } from '../../src/benchmark/transferEval.js';
import { mulberry32 } from '../../src/linalg/resample.js';

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
  it('gives LEEP no value for candidates without class probabilities, and says why', async () => {
    const task = syntheticTask();
    const r = await evaluateTransfer([task], { measures: ['leep'], perClass: [5], draws: 1, seed: 1, resamples: 10 });
    expect(r.records[0].values).toEqual([null, null, null, null]);
    expect(r.records[0].notes).toEqual(['no class probabilities (not a classifier)']);
  });
});
