/**
 * The optional native engine (native/lapack, src/linalg/lapack.ts) against the JavaScript path: symmetricEigen's
 * two solvers must agree on every kind of input the scores and MDS produce, and the addon's BLAS products must
 * match the triple-loop reference. The native cases skip, with the reason printed, only where the addon is not
 * installed — never under CI (`CI` set), where scripts/ci-setup.sh installs its libraries. This file clears
 * `TASKMAP_LAPACK=0` for itself, so `TASKMAP_LAPACK=0 npx vitest run test/linalg` still checks the native path here
 * while the other files run on the JavaScript one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromRows, zeros, type Matrix } from '../../src/linalg/dense.js';
import { symmetricEigen, symmetricEigenvalues, type SymmetricEigen } from '../../src/linalg/eigen.js';
import { lapackUnavailableReason, loadLapack, type NativeLapack } from '../../src/linalg/lapack.js';
import { naiveABt } from '../helpers/naive.js';
import { gaussian, randomOrthogonal } from '../helpers/random.js';

const envSwitch = process.env.TASKMAP_LAPACK;
delete process.env.TASKMAP_LAPACK;
const lib = loadLapack();
const reason = lapackUnavailableReason();
if (envSwitch !== undefined) process.env.TASKMAP_LAPACK = envSwitch;
if (!lib) console.log(`lapack.test: native engine absent, its comparisons ${process.env.CI ? 'FAIL under CI' : 'are skipped'}: ${reason}`);

function withSwitch<T>(value: string | undefined, f: () => T): T {
  const saved = process.env.TASKMAP_LAPACK;
  if (value === undefined) delete process.env.TASKMAP_LAPACK;
  else process.env.TASKMAP_LAPACK = value;
  try {
    return f();
  } finally {
    if (saved === undefined) delete process.env.TASKMAP_LAPACK;
    else process.env.TASKMAP_LAPACK = saved;
  }
}

function matrix(n: number, f: (i: number, j: number) => number): Matrix {
  const m = zeros(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m.data[i * n + j] = f(i, j);
  return m;
}

/** (G + Gᵀ)/2 for a seeded Gaussian G: a generic indefinite symmetric matrix with simple eigenvalues. */
function randomSymmetric(n: number, seed: number): Matrix {
  const g = gaussian(seed);
  const m = matrix(n, () => g());
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const s = (m.data[i * n + j] + m.data[j * n + i]) / 2;
      m.data[i * n + j] = s;
      m.data[j * n + i] = s;
    }
  return m;
}

/** Q diag(d) Qᵀ with a seeded random orthogonal Q: a symmetric matrix with exactly the spectrum d. */
function withSpectrum(d: number[], seed: number): Matrix {
  const n = d.length;
  const q = randomOrthogonal(n, seed);
  const m = matrix(n, (i, j) => d.reduce((s, dk, k) => s + q[i * n + k] * dk * q[j * n + k], 0));
  // Rounding leaves |a_ij − a_ji| ~ 1e-16; symmetrise so both solvers see the same matrix.
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) m.data[j * n + i] = m.data[i * n + j];
  return m;
}

/**
 * The two decompositions agree. Eigenvalues: |Δλ| ≤ tol·‖A‖₂ for all (Weyl: that is what a backward-stable solver
 * guarantees, so a relative test on a rounding-level zero would be meaningless) and |Δλ|/|λ| ≤ tol where
 * |λ| ≥ 1e-6‖A‖₂. Eigenvectors: equal up to sign for a simple eigenvalue; for a repeated one (a cluster within
 * 1e-8‖A‖₂) the basis is arbitrary, so the projectors onto the eigenspace are compared.
 */
function expectAgree(p: SymmetricEigen, q: SymmetricEigen, tol = 1e-9): void {
  const n = p.values.length;
  expect(q.values.length).toBe(n);
  const norm = Math.max(Math.abs(p.values[0] ?? 0), Math.abs(p.values[n - 1] ?? 0));
  for (let j = 0; j < n; j++) {
    const d = Math.abs(p.values[j] - q.values[j]);
    expect(d).toBeLessThanOrEqual(tol * norm);
    if (norm > 0 && Math.abs(p.values[j]) >= 1e-6 * norm) expect(d / Math.abs(p.values[j])).toBeLessThanOrEqual(tol);
  }
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && p.values[end - 1] - p.values[end] <= 1e-8 * norm) end++;
    if (end - start === 1) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += p.vectors.data[i * n + start] * q.vectors.data[i * n + start];
      const sign = dot < 0 ? -1 : 1;
      for (let i = 0; i < n; i++) expect(Math.abs(p.vectors.data[i * n + start] - sign * q.vectors.data[i * n + start])).toBeLessThanOrEqual(tol);
    } else {
      for (let i = 0; i < n; i++)
        for (let k = 0; k < n; k++) {
          let pp = 0;
          let qq = 0;
          for (let j = start; j < end; j++) {
            pp += p.vectors.data[i * n + j] * p.vectors.data[k * n + j];
            qq += q.vectors.data[i * n + j] * q.vectors.data[k * n + j];
          }
          expect(Math.abs(pp - qq)).toBeLessThanOrEqual(tol);
        }
    }
    start = end;
  }
}

/** The output contract: values descending, columns orthonormal, V Λ Vᵀ = A (to `tol` × max |a|). */
function expectContract(a: Matrix, e: SymmetricEigen, tol = 1e-12): void {
  const n = a.rows;
  const scale = Math.max(1, ...Array.from(a.data, Math.abs));
  for (let j = 1; j < n; j++) expect(e.values[j]).toBeLessThanOrEqual(e.values[j - 1]);
  const v = e.vectors.data;
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) {
      let rec = 0;
      let dot = 0;
      for (let j = 0; j < n; j++) {
        rec += v[i * n + j] * e.values[j] * v[k * n + j];
        dot += v[j * n + i] * v[j * n + k];
      }
      expect(Math.abs(rec - a.data[i * n + k])).toBeLessThanOrEqual(tol * scale * n);
      expect(Math.abs(dot - (i === k ? 1 : 0))).toBeLessThanOrEqual(tol * n);
    }
}

const both = (a: Matrix) => [symmetricEigen(a, { engine: 'lapack' }), symmetricEigen(a, { engine: 'js' })] as const;

describe.skipIf(!lib && !process.env.CI)('native LAPACK engine vs ml-matrix', () => {
  let native: NativeLapack;
  beforeAll(() => {
    if (!lib) throw new Error(`the native engine is required under CI and did not load: ${reason}`);
    native = lib;
    delete process.env.TASKMAP_LAPACK;
  });
  afterAll(() => {
    if (envSwitch !== undefined) process.env.TASKMAP_LAPACK = envSwitch;
  });

  it('random symmetric matrices (n = 2, 3, 10, 100, 257): same eigenvalues and eigenvectors up to sign', () => {
    for (const [n, seed] of [
      [2, 1],
      [3, 2],
      [10, 3],
      [100, 4],
      [257, 5],
    ]) {
      const a = randomSymmetric(n, seed);
      const [lapack, js] = both(a);
      expectAgree(lapack, js);
      if (n <= 100) expectContract(a, lapack);
    }
  });

  it('rank-deficient Gram X·Xᵀ (80×80 of rank 5, a 75-fold zero eigenvalue) and the zero matrix', () => {
    const g = gaussian(11);
    const x = Float64Array.from({ length: 80 * 5 }, () => 10 * g());
    const gram: Matrix = { rows: 80, cols: 80, data: naiveABt({ rows: 80, cols: 5, data: x }, { rows: 80, cols: 5, data: x }) };
    const [lapack, js] = both(gram);
    expectAgree(lapack, js);
    expectContract(gram, lapack);
    const norm = lapack.values[0];
    for (let j = 5; j < 80; j++) expect(Math.abs(lapack.values[j])).toBeLessThan(1e-13 * norm);
    expect(lapack.values[4]).toBeGreaterThan(1e-3 * norm);
    const [z, zJs] = both(zeros(4, 4));
    expect(Array.from(z.values)).toEqual([0, 0, 0, 0]);
    expectAgree(z, zJs);
    expectContract(zeros(4, 4), z);
  });

  it('repeated eigenvalues Q·diag(5, 5, 5, 2, 2, 0, −1 ×4, −3)·Qᵀ: the closed-form spectrum, equal eigenspaces', () => {
    const d = [5, 5, 5, 2, 2, 0, -1, -1, -1, -1, -3];
    const a = withSpectrum(d, 21);
    const [lapack, js] = both(a);
    d.forEach((dj, j) => {
      expect(Math.abs(lapack.values[j] - dj)).toBeLessThan(1e-13 * 5);
      expect(Math.abs(js.values[j] - dj)).toBeLessThan(1e-13 * 5);
    });
    expectAgree(lapack, js);
    expectContract(a, lapack);
  });

  it('1×1: the entry itself with eigenvector ±1; 0×0 gives empty output', () => {
    const [lapack, js] = both(fromRows([[-4.5]]));
    expect(lapack.values[0]).toBe(-4.5);
    expect(Math.abs(lapack.vectors.data[0])).toBe(1);
    expectAgree(lapack, js);
    const empty = symmetricEigen(zeros(0, 0), { engine: 'lapack' });
    expect(empty.values.length).toBe(0);
    expect(empty.vectors.data.length).toBe(0);
  });

  it('tridiagonal [2 1 0; 1 2 1; 0 1 2] on the native path: 2+√2, 2, 2−√2 and the closed-form eigenvectors', () => {
    const { values, vectors } = symmetricEigen(
      fromRows([
        [2, 1, 0],
        [1, 2, 1],
        [0, 1, 2],
      ]),
      { engine: 'lapack' },
    );
    [2 + Math.SQRT2, 2, 2 - Math.SQRT2].forEach((v, j) => expect(values[j]).toBeCloseTo(v, 14));
    [
      [0.5, Math.SQRT1_2, 0.5],
      [Math.SQRT1_2, 0, -Math.SQRT1_2],
      [0.5, -Math.SQRT1_2, 0.5],
    ].forEach((u, j) => {
      const sign = Math.sign(u.reduce((s, uk, k) => s + uk * vectors.data[k * 3 + j], 0));
      u.forEach((uk, k) => expect(sign * vectors.data[k * 3 + j]).toBeCloseTo(uk, 14));
    });
  });

  it('the default engine is the native one when installed (bit-identical to forcing it)', () => {
    const a = randomSymmetric(30, 7);
    const auto = symmetricEigen(a);
    const forced = symmetricEigen(a, { engine: 'lapack' });
    expect(auto.values).toEqual(forced.values);
    expect(auto.vectors.data).toEqual(forced.vectors.data);
  });

  it('validation is shared: asymmetric, non-square and non-finite input fail the same way on the native path', () => {
    const opts = { engine: 'lapack' as const };
    expect(
      symmetricEigen(
        fromRows([
          [1, 0.5],
          [0.5 + 1e-15, 1],
        ]),
        opts,
      ).values[0],
    ).toBeCloseTo(1.5, 14);
    expect(() =>
      symmetricEigen(
        fromRows([
          [1, 2],
          [3, 1],
        ]),
        opts,
      ),
    ).toThrow(/not symmetric: \(0, 1\) = 2 but \(1, 0\) = 3/);
    expect(() => symmetricEigen(fromRows([[1, 2, 3]]), opts)).toThrow(/1×3, not square/);
    expect(() =>
      symmetricEigen(
        fromRows([
          [1, Number.POSITIVE_INFINITY],
          [Number.POSITIVE_INFINITY, 1],
        ]),
        opts,
      ),
    ).toThrow(/entry \(0, 1\) is Infinity/);
  });

  it('symmetricEigenvalues (no eigenvectors formed): the same spectrum as the full decomposition, largest first', () => {
    const d = [5, 5, 5, 2, 2, 0, -1, -1, -1, -1, -3];
    const values = symmetricEigenvalues(withSpectrum(d, 21), { engine: 'lapack' });
    d.forEach((dj, j) => expect(Math.abs(values[j] - dj)).toBeLessThan(1e-13 * 5));
    const a = randomSymmetric(120, 41);
    const full = symmetricEigen(a, { engine: 'js' }).values;
    const only = symmetricEigenvalues(a, { engine: 'lapack' });
    const norm = Math.max(Math.abs(full[0]), Math.abs(full[119]));
    for (let j = 0; j < 120; j++) expect(Math.abs(only[j] - full[j])).toBeLessThanOrEqual(1e-12 * norm);
    const raw = native.eigh(a.data, 120, false);
    expect('vectors' in raw).toBe(false);
    expect(raw.values).toEqual(only);
    expect(() =>
      symmetricEigenvalues(
        fromRows([
          [1, 2],
          [3, 1],
        ]),
        { engine: 'lapack' },
      ),
    ).toThrow(/^symmetricEigenvalues: matrix is not symmetric/);
  });

  it('syrk and gemmAbt match the triple-loop products (float64, 1e-13 relative)', () => {
    const g = gaussian(31);
    const x = Float64Array.from({ length: 37 * 53 }, () => g());
    const y = Float64Array.from({ length: 19 * 53 }, () => g());
    const xm = { rows: 37, cols: 53, data: x };
    const ym = { rows: 19, cols: 53, data: y };
    const close = (got: Float64Array, want: Float64Array) => {
      expect(got.length).toBe(want.length);
      const scale = Math.max(...Array.from(want, Math.abs));
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-13 * scale);
    };
    close(native.syrk(x, 37, 53), naiveABt(xm, xm));
    close(native.gemmAbt(x, 37, y, 19, 53), naiveABt(xm, ym));
    // The Gram is exactly symmetric (one triangle mirrored), and empty shapes give zeros.
    const gram = native.syrk(x, 37, 53);
    for (let i = 0; i < 37; i++) for (let j = 0; j < i; j++) expect(gram[i * 37 + j]).toBe(gram[j * 37 + i]);
    expect(Array.from(native.syrk(new Float64Array(0), 3, 0))).toEqual(new Array(9).fill(0));
    expect(native.gemmAbt(new Float64Array(0), 0, y, 19, 53).length).toBe(0);
  });

  it("the addon's own layout: values largest first, eigenvector j in column j (diag(1, 3) → e₂ then e₁)", () => {
    const { values, vectors } = native.eigh(new Float64Array([1, 0, 0, 3]), 2);
    expect(Array.from(values)).toEqual([3, 1]);
    expect(Array.from(vectors, Math.abs)).toEqual([0, 1, 1, 0]);
  });

  it('the addon rejects wrong arguments with a message instead of reading out of bounds', () => {
    expect(() => native.eigh(new Float32Array(4) as unknown as Float64Array, 2)).toThrow(/eigh: a must be a Float64Array/);
    expect(() => native.eigh(new Float64Array(4), 3)).toThrow(/eigh: a holds 4 values, expected 9/);
    expect(() => native.eigh(new Float64Array(4), -2)).toThrow(/eigh: n must be an integer/);
    expect(() => native.eigh(new Float64Array(4), 1.5)).toThrow(/eigh: n must be an integer/);
    expect(() => native.eigh(new Float64Array(0), 40_000)).toThrow(/n = 40000 exceeds 32767/);
    expect(() => native.syrk(new Float64Array(5), 2, 3)).toThrow(/syrk: x holds 5 values, expected 6/);
    expect(() => native.gemmAbt(new Float64Array(6), 2, new Float64Array(5), 2, 3)).toThrow(/gemmAbt: b holds 5 values, expected 6/);
    expect(() => native.eigh(new Float64Array(4), 2, 'no' as never)).toThrow(/eigh: wantVectors must be a boolean/);
    expect(() => native.threads(0)).toThrow(/threads: t must be at least 1/);
  });

  it('reports and sets the OpenBLAS thread count', () => {
    expect(native.config).toMatch(/OpenBLAS/);
    const before = native.threads();
    expect(before).toBeGreaterThanOrEqual(1);
    try {
      expect(native.threads(1)).toBe(1);
      expect(native.threads()).toBe(1);
    } finally {
      native.threads(before);
    }
  });
});

describe('JavaScript fallback', () => {
  it('TASKMAP_LAPACK=0 switches the native engine off: auto is bit-identical to ml-matrix, forcing lapack names the switch', () => {
    const a = randomSymmetric(25, 9);
    withSwitch('0', () => {
      expect(loadLapack()).toBeUndefined();
      expect(lapackUnavailableReason()).toBe('switched off by TASKMAP_LAPACK=0');
      const auto = symmetricEigen(a);
      const js = symmetricEigen(a, { engine: 'js' });
      expect(auto.values).toEqual(js.values);
      expect(auto.vectors.data).toEqual(js.vectors.data);
      expect(() => symmetricEigen(a, { engine: 'lapack' })).toThrow(/native LAPACK engine is unavailable: switched off by TASKMAP_LAPACK=0/);
    });
    // Any other value leaves it on (when installed).
    withSwitch('1', () => expect(loadLapack()).toBe(lib));
  });

  it.runIf(!lib)('without the addon, auto uses ml-matrix and forcing lapack names the missing package', () => {
    withSwitch(undefined, () => {
      expect(reason).toMatch(/taskmap-lapack/);
      const a = randomSymmetric(25, 9);
      const auto = symmetricEigen(a);
      const js = symmetricEigen(a, { engine: 'js' });
      expect(auto.values).toEqual(js.values);
      expect(auto.vectors.data).toEqual(js.vectors.data);
      expect(() => symmetricEigen(a, { engine: 'lapack' })).toThrow(/native LAPACK engine is unavailable: .*taskmap-lapack/);
    });
  });

  it('symmetricEigenvalues on the JavaScript path is symmetricEigen.values', () => {
    const a = randomSymmetric(25, 9);
    expect(symmetricEigenvalues(a, { engine: 'js' })).toEqual(symmetricEigen(a, { engine: 'js' }).values);
    expect(() => symmetricEigenvalues(fromRows([[1, 2, 3]]), { engine: 'js' })).toThrow(/^symmetricEigenvalues: matrix is 1×3, not square/);
  });

  it('rejects an unknown engine name', () => {
    expect(() => symmetricEigen(fromRows([[1]]), { engine: 'blas' as never })).toThrow(/engine must be auto, lapack or js, got blas/);
  });
});
