import { describe, expect, it } from 'vitest';
import { fromRows, zeros, type Matrix } from '../../src/linalg/dense.js';
import { principalEigenvector, symmetricEigen } from '../../src/linalg/eigen.js';

function symmetricTestMatrix(n: number): Matrix {
  const m = zeros(n, n);
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) {
      const v = Math.sin(1 + i * 7 + j * 3) + (i === j ? 0.5 * i : 0);
      m.data[i * n + j] = v;
      m.data[j * n + i] = v;
    }
  return m;
}

describe('symmetricEigen', () => {
  it('tridiagonal [2 1 0; 1 2 1; 0 1 2]: eigenvalues 2+√2, 2, 2−√2 with closed-form eigenvectors', () => {
    const { values, vectors } = symmetricEigen(
      fromRows([
        [2, 1, 0],
        [1, 2, 1],
        [0, 1, 2],
      ]),
    );
    const expected = [2 + Math.SQRT2, 2, 2 - Math.SQRT2];
    expected.forEach((v, j) => expect(values[j]).toBeCloseTo(v, 13));
    const closedForm = [
      [0.5, Math.SQRT1_2, 0.5],
      [Math.SQRT1_2, 0, -Math.SQRT1_2],
      [0.5, -Math.SQRT1_2, 0.5],
    ];
    closedForm.forEach((u, j) => {
      // eigenvectors are defined up to sign
      const sign = Math.sign(u.reduce((s, uk, k) => s + uk * vectors.data[k * 3 + j], 0));
      u.forEach((uk, k) => expect(sign * vectors.data[k * 3 + j]).toBeCloseTo(uk, 13));
    });
  });

  it('reconstructs A = V Λ Vᵀ with orthonormal V and descending eigenvalues (30×30, indefinite)', () => {
    const n = 30;
    const a = symmetricTestMatrix(n);
    const { values, vectors: v } = symmetricEigen(a);
    for (let j = 1; j < n; j++) expect(values[j]).toBeLessThanOrEqual(values[j - 1]);
    expect(values[n - 1]).toBeLessThan(0);
    let trace = 0;
    for (let i = 0; i < n; i++) trace += a.data[i * n + i];
    expect(values.reduce((s, x) => s + x, 0)).toBeCloseTo(trace, 10);
    for (let i = 0; i < n; i++)
      for (let k = 0; k < n; k++) {
        let rec = 0;
        let dot = 0;
        for (let j = 0; j < n; j++) {
          rec += v.data[i * n + j] * values[j] * v.data[k * n + j];
          dot += v.data[j * n + i] * v.data[j * n + k];
        }
        expect(rec).toBeCloseTo(a.data[i * n + k], 11);
        expect(dot).toBeCloseTo(i === k ? 1 : 0, 12);
      }
  });

  it('accepts rounding-level asymmetry and rejects real asymmetry, non-square and non-finite input', () => {
    const nearly = fromRows([
      [1, 0.5],
      [0.5 + 1e-15, 1],
    ]);
    expect(symmetricEigen(nearly).values[0]).toBeCloseTo(1.5, 12);
    expect(() =>
      symmetricEigen(
        fromRows([
          [1, 2],
          [3, 1],
        ]),
      ),
    ).toThrow(/not symmetric: \(0, 1\) = 2 but \(1, 0\) = 3/);
    expect(() =>
      symmetricEigen(
        fromRows([
          [1, 2, 3],
          [2, 1, 0],
        ]),
      ),
    ).toThrow(/2×3, not square/);
    expect(() =>
      symmetricEigen(
        fromRows([
          [1, Number.NaN],
          [Number.NaN, 1],
        ]),
      ),
    ).toThrow(/entry \(0, 1\) is NaN/);
  });
});

describe('principalEigenvector', () => {
  it('AHP worked example (docs/taskonomy.md#ahp): clipped win matrix W ⊘ Wᵀ', () => {
    const w = [
      [0.5, 0.7, 0.9, 1.0],
      [0.3, 0.5, 0.6, 0.8],
      [0.1, 0.4, 0.5, 0.55],
      [0.0, 0.2, 0.45, 0.5],
    ].map((row) => row.map((v) => Math.min(0.999, Math.max(0.001, v))));
    const ratio = fromRows(w.map((row, i) => row.map((v, j) => v / w[j][i])));
    const { value, vector, iterations } = principalEigenvector(ratio);
    // reference value from a dense eigensolver; power iteration agrees to ~2e-14 relative
    expect(Math.abs(value - 7.577988161050054) / 7.577988161050054).toBeLessThan(1e-13);
    [0.903713338705, 0.067553490331, 0.023148936324, 0.00558423464].forEach((p, i) => expect(vector[i]).toBeCloseTo(p, 12));
    expect(vector.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 15);
    // "converges in ~80 steps to 1e-15" (numpy power iteration with the same stopping rule: 81)
    expect(iterations).toBeGreaterThan(60);
    expect(iterations).toBeLessThan(100);
  });

  it('consistent reciprocal matrix: the weights are its ratios and λ = n (hand-worked)', () => {
    // a_ij = p_i / p_j with p = (0.6, 0.3, 0.1) → A p = 3 p
    const p = [0.6, 0.3, 0.1];
    const { value, vector } = principalEigenvector(fromRows(p.map((pi) => p.map((pj) => pi / pj))));
    expect(value).toBeCloseTo(3, 13);
    p.forEach((pi, i) => expect(vector[i]).toBeCloseTo(pi, 14));
  });

  it('rejects negative entries and reports non-convergence of a periodic matrix', () => {
    expect(() =>
      principalEigenvector(
        fromRows([
          [1, -1],
          [1, 1],
        ]),
      ),
    ).toThrow(/\(0, 1\) is negative/);
    // [[0, 2], [1, 0]] maps the uniform start to (2/3, 1/3) and back: period 2, never converges
    expect(() =>
      principalEigenvector(
        fromRows([
          [0, 2],
          [1, 0],
        ]),
        { maxIterations: 50 },
      ),
    ).toThrow(/no convergence/);
    expect(() =>
      principalEigenvector(
        fromRows([
          [0, 0],
          [0, 0],
        ]),
      ),
    ).toThrow(/zero spectral radius/);
  });
});
