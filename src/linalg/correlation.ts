/**
 * Correlation coefficients between two equally long vectors, matching scipy.stats (docs/evaluation.md#metrics):
 * `pearsonr`, `spearmanr` (average ranks), `kendalltau` (τ-b) and `weightedtau` (defaults and options).
 *
 * Undefined results are NaN, never an exception: a constant input (scipy warns and returns NaN) and, for
 * Pearson / Spearman / Kendall, a NaN anywhere in the input (scipy's default `nan_policy='propagate'`).
 * Callers decide how to report them (the evaluation lists such targets separately). Mismatched lengths throw.
 * Everything accumulates in float64.
 */
import { argsort, denseRanks, rankData } from './ranks.js';

function checkLengths(x: ArrayLike<number>, y: ArrayLike<number>, name: string): number {
  if (x.length !== y.length) throw new Error(`${name}: x has ${x.length} values but y has ${y.length}`);
  return x.length;
}

function hasNaN(x: ArrayLike<number>): boolean {
  for (let i = 0; i < x.length; i++) if (x[i] !== x[i]) return true;
  return false;
}

// Exact equality, as scipy tests it: centring a constant vector such as [0.1, 0.1, 0.1] leaves rounding noise
// that would otherwise produce an arbitrary correlation instead of NaN.
function isConstant(x: ArrayLike<number>): boolean {
  for (let i = 1; i < x.length; i++) if (x[i] !== x[0]) return false;
  return true;
}

function mean(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
}

const clip1 = (r: number): number => Math.min(1, Math.max(-1, r));

/** sxy / √(sxx·syy), clipped to [−1, 1]. One square root keeps perfectly correlated data at exactly ±1. */
function normalisedProduct(sxy: number, sxx: number, syy: number): number {
  const d = Math.sqrt(sxx * syy);
  // the product over- or underflows only for extreme magnitudes; then take the roots separately
  return clip1(d > 0 && Number.isFinite(d) ? sxy / d : sxy / Math.sqrt(sxx) / Math.sqrt(syy));
}

/** Pearson's r (scipy `pearsonr` statistic). NaN for fewer than 2 values, a constant input or a NaN value. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = checkLengths(x, y, 'pearson');
  if (n < 2 || hasNaN(x) || hasNaN(y) || isConstant(x) || isConstant(y)) return Number.NaN;
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return normalisedProduct(sxy, sxx, syy);
}

/** Spearman's ρ = Pearson of average ranks (scipy `spearmanr`). NaN for a constant input or a NaN value. */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = checkLengths(x, y, 'spearman');
  if (n < 2 || hasNaN(x) || hasNaN(y)) return Number.NaN;
  return pearson(rankData(x), rankData(y));
}

/** Cosine of the angle between x and y (no centring). NaN when either vector is all zeros or holds a NaN. */
export function cosineSimilarity(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = checkLengths(x, y, 'cosineSimilarity');
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += x[i] * y[i];
    sxx += x[i] * x[i];
    syy += y[i] * y[i];
  }
  if (sxx === 0 || syy === 0) return Number.NaN;
  return normalisedProduct(sxy, sxx, syy);
}

// ---------------------------------------------------------------------------------------------------------
// Kendall-type coefficients. Kendall's τ-b is the weighted τ with every element weighing 1 and pair weights
// multiplied (1·1 = 1 per pair), so both go through one O(n log n) routine (Knight's algorithm: sort by x, then
// count the y-inversions of that order with a merge sort, carrying element weights).
// ---------------------------------------------------------------------------------------------------------

/** Elements in stable lexicographic (x, y) ascending order (numpy `lexsort((y, x))`). */
interface LexSorted {
  /** order[k] = input index of the k-th element. */
  order: Uint32Array;
  xs: Float64Array;
  ys: Float64Array;
}

// Below this length a run of tied x is put in y order by insertion sort; longer runs use the radix argsort.
const SHORT_RUN = 32;

/** Stably sorts positions [start, end) by ys, permuting `order` alongside. */
function sortRunByY(order: Uint32Array, ys: Float64Array, start: number, end: number): void {
  let sorted = true;
  for (let k = start + 1; k < end && sorted; k++) sorted = ys[k - 1] <= ys[k];
  if (sorted) return;
  if (end - start <= SHORT_RUN) {
    for (let k = start + 1; k < end; k++) {
      const yk = ys[k];
      const ok = order[k];
      let m = k - 1;
      for (; m >= start && ys[m] > yk; m--) {
        ys[m + 1] = ys[m];
        order[m + 1] = order[m];
      }
      ys[m + 1] = yk;
      order[m + 1] = ok;
    }
    return;
  }
  const runY = ys.slice(start, end);
  const runOrder = order.slice(start, end);
  const perm = argsort(runY);
  for (let k = 0; k < perm.length; k++) {
    ys[start + k] = runY[perm[k]];
    order[start + k] = runOrder[perm[k]];
  }
}

/** x and y must be free of NaN. */
function lexSort(x: ArrayLike<number>, y: ArrayLike<number>): LexSorted {
  const n = x.length;
  const order = argsort(x);
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    xs[k] = x[order[k]];
    ys[k] = y[order[k]];
  }
  let start = 0;
  for (let k = 1; k <= n; k++) {
    if (k < n && xs[k] === xs[start]) continue;
    if (k - start > 1) sortRunByY(order, ys, start, k);
    start = k;
  }
  return { order, xs, ys };
}

/**
 * Weight of the pairs inside runs of equal keys (a, or a and b jointly): additive Σ (w_i + w_j), multiplicative
 * Σ w_i·w_j; `w` null means every weight is 1.
 */
function tiedPairWeight(a: Float64Array, b: Float64Array | null, w: Float64Array | null, additive: boolean): number {
  const n = a.length;
  let total = 0;
  let s = 0;
  let sq = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0 && (a[i] !== a[i - 1] || (b !== null && b[i] !== b[i - 1]))) {
      total += additive ? s * (count - 1) : (s * s - sq) / 2;
      s = sq = count = 0;
    }
    const wi = w === null ? 1 : w[i];
    s += wi;
    sq += wi * wi;
    count++;
  }
  if (count > 0) total += additive ? s * (count - 1) : (s * s - sq) / 2;
  return total;
}

const NO_WEIGHTS = new Float64Array(0);

/**
 * Sorts `y` ascending in place (carrying `w`; null = all weights 1) and returns the total weight of the strict
 * inversions: pairs i < j with y_i > y_j, each weighing w_i + w_j (additive) or w_i·w_j. Bottom-up merge sort;
 * equal values are taken from the left run first, so ties are never counted.
 */
function weightedInversions(y: Float64Array, w: Float64Array | null, additive: boolean): number {
  const n = y.length;
  const unit = w === null;
  let srcY: Float64Array = y;
  let srcW: Float64Array = w ?? NO_WEIGHTS;
  let dstY: Float64Array = new Float64Array(n);
  let dstW: Float64Array = unit ? NO_WEIGHTS : new Float64Array(n);
  // Total weight of each current run (merging never changes a run's content), so the left run's weight is known
  // without re-summing it at every level; scipy's recursion sums the same tree.
  const runWeight = unit ? NO_WEIGHTS : Float64Array.from(srcW);
  let exchanges = 0;
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0, run = 0; lo < n; lo += 2 * width, run++) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      // weight still waiting in the left run; every right element that overtakes it is discordant with all of it
      let residual = mid - lo;
      if (!unit) {
        residual = runWeight[2 * run];
        runWeight[run] = mid < hi ? residual + runWeight[2 * run + 1] : residual;
      }
      if (width >= 64 && (mid === hi || srcY[mid - 1] <= srcY[mid])) {
        // already in order: no inversion across the two runs (a block copy pays off only for long runs)
        dstY.set(srcY.subarray(lo, hi), lo);
        if (!unit) dstW.set(srcW.subarray(lo, hi), lo);
        continue;
      }
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if (srcY[i] <= srcY[j]) {
          if (!unit) {
            residual -= srcW[i];
            dstW[k] = srcW[i];
          } else residual--;
          dstY[k++] = srcY[i++];
        } else {
          const wj = unit ? 1 : srcW[j];
          exchanges += additive ? wj * (mid - i) + residual : wj * residual;
          if (!unit) dstW[k] = wj;
          dstY[k++] = srcY[j++];
        }
      }
      for (; i < mid; i++, k++) {
        dstY[k] = srcY[i];
        if (!unit) dstW[k] = srcW[i];
      }
      for (; j < hi; j++, k++) {
        dstY[k] = srcY[j];
        if (!unit) dstW[k] = srcW[j];
      }
    }
    [srcY, dstY] = [dstY, srcY];
    [srcW, dstW] = [dstW, srcW];
  }
  if (srcY !== y) {
    y.set(srcY);
    if (!unit) w.set(srcW);
  }
  return exchanges;
}

/**
 * The weighted τ of scipy `_weightedrankedtau` for per-element weights given in lexicographic order (null = all
 * 1): (tot − u − v + t − 2·D) / √(tot − u) / √(tot − v), where tot, u, v, t weigh all pairs, the x-tied, the
 * y-tied and the jointly tied pairs, and D the discordant ones. NaN when x or y is constant.
 * Consumes `lex.ys` and `weights` (sorted by y in place).
 */
function weightedTauCore(lex: LexSorted, weights: Float64Array | null, additive: boolean): number {
  const { xs, ys } = lex;
  const n = xs.length;
  if (xs[0] === xs[n - 1]) return Number.NaN;
  let s = 0;
  let sq = 0;
  for (let k = 0; k < n; k++) {
    const w = weights === null ? 1 : weights[k];
    s += w;
    sq += w * w;
  }
  const tot = additive ? s * (n - 1) : (s * s - sq) / 2;
  const t = tiedPairWeight(xs, ys, weights, additive);
  const u = tiedPairWeight(xs, null, weights, additive);
  const discordant = weightedInversions(ys, weights, additive);
  if (ys[0] === ys[n - 1]) return Number.NaN;
  const v = tiedPairWeight(ys, null, weights, additive);
  return normalisedProduct(tot - u - v + t - 2 * discordant, tot - u, tot - v);
}

/**
 * Kendall's τ-b (scipy `kendalltau`, default variant): (n_c − n_d) / √((n₀ − n₁)(n₀ − n₂)), O(n log n).
 * NaN for fewer than 2 values, a constant input or a NaN value.
 */
export function kendallTauB(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = checkLengths(x, y, 'kendallTauB');
  if (n < 2 || hasNaN(x) || hasNaN(y)) return Number.NaN;
  return weightedTauCore(lexSort(x, y), null, false);
}

/**
 * Kendall's τ-a (rsatoolbox `tau-a`): (n_c − n_d) / (n(n−1)/2). A pair tied in x or in y counts as neither
 * concordant nor discordant, and — unlike τ-b — the denominator is every pair, so ties pull τ-a towards 0 and a
 * vector compared with itself scores 1 only when it has no ties. A constant input gives 0 (every pair tied),
 * not NaN. NaN for fewer than 2 values or a NaN value. O(n log n).
 */
export function kendallTauA(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = checkLengths(x, y, 'kendallTauA');
  if (n < 2 || hasNaN(x) || hasNaN(y)) return Number.NaN;
  const lex = lexSort(x, y);
  // Unit weights: every tied-pair weight below is a pair count, exact in float64 up to n ≈ 1.3e8.
  const joint = tiedPairWeight(lex.xs, lex.ys, null, false);
  const xTies = tiedPairWeight(lex.xs, null, null, false);
  const discordant = weightedInversions(lex.ys, null, false);
  const yTies = tiedPairWeight(lex.ys, null, null, false);
  const total = (n * (n - 1)) / 2;
  return clip1((total - xTies - yTies + joint - 2 * discordant) / total);
}

/**
 * Spearman's ρ-a (rsatoolbox `rho-a`): 12 Σ (r_i − r̄)(s_i − s̄) / (n³ − n) on average ranks — Spearman without the
 * tie correction of its denominator, which is the variance of untied ranks. With ties |ρ-a| < 1 even for a vector
 * compared with itself; a constant input gives 0, not NaN. NaN for fewer than 2 values or a NaN value.
 */
export function spearmanRhoA(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = checkLengths(x, y, 'spearmanRhoA');
  if (n < 2 || hasNaN(x) || hasNaN(y)) return Number.NaN;
  const rx = rankData(x);
  const ry = rankData(y);
  const mid = (n + 1) / 2;
  let s = 0;
  for (let i = 0; i < n; i++) s += (rx[i] - mid) * (ry[i] - mid);
  return clip1((12 * s) / (n * (n * n - 1)));
}

export interface WeightedTauOptions {
  /** Pair weight = sum (true, default) or product (false) of the two element weights. */
  additive?: boolean;
  /**
   * Element importance (0 = most important):
   * - `true` (default): average of the τ computed with the rank by decreasing (x, y) and the one by
   *   decreasing (y, x) — symmetric in x and y;
   * - `null`: only the rank by decreasing (x, y) (asymmetric);
   * - `false`: rank = element index;
   * - an array: the given rank of each element.
   * Rank by (x, y) means the descending lexicographic order; elements tied in both are interchangeable, so
   * how they are ordered among themselves cannot change τ.
   */
  rank?: boolean | null | ArrayLike<number>;
  /** Weight of an element from its rank; default hyperbolic 1 / (r + 1). */
  weigher?: (rank: number) => number;
}

const hyperbolic = (r: number): number => 1 / (r + 1);

/**
 * scipy `weightedtau(x, y, rank, weigher, additive)`, O(n log n); docs/evaluation.md#weighted-tau. NaN is the smallest value
 * (as in scipy). Returns NaN for a constant x or y (or fewer than 2 values).
 */
export function weightedTau(x: ArrayLike<number>, y: ArrayLike<number>, opts: WeightedTauOptions = {}): number {
  const n = checkLengths(x, y, 'weightedTau');
  const additive = opts.additive ?? true;
  const weigher = opts.weigher ?? hyperbolic;
  const rank = opts.rank === undefined ? true : opts.rank;
  if (n < 2) return Number.NaN;
  if (rank !== true && rank !== false && rank !== null && rank.length !== n) {
    throw new Error(`weightedTau: rank has ${rank.length} values but x and y have ${n}`);
  }
  // As scipy: a vector holding NaN is replaced by its dense ranks with NaN lowest; the order is all that counts.
  const nanFree = (v: ArrayLike<number>) => (hasNaN(v) ? Float64Array.from(denseRanks(v, { nanSmallest: true }).ranks) : v);
  const xv = nanFree(x);
  const yv = nanFree(y);

  // Rank 0 goes to the last element of the ascending lexicographic order, i.e. the largest (x, y).
  const byLexPosition = (): Float64Array => Float64Array.from({ length: n }, (_, k) => weigher(n - 1 - k));
  const lexXY = lexSort(xv, yv);
  if (rank === true || rank === null) {
    const tauXY = weightedTauCore(lexXY, byLexPosition(), additive);
    if (rank === null) return tauXY;
    return (tauXY + weightedTauCore(lexSort(yv, xv), byLexPosition(), additive)) / 2;
  }
  const given = rank === false ? (i: number) => i : (i: number) => rank[i];
  const weights = Float64Array.from(lexXY.order, (i) => weigher(given(i)));
  return weightedTauCore(lexXY, weights, additive);
}
