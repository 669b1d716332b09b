/**
 * PARC (Bolya, Mittapalli & Hoffman, NeurIPS 2021; docs/transferability.md#parc): 100 × Spearman between the upper
 * triangles of the feature RDM (1 − Pearson correlation between the images' z-scored, optionally PCA-reduced
 * feature rows) and the label RDM (1 − correlation between one-hot rows).
 */
import { checkAllocation } from '../io/limits.js';
import type { Matrix } from '../linalg/dense.js';
import type { GemmEngine } from '../linalg/gemm.js';
import { pearson } from '../linalg/correlation.js';
import { rankData } from '../linalg/ranks.js';
import { candidatePca } from './pca.js';
import type { ClassTarget, Scorer } from './types.js';

const EPS = 2 ** -52;

/** A row whose spread across features is below this share of its norm is constant: its correlations are undefined. */
const FLAT_ROW = 1e-10;

/**
 * Z-score the columns as scikit-learn's StandardScaler does (population standard deviation; a column is constant
 * when var ≤ n·ε·var + (n·mean·ε)², scikit-learn's rule). Constant columns become exactly 0 — scikit-learn leaves
 * them at x − mean, i.e. rounding residue that only adds noise to the row correlations. Returns how many columns
 * vary.
 */
function zscore(x: Matrix): { z: Float64Array; varying: number } {
  const { rows: n, cols: d, data } = x;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const variance = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const e = data[i * d + j] - mean[j];
      variance[j] += e * e;
    }
  }
  const scale = new Float64Array(d);
  let varying = 0;
  for (let j = 0; j < d; j++) {
    const v = variance[j] / n;
    const bound = n * EPS * v + (n * mean[j] * EPS) ** 2;
    if (v > bound) {
      scale[j] = 1 / Math.sqrt(v);
      varying++;
    }
  }
  const z = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) z[i * d + j] = scale[j] === 0 ? 0 : (data[i * d + j] - mean[j]) * scale[j];
  return { z, varying };
}

/**
 * Upper triangle (i < j, row-major) of the feature RDM 1 − corr(rows of the z-scored x). The rows are centred and
 * scaled to unit length, so the whole N×N correlation matrix is one GEMM. A constant row (every z-score equal)
 * has no correlation; it is given correlation 0 with every image (RDM 1), where numpy would return NaN.
 */
export async function featureRdm(x: Matrix, engine: GemmEngine): Promise<Float64Array> {
  const { rows: n, cols: d } = x;
  const { z, varying } = zscore(x);
  if (varying === 0) throw new Error('every feature is constant over the images, so the images cannot be compared');
  for (let i = 0; i < n; i++) {
    const row = z.subarray(i * d, (i + 1) * d);
    let m = 0;
    for (let j = 0; j < d; j++) m += row[j];
    m /= d;
    let norm = 0;
    let raw = 0;
    for (let j = 0; j < d; j++) {
      raw += row[j] * row[j];
      row[j] -= m;
      norm += row[j] * row[j];
    }
    norm = Math.sqrt(norm);
    if (norm <= FLAT_ROW * Math.sqrt(raw) || norm === 0) row.fill(0);
    else for (let j = 0; j < d; j++) row[j] /= norm;
  }
  const corr = await engine.abt(z, n, z, n, d);
  const out = new Float64Array((n * (n - 1)) / 2);
  let k = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) out[k++] = 1 - Math.min(1, Math.max(-1, corr[i * n + j]));
  return out;
}

/**
 * Upper triangle of the label RDM as a 0/1 indicator of "different classes". The reference's 1 − corr(one-hot)
 * takes the values 0 (same class) and 1 + 1/(C − 1) (different classes); any increasing map of two values has the
 * same ranks, so Spearman is unchanged — and the indicator is exact, where numpy's correlation of one-hot rows
 * leaves 2.2e-16 specks on some same-class pairs that split their tie (docs/transferability.md#parc).
 */
function labelRdm(codes: Int32Array): Float64Array {
  const n = codes.length;
  const out = new Float64Array((n * (n - 1)) / 2);
  let k = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) out[k++] = codes[i] === codes[j] ? 0 : 1;
  return out;
}

export const parc: Scorer = async (ctx) => {
  const target = ctx.input.target as ClassTarget;
  const name = ctx.input.name ?? 'input';
  const n = target.codes.length;
  if (target.counts.every((c) => c === 1)) {
    throw new Error(`parc: ${name}: every image is the only one of its class, so the label RDM is constant; PARC needs a class with two images`);
  }
  // the N×N correlations (8 bytes each), two triangles and their ranks (≈ 40 bytes per pair with the sort's scratch)
  checkAllocation(`PARC's ${n}×${n} correlation matrix and the ranks of its ${((n * (n - 1)) / 2).toLocaleString('en-US')} pairs`, 48 * n * n, `parc: ${name}`);
  const dims = ctx.params.dims as number;
  const x = dims > 0 ? (await candidatePca(ctx, { components: Math.min(dims, n) })).scores : ctx.input.features!;
  let rdm: Float64Array;
  try {
    rdm = await featureRdm(x, ctx.engine);
  } catch (e) {
    throw new Error(`parc: ${name}: ${(e as Error).message}`, { cause: e });
  }
  // Spearman = Pearson of the ranks; the 0/1 label RDM's ranks are an increasing affine map of it, which Pearson
  // ignores, so only the feature RDM's N(N−1)/2 values are ranked.
  const rho = pearson(rankData(rdm), labelRdm(target.codes));
  if (!Number.isFinite(rho)) throw new Error(`parc: ${name}: the feature RDM is constant (every pair of images is equally correlated); PARC is undefined`);
  return 100 * rho;
};
