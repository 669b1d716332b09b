/**
 * The probe's cross-validation runs its folds in lockstep (logistic.ts LockstepEngine: the folds' products over the
 * data matrix batched into one). The fits must be the ones each fold makes on its own: same accuracies, same
 * iteration counts, weights equal to rounding — over three seeds, and with a fold that sees only some classes.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/linalg/resample.js';
import { crossValidatedAccuracy, logisticPath, predictLogisticRows, reducedHeadData, stratifiedFolds } from '../../src/transferability/logistic.js';

const GRID = [1, 1e-2, 1e-4];

function problem(seed: number, n: number, d: number, classes: number) {
  const u = mulberry32(seed);
  const y = Int32Array.from({ length: n }, (_, i) => (i * 5 + seed) % classes);
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[i * d + j] = u() - 0.5 + (j % classes === y[i] ? 0.3 : 0) + 0.01 * j;
  return { x: { rows: n, cols: d, data }, y };
}

describe('lockstep cross-validation (reduced data)', () => {
  for (const seed of [1, 2, 3]) {
    it(`equals fold-by-fold fits (seed ${seed})`, async () => {
      const { x, y } = problem(seed, 80, 120, 4);
      const data = await reducedHeadData(x);
      const opts = { folds: 5, seed: 0, tol: 1e-6, maxIter: 60 };
      const cv = await crossValidatedAccuracy(data, y, GRID, opts);
      const fold = stratifiedFolds(y, 5, 0);
      const hits = new Float64Array(GRID.length);
      for (let f = 0; f < 5; f++) {
        const train = [...y.keys()].filter((i) => fold[i] !== f);
        const test = [...y.keys()].filter((i) => fold[i] === f);
        const fits = await logisticPath(data, y, GRID, { rows: train, tol: opts.tol, maxIter: opts.maxIter });
        for (let g = 0; g < GRID.length; g++) {
          const mine = cv.perFold[f][g];
          expect(mine.iterations).toBe(fits[g].iterations);
          const scale = Math.max(...fits[g].weights.data.map(Math.abs));
          fits[g].weights.data.forEach((w, i) => expect(Math.abs(w - mine.weights.data[i])).toBeLessThanOrEqual(1e-9 * scale));
          const pred = await predictLogisticRows(data, fits[g], test);
          test.forEach((r, i) => (hits[g] += pred[i] === y[r] ? 1 : 0));
        }
      }
      expect(cv.accuracy).toEqual(Array.from(hits, (h) => h / y.length));
      // Not a constant: the weakest penalty fits the training rows better than the strongest.
      expect(cv.perFold[0][2].loss).toBeLessThan(cv.perFold[0][0].loss);
    });
  }

  it('keeps going when folds finish at different times (a class missing from one fold)', async () => {
    const { x, y } = problem(4, 41, 60, 3);
    y[40] = 3; // one image of a fourth class: the fold that holds it out has three classes, the others four
    const data = await reducedHeadData(x);
    const cv = await crossValidatedAccuracy(data, y, GRID, { folds: 5, seed: 0, tol: 1e-6, maxIter: 40 });
    expect(cv.perFold.map((f) => f[0].classes.length).sort()).toEqual([3, 4, 4, 4, 4]);
    for (const a of cv.accuracy) expect(a).toBeGreaterThan(0.3);
  });
});
