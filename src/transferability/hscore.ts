/**
 * H-score (Bao et al., ICIP 2019; TLlib `h_score`) and the shrinkage H-score (Ibrahim et al., NeurIPS 2021):
 * tr(cov(F)⁺ · cov(g)) with g_i the mean feature of image i's class. docs/transferability.md#h-score.
 *
 * Computed in the singular basis of the centred features (spectral.ts) instead of forming D×D covariances: with
 * `F_c = U S Vᵀ` and P the class-averaging projection (g_c = P F_c), `cov(g) = F_cᵀ P F_c / (N − 1)`, so
 *   H = Σ_{σ_i > tol} ‖P u_i‖² = Σ_i Σ_c p_ic² / (n_c σ_i),   p_ic = s_i · u_iᵀ 1_c (class sums of the coordinates),
 * and the shrinkage version, whose covariance shares the eigenvectors of F_cᵀF_c, is
 *   H_α = (1 − s) Σ_i Σ_c p_ic² / n_c / ((N − 1)((1 − s) σ_i / N + s μ)).
 * Both cost one eigendecomposition of the smaller side, so N < D never forms a D×D matrix.
 */
import { centredFeatures, featureSpectrum, indicatorRows, singularCoordinates } from './spectral.js';
import type { Scorer } from './types.js';

/**
 * Ledoit–Wolf shrinkage of the centred features (scikit-learn's `ledoit_wolf_shrinkage`), from the spectrum's
 * eigenvalues (‖F_cᵀF_c‖²_F = Σ σ_i²) and the row norms (Σ_jk ((F∘F)ᵀ(F∘F))_jk = Σ_i ‖f_i‖⁴), so no D×D product.
 * One feature, or a scaled identity covariance (δ = 0), gives 0 as there.
 */
export function ledoitWolfShrinkage(sigma: Float64Array, rowNorms2: Float64Array, n: number, d: number): { shrinkage: number; mu: number } {
  let trace = 0;
  let frob2 = 0;
  for (const s of sigma) {
    trace += s;
    frob2 += s * s;
  }
  const mu = trace / n / d;
  if (d === 1) return { shrinkage: 0, mu };
  let quartic = 0;
  for (const r of rowNorms2) quartic += r * r;
  const delta0 = frob2 / (n * n);
  const beta = (quartic / n - delta0) / (d * n);
  const delta = (delta0 - 2 * mu * (trace / n) + d * mu * mu) / d;
  if (!(delta > 0)) return { shrinkage: 0, mu };
  const b = Math.min(beta, delta);
  return { shrinkage: b === 0 ? 0 : b / delta, mu };
}

export const hscore: Scorer = async (ctx) => {
  const target = ctx.input.target;
  if (target.kind !== 'class') throw new Error('hscore: needs class labels');
  const centred = (await centredFeatures(ctx)).matrix;
  const spectrum = await featureSpectrum(ctx, 'centred');
  const { rows: n, cols: d } = centred;
  const c = target.classes.length;
  const p = await singularCoordinates(spectrum, centred, indicatorRows(target.codes, c), ctx.engine);
  const k = spectrum.values.length;
  // Class-projected energy of each singular direction: Σ_c p_ic² / n_c = σ_i ‖P u_i‖².
  const energy = new Float64Array(k);
  for (let y = 0; y < c; y++) for (let i = 0; i < k; i++) energy[i] += p.data[y * k + i] ** 2 / target.counts[y];
  const sigma = spectrum.values;
  if (!ctx.params.shrinkage) {
    let h = 0;
    for (let i = 0; i < spectrum.rank; i++) h += energy[i] / sigma[i];
    return h;
  }
  const rowNorms2 = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += centred.data[i * d + j] ** 2;
    rowNorms2[i] = s;
  }
  const { shrinkage: s, mu } = ledoitWolfShrinkage(sigma, rowNorms2, n, d);
  if (!(s * mu > 0)) {
    // No shrinkage (or all features constant): the plain estimate's pseudo-inverse, scaled as the ddof-0 covariance.
    let h = 0;
    for (let i = 0; i < spectrum.rank; i++) h += (energy[i] * n) / ((n - 1) * sigma[i]);
    return h;
  }
  let h = 0;
  for (let i = 0; i < k; i++) h += ((1 - s) * energy[i]) / ((n - 1) * (((1 - s) * sigma[i]) / n + s * mu));
  return h;
};
