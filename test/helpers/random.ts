/** Seeded random data for tests (mulberry32 + Box–Muller): the same numbers on every machine. */
import type { Representation } from '../../src/features/types.js';
import { mulberry32 } from '../../src/linalg/resample.js';

/** The library's seeded generator (mulberry32), so tests and bootstrap share one definition. */
export const rng = mulberry32;

export function gaussian(seed: number): () => number {
  const u = rng(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

export function randomRep(label: string, n: number, shape: number[], seed: number): Representation {
  const p = shape.reduce((a, b) => a * b, 1);
  const g = gaussian(seed);
  const data = new Float64Array(n * p);
  for (let i = 0; i < data.length; i++) data[i] = g();
  return { label, n, p, shape, data, source: `random:${seed}` };
}

/** A random p×p orthogonal matrix (Gram–Schmidt on Gaussian columns), row-major. */
export function randomOrthogonal(p: number, seed: number): Float64Array {
  const g = gaussian(seed);
  const q = new Float64Array(p * p);
  for (let c = 0; c < p; c++) {
    const v = new Float64Array(p).map(() => g());
    for (let prev = 0; prev < c; prev++) {
      let dot = 0;
      for (let r = 0; r < p; r++) dot += v[r] * q[r * p + prev];
      for (let r = 0; r < p; r++) v[r] -= dot * q[r * p + prev];
    }
    const norm = Math.hypot(...v);
    for (let r = 0; r < p; r++) q[r * p + c] = v[r] / norm;
  }
  return q;
}

/**
 * A random well-conditioned invertible p×p matrix: Q₁·diag(s)·Q₂ with orthogonal Q's and singular values s in
 * [0.3, 3] (condition number ≤ 10), so X·A is a genuine non-orthogonal change of basis.
 */
export function invertibleMatrix(p: number, seed: number): Float64Array {
  const q1 = randomOrthogonal(p, seed);
  const q2 = randomOrthogonal(p, seed + 1);
  const u = rng(seed + 2);
  const s = Array.from({ length: p }, () => 0.3 * 10 ** u());
  const out = new Float64Array(p * p);
  for (let i = 0; i < p; i++)
    for (let j = 0; j < p; j++) {
      let v = 0;
      for (let k = 0; k < p; k++) v += q1[i * p + k] * s[k] * q2[k * p + j];
      out[i * p + j] = v;
    }
  return out;
}

/** X·Q for an n×p representation and a p×p matrix. */
export function rotate(rep: Representation, q: Float64Array): Representation {
  const { n, p } = rep;
  const out = new Float64Array(n * p);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < p; j++) {
      let s = 0;
      for (let k = 0; k < p; k++) s += rep.data[i * p + k] * q[k * p + j];
      out[i * p + j] = s;
    }
  return { ...rep, data: out, label: `${rep.label}·Q` };
}

export function mapRep(rep: Representation, f: (x: number, i: number, j: number) => number, suffix: string): Representation {
  const out = new Float64Array(rep.n * rep.p);
  for (let i = 0; i < rep.n; i++) for (let j = 0; j < rep.p; j++) out[i * rep.p + j] = f(rep.data[i * rep.p + j], i, j);
  return { ...rep, data: out, label: `${rep.label}${suffix}` };
}
