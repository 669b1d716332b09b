/**
 * GBC — Gaussian Bhattacharyya coefficient (Pándy et al., CVPR 2022; docs/transferability.md#gbc): one Gaussian per
 * class in (optionally PCA-reduced) feature space, and minus the summed Bhattacharyya coefficients exp(−D_B) over
 * ordered pairs of classes. Classes that overlap less score higher.
 */
import type { Matrix } from '../linalg/dense.js';
import { candidatePca } from './pca.js';
import type { ClassTarget, Scorer } from './types.js';

/** The reference's floor on every per-dimension class variance (a class of one image has variance 0). */
const VARIANCE_FLOOR = 1e-4;

interface ClassMoments {
  /** C×d class means, row-major. */
  means: Float64Array;
  /** C×d population variances (ddof 0), floored at VARIANCE_FLOOR. */
  variances: Float64Array;
}

/** Per-class means and floored variances, two passes (mean first) so that a large offset does not cost digits. */
function classMoments(x: Matrix, target: ClassTarget): ClassMoments {
  const { rows: n, cols: d, data } = x;
  const c = target.counts.length;
  const means = new Float64Array(c * d);
  const variances = new Float64Array(c * d);
  for (let i = 0; i < n; i++) {
    const k = target.codes[i] * d;
    for (let j = 0; j < d; j++) means[k + j] += data[i * d + j];
  }
  for (let k = 0; k < c; k++) for (let j = 0; j < d; j++) means[k * d + j] /= target.counts[k];
  for (let i = 0; i < n; i++) {
    const k = target.codes[i] * d;
    for (let j = 0; j < d; j++) {
      const e = data[i * d + j] - means[k + j];
      variances[k + j] += e * e;
    }
  }
  for (let k = 0; k < c; k++) for (let j = 0; j < d; j++) variances[k * d + j] = Math.max(variances[k * d + j] / target.counts[k], VARIANCE_FLOOR);
  return { means, variances };
}

/**
 * Minus the sum over ordered class pairs of exp(−D_B). Spherical: each class's variance is the mean of its floored
 * per-dimension variances, and — as in the reference — the log-determinant terms are the logs of that one scalar,
 * not d times it (a quirk kept for parity: it weights the variance mismatch 1/d as much as a true spherical
 * Gaussian would).
 */
function gbcFromMoments(m: ClassMoments, classes: number, d: number, gaussian: 'spherical' | 'diagonal'): number {
  const { means, variances } = m;
  // Without dimensions every class is the same (empty) Gaussian: each coefficient is exp(0) = 1.
  if (d === 0) return -classes * (classes - 1);
  const spherical = new Float64Array(classes);
  const halfLogDet = new Float64Array(classes);
  for (let k = 0; k < classes; k++) {
    let s = 0;
    let l = 0;
    for (let j = 0; j < d; j++) {
      s += variances[k * d + j];
      l += Math.log(variances[k * d + j]);
    }
    spherical[k] = s / d;
    halfLogDet[k] = gaussian === 'spherical' ? 0.5 * Math.log(spherical[k]) : 0.5 * l;
  }
  let total = 0;
  for (let a = 0; a < classes; a++) {
    for (let b = a + 1; b < classes; b++) {
      let quad = 0;
      let logAvg = 0;
      if (gaussian === 'spherical') {
        const avg = (spherical[a] + spherical[b]) / 2;
        for (let j = 0; j < d; j++) {
          const e = means[a * d + j] - means[b * d + j];
          quad += e * e;
        }
        quad /= avg;
        logAvg = Math.log(avg);
      } else {
        for (let j = 0; j < d; j++) {
          const e = means[a * d + j] - means[b * d + j];
          const avg = (variances[a * d + j] + variances[b * d + j]) / 2;
          quad += (e * e) / avg;
          logAvg += Math.log(avg);
        }
      }
      const distance = quad / 8 + 0.5 * (logAvg - halfLogDet[a] - halfLogDet[b]);
      // D_B is symmetric in (a, b): the reference's sum over ordered pairs counts each pair twice.
      total += 2 * Math.exp(-distance);
    }
  }
  return -total;
}

export const gbc: Scorer = async (ctx) => {
  const target = ctx.input.target as ClassTarget;
  const components = ctx.params.pca as number;
  const x = components > 0 ? (await candidatePca(ctx, { components })).scores : ctx.input.features!;
  const gaussian = ctx.params.gaussian as 'spherical' | 'diagonal';
  return gbcFromMoments(classMoments(x, target), target.counts.length, x.cols, gaussian);
};
