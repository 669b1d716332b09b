/**
 * AHP ordinal normalisation of Taskonomy tournaments into affinities (docs/taskonomy.md#ahp).
 *
 * Per target: clip the tournament W to [0.001, 0.999] (the paper's Laplace-style smoothing, which keeps every
 * ratio finite when a candidate never loses), form the positive reciprocal matrix W' = W ⊘ Wᵀ ("how many times
 * better i is than j"), and take its Perron eigenvector scaled to unit L1 norm. The affinities of one target
 * therefore sum to 1, as in the published files.
 */
import { fromRows, type Matrix } from '../linalg/dense.js';
import { principalEigenvector } from '../linalg/eigen.js';
import { canonicalKey, type ResultDict } from './results.js';
import { GAIN_BASELINE, type Tournament } from './winrates.js';

export const AHP_CLIP: readonly [number, number] = [0.001, 0.999];

/**
 * Saaty's random consistency index RI(m) for m = 1…15 (Saaty, "The Analytic Hierarchy Process", 1980; the
 * mean CI of random reciprocal matrices on the 1/9…9 scale). Beyond 15, the linear fit of the mean random
 * λ_max by Alonso & Lamata (2006), λ̄(m) = 2.7699 m − 4.3513, gives RI(m) = (λ̄ − m)/(m − 1); it agrees with
 * Saaty's table at m = 15 (1.586 vs 1.59).
 *
 * Caveat: Taskonomy ratios are not on Saaty's 1…9 scale (the clip allows up to 999), so the CR is a relative
 * diagnostic for comparing targets, not a pass/fail test against the usual 0.1 threshold.
 */
const SAATY_RI = [0, 0, 0, 0.58, 0.9, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.48, 1.56, 1.57, 1.59];

export function randomIndex(m: number): number {
  if (!Number.isInteger(m) || m < 1) throw new Error(`randomIndex: matrix order must be a positive integer, got ${m}`);
  if (m < SAATY_RI.length) return SAATY_RI[m];
  return (2.7699 * m - 4.3513 - m) / (m - 1);
}

export interface AhpResult {
  /** Perron eigenvector of W ⊘ Wᵀ, L1-normalised (positive, sums to 1). */
  weights: Float64Array;
  lambdaMax: number;
  /** Saaty's consistency index (λ_max − m)/(m − 1); 0 for a perfectly consistent matrix. */
  consistencyIndex: number;
  /** CI / RI(m); 0 for m ≤ 2 (every 2×2 reciprocal matrix is consistent). */
  consistencyRatio: number;
  iterations: number;
}

export interface AhpOptions {
  /** Clip range applied to the win fractions before the ratio (default [0.001, 0.999]). */
  clip?: readonly [number, number];
}

/** W' = clip(W) ⊘ clip(W)ᵀ. */
export function reciprocalMatrix(wins: number[][], opts: AhpOptions = {}): Matrix {
  const [lo, hi] = opts.clip ?? AHP_CLIP;
  if (!(lo > 0 && lo <= hi && hi <= 1)) throw new Error(`AHP clip range must satisfy 0 < lo ≤ hi ≤ 1, got [${lo}, ${hi}]`);
  const m = wins.length;
  wins.forEach((row, i) => {
    if (row.length !== m) throw new Error(`AHP: tournament row ${i} has ${row.length} values, expected ${m}`);
    row.forEach((v, j) => {
      if (!Number.isFinite(v)) throw new Error(`AHP: tournament entry [${i}][${j}] is ${v}`);
    });
  });
  const c = (v: number) => Math.min(hi, Math.max(lo, v));
  return fromRows(wins.map((row, i) => row.map((v, j) => c(v) / c(wins[j][i]))));
}

/** AHP weights and consistency of one tournament matrix (W[i][j] = fraction of images on which i beats j). */
export function ahpWeights(wins: number[][], opts: AhpOptions = {}): AhpResult {
  const m = wins.length;
  if (m === 0) throw new Error('AHP: empty tournament');
  const ratios = reciprocalMatrix(wins, opts);
  const { value, vector, iterations } = principalEigenvector(ratios);
  const weights = Float64Array.from(vector);
  // Perron vector of a positive matrix: one sign throughout; normalise sign and scale so weights sum to 1.
  let sum = 0;
  for (const w of weights) sum += w;
  for (let i = 0; i < m; i++) weights[i] /= sum;
  const consistencyIndex = m <= 1 ? 0 : (value - m) / (m - 1);
  const consistencyRatio = m <= 2 ? 0 : consistencyIndex / randomIndex(m);
  return { weights, lambdaMax: value, consistencyIndex, consistencyRatio, iterations };
}

export interface TargetConsistency {
  target: string;
  /** Number of candidates in the AHP (after exclusions). */
  candidates: number;
  lambdaMax: number;
  consistencyIndex: number;
  consistencyRatio: number;
  iterations: number;
}

export interface AhpAffinitiesOptions extends AhpOptions {
  /**
   * Candidates left out of the AHP (default ["pixels"]: `pixels` is a win-rate baseline, not a transfer
   * candidate, and the published affinity files have no `pixels__t` keys; docs/taskonomy.md#ahp).
   */
  exclude?: string[];
}

/**
 * Affinities of every tournament as a Taskonomy result dict {"src__target": affinity} (sources of a
 * higher-order candidate joined by `__`, sorted), with the per-target consistency diagnostics.
 */
export function ahpAffinities(tournaments: Tournament[], opts: AhpAffinitiesOptions = {}): { affinities: ResultDict; consistency: TargetConsistency[] } {
  const exclude = new Set(opts.exclude ?? [GAIN_BASELINE]);
  const affinities: ResultDict = {};
  const consistency: TargetConsistency[] = [];
  for (const t of tournaments) {
    const keep = t.sources.map((s, i) => i).filter((i) => !exclude.has(t.sources[i]));
    if (keep.length === 0) throw new Error(`AHP: target "${t.target}" has no candidate left after excluding ${[...exclude].join(', ')}`);
    const sub = keep.map((i) => keep.map((j) => t.wins[i][j]));
    const r = ahpWeights(sub, opts);
    keep.forEach((i, k) => {
      affinities[canonicalKey(t.sources[i].split('__'), t.target)] = r.weights[k];
    });
    consistency.push({
      target: t.target,
      candidates: keep.length,
      lambdaMax: r.lambdaMax,
      consistencyIndex: r.consistencyIndex,
      consistencyRatio: r.consistencyRatio,
      iterations: r.iterations,
    });
  }
  return { affinities, consistency };
}
