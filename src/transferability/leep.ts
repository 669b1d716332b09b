/**
 * LEEP (Nguyen et al., ICML 2020) and NCE (Tran et al., ICCV 2019): how well the source model's own classes predict
 * the target labels, from its class probabilities θ on the target images. docs/transferability.md#leep and #nce.
 */
import type { Matrix } from '../linalg/dense.js';
import type { Scorer } from './types.js';

/**
 * LEEP of class probabilities θ (N×K, rows summing to 1) for codes 0…C−1: the empirical joint P̂(y, z), the
 * conditional P̂(y | z), and the mean log of Σ_z P̂(y_i | z)·θ_iz. Source classes with zero total probability
 * (0/0 conditionals) are left out; every remaining term is positive, so the logarithm is always finite.
 * Also used by NLEEP with mixture posteriors as θ.
 */
export function leepOf(theta: Matrix, codes: Int32Array, classes: number): number {
  const { rows: n, cols: k } = theta;
  const joint = new Float64Array(classes * k);
  for (let i = 0; i < n; i++) {
    const row = i * k;
    const y = codes[i] * k;
    for (let z = 0; z < k; z++) joint[y + z] += theta.data[row + z] / n;
  }
  const marginal = new Float64Array(k);
  for (let y = 0; y < classes; y++) for (let z = 0; z < k; z++) marginal[z] += joint[y * k + z];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const row = i * k;
    const y = codes[i] * k;
    let p = 0;
    for (let z = 0; z < k; z++) if (marginal[z] > 0) p += (joint[y + z] / marginal[z]) * theta.data[row + z];
    total += Math.log(p);
  }
  return total / n;
}

export const leep: Scorer = (ctx) => {
  const target = ctx.input.target;
  if (target.kind !== 'class') throw new Error('leep: needs class labels');
  return leepOf(ctx.input.probabilities!, target.codes, target.classes.length);
};

/**
 * NCE as in the LogME repository: z_i = the source's top-1 class (the first on ties, as numpy's argmax); counts
 * P̂(y, z); −H(Y | Z) = Σ_z P̂(z) Σ_y p log p with p = P̂(y | z) + 1e-20, over the z that occur.
 */
export const nce: Scorer = (ctx) => {
  const target = ctx.input.target;
  if (target.kind !== 'class') throw new Error('nce: needs class labels');
  const theta = ctx.input.probabilities!;
  const { rows: n, cols: k } = theta;
  const c = target.classes.length;
  const counts = new Float64Array(c * k);
  const perZ = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const row = i * k;
    let z = 0;
    for (let j = 1; j < k; j++) if (theta.data[row + j] > theta.data[row + z]) z = j;
    counts[target.codes[i] * k + z]++;
    perZ[z]++;
  }
  let value = 0;
  for (let z = 0; z < k; z++) {
    if (perZ[z] === 0) continue;
    let h = 0;
    for (let y = 0; y < c; y++) {
      const p = counts[y * k + z] / perZ[z] + 1e-20;
      h -= p * Math.log(p);
    }
    value -= (perZ[z] / n) * h;
  }
  return value;
};
