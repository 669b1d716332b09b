/**
 * The classifier heads of src/transferability/logistic.ts.
 *
 * Logistic regression against the independent numpy/scipy reference (test/reference/logistic_reference.py →
 * test/fixtures/transferability/logistic.json) to 1e-6 on coefficients and loss, at fixed λ (N > D, N < D with a
 * constant, a duplicated and a huge-scale column, binary, a gapped label set) and through cross-validation; the
 * optimality conditions checked directly; invariances; the MLP on a separable toy problem; every error.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Matrix } from '../../src/linalg/dense.js';
import { getGemmEngine, jsEngine } from '../../src/linalg/gemm.js';
import { classTarget, computeScore } from '../../src/transferability/index.js';
import {
  accuracy,
  crossValidatedLogistic,
  crossValidatedMlp,
  fitLogistic,
  fitMlp,
  headData,
  logisticLogits,
  logisticPath,
  MLP_CLIP,
  mlpInputs,
  predictLogistic,
  predictMlp,
  predictLogisticRows,
  reducedHeadData,
  standardizer,
  stratifiedFolds,
  type LogisticFit,
} from '../../src/transferability/logistic.js';

// ---------------------------------------------------------------------------------------------------------
// The inputs of logistic_reference.py, written a second time

function matrix(rows: number[][]): Matrix {
  const n = rows.length;
  const d = rows[0].length;
  const data = new Float64Array(n * d);
  rows.forEach((r, i) => r.forEach((v, j) => (data[i * d + j] = v)));
  return { rows: n, cols: d, data };
}

function basic(n0: number, n1: number): { x: Matrix; y: number[] } {
  const rows: number[][] = [];
  const y: number[] = [];
  for (let i = n0; i < n1; i++) {
    const c = i % 3;
    rows.push(Array.from({ length: 5 }, (_, j) => (((i + 1) * (j + 2) * 31) % 37) / 37 + 0.1 * j + (j === c ? 0.4 : 0)));
    y.push(c);
  }
  return { x: matrix(rows), y };
}

function t132(): { f: number[][]; y: number[] } {
  const y = Array.from({ length: 12 }, (_, i) => i % 3);
  const f = Array.from({ length: 12 }, (_, i) =>
    Array.from({ length: 4 }, (_, d) => (((i + 1) * (d + 2) * 37) % 17) / 17 + (d === 0 ? 0.5 * y[i] : 0) + (d === 1 && y[i] === 1 ? 0.3 : 0)),
  );
  return { f, y };
}

function wide(): { x: Matrix; y: number[] } {
  const { f, y } = t132();
  const rows = f.map((r) => {
    const fw = [...r, r[0] ** 2, r[1] ** 2, ...r.map(Math.sin), ...r.map((v) => Math.cos(3 * v))];
    return [...fw, 3.5, fw[0], 1e9 * r[1] + 1e12];
  });
  return { x: matrix(rows), y };
}

function binary(): { x: Matrix; y: number[] } {
  const rows = Array.from({ length: 20 }, (_, i) => Array.from({ length: 3 }, (_, j) => (((i + 3) * (j + 1) * 17) % 29) / 29 + (j === 0 ? 0.3 * (i % 2) : 0)));
  return { x: matrix(rows), y: Array.from({ length: 20 }, (_, i) => i % 2) };
}

interface GoldenFit {
  case: string;
  lambda: number;
  classes: number[];
  weights: number[];
  bias: number[];
  loss: number;
  mean: number[];
  scale: number[];
  testPredictions: number[];
}

const golden = JSON.parse(readFileSync(new URL('../fixtures/transferability/logistic.json', import.meta.url), 'utf8')) as {
  fits: GoldenFit[];
  linear: { case: string; folds: number; value: number }[];
  cv: (GoldenFit & { folds: number; seed: number; grid: number[]; fold: number[]; accuracy: number[]; best: number })[];
};

function inputOf(c: string): { x: Matrix; y: number[]; test: Matrix } {
  if (c === 't132') return { x: matrix(t132().f), y: t132().y, test: matrix(t132().f) };
  if (c === 'basic') return { ...basic(0, 30), test: basic(30, 45).x };
  if (c === 'gapped') return { x: basic(0, 30).x, y: Array.from({ length: 30 }, (_, i) => [0, 2, 5][i % 3]), test: basic(30, 45).x };
  if (c === 'wide') return { ...wide(), test: wide().x };
  return { ...binary(), test: binary().x };
}

/** max |a − b| / max(1, |b|) over the entries. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}

const TIGHT = { tol: 1e-11, ftol: 0, maxIter: 5000 };

describe('logistic head against the numpy/scipy reference', () => {
  it.each(golden.fits.map((g) => [`${g.case} λ=${g.lambda}`, g] as const))('%s: coefficients, bias, loss and predictions', async (_name, g) => {
    const engine = await getGemmEngine();
    const { x, y, test } = inputOf(g.case);
    const fit = await fitLogistic(await headData(x, engine), y, { lambda: g.lambda, ...TIGHT });
    expect(fit.converged).toBe(true);
    expect(fit.classes).toEqual(g.classes);
    expect(relErr(fit.weights.data, g.weights)).toBeLessThan(1e-6);
    expect(relErr(fit.bias, g.bias)).toBeLessThan(1e-6);
    expect(Math.abs(fit.loss - g.loss) / g.loss).toBeLessThan(1e-9);
    expect(relErr(fit.scale, g.scale)).toBeLessThan(1e-9);
    expect(relErr(fit.mean, g.mean)).toBeLessThan(1e-12);
    expect(Array.from(await predictLogistic(fit, test, engine))).toEqual(g.testPredictions);
  });

  it('the wide fixture (N < D) treats the constant column as 0, the duplicate as an equal split, the huge column like any other', async () => {
    const g = golden.fits.find((f) => f.case === 'wide' && f.lambda === 0.01)!;
    const fit = await fitLogistic(await headData(wide().x), wide().y, { lambda: 0.01, ...TIGHT });
    const c = fit.classes.length;
    // Column 14 is constant: scale 0 and (from the penalty) zero weights.
    expect(fit.scale[14]).toBe(0);
    for (let q = 0; q < c; q++) expect(fit.weights.data[14 * c + q]).toBe(0);
    // Column 15 duplicates column 0: the L2 solution splits the weight equally.
    for (let q = 0; q < c; q++) expect(fit.weights.data[15 * c + q]).toBeCloseTo(fit.weights.data[0 * c + q], 9);
    // Column 16 = 1e9·F[:, 1] + 1e12 standardises to the same values as F[:, 1] (column 1): same weights.
    for (let q = 0; q < c; q++) expect(fit.weights.data[16 * c + q]).toBeCloseTo(fit.weights.data[1 * c + q], 6);
    expect(relErr(fit.weights.data, g.weights)).toBeLessThan(1e-6);
  });

  it('cross-validation: the same folds, pooled accuracies, chosen λ and final fit', async () => {
    const g = golden.cv[0];
    const { x, y } = basic(0, 30);
    expect(Array.from(stratifiedFolds(y, g.folds, g.seed))).toEqual(g.fold);
    const { fit, cv } = await crossValidatedLogistic(await headData(x), y, { lambdas: g.grid, folds: g.folds, seed: g.seed, ...TIGHT });
    expect(cv.grid).toEqual(g.grid);
    expect(cv.accuracy).toEqual(g.accuracy);
    expect(cv.best).toBe(g.best);
    expect(relErr(fit.weights.data, g.weights)).toBeLessThan(1e-6);
    expect(Math.abs(fit.loss - g.loss) / g.loss).toBeLessThan(1e-9);
  });
});

describe('logistic head: optimality and invariances', () => {
  it('the solution satisfies the stationarity conditions: λW = −X̃ᵀ(P − Y)/n and Σ_i (P − Y) = 0', async () => {
    const { x, y } = basic(0, 30);
    const lambda = 0.05;
    const fit = await fitLogistic(await headData(x), y, { lambda, ...TIGHT });
    const z = await logisticLogits(fit, x);
    const c = 3;
    const d = 5;
    const r = new Float64Array(30 * c);
    for (let i = 0; i < 30; i++) {
      const m = Math.max(...Array.from({ length: c }, (_, q) => z.data[i * c + q]));
      const e = Array.from({ length: c }, (_, q) => Math.exp(z.data[i * c + q] - m));
      const s = e.reduce((a, b) => a + b, 0);
      for (let q = 0; q < c; q++) r[i * c + q] = (e[q] / s - (y[i] === q ? 1 : 0)) / 30;
    }
    for (let q = 0; q < c; q++) {
      let colSum = 0;
      for (let i = 0; i < 30; i++) colSum += r[i * c + q];
      expect(Math.abs(colSum)).toBeLessThan(1e-10);
      for (let j = 0; j < d; j++) {
        let g = 0;
        for (let i = 0; i < 30; i++) g += ((x.data[i * d + j] - fit.mean[j]) * fit.scale[j] * r[i * c + q]) as number;
        expect(Math.abs(g + lambda * fit.weights.data[j * c + q])).toBeLessThan(1e-10);
      }
    }
    expect(fit.bias.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 14);
  });

  it('permuting the rows, scaling or shifting a column, and the JS engine give the same fit', async () => {
    const { x, y } = basic(0, 30);
    const ref = await fitLogistic(await headData(x), y, { lambda: 0.1, ...TIGHT });
    const perm = Array.from({ length: 30 }, (_, i) => (i * 7) % 30);
    const xp = matrix(perm.map((i) => Array.from(x.data.subarray(i * 5, i * 5 + 5))));
    const a = await fitLogistic(
      await headData(xp),
      perm.map((i) => y[i]),
      { lambda: 0.1, ...TIGHT },
    );
    expect(relErr(a.weights.data, ref.weights.data)).toBeLessThan(1e-8);
    const xs = matrix(
      Array.from({ length: 30 }, (_, i) => Array.from({ length: 5 }, (_, j) => x.data[i * 5 + j] * (j === 2 ? 1e6 : 1) + (j === 3 ? -4e3 : 0))),
    );
    const b = await fitLogistic(await headData(xs), y, { lambda: 0.1, ...TIGHT });
    expect(relErr(b.weights.data, ref.weights.data)).toBeLessThan(1e-7);
    const js = await fitLogistic(await headData(x, jsEngine), y, { lambda: 0.1, ...TIGHT });
    expect(relErr(js.weights.data, ref.weights.data)).toBeLessThan(1e-8);
  });

  it('the preconditioner changes the path, not the solution (N > D and N < D), and saves iterations overall', async () => {
    let pre = 0;
    let plain = 0;
    for (const { x, y } of [basic(0, 30), wide()]) {
      const data = await headData(x);
      for (const lambda of [1, 1e-2, 1e-3]) {
        const a = await fitLogistic(data, y, { lambda, ...TIGHT });
        const b = await fitLogistic(data, y, { lambda, ...TIGHT, precondition: false });
        expect(relErr(a.weights.data, b.weights.data)).toBeLessThan(1e-7);
        pre += (await fitLogistic(data, y, { lambda })).iterations;
        plain += (await fitLogistic(data, y, { lambda, precondition: false })).iterations;
      }
    }
    expect(pre).toBeLessThan(plain);
  });

  it('reducedHeadData: fits in principal coordinates equal fits on the once-standardised features (N > D and N < D)', async () => {
    for (const { x, y } of [basic(0, 30), wide()]) {
      const n = x.rows;
      const d = x.cols;
      const st = standardizer(
        await headData(x),
        Array.from({ length: n }, (_, i) => i),
      );
      const full = await headData(x);
      const xs = matrix(Array.from({ length: n }, (_, i) => Array.from({ length: d }, (_, j) => (full.xc[i * d + j] - st.mu[j]) * st.scale[j])));
      const plain = await headData(xs);
      plain.fixed = true;
      const reduced = await reducedHeadData(x);
      expect(reduced.d).toBeLessThanOrEqual(Math.min(n, d));
      const rows = Array.from({ length: n }, (_, i) => i).filter((i) => i % 4 !== 1);
      const held = Array.from({ length: n }, (_, i) => i).filter((i) => i % 4 === 1);
      for (const lambda of [1, 1e-2]) {
        const a = await fitLogistic(reduced, y, { lambda, rows, ...TIGHT });
        const b = await fitLogistic(plain, y, { lambda, rows, ...TIGHT });
        expect(Math.abs(a.loss - b.loss) / b.loss).toBeLessThan(1e-9);
        expect(Array.from(await predictLogisticRows(reduced, a, held))).toEqual(Array.from(await predictLogisticRows(plain, b, held)));
        // ‖W‖ is rotation-invariant.
        const norm = (f: LogisticFit) => Math.sqrt(f.weights.data.reduce((s2, v) => s2 + v * v, 0));
        expect(norm(a)).toBeCloseTo(norm(b), 7);
      }
    }
  });

  it('relabelling the classes permutes the weight columns', async () => {
    const { x, y } = basic(0, 30);
    const data = await headData(x);
    const ref = await fitLogistic(data, y, { lambda: 0.1, ...TIGHT });
    const map = [2, 0, 1];
    const other = await fitLogistic(
      data,
      y.map((v) => map[v]),
      { lambda: 0.1, ...TIGHT },
    );
    for (let j = 0; j < 5; j++) for (let q = 0; q < 3; q++) expect(other.weights.data[j * 3 + map[q]]).toBeCloseTo(ref.weights.data[j * 3 + q], 8);
  });

  it('a λ path with warm starts reaches the same fits as cold starts, in fewer iterations', async () => {
    const { x, y } = basic(0, 30);
    const data = await headData(x);
    const grid = [1, 0.1, 0.01, 0.001];
    const path = await logisticPath(data, y, grid, TIGHT);
    let cold = 0;
    for (let k = 0; k < grid.length; k++) {
      const f = await fitLogistic(data, y, { lambda: grid[k], ...TIGHT });
      cold += f.iterations;
      expect(relErr(path[k].weights.data, f.weights.data)).toBeLessThan(1e-7);
    }
    expect(path.reduce((s, f) => s + f.iterations, 0)).toBeLessThan(cold);
  });

  it('a fit on a subset of rows equals the fit on those rows alone; a one-class subset predicts that class', async () => {
    const { x, y } = basic(0, 30);
    const data = await headData(x);
    const rows = Array.from({ length: 20 }, (_, i) => i + 5);
    const sub = await fitLogistic(data, y, { lambda: 0.1, rows, ...TIGHT });
    const alone = await fitLogistic(
      await headData(matrix(rows.map((r) => Array.from(x.data.subarray(r * 5, r * 5 + 5))))),
      rows.map((r) => y[r]),
      {
        lambda: 0.1,
        ...TIGHT,
      },
    );
    expect(relErr(sub.weights.data, alone.weights.data)).toBeLessThan(1e-8);
    expect(relErr(sub.mean, alone.mean)).toBeLessThan(1e-12);
    const one = await fitLogistic(data, y, { lambda: 0.1, rows: [0, 3, 6, 9] });
    expect(one.classes).toEqual([0]);
    expect(Array.from(await predictLogistic(one, x))).toEqual(new Array(30).fill(0));
  });

  it('standardizer: population σ, the constant-column rule, relative to the global centring', async () => {
    const x = matrix([
      [1, 5, 1e12],
      [2, 5, 1e12 + 1e-3],
      [4, 5, 1e12],
      [5, 5, 1e12],
    ]);
    const data = await headData(x);
    const st = standardizer(data, [0, 1, 2, 3]);
    expect(st.scale[0]).toBeCloseTo(1 / Math.sqrt(2.5), 14);
    expect(st.scale[1]).toBe(0); // exactly constant
    expect(st.scale[2]).toBe(0); // variation below rounding of 1e12 (n·ε·|m| ≈ 1e-3)
    expect(data.mean[0] + st.mu[0]).toBeCloseTo(3, 14);
    const part = standardizer(data, [0, 1]);
    expect(data.mean[0] + part.mu[0]).toBeCloseTo(1.5, 14);
    expect(part.scale[0]).toBeCloseTo(2, 12);
  });

  it('stratified folds: sizes differ by at most one, classes spread evenly, seeded', () => {
    const y = Array.from({ length: 23 }, (_, i) => (i < 10 ? 0 : i < 17 ? 1 : 2));
    const f = stratifiedFolds(y, 4, 3);
    const sizes = [0, 1, 2, 3].map((k) => f.filter((v) => v === k).length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    for (const c of [0, 1, 2]) {
      const per = [0, 1, 2, 3].map((k) => f.filter((v, i) => v === k && y[i] === c).length);
      expect(Math.max(...per) - Math.min(...per)).toBeLessThanOrEqual(1);
    }
    expect(Array.from(stratifiedFolds(y, 4, 3))).toEqual(Array.from(f));
    expect(Array.from(stratifiedFolds(y, 4, 4))).not.toEqual(Array.from(f));
  });
});

describe('logistic head: errors', () => {
  it('rejects bad λ, grids, folds, shapes and non-finite features', async () => {
    const { x, y } = basic(0, 30);
    const data = await headData(x);
    await expect(fitLogistic(data, y, { lambda: 0 })).rejects.toThrow(/λ must be a positive number, got 0/);
    await expect(fitLogistic(data, y, { lambda: Number.NaN })).rejects.toThrow(/λ must be a positive number/);
    await expect(fitLogistic(data, y.slice(1), { lambda: 1 })).rejects.toThrow(/29 labels for 30 images/);
    await expect(fitLogistic(data, y, { lambda: 1, rows: [] })).rejects.toThrow(/no training images/);
    await expect(fitLogistic(data, y, { lambda: 1, rows: [0, 40] })).rejects.toThrow(/row 40 outside 0…29/);
    await expect(crossValidatedLogistic(data, y, { lambdas: [] })).rejects.toThrow(/empty λ grid/);
    await expect(crossValidatedLogistic(data, y, { folds: 1 })).rejects.toThrow(/folds must be an integer ≥ 2, got 1/);
    expect(() => stratifiedFolds([0, 1], 3, 0)).toThrow(/2 images are too few for 3 folds/);
    const bad = { ...x, data: Float64Array.from(x.data) };
    bad.data[7] = Number.POSITIVE_INFINITY;
    await expect(headData(bad)).rejects.toThrow(/feature 3 of image 2 is Infinity; features must be finite/);
    await expect(headData({ rows: 0, cols: 3, data: new Float64Array(0) })).rejects.toThrow(/0×3 features/);
    const fit = await fitLogistic(data, y, { lambda: 1 });
    await expect(predictLogistic(fit, { rows: 1, cols: 4, data: new Float64Array(4) })).rejects.toThrow(/4 features given, the fit has 5/);
    const warm: LogisticFit = { ...fit, weights: { rows: 4, cols: 3, data: new Float64Array(12) } };
    await expect(fitLogistic(data, y, { lambda: 1, init: warm })).rejects.toThrow(/warm start has 4 features, the data 5/);
    expect(() => accuracy([1, 2], [1])).toThrow(/2 predictions for 1 labels/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// MLP

/** Two interleaved half-moons-like rings: not linearly separable, separable by one hidden layer. */
function rings(n: number): { x: Matrix; y: number[] } {
  const rows: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    const t = (2 * Math.PI * ((i * 37) % n)) / n;
    const r = c === 0 ? 1 : 3;
    rows.push([r * Math.cos(t), r * Math.sin(t), 0.05 * ((i * 13) % 7)]);
    y.push(c);
  }
  return { x: matrix(rows), y };
}

describe('MLP head', () => {
  it('learns a problem no linear head can (concentric rings) and is reproducible from its seed', async () => {
    const { x, y } = rings(200);
    const data = await headData(x);
    const fit = await fitMlp(data, y, { hidden: 32, learningRate: 0.01, maxEpochs: 300, patience: 30, batchSize: 32, seed: 1 });
    const acc = accuracy(await predictMlp(fit, x), y);
    expect(acc).toBeGreaterThan(0.97);
    const lin = await fitLogistic(data, y, { lambda: 1e-4 });
    expect(accuracy(await predictLogistic(lin, x), y)).toBeLessThan(0.75);
    const again = await fitMlp(data, y, { hidden: 32, learningRate: 0.01, maxEpochs: 300, patience: 30, batchSize: 32, seed: 1 });
    expect(Array.from(again.w1.data)).toEqual(Array.from(fit.w1.data));
    expect(again.bestEpoch).toBe(fit.bestEpoch);
    expect(fit.bestEpoch).toBeGreaterThan(0);
    expect(fit.bestEpoch).toBeLessThanOrEqual(fit.epochs);
  });

  it('early stopping keeps the best validation epoch and stops after `patience` epochs without improvement', async () => {
    // Labels unrelated to the features: the validation loss stops improving almost at once.
    const { x } = rings(100);
    const y = Array.from({ length: 100 }, (_, i) => ((i * i * 7) % 11) % 2);
    const fit = await fitMlp(await headData(x), y, { hidden: 8, maxEpochs: 500, patience: 3, seed: 2 });
    expect(fit.epochs - fit.bestEpoch).toBeLessThanOrEqual(3);
    expect(fit.epochs).toBeLessThan(500);
  });

  it('cross-validates the weight decay over its grid', async () => {
    const { x, y } = rings(120);
    const { fit, cv } = await crossValidatedMlp(await headData(x), y, {
      weightDecays: [1e-4, 10],
      folds: 3,
      hidden: 16,
      learningRate: 0.01,
      maxEpochs: 150,
      patience: 20,
      batchSize: 32,
    });
    expect(cv.grid).toEqual([1e-4, 10]);
    expect(cv.accuracy[0]).toBeGreaterThan(cv.accuracy[1]); // decay 10 shrinks the weights to nothing
    expect(cv.best).toBe(1e-4);
    expect(fit.weightDecay).toBe(1e-4);
  });

  it('holdout selection (folds 0) trains each weight decay once on the same split and keeps the best', async () => {
    const { x, y } = rings(120);
    const data = await headData(x);
    const opts = { hidden: 16, learningRate: 0.01, maxEpochs: 80, patience: 15, batchSize: 32 };
    const { fit, cv } = await crossValidatedMlp(data, y, { ...opts, weightDecays: [1e-4, 10], folds: 0 });
    expect(cv.folds).toBe(0);
    expect(cv.accuracy[0]).toBeGreaterThan(cv.accuracy[1]);
    expect(fit.weightDecay).toBe(1e-4);
    expect(fit.validationAccuracy).toBe(cv.accuracy[0]);
    const alone = await fitMlp(data, y, { ...opts, weightDecay: 1e-4 });
    expect(Array.from(fit.w1.data)).toEqual(Array.from(alone.w1.data)); // the same split and init as a plain fit
  });

  it('inputs are clipped to ±MLP_CLIP: a column nearly constant in training cannot blow up a prediction', async () => {
    const { x, y } = rings(60);
    const rows = Array.from({ length: 60 }, (_, i) => [x.data[3 * i], x.data[3 * i + 1], i === 0 ? 1e-9 : 0]);
    const data = await headData(matrix(rows));
    const fit = await fitMlp(data, y, { hidden: 16, learningRate: 0.01, maxEpochs: 100, patience: 20, batchSize: 16 });
    expect(fit.scale[2]).toBeGreaterThan(1e9);
    const probe = matrix([
      [rows[5][0], rows[5][1], 0],
      [rows[5][0], rows[5][1], 1e-9 * MLP_CLIP * 10],
      [rows[5][0], rows[5][1], 1],
    ]);
    const z = mlpInputs(fit, probe);
    expect(z[2]).toBeCloseTo((0 - fit.mean[2]) * fit.scale[2], 12); // in range: unchanged
    expect([z[5], z[8]]).toEqual([MLP_CLIP, MLP_CLIP]); // 1e-7 and 1 both clip
    expect(z[3]).toBeCloseTo((rows[5][0] - fit.mean[0]) * fit.scale[0], 12);
    const pred = await predictMlp(fit, probe);
    expect(pred[2]).toBe(pred[1]);
    expect(Number.isFinite(fit.validationLoss)).toBe(true);
  });

  it('rejects bad options', async () => {
    const { x, y } = rings(20);
    const data = await headData(x);
    await expect(fitMlp(data, y, { weightDecay: -1 })).rejects.toThrow(/weight decay must be ≥ 0, got -1/);
    await expect(fitMlp(data, y, { validation: 1 })).rejects.toThrow(/validation share must be in \(0, 1\), got 1/);
    await expect(crossValidatedMlp(data, y, { weightDecays: [] })).rejects.toThrow(/empty weight-decay grid/);
    const fit = await fitMlp(data, y, { maxEpochs: 2 });
    await expect(predictMlp(fit, { rows: 1, cols: 2, data: new Float64Array(2) })).rejects.toThrow(/2 features given, the fit has 3/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The `linear` score

describe('linear score (cross-validated logistic probe)', () => {
  it.each(golden.linear.map((g) => [`${g.case}, ${g.folds} folds`, g] as const))('%s matches the reference', async (_name, g) => {
    const { x, y } = inputOf(g.case);
    const r = await computeScore(g.folds === 5 ? 'linear' : `linear:folds=${g.folds}`, { features: x, target: classTarget(y) });
    expect(r.value).toBeCloseTo(g.value, 9);
    expect(r.id).toBe(g.folds === 5 ? 'linear' : `linear:folds=${g.folds}`);
  });

  it('well separated classes score 100; constant features score the majority rate', async () => {
    const rows = Array.from({ length: 24 }, (_, i) => [
      10 * Math.cos((2 * Math.PI * (i % 3)) / 3) + ((i * 7) % 5) / 5,
      10 * Math.sin((2 * Math.PI * (i % 3)) / 3) + ((i * 11) % 13) / 13,
    ]);
    const sep = await computeScore('linear', { features: matrix(rows), target: classTarget(rows.map((_, i) => `c${i % 3}`)) });
    expect(sep.value).toBe(100);
    // Constant features: every fit is its bias alone; balanced training parts tie, the tie goes to the first code.
    const flat = matrix(Array.from({ length: 24 }, () => [1, 2]));
    const half = await computeScore('linear:folds=4', { features: flat, target: classTarget(rows.map((_, i) => (i % 2 ? 'b' : 'a'))) });
    expect(half.value).toBe(50);
  });

  it('is invariant to the order of the feature columns, their scale and offset, and to renaming the labels', async () => {
    const { x, y } = basic(0, 30);
    const ref = (await computeScore('linear', { features: x, target: classTarget(y) })).value;
    const perm = [3, 0, 4, 1, 2];
    const xp = matrix(Array.from({ length: 30 }, (_, i) => perm.map((j) => x.data[i * 5 + j] * (j === 1 ? 1e5 : 1) + (j === 2 ? 7e3 : 0))));
    const names = ['zeta', 'alpha', 'mid'];
    expect((await computeScore('linear', { features: xp, target: classTarget(y.map((v) => names[v])) })).value).toBe(ref);
  });

  it('leave-one-out when N is below the fold count', async () => {
    const { f, y } = t132();
    const x = matrix(f.slice(0, 6));
    const r = await computeScore('linear:folds=10', { features: x, target: classTarget(y.slice(0, 6)) });
    expect(r.value).toBeGreaterThanOrEqual(0);
    expect(r.value).toBeLessThanOrEqual(100);
    expect((r.value * 6) / 100).toBeCloseTo(Math.round((r.value * 6) / 100), 9);
  });

  it('bad input: one class, a class with one image, NaN features, wrong row count, bad folds', async () => {
    const { x, y } = basic(0, 30);
    await expect(computeScore('linear', { features: x, target: classTarget(new Array(30).fill('a')), name: 'f.npy' })).rejects.toThrow(
      /linear: f.npy: only one class \("a"\)/,
    );
    const lonely = y.map((v, i) => (i === 0 ? 'solo' : String(v)));
    await expect(computeScore('linear', { features: x, target: classTarget(lonely) })).rejects.toThrow(
      /class "solo" has 1 image\(s\); .* needs at least 2 per class/,
    );
    const bad = { ...x, data: Float64Array.from(x.data) };
    bad.data[12] = Number.NaN;
    await expect(computeScore('linear', { features: bad, target: classTarget(y) })).rejects.toThrow(/value at image 3, column 3 is NaN/);
    await expect(computeScore('linear', { features: x, target: classTarget(y.slice(1)) })).rejects.toThrow(/30 images of features but 29 labels/);
    await expect(computeScore('linear:folds=1', { features: x, target: classTarget(y) })).rejects.toThrow(/folds must be an integer ≥ 2, got 1/);
  });
});
