import { describe, expect, it } from 'vitest';
import {
  centredBlocks,
  DualRidge,
  fitStandardizer,
  foldAssignment,
  measureTransfers,
  predictDual,
  ridgeWeightsDual,
  rowLosses,
  standardize,
  type SourceGram,
  Z_CLIP,
} from '../../src/benchmark/readout.js';
import type { Matrix } from '../../src/linalg/dense.js';
import { mulberry32 } from '../../src/linalg/resample.js';
import { naiveGram } from '../helpers/naive.js';

function randn(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  const r = mulberry32(seed);
  return { rows, cols, data: Float64Array.from({ length: rows * cols }, () => randn(r)) };
}

function centre(x: Matrix): Matrix {
  const out = Float64Array.from(x.data);
  for (let c = 0; c < x.cols; c++) {
    let s = 0;
    for (let i = 0; i < x.rows; i++) s += x.data[i * x.cols + c];
    for (let i = 0; i < x.rows; i++) out[i * x.cols + c] -= s / x.rows;
  }
  return { ...x, data: out };
}

/** Gaussian elimination with partial pivoting: A x = B for square A (n × n) and B (n × q). */
function solve(a: Matrix, b: Matrix): Matrix {
  const n = a.rows;
  const q = b.cols;
  const m = Float64Array.from(a.data);
  const r = Float64Array.from(b.data);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let i = c + 1; i < n; i++) if (Math.abs(m[i * n + c]) > Math.abs(m[p * n + c])) p = i;
    for (let j = 0; j < n; j++) [m[c * n + j], m[p * n + j]] = [m[p * n + j], m[c * n + j]];
    for (let j = 0; j < q; j++) [r[c * q + j], r[p * q + j]] = [r[p * q + j], r[c * q + j]];
    for (let i = 0; i < n; i++) {
      if (i === c) continue;
      const f = m[i * n + c] / m[c * n + c];
      for (let j = 0; j < n; j++) m[i * n + j] -= f * m[c * n + j];
      for (let j = 0; j < q; j++) r[i * q + j] -= f * r[c * q + j];
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < q; j++) r[i * q + j] /= m[i * n + i];
  return { rows: n, cols: q, data: r };
}

/** The primal normal equations (XᵀX + λI) w = Xᵀ Y, solved directly. */
function ridgeDirect(x: Matrix, y: Matrix, lambda: number): Matrix {
  const p = x.cols;
  const a = { rows: p, cols: p, data: new Float64Array(p * p) };
  const b = { rows: p, cols: y.cols, data: new Float64Array(p * y.cols) };
  for (let i = 0; i < x.rows; i++)
    for (let c = 0; c < p; c++) {
      const xc = x.data[i * p + c];
      for (let d = 0; d < p; d++) a.data[c * p + d] += xc * x.data[i * p + d];
      for (let d = 0; d < y.cols; d++) b.data[c * y.cols + d] += xc * y.data[i * y.cols + d];
    }
  for (let c = 0; c < p; c++) a.data[c * p + c] += lambda;
  return solve(a, b);
}

describe('closed-form ridge readout', () => {
  for (const [n, p] of [
    [30, 8],
    [12, 40],
  ]) {
    it(`dual form equals the direct solve of (XᵀX + λI)w = Xᵀy (n=${n}, p=${p})`, () => {
      const x = centre(randomMatrix(n, p, 1));
      const y = randomMatrix(n, 3, 2);
      for (const lambda of [1e-3, 0.5, 20]) {
        const direct = ridgeDirect(x, y, lambda);
        const dual = ridgeWeightsDual(x, y, lambda);
        for (let k = 0; k < direct.data.length; k++) expect(dual.data[k]).toBeCloseTo(direct.data[k], 8);
      }
    });
  }

  it('centred Gram blocks from the uncentred Gram equal explicit centring on the training mean', () => {
    const x = randomMatrix(10, 5, 3);
    const train = [0, 2, 3, 5, 7, 8];
    const test = [1, 4, 6, 9];
    const mu = new Float64Array(5);
    for (const i of train) for (let c = 0; c < 5; c++) mu[c] += x.data[i * 5 + c] / train.length;
    const row = (i: number) => Array.from({ length: 5 }, (_, c) => x.data[i * 5 + c] - mu[c]);
    const dot = (a: number[], b: number[]) => a.reduce((s, v, k) => s + v * b[k], 0);
    const { kTrain, kTest } = centredBlocks(naiveGram(x), train, test);
    train.forEach((i, a) => train.forEach((j, b) => expect(kTrain.data[a * train.length + b]).toBeCloseTo(dot(row(i), row(j)), 10)));
    test.forEach((i, a) => train.forEach((j, b) => expect(kTest.data[a * train.length + b]).toBeCloseTo(dot(row(i), row(j)), 10)));
  });

  it('held-out predictions K_te·α equal X_te·w of the direct solve', () => {
    const x = centre(randomMatrix(16, 30, 4));
    const y = randomMatrix(16, 2, 5);
    const train = Array.from({ length: 12 }, (_, i) => i);
    const test = [12, 13, 14, 15];
    const pick = (m: Matrix, rows: number[]): Matrix => ({
      rows: rows.length,
      cols: m.cols,
      data: Float64Array.from(rows.flatMap((i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)))),
    });
    const xTr = centre(pick(x, train));
    const mu = Array.from({ length: 30 }, (_, c) => train.reduce((s, i) => s + x.data[i * 30 + c], 0) / train.length);
    const yTr = pick(y, train);
    const w = ridgeDirect(xTr, yTr, 0.7);
    const { kTrain, kTest } = centredBlocks(naiveGram(x), train, test);
    const r = new DualRidge(kTrain);
    const pred = predictDual(kTest, r.coefficients(r.project(yTr), 2, 0.7), 2);
    test.forEach((i, a) => {
      for (let d = 0; d < 2; d++) {
        let s = 0;
        for (let c = 0; c < 30; c++) s += (x.data[i * 30 + c] - mu[c]) * w.data[c * 2 + d];
        expect(pred[a * 2 + d]).toBeCloseTo(s, 8);
      }
    });
  });

  it('leave-one-out errors (PRESS) equal refitting ridge with an intercept without each row', () => {
    const x = randomMatrix(9, 14, 6);
    const yRaw = randomMatrix(9, 3, 7);
    const all = Array.from({ length: 9 }, (_, i) => i);
    const y = centre(yRaw);
    const r = new DualRidge(centredBlocks(naiveGram(x), all, []).kTrain);
    const [loo] = r.looErrors(r.project(y), 3, [0.3]);
    let brute = 0;
    for (let i = 0; i < 9; i++) {
      const rows = all.filter((k) => k !== i);
      const pick = (m: Matrix) => ({
        rows: 8,
        cols: m.cols,
        data: Float64Array.from(rows.flatMap((k) => Array.from(m.data.subarray(k * m.cols, (k + 1) * m.cols)))),
      });
      const xs = pick(x);
      const ys = pick(y);
      const mx = Array.from({ length: 14 }, (_, c) => rows.reduce((s, k) => s + x.data[k * 14 + c], 0) / 8);
      const my = Array.from({ length: 3 }, (_, d) => rows.reduce((s, k) => s + y.data[k * 3 + d], 0) / 8);
      const w = ridgeDirect(centre(xs), centre(ys), 0.3);
      for (let d = 0; d < 3; d++) {
        let s = my[d];
        for (let c = 0; c < 14; c++) s += (x.data[i * 14 + c] - mx[c]) * w.data[c * 3 + d];
        brute += (y.data[i * 3 + d] - s) ** 2;
      }
    }
    expect(loo).toBeCloseTo(brute, 8);
  });
});

describe('loss normalisation', () => {
  it('z-scores on the training rows, drops constant columns, weighs output tensors equally', () => {
    // Two tensors: block A has 2 columns (one constant), block B has 3 columns.
    const n = 6;
    const y: Matrix = { rows: n, cols: 5, data: new Float64Array(n * 5) };
    for (let i = 0; i < n; i++) {
      y.data[i * 5 + 0] = 10 + i; // A, live
      y.data[i * 5 + 1] = 7; // A, constant
      y.data[i * 5 + 2] = 2 * i; // B
      y.data[i * 5 + 3] = -i * i; // B
      y.data[i * 5 + 4] = i % 2; // B
    }
    const task = { name: 't', y, blocks: [2, 3] };
    const train = [0, 1, 2, 3];
    const st = fitStandardizer(task, train);
    expect(Array.from(st.keep)).toEqual([0, 2, 3, 4]);
    const z = standardize(task, st, train);
    // Each kept column has mean 0 and (weighted) variance = its weight: 1/2 for A's one column, 1/6 for B's three.
    const weights = [1 / 2, 1 / 6, 1 / 6, 1 / 6];
    weights.forEach((w, j) => {
      let s = 0;
      let s2 = 0;
      for (let a = 0; a < 4; a++) {
        s += z.data[a * 4 + j];
        s2 += z.data[a * 4 + j] ** 2;
      }
      expect(s / 4).toBeCloseTo(0, 12);
      expect(s2 / 4).toBeCloseTo(w, 12);
    });
    // Predicting the training mean (0) costs exactly 1 on average over the training rows.
    const losses = rowLosses(new Float64Array(4 * 4), z);
    expect(losses.reduce((a, b) => a + b, 0) / 4).toBeCloseTo(1, 12);
    // Held-out rows use the training statistics (not their own).
    const held = standardize(task, st, [5]);
    expect(held.data[0]).toBeCloseTo(((15 - 11.5) / Math.sqrt(1.25)) * Math.sqrt(0.5), 12);
  });

  it('clips held-out z-scores of a saturating output at ±Z_CLIP', () => {
    const y: Matrix = { rows: 6, cols: 1, data: Float64Array.from([0.999, 0.998, 0.999, 0.998, 0.1, 0.999]) };
    const st = fitStandardizer({ name: 'sat', y }, [0, 1, 2, 3]);
    expect(standardize({ name: 'sat', y }, st, [4]).data[0]).toBe(-Z_CLIP);
  });

  it('refuses a task whose outputs are all constant', () => {
    const y: Matrix = { rows: 4, cols: 2, data: new Float64Array(8).fill(3) };
    expect(() => fitStandardizer({ name: 'flat', y }, [0, 1, 2])).toThrow(/constant/);
  });

  it('assigns images to seeded, balanced folds', () => {
    const f = foldAssignment(23, 5, 9);
    const counts = [0, 0, 0, 0, 0];
    for (const v of f) counts[v]++;
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    expect(Array.from(foldAssignment(23, 5, 9))).toEqual(Array.from(f));
    expect(() => foldAssignment(5, 5, 1)).toThrow(/too few/);
  });
});

describe('measureTransfers on a synthetic zoo', () => {
  it('the source that carries the target signal beats noise, and the target itself is `self`', () => {
    const n = 60;
    const r = mulberry32(11);
    const latent = randomMatrix(n, 4, 12);
    // source "good" sees the latent linearly (plus noise); "bad" is unrelated noise; "t" is the target's own net.
    const good = { rows: n, cols: 20, data: new Float64Array(n * 20) };
    const own = { rows: n, cols: 10, data: new Float64Array(n * 10) };
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 20; c++) good.data[i * 20 + c] = latent.data[i * 4 + (c % 4)] * (1 + c / 10) + 0.3 * randn(r);
      for (let c = 0; c < 10; c++) own.data[i * 10 + c] = latent.data[i * 4 + (c % 4)] + 0.05 * randn(r);
    }
    const bad = randomMatrix(n, 20, 13);
    const y: Matrix = { rows: n, cols: 3, data: new Float64Array(n * 3) };
    for (let i = 0; i < n; i++) {
      y.data[i * 3] = latent.data[i * 4] + latent.data[i * 4 + 1];
      y.data[i * 3 + 1] = latent.data[i * 4 + 2] - latent.data[i * 4 + 3];
      y.data[i * 3 + 2] = 0.5 * latent.data[i * 4];
    }
    const sources: SourceGram[] = [
      { name: 'good', gram: naiveGram(good) },
      { name: 'bad', gram: naiveGram(bad) },
      { name: 't', gram: naiveGram(own) },
    ];
    const m = measureTransfers(sources, [{ name: 't', y }], { folds: 4, seed: 3 });
    expect(m.records).toHaveLength(3 * n);
    expect(new Set(m.records.map((x) => x.source))).toEqual(new Set(['good', 'bad', 'self']));
    const mean = m.meanLoss.t;
    expect(mean.self).toBeLessThan(mean.good);
    expect(mean.good).toBeLessThan(0.2);
    expect(mean.bad).toBeGreaterThan(0.8);
  });
});
