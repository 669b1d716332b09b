/** Seeded random members of each invariance group of the registry (property tests of the measures). */
import type { Representation } from '../../src/features/types.js';
import type { Invariance } from '../../src/measures/registry.js';
import { gaussian, invertibleMatrix, mapRep, randomOrthogonal, rng, rotate } from './random.js';

/** A seeded permutation of 0…p−1 (Fisher–Yates). */
export function permutation(p: number, seed: number): number[] {
  const u = rng(seed);
  const perm = Array.from({ length: p }, (_, j) => j);
  for (let j = p - 1; j > 0; j--) {
    const k = Math.floor(u() * (j + 1));
    [perm[j], perm[k]] = [perm[k], perm[j]];
  }
  return perm;
}

/** A random instance of each transformation, drawn from `seed`. */
export function transform(rep: Representation, inv: Invariance, seed: number): Representation {
  const g = gaussian(seed * 7919 + 17);
  const p = rep.p;
  switch (inv) {
    case 'orthogonal':
      return rotate(rep, randomOrthogonal(p, seed * 31 + 5));
    case 'isotropic-scaling': {
      const c = Math.exp(0.8 * g()) * (seed % 2 ? 2.5 : 0.4);
      return mapRep(rep, (x) => c * x, '·c');
    }
    case 'translation': {
      const b = Array.from({ length: p }, () => 3 * g());
      return mapRep(rep, (x, _i, j) => x + b[j], '+1bᵀ');
    }
    case 'feature-permutation': {
      const perm = permutation(p, seed * 13 + 1);
      return mapRep(rep, (_x, i, j) => rep.data[i * p + perm[j]], '∘π');
    }
    case 'per-feature-affine': {
      const a = Array.from({ length: p }, () => Math.exp(g()));
      const b = Array.from({ length: p }, () => 3 * g());
      return mapRep(rep, (x, _i, j) => a[j] * x + b[j], '·a+b');
    }
    case 'invertible-linear':
      return { ...rotate(rep, invertibleMatrix(p, seed * 37 + 11)), label: `${rep.label}·A` };
  }
}
