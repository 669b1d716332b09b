/** Shared by the inference tests: small representations built from formulas or from another plus noise. */
import type { Representation } from '../../src/features/types.js';
import { mergeMembers } from '../../src/taxonomy/support.js';
import type { Dendrogram } from '../../src/taxonomy/cluster.js';
import { expect } from 'vitest';
import { gaussian } from '../helpers/random.js';

export function rep(label: string, n: number, p: number, f: (i: number, j: number) => number): Representation {
  const data = new Float64Array(n * p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) data[i * p + j] = f(i, j);
  return { label, n, p, shape: [p], data, source: `test:${label}` };
}

/** `base` plus `noise` × fresh Gaussian noise of the same shape. */
export function noisy(label: string, base: Representation, noise: number, seed: number): Representation {
  const g = gaussian(seed);
  return { ...base, label, source: `test:${label}`, data: base.data.map((v) => v + noise * g()) };
}

export const close = (got: ArrayLike<number>, want: number[], tol = 1e-9) => Array.from(got).forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(tol));

/** Each merge's leaves, by label, sorted. */
export const clusterSets = (d: Dendrogram) => mergeMembers(d).map((leaves) => leaves.map((i) => d.labels[i]).sort());

export const GOLDENS_URL = new URL('../fixtures/inference/inference_goldens.json', import.meta.url);
export const FIXTURE = new URL('../fixtures/reference/', import.meta.url).pathname;
