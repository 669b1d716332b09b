/**
 * Transfer-source and layer selection: rank candidate representations (models, or model/layer entries) by their
 * similarity to a new task's target on the same probe images, optionally with subsampling confidence.
 *
 * The target is a member of the set, a separate representation (e.g. a small model trained on the new task), or
 * the new task's labels for the probe images (see `targetFromLabels`). Scores come from the measure registry
 * through `crossSimilarity`, so every measure and its metadata work here unchanged (a pairwise family compares each
 * candidate with the labels' one-hot encoding; pairwiseLabelTarget). Against labels, the measure may
 * also be a label-based transferability score (LogME, kNN, …; src/transferability, docs/transferability.md), which
 * rates each candidate against the labels directly (scoreColumns.ts); rankTable.ts puts several side by side.
 *
 * Confidence follows the DDS Pascal protocol (docs/evaluation.md#source-ranking): `draws` random subsets of `subset` images,
 * drawn without replacement from a seeded generator (`src/linalg/resample.ts`), and EVERYTHING recomputed on each
 * subset — feature statistics (centring, znorm), RBF bandwidths and matrix centring all depend on which images are
 * present, so copying entries of the full n×n matrix would not be the protocol. Where a subset's matrix follows
 * exactly from the full set's (centring is a double centring of the Gram block, cosine and correlation follow
 * from it; measures/subsets.ts), it is computed from there instead of from the features — the same values up to
 * rounding, ~10× faster; z-scoring, batch_norm and the Euclidean distances are recomputed from features
 * (`recomputeDraws` forces that for every measure). Each draw is one batched crossSimilarity of all candidates
 * against the target.
 */
import type { Representation } from '../features/types.js';
import { checkImageIds, subsetIdentity } from '../features/imageIdentity.js';
import { firstNonFinite, type Matrix } from '../linalg/dense.js';
import { getGemmEngine, type GemmEngine, type Precision } from '../linalg/gemm.js';
import { mulberry32, percentile, sampleWithoutReplacement } from '../linalg/resample.js';
import { centerMatrix, maxAbs, prepareForComparator, type Comparator, type Prepared } from '../measures/compare.js';
import { describeMeasure, isPairwise, measureId, parseMeasure, pipelineOf, type MeasureConfig, type Pipeline } from '../measures/registry.js';
import { fullMatrixDraws, type DrawPreparation } from '../measures/subsetDraws.js';
import { crossSimilarity, preparedCacheKey, PreparedCache, prepareRepresentation } from '../measures/similarity.js';
import type { ScoreTarget } from '../transferability/index.js';
import { closeMatches } from '../util/names.js';
import { isScoreId, matchProbabilities, regressionValues, scalarLabels, scoreColumns, scoreOf, scoreTargetOf, type LabelValue } from './scoreColumns.js';

export type LabelKind = 'class' | 'regression';

export type Target =
  /** A member of the candidate list, found by label; it is excluded from its own candidates. */
  | { kind: 'member'; label: string }
  /** Features of some model on the same probe images (e.g. one trained on the new task). */
  | { kind: 'representation'; representation: Representation }
  /**
   * One label per probe image, in the candidates' image order: a class, a regression value, or (regression) a vector
   * of values per image.
   */
  | { kind: 'labels'; labels: readonly LabelValue[]; labelKind: LabelKind; label?: string };

/**
 * How labels were turned into a target.
 * - `one-hot`: x_i = e_{y_i}.
 * - `class-weighted-simplex`: x_i = (e_{y_i} − 1/C) / π_{y_i}, π = class proportions (see targetFromLabels).
 * - `label-matrix`: no features — the label RDM itself (see rankSources).
 * - `value`: the regression value itself, one feature per image.
 * - `codes`: class codes 0…C−1 over the distinct labels, as the label-based scores take them (no features).
 */
export type LabelEncoding = 'one-hot' | 'class-weighted-simplex' | 'label-matrix' | 'value' | 'codes';

export interface LabelTargetInfo {
  kind: LabelKind;
  encoding: LabelEncoding;
  /** Class targets: the distinct labels (numeric order if all are numbers) and how many images carry each. */
  classes?: string[];
  counts?: number[];
  /**
   * Class targets: true when, under the measure, the target's matrix after centring is a positive multiple of
   * the label matrix's (0 same class / 1 different for distances, 1 / 0 for kernels), so that every score equals
   * the score against the label RDM. See targetFromLabels for when that is possible.
   */
  exact?: boolean;
}

/** A target built from labels: an ordinary representation plus how it was built. */
export interface LabelRepresentation extends Representation {
  labelTarget: LabelTargetInfo;
}

export interface LabelTargetOptions {
  /** The measure the target will be compared under (default `rsa`): the encoding is chosen for it. */
  measure?: string | MeasureConfig;
  /** Label of the target representation (default `labels`). */
  label?: string;
  engine?: GemmEngine;
}

function resolveMeasure(measure: string | MeasureConfig): { config: MeasureConfig; id: string; pipeline: Pipeline } {
  const config = typeof measure === 'string' ? parseMeasure(measure) : measure;
  // Read lazily: a pairwise family (Procrustes, CCA, …) has no pipeline, and only a labels target needs one
  // (pipelineOf's error then says so); member and representation targets go through crossSimilarity.
  return {
    config,
    id: measureId(config),
    get pipeline() {
      return pipelineOf(config);
    },
  };
}

/** DDS functions f (docs/measures.md#kernels-and-distances) that are dissimilarities (RSA RDMs always are). */
const DISTANCE_KERNELS = new Set(['pearson', 'euclidean', 'cosine']);

function isDistance(p: Pipeline): boolean {
  return p.matrix.type === 'rdm' || DISTANCE_KERNELS.has(p.matrix.kernel);
}

/** Why a single value per image cannot be compared under this pipeline, or undefined if it can. */
function scalarTargetProblem(p: Pipeline): string | undefined {
  const f = p.matrix.type === 'rdm' ? p.matrix.distance : p.matrix.kernel;
  if (f === 'correlation' || f === 'pearson' || f === 'cosine') {
    return `its ${f} ${p.matrix.type === 'rdm' ? 'RDM' : 'function f'} compares images by the direction of their feature vectors, and a single value has only a sign`;
  }
  if (p.norm === 'layer_norm' || p.norm === 'instance_norm' || p.norm === 'group_norm') {
    return `${p.norm} normalises each image over its own features, which turns a single value into 0`;
  }
  return undefined;
}

function classKeys(labels: readonly (string | number)[]): { keys: string[]; classes: string[] } {
  const keys = labels.map((l, i) => {
    if (typeof l === 'number' ? !Number.isFinite(l) : typeof l !== 'string') throw new Error(`label ${i} is ${String(l)}`);
    return String(l).trim();
  });
  const distinct = [...new Set(keys)];
  const numeric = distinct.every((k) => k !== '' && Number.isFinite(Number(k)));
  const classes = distinct.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { keys, classes };
}

function encodeClasses(keys: string[], classes: string[], encoding: 'one-hot' | 'class-weighted-simplex'): Float64Array {
  const n = keys.length;
  const c = classes.length;
  const index = new Map(classes.map((k, j) => [k, j]));
  const y = keys.map((k) => index.get(k)!);
  const out = new Float64Array(n * c);
  if (encoding === 'one-hot') {
    for (let i = 0; i < n; i++) out[i * c + y[i]] = 1;
    return out;
  }
  const count = new Float64Array(c);
  for (const j of y) count[j]++;
  for (let i = 0; i < n; i++) {
    const scale = n / count[y[i]]; // 1 / π_y
    for (let j = 0; j < c; j++) out[i * c + j] = ((j === y[i] ? 1 : 0) - 1 / c) * scale;
  }
  return out;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * The comparator under which "same prepared form" can be tested to a tolerance: ranks (Spearman, Kendall) turn
 * rounding noise into broken ties, so exactness is judged on the matrices themselves. A positive multiple of the
 * centred matrix (CKA's full-matrix form) leaves every comparator's value unchanged; without centring, Spearman,
 * Kendall and Pearson also allow an offset (Pearson's centred triangle), cosine-triu does not.
 */
function exactnessProbe(p: Pipeline): Comparator {
  if (p.compare === 'cka' || p.compare === 'cosine-cov' || p.compare === 'corr-cov' || p.centering !== 'none') return 'cka';
  return p.compare === 'cosine-triu' || p.compare === 'cosine' ? 'cosine-triu' : 'pearson';
}

interface ClassLabels {
  keys: string[];
  classes: string[];
  counts: number[];
}

function parseClasses(labels: readonly (string | number)[], name: string): ClassLabels {
  const { keys, classes } = classKeys(labels);
  if (classes.length < 2) {
    throw new Error(`${name}: all ${labels.length} images have the same class ("${classes[0]}"); a class target needs at least two classes`);
  }
  return { keys, classes, counts: classes.map((c) => keys.filter((k) => k === c).length) };
}

/**
 * The label matrix — same class 0, different 1 for a distance-type measure (1 and 0 for a kernel) — centred as
 * the measure centres every matrix and reduced for `comparator`.
 */
function preparedLabelMatrix(keys: string[], pipeline: Pipeline, comparator: Pipeline['compare'], name: string): Prepared {
  const n = keys.length;
  const [sameValue, otherValue] = isDistance(pipeline) ? [0, 1] : [1, 0];
  const m: Matrix = { rows: n, cols: n, data: new Float64Array(n * n) };
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m.data[i * n + j] = keys[i] === keys[j] ? sameValue : otherValue;
  // The scale before centring tells rounding residue from variance (a single class leaves only residue).
  const scale = maxAbs(m.data);
  return prepareForComparator(centerMatrix(m, pipeline.centering, name), comparator, name, scale);
}

/** Regression labels as a representation: the values themselves, K features per image (regressionValues). */
function valueTarget(labels: readonly LabelValue[], name: string): LabelRepresentation {
  const { rows: n, cols: p, data } = regressionValues(labels, name);
  return { label: name, n, p, shape: [1, 1, p], data, source: name, labelTarget: { kind: 'regression', encoding: 'value' } };
}

/**
 * A target representation from one label per probe image, for a given measure.
 *
 * Regression (`kind = 'regression'`): the values as an n×1 representation, so the measure compares images by
 * |y_i − y_j| (distances) or y_i·y_j (linear kernel). Measures that look only at the direction of an image's
 * feature vector (correlation / cosine RDMs, per-image normalisations) cannot use one value and are refused.
 *
 * Classes (`kind = 'class'`): the ideal target is the label RDM — 0 for two images of the same class, 1 otherwise
 * (a kernel measure sees 1 / 0). A representation reproduces it only if the measure's own pipeline (feature
 * normalisation → kernel or RDM → centring) maps it there, so two encodings are tried in order and the first
 * whose centred matrix is a positive multiple of the label matrix's (checked to 1e-9) is returned, `exact: true`:
 * 1. one-hot: exact for CKA, DDS with `norm=none` (every f) or `layer_norm`, RSA with euclidean RDMs, and any
 *    measure when the classes have equal sizes. Its centred correlation RDM (RSA's default) is then
 *    0 / 1 + 1/(C−1), PARC's value; with unequal sizes the between-class values depend on the pair of classes.
 * 2. class-weighted simplex x_i = (e_{y_i} − 1/C)/π_{y_i}: the rows sum to zero over the images
 *    (Σ_c n·π_c·(e_c − 1/C)/π_c = 0) and over the features, and the regular-simplex directions e_c − 1/C have
 *    pairwise cosine −1/(C−1); so its correlation (and cosine) RDM is exactly 0 / C/(C−1) for ANY class sizes,
 *    and Spearman, Pearson and Kendall of it equal those of the 0/1 label RDM.
 * When neither is exact — z-scored features (znorm, batch_norm) with unequal class sizes, where no encoding can
 * be (equal between-class inner products around a π-weighted mean of zero need a Gram matrix that is not
 * positive semi-definite) — the one-hot encoding is returned with `exact: false`; under znorm + pearson that is
 * PARC's z-scored one-hot label RDM. rankSources does not depend on this: it compares with the label RDM directly.
 * Even an exact encoding's computed RDM carries rounding noise that breaks its ties under rank comparators.
 */
export async function targetFromLabels(labels: readonly LabelValue[], kind: LabelKind, opts: LabelTargetOptions = {}): Promise<LabelRepresentation> {
  const n = labels.length;
  const name = opts.label ?? 'labels';
  const { id, pipeline } = resolveMeasure(opts.measure ?? 'rsa');
  if (n < 4) throw new Error(`${name}: need labels for at least 4 images, got ${n}`);

  if (kind === 'regression') {
    const rep = valueTarget(labels, name);
    // A vector of values has a direction and a spread of its own; one value has only a sign and a size.
    const problem = rep.p === 1 ? scalarTargetProblem(pipeline) : undefined;
    if (problem) {
      throw new Error(
        `${name}: a regression target has one value per image, which measure "${id}" cannot use: ${problem}. ` +
          'Use a measure that compares magnitudes, e.g. rsa:rdm=euclidean, a DDS kernel linear, rbf, lap or euclidean, or cka',
      );
    }
    return rep;
  }
  if (kind !== 'class') throw new Error(`${name}: label kind must be "class" or "regression", got "${String(kind)}"`);

  const { keys, classes, counts } = parseClasses(scalarLabels(labels, name), name);
  const context = (err: unknown) => new Error(`class labels as a target for "${id}": ${(err as Error).message}`);
  const probe = exactnessProbe(pipeline);
  let ideal: Prepared;
  try {
    ideal = preparedLabelMatrix(keys, pipeline, probe, name);
  } catch (err) {
    throw context(err);
  }
  let first: LabelRepresentation | undefined;
  for (const encoding of ['one-hot', 'class-weighted-simplex'] as const) {
    const rep: LabelRepresentation = {
      label: name,
      n,
      p: classes.length,
      shape: [1, 1, classes.length],
      data: encodeClasses(keys, classes, encoding),
      source: name,
      labelTarget: { kind, encoding, classes, counts, exact: false },
    };
    let got: Prepared;
    try {
      got = await prepareRepresentation(rep, { ...pipeline, compare: probe }, { engine: opts.engine });
    } catch (err) {
      throw context(err);
    }
    if (got.kind === 'unit' && ideal.kind === 'unit' && dot(got.vector, ideal.vector) >= 1 - 1e-9) {
      rep.labelTarget.exact = true;
      return rep;
    }
    first ??= rep;
  }
  return first!;
}

/** The rows (images) `indices` of a representation, keeping its float type. */
export function subsetImages(rep: Representation, indices: ArrayLike<number>): Representation {
  const { p } = rep;
  const out = rep.data instanceof Float32Array ? new Float32Array(indices.length * p) : new Float64Array(indices.length * p);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    out.set(rep.data.subarray(i * p, (i + 1) * p), k * p);
  }
  return { label: rep.label, n: indices.length, p, shape: rep.shape, data: out, source: rep.source, ...subsetIdentity(rep, indices) };
}

/**
 * A subset of a representation whose features are copied only when something reads them: a draw whose prepared
 * form is already in the cache (measures/subsets.ts) never does.
 */
function lazySubset(rep: Representation, indices: Uint32Array): Representation {
  let data: Float32Array | Float64Array | undefined;
  const out = { label: rep.label, n: indices.length, p: rep.p, shape: rep.shape, source: rep.source, ...subsetIdentity(rep, indices) } as Representation;
  Object.defineProperty(out, 'data', { enumerable: true, get: () => (data ??= subsetImages(rep, indices).data) });
  return out;
}

/** The image subsets of a bootstrap: `draws` draws of `subset` of `n` images from mulberry32(`seed`). */
export function bootstrapSubsets(n: number, subset: number, draws: number, seed: number): Uint32Array[] {
  const random = mulberry32(seed);
  return Array.from({ length: draws }, () => sampleWithoutReplacement(n, subset, random));
}

// ---------------------------------------------------------------------------------------------------------

export interface RankOptions {
  /**
   * A representation measure (`rsa`, `dds:…`, `cka`, … or its parsed form) or a label-based score id (`logme`,
   * `knn:k=5`, …; docs/transferability.md). Scores need a labels target.
   */
  measure: string | MeasureConfig;
  /**
   * The source models' class probabilities on the target images (members of a feature set, one per source model),
   * for LEEP and NCE; matched to candidates by label (see matchProbabilities).
   */
  probabilities?: readonly Representation[];
  /** Number of subsampling draws; 0 or absent = scores on all images only. */
  bootstrap?: number;
  /** Images per draw (default min(200, ⌊n/2⌋)); must be less than n. */
  subset?: number;
  /** Generator seed, an integer 0…2³²−1 (default 1993, the DDS Pascal seed — though not numpy's stream). */
  seed?: number;
  /** Group `model<separator>layer` members by model and pick each model's best layer. */
  groupBy?: 'model';
  /** Separator between model and layer in member labels (default `/`); the model is the part before the first one. */
  separator?: string;
  engine?: GemmEngine;
  precision?: Precision;
  /** Called after each bootstrap draw. */
  onProgress?: (done: number, total: number) => void;
  /** Return every draw's scores (for plots and independent checks). */
  keepDraws?: boolean;
  /**
   * Recompute every candidate from its features on every draw, for every measure (the reference protocol; about
   * 10× slower). By default a draw's matrices come from the full set's where they follow exactly (see the module
   * comment); the results agree to rounding (~1e-15).
   */
  recomputeDraws?: boolean;
}

export interface RankEntry {
  label: string;
  /** Similarity to the target on all images. */
  score: number;
  /** Bootstrap: mean score over the draws (null without bootstrap). */
  mean: number | null;
  /** Bootstrap: 2.5th and 97.5th percentiles of the draw scores (numpy's linear rule). */
  ci95: [number, number] | null;
  /** Bootstrap: fraction of draws in which this candidate scored best (ties share the draw equally). */
  pBest: number | null;
  /** 1 = most similar to the target on all images; equal scores share a rank. */
  rank: number;
}

export interface ModelEntry {
  model: string;
  /** The layer with the best score on all images ('' for a member without a layer part). */
  bestLayer: string;
  /** Full label of that layer. */
  label: string;
  layers: number;
  /** score / mean / ci95 are the best layer's. */
  score: number;
  mean: number | null;
  ci95: [number, number] | null;
  /** Fraction of draws in which one of this model's layers scored best overall (the sum of its layers' pBest). */
  pBest: number | null;
  /** Fraction of draws in which `bestLayer` was also the best of this model's layers (ties shared). */
  pBestLayer: number | null;
  rank: number;
}

export interface TargetInfo {
  kind: Target['kind'];
  label: string;
  source: string;
  /** Features of the target representation (class labels: the number of classes). */
  features: number;
  /** A member that was the target, or identical to it, and so not ranked. */
  excluded?: string;
  labels?: LabelTargetInfo;
}

export interface RankResult {
  measure: string;
  /** From the measure's metadata: whether a larger score means more similar (ranking order). */
  largerIsMoreSimilar: boolean;
  target: TargetInfo;
  n_images: number;
  ranking: RankEntry[];
  groups?: ModelEntry[];
  bootstrap: BootstrapInfo | null;
  /**
   * With keepDraws: scores[d][k] of the d-th used draw for candidate `labels[k]` (candidates in input order);
   * `skipped` lists the draws (1-based) left out, when any were.
   */
  draws?: { labels: string[]; scores: number[][]; skipped?: number[] };
  /** Candidates without a score (only in a score table's columns: rankTable), with the reason; absent when none. */
  missing?: { label: string; reason: string }[];
}

export interface BootstrapInfo {
  /** Draws requested. */
  draws: number;
  subset: number;
  seed: number;
  generator: string;
  /**
   * Draws left out of the statistics: for a score, a draw in which some class has fewer images than the score
   * needs (docs/transferability.md#bootstrap). Means, intervals and P(best) are over the other draws.
   */
  skipped: number;
  /** Why draws were skipped: each distinct reason with its number of draws. */
  skipReasons?: { reason: string; draws: number }[];
}

function unknownMember(label: string, labels: string[]): Error {
  const near = closeMatches(label, labels);
  const hint = near.length ? ` — did you mean ${near.map((l) => `"${l}"`).join(', ')}?` : '';
  const list = labels.length <= 12 ? labels.join(', ') : `${labels.slice(0, 12).join(', ')}, … (${labels.length} in all)`;
  return new Error(`unknown target "${label}"${hint} (members: ${list})`);
}

function checkTargetRepresentation(t: Representation, n: number): void {
  if (t.n !== n) {
    throw new Error(
      `target ${t.label} has ${t.n} images but the candidates have ${n}: the target must be computed on the same probe images, in the same order`,
    );
  }
  const bad = firstNonFinite(t.data);
  if (bad >= 0) throw new Error(`target ${t.label}: image ${Math.floor(bad / t.p)}, feature ${bad % t.p} is ${t.data[bad]}`);
  const { p, data } = t;
  let constant = true;
  for (let k = p; k < data.length && constant; k++) constant = data[k] === data[k % p];
  if (constant) throw new Error(`target ${t.label} is constant: every image has the same features, so it cannot rank sources`);
}

function sameData(a: Representation, b: Representation): boolean {
  if (a.n !== b.n || a.p !== b.p) return false;
  for (let k = 0; k < a.data.length; k++) if (a.data[k] !== b.data[k]) return false;
  return true;
}

/** Competition ranks ("1224"): 1 + the number of strictly better values. */
function competitionRanks(keys: number[]): number[] {
  return keys.map((k) => 1 + keys.filter((o) => o > k).length);
}

/** Indices of the maximum of keys[idx] over idx (all of them when tied). */
function argmaxAll(keys: ArrayLike<number>, idx: readonly number[]): number[] {
  let best = -Infinity;
  for (const i of idx) if (keys[i] > best) best = keys[i];
  return idx.filter((i) => keys[i] === best);
}

/**
 * Step 1: the bootstrap options, checked before any work (a typo fails before minutes of work).
 * @internal
 */
export function checkBootstrapOptions(opts: Pick<RankOptions, 'bootstrap' | 'subset' | 'seed'>, n: number): { draws: number; subset: number; seed: number } {
  const draws = opts.bootstrap ?? 0;
  if (!(Number.isInteger(draws) && draws >= 0)) throw new Error(`bootstrap: the number of draws must be a whole number, got ${draws}`);
  if (draws === 0 && (opts.subset !== undefined || opts.seed !== undefined)) {
    throw new Error('subset and seed only apply with bootstrap draws (set bootstrap, e.g. 100)');
  }
  const subset = opts.subset ?? Math.min(200, Math.floor(n / 2));
  const seed = opts.seed ?? 1993;
  if (draws > 0) {
    if (!Number.isInteger(subset) || subset < 4 || subset >= n) {
      throw new Error(`bootstrap subset must be a whole number from 4 to ${n - 1} (fewer than the ${n} images, or every draw is the same), got ${subset}`);
    }
    mulberry32(seed); // validates the seed
  }
  return { draws, subset, seed };
}

/** A target representation on all images or on a subset, with the cache that must go with it into crossSimilarity. */
type BuiltTarget = { rep: Representation; cache?: PreparedCache };

/**
 * Step 2: resolve the target, the candidates it leaves, and how to rebuild it on a subset of images (with the
 * cache that must go with it into crossSimilarity).
 */
function resolveTarget(
  candidates: Representation[],
  target: Target,
  measure: { config: MeasureConfig; id: string; pipeline: Pipeline },
  opts: RankOptions,
  engine: GemmEngine,
): { pool: Representation[]; info: TargetInfo; build: (idx?: Uint32Array) => Promise<BuiltTarget>; representation?: Representation } {
  const { config, id } = measure;
  const n = candidates[0].n;
  const labels = candidates.map((c) => c.label);
  if (target.kind === 'member' || target.kind === 'representation') {
    let rep: Representation;
    if (target.kind === 'member') {
      const k = labels.indexOf(target.label);
      if (k < 0) throw unknownMember(target.label, labels);
      rep = candidates[k];
    } else rep = target.representation;
    checkTargetRepresentation(rep, n);
    checkImageIds([rep, ...candidates], `target ${rep.label}`);
    const self = candidates.findIndex((c) => c === rep || (c.label === rep.label && sameData(c, rep)));
    const pool = self >= 0 ? candidates.filter((_, i) => i !== self) : candidates;
    const info: TargetInfo = { kind: target.kind, label: rep.label, source: rep.source, features: rep.p };
    if (self >= 0) info.excluded = candidates[self].label;
    return { pool, info, build: async (idx) => ({ rep: idx ? subsetImages(rep, idx) : rep }), representation: rep };
  }
  const name = target.label ?? 'labels';
  if (target.labels.length !== n) {
    throw new Error(`${name}: ${target.labels.length} labels but the candidates have ${n} images (one label per probe image, in the feature set's order)`);
  }
  if (isPairwise(config))
    return { pool: candidates, info: { kind: 'labels', label: name, source: name, features: 0 }, build: pairwiseLabelTarget(target, name) };
  // Rebuilt from each subset's own labels. A class target is the label RDM itself, whatever the measure (labels
  // have no feature space for the measure's normalisation to act on): its exact prepared form is put in the
  // cache, so crossSimilarity never computes the carrier's features. Computing it from an encoding instead would
  // leave rounding noise that breaks the RDM's ties and so changes rank-based scores — and no encoding is exact
  // under znorm with unequal class sizes (see targetFromLabels).
  const build = async (idx?: Uint32Array): Promise<BuiltTarget> => {
    const ls = idx ? Array.from(idx, (i) => target.labels[i]) : target.labels;
    if (target.labelKind !== 'class') return { rep: await targetFromLabels(ls, target.labelKind, { measure: config, label: name, engine }) };
    const { keys, classes, counts } = parseClasses(scalarLabels(ls, name), name);
    const rep: LabelRepresentation = {
      label: name,
      n: keys.length,
      p: classes.length,
      shape: [1, 1, classes.length],
      data: encodeClasses(keys, classes, 'one-hot'),
      source: name,
      labelTarget: { kind: 'class', encoding: 'label-matrix', classes, counts, exact: true },
    };
    const cache = new PreparedCache();
    cache.set(rep, preparedCacheKey(id, opts.precision), preparedLabelMatrix(keys, measure.pipeline, measure.pipeline.compare, name));
    return { rep, cache };
  };
  return { pool: candidates, info: { kind: 'labels', label: name, source: name, features: 0 }, build };
}

/**
 * A labels target for a pairwise family (Procrustes, CCA, …), rebuilt from each subset's own labels. Such a family
 * compares two feature matrices rather than two RDMs, so there is no label matrix to hand it: the labels become the
 * representation a perfect model of the task would have — class labels one-hot (n × C, so a family that centres
 * sees the rank C − 1 simplex), regression values one feature per image — and each candidate is compared with it
 * like any other pair, in the family's own direction.
 */
function pairwiseLabelTarget(target: Extract<Target, { kind: 'labels' }>, name: string): (idx?: Uint32Array) => Promise<BuiltTarget> {
  return async (idx) => {
    const ls = idx ? Array.from(idx, (i) => target.labels[i]) : target.labels;
    const n = ls.length;
    if (target.labelKind === 'regression') {
      return { rep: valueTarget(ls, name) };
    }
    if (target.labelKind !== 'class') throw new Error(`${name}: label kind must be "class" or "regression", got "${String(target.labelKind)}"`);
    const { keys, classes, counts } = parseClasses(scalarLabels(ls, name), name);
    const c = classes.length;
    const rep: LabelRepresentation = {
      label: name,
      n,
      p: c,
      shape: [1, 1, c],
      data: encodeClasses(keys, classes, 'one-hot'),
      source: name,
      labelTarget: { kind: 'class', encoding: 'one-hot', classes, counts },
    };
    return { rep };
  };
}

/**
 * Put prepared forms (from the full matrices; undefined where a preparer declined) into `cache` under `key`, for
 * lazy subsets of `reps` on the images `idx` (for the representations themselves without `idx`). Returns the
 * representations to pass on, undefined where there was no prepared form.
 */
function seedPrepared(
  reps: Representation[],
  prepared: (Prepared | undefined)[] | undefined,
  idx: Uint32Array | undefined,
  cache: PreparedCache,
  key: string,
): (Representation | undefined)[] {
  return reps.map((rep, k) => {
    const p = prepared?.[k];
    if (!p) return undefined;
    const v = idx ? lazySubset(rep, idx) : rep;
    cache.set(v, key, p);
    return v;
  });
}

/**
 * Step 4: subsampling — every candidate and the target on each seeded subset; scores[d·m + k]. Their prepared
 * forms come from the full matrices where they follow exactly (`fromFull`: the pool's, then a representation
 * target's, on every core for large draws, measures/subsetDraws.ts), from the features otherwise.
 */
async function drawScores(
  pool: Representation[],
  build: (idx?: Uint32Array) => Promise<BuiltTarget>,
  measure: { config: MeasureConfig; id: string },
  gemm: { engine: GemmEngine; precision?: Precision },
  b: { draws: number; subset: number; seed: number; subsets: Uint32Array[]; target?: Representation; fromFull?: DrawPreparation },
  onProgress: RankOptions['onProgress'],
): Promise<Float64Array> {
  const { draws, subset, seed, subsets, fromFull } = b;
  const m = pool.length;
  const scores = new Float64Array(draws * m);
  const key = preparedCacheKey(measure.id, gemm.precision);
  for (let d = 0; d < draws; d++) {
    const idx = subsets[d];
    try {
      // A label target brings its own cache (its exact prepared form); the prepared forms from the full matrices join it.
      const built = b.target ? undefined : await build(idx);
      const cache = built?.cache ?? new PreparedCache();
      const seeded = seedPrepared(b.target ? [...pool, b.target] : pool, await fromFull?.draw(d), idx, cache, key);
      const target = built?.rep ?? seeded[m] ?? (await build(idx)).rep;
      const reps = pool.map((c, k) => seeded[k] ?? subsetImages(c, idx));
      const sub = await crossSimilarity(reps, [target], measure.config, { ...gemm, cache });
      scores.set(sub.matrix.data, d * m);
    } catch (err) {
      throw new Error(`bootstrap draw ${d + 1} of ${draws} (seed ${seed}, ${subset} images): ${(err as Error).message}`, { cause: err });
    }
    onProgress?.(d + 1, draws);
  }
  return scores;
}

/** Scores of the draws, keyed so that larger is better (`sign` = −1 for distances). */
interface DrawTable {
  scores: Float64Array | undefined;
  draws: number;
  m: number;
  sign: number;
}
const drawKey = (t: DrawTable, d: number, k: number) => t.sign * t.scores![d * t.m + k];

/** Step 5a: fraction of draws in which each candidate scored best (ties share the draw equally). */
function bestFractions(t: DrawTable): Float64Array {
  const { scores, draws, m } = t;
  const all = Array.from({ length: m }, (_, k) => k);
  const pBest = new Float64Array(m);
  if (scores) {
    const row = new Float64Array(m);
    for (let d = 0; d < draws; d++) {
      for (let k = 0; k < m; k++) row[k] = drawKey(t, d, k);
      const best = argmaxAll(row, all);
      for (const k of best) pBest[k] += 1 / best.length;
    }
    // Divided once at the end, so a candidate that wins every draw gets exactly 1.
    for (let k = 0; k < m; k++) pBest[k] /= draws;
  }
  return pBest;
}

/** Step 6: group `model<sep>layer` members by model; each model is represented by its best layer on all images. */
function groupByModel(
  pool: Representation[],
  score: number[],
  key: number[],
  t: DrawTable,
  pBest: Float64Array,
  stats: (k: number) => Pick<RankEntry, 'mean' | 'ci95' | 'pBest'>,
  separator: string | undefined,
): ModelEntry[] {
  const { scores, draws, m } = t;
  const sep = separator ?? '/';
  if (!sep) throw new Error('the model/layer separator must not be empty');
  const byModel = new Map<string, { layer: string; k: number }[]>();
  pool.forEach((c, k) => {
    const at = c.label.indexOf(sep);
    const model = at < 0 ? c.label : c.label.slice(0, at);
    const layer = at < 0 ? '' : c.label.slice(at + sep.length);
    byModel.set(model, [...(byModel.get(model) ?? []), { layer, k }]);
  });
  const models = [...byModel.entries()].map(([model, layers]) => {
    const ks = layers.map((l) => l.k);
    const best = argmaxAll(key, ks)[0];
    let pBestLayer: number | null = null;
    if (scores) {
      const row = new Float64Array(m);
      pBestLayer = 0;
      for (let d = 0; d < draws; d++) {
        for (const k of ks) row[k] = drawKey(t, d, k);
        const top = argmaxAll(row, ks);
        if (top.includes(best)) pBestLayer += 1 / top.length;
      }
      pBestLayer /= draws;
    }
    const s = stats(best);
    return {
      model,
      bestLayer: layers.find((l) => l.k === best)!.layer,
      label: pool[best].label,
      layers: ks.length,
      score: score[best],
      mean: s.mean,
      ci95: s.ci95,
      pBest: scores ? ks.reduce((a, k) => a + pBest[k], 0) : null,
      pBestLayer,
      key: key[best],
    };
  });
  const modelRanks = competitionRanks(models.map((x) => x.key));
  return models
    .map((x, i) => ({ x, rank: modelRanks[i], i }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map(({ x: { key: _key, ...rest }, rank }) => ({ ...rest, rank }));
}

/**
 * The measure's values for every candidate before ranking: on all images and on each draw.
 * @internal
 */
export interface Scored {
  id: string;
  larger: boolean;
  info: TargetInfo;
  n: number;
  pool: Representation[];
  /** Per candidate; null = no value (a score table's blank cell), with the reason in `missing`. */
  full: (number | null)[];
  missing?: (string | null)[];
  /** scores[d·m + k] over all `draws` (m = pool size); skipped draws are left out of every statistic. */
  boot?: { draws: number; subset: number; seed: number; scores: Float64Array; skipped: ReadonlyMap<number, string> };
}

const GENERATOR = 'mulberry32 + partial Fisher–Yates (src/linalg/resample.ts)';

/**
 * Steps 5–7: statistics over the used draws, the ranking, each model's best layer, the kept draws.
 * @internal
 */
export function assembleRanking(s: Scored, opts: Pick<RankOptions, 'groupBy' | 'separator' | 'keepDraws'>): RankResult {
  const sign = s.larger ? 1 : -1;
  const mAll = s.pool.length;
  const kept = s.full.flatMap((v, k) => (v === null ? [] : [k]));
  const pool = kept.map((k) => s.pool[k]);
  const score = kept.map((k) => s.full[k]!);
  // Work with keys where larger is always better; report scores as the measure gives them.
  const key = score.map((v) => sign * v);
  const m = kept.length;
  let scores: Float64Array | undefined;
  let used: number[] = [];
  let bootstrap: BootstrapInfo | null = null;
  if (s.boot) {
    const b = s.boot;
    used = Array.from({ length: b.draws }, (_, d) => d).filter((d) => !b.skipped.has(d));
    if (used.length > 0 && m > 0) {
      const sc = new Float64Array(used.length * m);
      used.forEach((d, u) => kept.forEach((k, j) => (sc[u * m + j] = b.scores[d * mAll + k])));
      scores = sc;
    }
    bootstrap = { draws: b.draws, subset: b.subset, seed: b.seed, generator: GENERATOR, skipped: b.skipped.size };
    if (b.skipped.size > 0) {
      const reasons = new Map<string, number>();
      for (const r of b.skipped.values()) reasons.set(r, (reasons.get(r) ?? 0) + 1);
      bootstrap.skipReasons = [...reasons].map(([reason, draws]) => ({ reason, draws }));
    }
  }

  // 5. Per-candidate statistics over the draws, and the ranking.
  const table: DrawTable = { scores, draws: used.length, m, sign };
  const pBest = bestFractions(table);
  const stats = (k: number): Pick<RankEntry, 'mean' | 'ci95' | 'pBest'> => {
    if (!scores) return { mean: null, ci95: null, pBest: null };
    const v = Array.from({ length: used.length }, (_, d) => scores[d * m + k]);
    return { mean: v.reduce((a, b) => a + b, 0) / v.length, ci95: [percentile(v, 2.5), percentile(v, 97.5)], pBest: pBest[k] };
  };
  const ranks = competitionRanks(key);
  const all = Array.from({ length: m }, (_, k) => k);
  const order = all.slice().sort((a, b) => key[b] - key[a] || a - b);
  const ranking: RankEntry[] = order.map((k) => ({ label: pool[k].label, score: score[k], ...stats(k), rank: ranks[k] }));

  const result: RankResult = { measure: s.id, largerIsMoreSimilar: s.larger, target: s.info, n_images: s.n, ranking, bootstrap };
  // 6. Models: each one's best layer.
  if (opts.groupBy === 'model') result.groups = m > 0 ? groupByModel(pool, score, key, table, pBest, stats, opts.separator) : [];
  // 7. Every draw's scores, on request.
  if (opts.keepDraws && s.boot) {
    result.draws = { labels: pool.map((c) => c.label), scores: used.map((_, u) => (scores ? Array.from(scores.subarray(u * m, (u + 1) * m)) : [])) };
    if (s.boot.skipped.size > 0) result.draws.skipped = [...s.boot.skipped.keys()].sort((a, b) => a - b).map((d) => d + 1);
  }
  const missing = (s.missing ?? []).flatMap((reason, k) => (reason === null ? [] : [{ label: s.pool[k].label, reason }]));
  if (missing.length > 0) result.missing = missing;
  return result;
}

/**
 * Candidates must be there and be told apart by their labels.
 * @internal
 */
export function checkCandidates(candidates: Representation[]): void {
  if (candidates.length === 0) throw new Error('no candidate sources to rank');
  const labels = candidates.map((c) => c.label);
  const dup = labels.find((l, i) => labels.indexOf(l) !== i);
  if (dup !== undefined) throw new Error(`two candidates are labelled "${dup}"; labels must be unique to rank them`);
}

/**
 * A labels target for the scores: its labels on all images, or a clear refusal of any other target.
 * @internal
 */
export function scoreLabels(target: Target, n: number, measure: string): { target: ScoreTarget; name: string; info: TargetInfo } {
  if (target.kind !== 'labels') {
    const what = target.kind === 'member' ? `a member ("${target.label}")` : `features (${target.representation.label})`;
    throw new Error(
      `${measure} is a label-based score: it needs the new task's labels as the target (one label per probe image), not ${what}; ` +
        'rank against a member or features with a representation measure (rsa, dds, cka)',
    );
  }
  const name = target.label ?? 'labels';
  if (target.labels.length !== n) {
    throw new Error(`${name}: ${target.labels.length} labels but the candidates have ${n} images (one label per probe image, in the feature set's order)`);
  }
  if (target.labelKind !== 'class' && target.labelKind !== 'regression') {
    throw new Error(`${name}: label kind must be "class" or "regression", got "${String(target.labelKind)}"`);
  }
  const t = scoreTargetOf(target.labels, target.labelKind, name);
  const labels: LabelTargetInfo =
    t.kind === 'class' ? { kind: 'class', encoding: 'codes', classes: t.classes, counts: t.counts } : { kind: 'regression', encoding: 'value' };
  return { target: t, name, info: { kind: 'labels', label: name, source: name, features: t.kind === 'class' ? t.classes.length : t.values.cols, labels } };
}

/**
 * A draw as errors name it.
 * @internal
 */
export function drawName(draws: number, seed: number, subset: number): (d: number) => string {
  return (d) => `bootstrap draw ${d + 1} of ${draws} (seed ${seed}, ${subset} images)`;
}

/** rankSources for a label-based score: every candidate scored against the labels (src/transferability). */
async function rankByScore(candidates: Representation[], target: Target, id: string, opts: RankOptions): Promise<RankResult> {
  checkCandidates(candidates);
  const n = candidates[0].n;
  const { draws, subset, seed } = checkBootstrapOptions(opts, n);
  const { id: canonical } = scoreOf(id);
  const labels = scoreLabels(target, n, canonical);
  const engine = opts.engine ?? (await getGemmEngine());
  const probabilities = opts.probabilities ? matchProbabilities(candidates, opts.probabilities, opts.separator) : undefined;
  const subsets = draws > 0 ? bootstrapSubsets(n, subset, draws, seed) : [];
  const [col] = await scoreColumns(candidates, {
    ids: [canonical],
    target: labels.target,
    targetName: labels.name,
    probabilities,
    subsets,
    drawName: drawName(draws, seed, subset),
    strict: true,
    engine,
    onStep: (done, total) => {
      if (done > 0) opts.onProgress?.(done, total);
    },
  });
  if (draws > 0 && col.skipped.size === draws) {
    throw new Error(
      `${col.id}: all ${draws} bootstrap draws were skipped (${col.skipped.get(0)}); use more images per draw than ${subset}, or fewer, larger classes`,
    );
  }
  return assembleRanking(
    {
      id: col.id,
      larger: true,
      info: labels.info,
      n,
      pool: candidates,
      full: col.full,
      boot: draws > 0 ? { draws, subset, seed, scores: col.draws!, skipped: col.skipped } : undefined,
    },
    opts,
  );
}

/**
 * Rank candidate sources by their similarity to a target (see the module comment), or by a label-based score
 * against the target labels. Candidates must share their images with the target; a member target is excluded
 * from its candidates.
 */
export async function rankSources(candidates: Representation[], target: Target, opts: RankOptions): Promise<RankResult> {
  if (typeof opts.measure === 'string' && isScoreId(opts.measure)) return rankByScore(candidates, target, opts.measure, opts);
  const measure = resolveMeasure(opts.measure);
  const { config, id } = measure;
  const larger = describeMeasure(id).largerIsMoreSimilar;
  checkCandidates(candidates);
  const n = candidates[0].n;
  // 1. Options first, so that a typo fails before minutes of work.
  const { draws, subset, seed } = checkBootstrapOptions(opts, n);
  const engine = opts.engine ?? (await getGemmEngine());
  const gemm = { engine, precision: opts.precision };

  // 2. The target, the candidates it leaves, and how to rebuild it on a subset of images.
  const { pool, info, build, representation } = resolveTarget(candidates, target, measure, opts, engine);
  if (pool.length === 0) throw new Error(`no candidate sources left: the only member is the target ${info.label}`);

  // 3. Scores on all images. With draws to come, the full n×n matrices they are computed from (where they follow
  // exactly, drawPreparers) give these scores too, rather than computing the same matrices twice. Worker threads
  // for the draws start first, so that their start-up overlaps those matrices, and take their first draws before
  // this thread computes the scores on all images.
  const members = representation ? [...pool, representation] : pool;
  const subsets = draws > 0 ? bootstrapSubsets(n, subset, draws, seed) : [];
  const drawn = await fullMatrixDraws(members, measure.config, subsets, gemm, opts.recomputeDraws);
  const preparers = drawn?.preparers;
  const fromFull = drawn?.draws;
  try {
    return await scoreAndRank();
  } finally {
    await fromFull?.close();
  }

  async function scoreAndRank(): Promise<RankResult> {
    const target0 = await build();
    info.features = target0.rep.p;
    if ('labelTarget' in target0.rep) info.labels = (target0.rep as LabelRepresentation).labelTarget;
    const cache0 = target0.cache ?? new PreparedCache();
    const all = Uint32Array.from({ length: n }, (_, i) => i);
    seedPrepared(
      representation ? [...pool, representation] : pool,
      preparers?.map((p) => p.prepare(all)),
      undefined,
      cache0,
      preparedCacheKey(id, opts.precision),
    );
    const full = await crossSimilarity(pool, [target0.rep], config, { ...gemm, cache: cache0 });

    // 4. Subsampling.
    const scores =
      draws > 0 ? await drawScores(pool, build, measure, gemm, { draws, subset, seed, subsets, target: representation, fromFull }, opts.onProgress) : undefined;

    // 5–7.
    return assembleRanking(
      {
        id,
        larger,
        info,
        n,
        pool,
        full: Array.from(full.matrix.data),
        boot: scores ? { draws, subset, seed, scores, skipped: new Map() } : undefined,
      },
      opts,
    );
  }
}
