/**
 * The task bank's judging step (issue 14, docs/taskbank.md): the measured Taskonomy of the bank and how well the
 * similarity measures predict it.
 *
 * Measured side: per-image test losses of every transfer s → t (the 13 encoders, `pixels`, `random`, and `self`, the
 * fully trained task network) go through the Taskonomy engine unchanged — tournaments, AHP affinities (first order,
 * `pixels` left out as in the published files), Gain (vs `pixels`) and Quality (vs `self`), the supervision-policy
 * budget sweep, and the task tree on the transfer-out patterns. Unlike the zoo's Taskonomy (zooTransfer.ts), the bank
 * measures `t → t` (t's own frozen encoder with a fresh decoder) as a transfer like any other, so the tree's diagonal
 * is measured, not borrowed from `self`.
 *
 * Predicted side: each measure's similarity between the encoders on the probe crops (the normal measure pipeline),
 * scored per target against the affinities by the DDS protocol (Spearman over the other sources, then with the
 * source t itself kept, as DDS reports it), and each taxonomy's recovery of the four task families — nearest-neighbour
 * agreement and the ARI of the tree cut into as many clusters as families — for the measures' trees (average linkage
 * on 1 − similarity, as the demo draws them) and for the measured task tree.
 */
import { evaluatePrediction, truthFromResultDict, type EvaluationResult } from '../evaluate/evaluate.js';
import { asSimilarity } from '../evaluate/harness.js';
import type { Representation } from '../features/types.js';
import { fromRows, toRows, transpose, type Matrix } from '../linalg/dense.js';
import type { LabelledMatrix } from '../linalg/labelled.js';
import { spearman } from '../linalg/correlation.js';
import { summedRanks } from '../linalg/ranks.js';
import { mulberry32, percentile } from '../linalg/resample.js';
import { isDistance } from '../measures/catalogue.js';
import { canonicalMeasureId, describeMeasure } from '../measures/registry.js';
import { findScoreFamily, parseScore, scoreId } from '../measures/scoreFamilies.js';
import { isScoreId } from '../taxonomy/scoreColumns.js';
import { similarityMatrix } from '../measures/similarity.js';
import { ahpAffinities, type TargetConsistency } from '../taskonomy/ahp.js';
import { budgetSweep, type PolicyResult, type SweepRow } from '../taskonomy/policy.js';
import { PSEUDO_SOURCES, type ResultDict } from '../taskonomy/results.js';
import { taskFeatures, taskTree } from '../taskonomy/tree.js';
import { predictViaTransfers } from '../taskonomy/viaTransfers.js';
import {
  GAIN_BASELINE,
  QUALITY_BASELINE,
  gainAndQuality,
  lossTables,
  tournamentOf,
  tournamentsToJson,
  type LossRecord,
  type LossTable,
  type TournamentsJson,
} from '../taskonomy/winrates.js';
import { familyCountCut, nearestNeighbourAgreement } from '../taxonomy/agreement.js';
import { randomPermutation } from '../taxonomy/inference.js';
import { leafOrder, linkage, pairwiseDistances, similarityToDistance, toNewick, type Dendrogram, type Linkage, type Merge } from '../taxonomy/cluster.js';

/** The measures the bank is judged with by default: the RSA and DDS papers' own, and CKA. */
export const TASKBANK_MEASURES: readonly string[] = ['rsa', 'dds', 'cka'];
/** Seconds HiGHS may spend on one budget of the policy sweep, where the sweep uses it (13 tasks enumerate exactly instead). */
export const TASKBANK_POLICY_TIME_LIMIT = 10;
/** Task relabellings of the permutation null of the mean Spearman (a Mantel-style test). */
export const TASKBANK_PERMUTATIONS = 1000;
/** Bootstrap draws over the test images for the interval of each measure's mean Spearman. */
export const TASKBANK_IMAGE_DRAWS = 200;
/** Linkage of every tree here: the demo's for the measures, Taskonomy's default (taskonomy/tree.ts) for the affinities. */
export const TASKBANK_LINKAGE: Linkage = 'average';
/** Random halvings of the test photographs behind each target's split-half reliability. */
export const TASKBANK_RELIABILITY_SPLITS = 50;
/** A target whose measured ranking has at least this split-half reliability counts as reliable (TargetReliability). */
export const TASKBANK_RELIABLE = 0.5;

/** One task of the bank and its family (taskbank/tasks.ts `family`). */
export interface TaskbankTaskInfo {
  id: string;
  family: string;
}

/** One encoder's features on the probe crops: n × d, row-major. */
export interface ProbeFeatures {
  data: Float32Array | Float64Array;
  n: number;
  d: number;
}

export interface TaskbankEvalInput {
  tasks: TaskbankTaskInfo[];
  /** Per-image test losses; targets are task ids, sources task ids, `pixels`, `random` and `self`. */
  losses: LossRecord[];
  /**
   * Probe features per source: every task's encoder, optionally `pixels` and `random` too (those join the similarity
   * matrices for the report, never the scores or the taxonomies, which are over the tasks).
   */
  probeFeatures: Map<string, ProbeFeatures> | Record<string, ProbeFeatures>;
  /** Measure ids (default TASKBANK_MEASURES), each with its default parameters. */
  measures?: readonly string[];
  /** Supervision budgets of the policy sweep (default 1 … number of tasks). */
  budgets?: number[];
  /** Seconds per budget for HiGHS (default TASKBANK_POLICY_TIME_LIMIT). */
  policyTimeLimit?: number;
  /** Draws of the permutation null of each measure's mean Spearman (default TASKBANK_PERMUTATIONS; 0 = none). */
  permutations?: number;
  /** Seed of the permutation draws and the image bootstrap (default 0). */
  seed?: number;
  /** Bootstrap draws over the test images for the Spearman intervals (default TASKBANK_IMAGE_DRAWS; 0 = none). */
  imageDraws?: number;
  /**
   * Test image → the photograph it was cut from. Crops of one photograph are not independent samples, so when given,
   * the bootstrap resamples photographs (all of a photograph's crops together) and the reliability halves split
   * photographs; an image without an entry is a unit of its own (without any, both work on images).
   */
  imageGroups?: Record<string, string>;
  /** Random halvings behind each target's split-half reliability (default TASKBANK_RELIABILITY_SPLITS; 0 = none). */
  reliabilitySplits?: number;
  /**
   * Each readout repeat's own losses, when `losses` is their mean (the benchmark's --readout-repeats): the targets'
   * reliability over readout seeds (TargetReliability.readouts).
   */
  repeatLosses?: LossRecord[][];
  /**
   * Label-based scores of each task encoder (source) on each target's labelled images (the benchmark's label-score
   * stage): a transferability score (larger = the source predicted to transfer better) or a similarity measure between
   * the features and the labels (a distance is turned around), each judged like a measure. `values[t][s]` for the
   * scored targets t (a task without scorable labels is left out) and every task s, t itself included.
   */
  labelScores?: { score: string; labelled: number; values: Record<string, Record<string, number>> }[];
  /** Called after each stage step: (stage, done, total, label). */
  onProgress?: (stage: string, done: number, total: number, label: string) => void;
}

/** How well one taxonomy recovers the task families. */
export interface FamilyRecoveryStats {
  nearestNeighbourAgreement: number;
  /** Expected agreement when each task's neighbour is a uniformly random other task. */
  chance: number;
  /** ARI of the cut into k clusters against the families (0 at chance, 1 = the families exactly). */
  adjustedRandIndex: number;
  k: number;
  /** Cluster of each task in the cut (numbered in order of first task, scipy's cut_tree numbering). */
  clusters: Record<string, number>;
  /** Each task's most similar other task(s). */
  nearest: Record<string, string[]>;
}

/** A tree over the tasks, with the task × task similarity it was built from and its family recovery. */
export interface TaskbankTree {
  /** `affinities` for the measured tree, else the measure id. */
  from: string;
  labels: string[];
  linkage: Linkage;
  /** What was clustered: 1 − similarity, or the measure's own distance. */
  distance: string;
  merges: Merge[];
  newick: string;
  /** Leaves in drawing order. */
  order: string[];
  /** Task × task similarity in `labels` order (for the measured tree: Pearson correlation of transfer-out affinities). */
  similarity: number[][];
  recovery: FamilyRecoveryStats;
}

/**
 * The mean Spearman (self excluded) under the null that the encoders' similarity says nothing about which task is
 * which: the similarity's task labels shuffled (rows and columns together, the affinities fixed), rescored.
 */
export interface SpearmanNull {
  draws: number;
  seed: number;
  /** 95th percentile of the null means: the chance level a mean must clear at the 5 % level. */
  q95: number;
  /** One-sided permutation p-value, (1 + #{null ≥ observed}) / (1 + draws). */
  p: number;
}

/**
 * The mean Spearman (self excluded) over bootstrap draws of the test images: each draw resamples the images with
 * replacement (the same draw for every source, and for every target scored on the same images), recomputes every tournament, the AHP affinities and the
 * score; the interval is the 2.5th–97.5th percentile. It says how much of a mean is the particular test images — the
 * near-tied targets' rankings move most — not how much is the particular training run.
 */
export interface SpearmanInterval {
  draws: number;
  seed: number;
  /** What was resampled: photographs (TaskbankEvalInput.imageGroups) or single test images. */
  unit?: 'photograph' | 'image';
  low: number;
  high: number;
}

/**
 * How far each target's measured ranking of the sources is its transfers' and not its test images': the test
 * photographs are halved at random `splits` times, each half gives its own tournaments and AHP affinities, and
 * `half[t]` is the mean Spearman over the halvings between the two halves' affinities s → t (s the other task
 * encoders, as the scores rank them). `perTarget[t]` is the Spearman–Brown step-up 2r/(1 + r) — the expected
 * agreement of two full test sets — and 0 where r ≤ 0. A measure's Spearman against a target cannot be expected above
 * √reliability (the noise ceiling of RSA studies): on an unreliable target the truth is its test images.
 */
export interface TargetReliability {
  /** Halvings made: 0 when none were asked for or there were fewer than 2 units (then `half` and `perTarget` are null). */
  splits: number;
  seed: number;
  unit: 'photograph' | 'image';
  /** Units (photographs or images) halved. */
  units: number;
  half: Record<string, number | null>;
  perTarget: Record<string, number | null>;
  /**
   * Over the readouts' seeds (with repeated readouts): `pairwise[t]`, the mean over pairs of repeats of the Spearman
   * between their affinities s → t — the reliability of one readout's ranking — and `perTarget[t]`, the Spearman–Brown
   * reliability of the mean of all `repeats`, k·r/(1 + (k − 1)·r) (0 where r ≤ 0).
   */
  readouts?: { repeats: number; pairwise: Record<string, number | null>; perTarget: Record<string, number | null> };
  /** Targets whose every measured reliability (photographs, when halved; readouts, when repeated) is at least `threshold`. */
  threshold: number;
  reliable: string[];
}

/** The DDS protocol's score of one similarity matrix: per-target Spearman against the affinities and its mean. */
export interface SpearmanScore {
  mean: number | null;
  perTarget: Record<string, number | null>;
  /** Targets whose Spearman is undefined (constant similarities over the candidates), left out of the mean. */
  undefinedTargets: string[];
}

export interface TaskbankMeasureResult {
  measure: string;
  name: string;
  /** Rows and columns of `similarity`: the tasks, then any baseline with probe features. */
  members: string[];
  /** As the measure returns it (a catalogued distance stays a distance). */
  similarity: number[][];
  /** Self entry (source t for target t) left out, the default protocol. */
  spearman: SpearmanScore | null;
  /** Self entry kept, as the DDS paper scores Taskonomy. */
  spearmanWithSelf: SpearmanScore | null;
  /** Permutation null of `spearman.mean` (null when no draws were asked for or the mean is undefined). */
  spearmanNull: SpearmanNull | null;
  /** How far `spearman.mean` moves when the test images are resampled (null when no draws were asked for). */
  spearmanInterval?: SpearmanInterval | null;
  /** Mean of `spearman.perTarget` over the reliable targets only (TaskbankEvaluation.reliability.reliable). */
  spearmanReliable?: number | null;
  /**
   * The measure's similarities used the other way (taskonomy/viaTransfers.ts): each source ranked for t by its measured
   * ranks on the 3 other targets most similar to t, weighted by that similarity (self excluded, like `spearman`). Null
   * for a distance measure (no natural weights) and for a failed one.
   */
  viaTransfers?: SpearmanScore | null;
  /**
   * Permutation null of `viaTransfers.mean`: the similarity's task labels shuffled, so the weights land on the wrong
   * targets while the measured rankings stay — does the measure's similarity add anything to the source prior?
   */
  viaTransfersNull?: SpearmanNull | null;
  taxonomy: TaskbankTree | null;
  ms: number;
  error?: string;
}

/**
 * A label-based score (LogME, …, or a similarity measure against the labels) judged like a measure: per target, its
 * values over the sources against the measured affinities. It needs the target's labels where a similarity between
 * encoders needs only the target's encoder, so it answers a different question — which source, given a few hundred
 * labelled images of the new task — on the same truth.
 */
export interface TaskbankLabelScoreResult {
  /** Canonical id: a transferability score's, or a similarity measure's (against the labels). */
  score: string;
  /** Whether `score` is a similarity measure between the source's features and the labels. */
  againstLabels: boolean;
  name: string;
  /** Labelled images of each target the score read. */
  labelled: number;
  /** The targets scored (those with labels a score can read). */
  targets: string[];
  /** values[t][s]. */
  values: Record<string, Record<string, number>>;
  spearman: SpearmanScore;
  spearmanWithSelf: SpearmanScore;
  /** Each target's scores shuffled over its sources (1,000 draws): the chance level of `spearman.mean`. */
  spearmanNull: SpearmanNull | null;
  spearmanInterval?: SpearmanInterval | null;
  spearmanReliable?: number | null;
  /**
   * The label score and each measure's similarity together: per target, each source's rank under the score plus its
   * rank under the similarity (over the sources s ≠ t), scored like the others (self excluded). The two read different
   * things — the target's labels, the target's trained encoder — and fail on different targets (docs/taskbank.md).
   */
  withSimilarity?: { measure: string; spearman: SpearmanScore }[];
  /** The same with each label score listed after this one (ranks summed): two readings of the same labels. */
  withLabelScores?: { score: string; againstLabels: boolean; spearman: SpearmanScore }[];
}

/** What each target gets from its transfers (affinity, Gain = win rate vs pixels, Quality = win rate vs self). */
export interface TransferSummary {
  source: string;
  affinity: number | null;
  gain: number | null;
  quality: number | null;
}

export interface TaskbankTargetSummary {
  target: string;
  family: string;
  /** The task encoder s ≠ t with the largest affinity for t. */
  best: TransferSummary;
  /** t's own frozen encoder with a fresh decoder (`t__t`). */
  own: TransferSummary;
  /** The fully trained network (`self`): its Gain says how much training on t beats reading out pixels. */
  self: TransferSummary;
  /** The untrained encoder, when measured. */
  random: TransferSummary | null;
  /** Mean test loss of every source on t. */
  meanLoss: Record<string, number>;
  consistencyRatio: number;
}

export interface TaskbankEvaluation {
  tasks: TaskbankTaskInfo[];
  /** Distinct families, in order of first task. */
  families: string[];
  /** Candidate sources of the tournaments. */
  sources: string[];
  /** Test images per target. */
  images: number;
  /** Probe crops the measures compare the encoders on. */
  probeImages: number;
  tournaments: TournamentsJson;
  affinities: ResultDict;
  winsVsPixels: ResultDict;
  winsVsTask: ResultDict;
  consistency: TargetConsistency[];
  targets: TaskbankTargetSummary[];
  policy: { budgets: number[]; timeLimit: number; rows: SweepRow[]; results: PolicyResult[] };
  /** The measured task tree (taskonomy/tree.ts: average linkage on correlation distance of transfer-out affinities). */
  tree: TaskbankTree;
  measures: TaskbankMeasureResult[];
  /**
   * A baseline that knows nothing of the encoders' representations: per target t, each source's mean rank among the
   * candidates over all the other targets (its own included, where it usually ranks first) as the prediction of
   * affinity(s → t), scored like a measure (self excluded) — the measures' `viaTransfers` with equal weights on every
   * other target. High where which source transfers best
   * is the same for every target — a generic source quality that no similarity to t's own encoder can express.
   */
  sourcePrior: SpearmanScore;
  /** The label-based scores, when the input had them (TaskbankEvalInput.labelScores), in its order. */
  labelScores?: TaskbankLabelScoreResult[] | null;
  /** How reliable each target's measured ranking is, over the test photographs and the readout seeds (null: not measured). */
  reliability?: TargetReliability | null;
  /**
   * What each statistic is at chance: nearest-neighbour agreement by formula, ARI and Spearman 0 in expectation (each
   * measure's `spearmanNull` gives the permutation 95th percentile of its mean Spearman).
   */
  chance: { nearestNeighbourAgreement: number; adjustedRandIndex: number; spearman: number };
}

const BASELINES: ReadonlySet<string> = new Set<string>(PSEUDO_SOURCES);

/** The bank's tasks as the evaluation needs them (the benchmark checks them before training anything). */
export function checkTasks(tasks: TaskbankTaskInfo[]): void {
  if (tasks.length < 4) throw new Error(`evaluateTaskbank: ${tasks.length} tasks; at least 4 are needed (a per-target Spearman over ≥ 3 other sources)`);
  const seen = new Set<string>();
  for (const t of tasks) {
    if (typeof t.id !== 'string' || t.id.trim() === '' || t.id.includes('__'))
      throw new Error(`evaluateTaskbank: task id ${JSON.stringify(t.id)} is empty or contains "__"`);
    if (BASELINES.has(t.id)) throw new Error(`evaluateTaskbank: task id "${t.id}" is a baseline name (${PSEUDO_SOURCES.join(', ')})`);
    if (seen.has(t.id)) throw new Error(`evaluateTaskbank: task "${t.id}" is listed twice`);
    if (typeof t.family !== 'string' || t.family.trim() === '') throw new Error(`evaluateTaskbank: task "${t.id}" has no family`);
    seen.add(t.id);
  }
  if (new Set(tasks.map((t) => t.family)).size < 2) throw new Error('evaluateTaskbank: every task has the same family; family recovery needs at least 2');
}

/** Every record names a known target and source with a finite loss; every target has the tasks, `pixels` and `self` as sources. */
function checkLosses(losses: LossRecord[], ids: string[]): void {
  const tasks = new Set(ids);
  const bySource = new Map<string, Set<string>>(ids.map((t) => [t, new Set()]));
  for (const r of losses) {
    const where = `loss of source "${r.source}" on target "${r.target}", image "${r.image}"`;
    if (!tasks.has(r.target)) throw new Error(`evaluateTaskbank: ${where}: unknown target "${r.target}" (tasks: ${ids.join(', ')})`);
    if (!tasks.has(r.source) && !BASELINES.has(r.source))
      throw new Error(`evaluateTaskbank: ${where}: unknown source "${r.source}" (sources are the tasks and ${PSEUDO_SOURCES.join(', ')})`);
    if (typeof r.loss !== 'number' || !Number.isFinite(r.loss)) throw new Error(`evaluateTaskbank: ${where} is ${r.loss}, not a finite number`);
    bySource.get(r.target)!.add(r.source);
  }
  for (const [t, sources] of bySource) {
    if (sources.size === 0) throw new Error(`evaluateTaskbank: target "${t}" has no losses`);
    const missing = [...ids, GAIN_BASELINE, QUALITY_BASELINE].filter((s) => !sources.has(s));
    if (missing.length) throw new Error(`evaluateTaskbank: target "${t}" has no losses from ${missing.map((s) => `"${s}"`).join(', ')}`);
  }
}

/** The probe features as representations: every task present, the baselines optional, one n for all, data n × d and finite. */
function probeRepresentations(probe: TaskbankEvalInput['probeFeatures'], ids: string[]): Representation[] {
  const entries = probe instanceof Map ? [...probe.entries()] : Object.entries(probe);
  const byId = new Map(entries);
  const missing = ids.filter((t) => !byId.has(t));
  if (missing.length) throw new Error(`evaluateTaskbank: no probe features for ${missing.map((s) => `"${s}"`).join(', ')}`);
  const unknown = entries.map(([k]) => k).filter((k) => !ids.includes(k) && !BASELINES.has(k));
  if (unknown.length) throw new Error(`evaluateTaskbank: probe features of unknown source ${unknown.map((s) => `"${s}"`).join(', ')}`);
  const order = [...ids, ...PSEUDO_SOURCES.filter((s) => byId.has(s))];
  const n = byId.get(ids[0])!.n;
  return order.map((label) => {
    const f = byId.get(label)!;
    if (!Number.isInteger(f.n) || !Number.isInteger(f.d) || f.n < 3 || f.d < 1)
      throw new Error(`evaluateTaskbank: probe features of "${label}" are ${f.n} × ${f.d}; need ≥ 3 crops and ≥ 1 feature`);
    if (f.n !== n)
      throw new Error(
        `evaluateTaskbank: probe features of "${label}" have ${f.n} crops, those of "${ids[0]}" ${n}; every source must see the same probe crops`,
      );
    if (f.data.length !== f.n * f.d) throw new Error(`evaluateTaskbank: probe features of "${label}" hold ${f.data.length} values, not ${f.n} × ${f.d}`);
    const bad = f.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`evaluateTaskbank: probe features of "${label}" have ${f.data[bad]} at crop ${Math.floor(bad / f.d)}, feature ${bad % f.d}`);
    return { label, n: f.n, p: f.d, shape: [f.d], data: f.data, source: `probe features of ${label}` };
  });
}

/** Nearest-neighbour agreement and the family cut of one tree whose task similarity is `sim` (tasks in `labels` order). */
function recovery(tree: Dendrogram, sim: Matrix, labels: string[], familyOf: Map<string, string>): FamilyRecoveryStats {
  const families = labels.map((l) => familyOf.get(l)!);
  const nn = nearestNeighbourAgreement(sim, labels, families);
  const cut = familyCountCut(tree, families);
  return {
    nearestNeighbourAgreement: nn.agreement,
    chance: nn.chance,
    adjustedRandIndex: cut.ari,
    k: cut.k,
    clusters: Object.fromEntries(labels.map((l, i) => [l, cut.clusters[i]])),
    nearest: Object.fromEntries(nn.items.map((x) => [x.label, x.nearest])),
  };
}

function describeTree(from: string, tree: Dendrogram, distance: string, sim: Matrix, familyOf: Map<string, string>): TaskbankTree {
  return {
    from,
    labels: [...tree.labels],
    linkage: tree.linkage,
    distance,
    merges: tree.merges,
    newick: toNewick(tree),
    order: leafOrder(tree).map((i) => tree.labels[i]),
    similarity: toRows(sim),
    recovery: recovery(tree, sim, tree.labels, familyOf),
  };
}

/** The measured task tree and the task × task similarity behind it (1 − correlation distance of transfer-out patterns). */
function measuredTree(affinities: ResultDict, ids: string[], familyOf: Map<string, string>): TaskbankTree {
  const tree = taskTree(affinities, { tasks: ids, targets: ids, linkage: TASKBANK_LINKAGE, distance: 'correlation' });
  const d = pairwiseDistances(taskFeatures(affinities, { tasks: ids, targets: ids }).matrix, 'correlation', ids);
  const sim = { ...d, data: d.data.map((v) => 1 - v) };
  return describeTree('affinities', tree, 'correlation distance of transfer-out affinities', sim, familyOf);
}

/** The tasks' rows and columns of a members × members matrix. */
function taskBlock(m: LabelledMatrix, ids: string[]): Matrix {
  const at = ids.map((l) => m.rows.indexOf(l));
  const n = m.matrix.cols;
  return fromRows(at.map((i) => at.map((j) => m.matrix.data[i * n + j])));
}

/** (D + Dᵀ) / 2. */
function bothDirections(d: Matrix): Matrix {
  const t = transpose(d);
  return { ...d, data: d.data.map((v, k) => (v + t.data[k]) / 2) };
}

/** The permutation null of `meanOf(sim)`: the similarity's task labels shuffled, everything measured kept. */
function spearmanNull(
  sim: LabelledMatrix,
  meanOf: (shuffled: LabelledMatrix) => number | null,
  ids: string[],
  observed: number | null,
  { draws, seed }: { draws: number; seed: number },
): SpearmanNull | null {
  return permutationNull(
    (random) => {
      const perm = randomPermutation(ids.length, random);
      const rename = new Map(ids.map((l, i) => [l, ids[perm[i]]]));
      const relabel = (labels: string[]) => labels.map((l) => rename.get(l) ?? l);
      return meanOf({ ...sim, rows: relabel(sim.rows), cols: relabel(sim.cols) });
    },
    observed,
    { draws, seed, stream: seed },
  );
}

/**
 * A permutation null of a mean: `draw` gives the mean of one shuffle (null: undefined, left out), from a generator
 * seeded `stream`; the 95th percentile of the draws and the one-sided p of `observed`.
 */
function permutationNull(
  draw: (random: () => number) => number | null,
  observed: number | null,
  { draws, seed, stream }: { draws: number; seed: number; stream: number },
): SpearmanNull | null {
  if (draws === 0 || observed === null) return null;
  const random = mulberry32(stream);
  const values: number[] = [];
  for (let b = 0; b < draws; b++) {
    const mean = draw(random);
    if (mean !== null) values.push(mean);
  }
  if (values.length === 0) return null;
  return { draws: values.length, seed, q95: percentile(values, 95), p: (1 + values.filter((v) => v >= observed).length) / (1 + values.length) };
}

function score(e: EvaluationResult): SpearmanScore {
  return { mean: e.mean, perTarget: e.per_target, undefinedTargets: e.undefined_targets };
}

/** The DDS protocol on a source × target prediction: per-target Spearman over the sources `ids` (self excluded by default). */
function spearmanScore(prediction: LabelledMatrix, truth: LabelledMatrix, ids: string[], targets = ids, includeSelf = false): SpearmanScore {
  return score(evaluatePrediction(prediction, truth, { metric: 'spearman', includeSelf, sources: ids, targets }));
}

/** One measure: its similarity matrix, DDS-protocol scores against the affinities, its taxonomy and family recovery. */
async function judgeMeasure(
  reps: Representation[],
  measure: string,
  truth: LabelledMatrix,
  affinities: ResultDict,
  ids: string[],
  familyOf: Map<string, string>,
  nullDraws: { draws: number; seed: number },
): Promise<{ result: TaskbankMeasureResult; oriented?: LabelledMatrix }> {
  const id = canonicalMeasureId(measure);
  const name = describeMeasure(id).name;
  const t0 = performance.now();
  let sim: LabelledMatrix;
  try {
    sim = await similarityMatrix(reps, id);
  } catch (e) {
    // A measure that cannot apply to these features gets its own row with the reason, like the evaluation harness.
    const ms = performance.now() - t0;
    return {
      result: {
        measure: id,
        name,
        members: reps.map((r) => r.label),
        similarity: [],
        spearman: null,
        spearmanWithSelf: null,
        spearmanNull: null,
        viaTransfers: null,
        viaTransfersNull: null,
        taxonomy: null,
        ms,
        error: (e as Error).message,
      },
    };
  }
  const ms = performance.now() - t0;
  const oriented = asSimilarity(sim);
  const selfExcluded = (s: LabelledMatrix) => spearmanScore(s, truth, ids);
  const spearman = selfExcluded(oriented);
  const viaTransfers = isDistance(id) ? null : measureViaTransfersScore(oriented, affinities, ids);
  const spearmanWithSelf = spearmanScore(oriented, truth, ids, ids, true);
  const block = taskBlock(oriented, ids);
  let taxonomy: TaskbankTree | null = null;
  let error: string | undefined;
  try {
    const direct = isDistance(id) ? taskBlock(sim, ids) : similarityToDistance(block, ids);
    // A tree needs one distance per pair: a measure that is not symmetric (CKNNA, predictivity) gets both directions' mean.
    const symmetric = describeMeasure(id).symmetric;
    const distance = symmetric ? direct : bothDirections(direct);
    const name = `${isDistance(id) ? `${id} (a distance)` : `1 − ${id}`}${symmetric ? '' : ', both directions averaged'}`;
    taxonomy = describeTree(id, linkage(distance, TASKBANK_LINKAGE, ids), name, block, familyOf);
  } catch (e) {
    // The scores stand without a tree: the measure's row says why it has none, the other measures go on.
    error = `taxonomy: ${(e as Error).message}`;
  }
  return {
    result: {
      measure: id,
      name,
      members: [...sim.rows],
      similarity: toRows(sim.matrix),
      spearman,
      spearmanWithSelf,
      spearmanNull: spearmanNull(oriented, (s) => selfExcluded(s).mean, ids, spearman.mean, nullDraws),
      viaTransfers,
      viaTransfersNull: viaTransfers
        ? spearmanNull(oriented, (s) => measureViaTransfersScore(s, affinities, ids).mean, ids, viaTransfers.mean, nullDraws)
        : null,
      taxonomy,
      ms,
      ...(error ? { error } : {}),
    },
    oriented,
  };
}

/** The label scores as a source × target prediction, checked: every task a source of every scored target, values finite. */
function labelScoreMatrix(values: Record<string, Record<string, number>>, ids: string[]): { matrix: LabelledMatrix; targets: string[] } {
  const known = new Set(ids);
  for (const t of Object.keys(values)) if (!known.has(t)) throw new Error(`label scores: "${t}" is not a task of the bank`);
  const targets = ids.filter((t) => Object.hasOwn(values, t));
  if (targets.length === 0) throw new Error('label scores: no target of the bank has scores');
  const rows = ids.map((s) =>
    targets.map((t) => {
      const v = Object.hasOwn(values[t], s) ? values[t][s] : undefined;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`label scores: source ${s} on target ${t} has no finite score (got ${v})`);
      return v;
    }),
  );
  return { matrix: { rows: ids, cols: targets, matrix: fromRows(rows) }, targets };
}

/**
 * Per target t (a column of `labels`), each source s ≠ t ranked by its label score plus its rank by the similarity
 * of s to t; the self cell is 0 (never scored: self excluded).
 */
function rankSumMatrix(labels: { matrix: LabelledMatrix; targets: string[] }, similarity: LabelledMatrix, ids: string[]): LabelledMatrix {
  const k = labels.targets.length;
  const n = ids.length;
  const row = new Map(similarity.rows.map((l, i) => [l, i]));
  const col = new Map(similarity.cols.map((l, i) => [l, i]));
  const data = new Float64Array(n * k);
  labels.targets.forEach((t, j) => {
    const others = ids.map((s, i) => [s, i] as const).filter(([s]) => s !== t);
    const sum = summedRanks([
      others.map(([, i]) => labels.matrix.matrix.data[i * k + j]),
      others.map(([s]) => similarity.matrix.data[row.get(s)! * similarity.matrix.cols + col.get(t)!]),
    ]);
    others.forEach(([, i], q) => (data[i * k + j] = sum[q]));
  });
  return { rows: ids, cols: labels.targets, matrix: { rows: n, cols: k, data } };
}

/**
 * A label score judged like a measure; its null shuffles each target's scores over the sources (stream `index`: the
 * first score's draws are those of a run with one score).
 */
function judgeLabelScore(
  input: NonNullable<TaskbankEvalInput['labelScores']>[number],
  truth: LabelledMatrix,
  ids: string[],
  { draws, seed }: { draws: number; seed: number },
  index: number,
): { result: TaskbankLabelScoreResult; prediction: { matrix: LabelledMatrix; targets: string[] } } {
  const againstLabels = !isScoreId(input.score);
  const config = againstLabels ? undefined : parseScore(input.score);
  const id = config ? scoreId(config) : canonicalMeasureId(input.score);
  const name = config ? (findScoreFamily(config.family)?.name ?? id) : describeMeasure(id).name;
  const { matrix, targets } = labelScoreMatrix(input.values, ids);
  // A distance to the labels: the nearest source is predicted best.
  if (againstLabels && isDistance(id)) matrix.matrix.data.forEach((v, i, a) => (a[i] = -v));
  const spearman = spearmanScore(matrix, truth, ids, targets);
  const n = ids.length;
  const k = targets.length;
  const spearmanNull = permutationNull(
    (random) => {
      const data = new Float64Array(n * k);
      for (let j = 0; j < k; j++) {
        const perm = randomPermutation(n, random);
        for (let i = 0; i < n; i++) data[i * k + j] = matrix.matrix.data[perm[i] * k + j];
      }
      return spearmanScore({ ...matrix, matrix: { rows: n, cols: k, data } }, truth, ids, targets).mean;
    },
    spearman.mean,
    { draws, seed, stream: (seed ^ 0x1abe1 ^ Math.imul(index, 0x9e3779b1)) >>> 0 },
  );
  return {
    result: {
      score: id,
      againstLabels,
      name,
      labelled: input.labelled,
      targets,
      values: input.values,
      spearman,
      spearmanWithSelf: spearmanScore(matrix, truth, ids, targets, true),
      spearmanNull,
    },
    prediction: { matrix, targets },
  };
}

/** Each distinct test-image list of the tables (targets scored on the same crops share it) and its sampling units. */
interface ImageSet {
  /** Unit of each image. */
  unit: Int32Array;
  units: number;
  /** Per image, the weight of the current draw or half. */
  weights: Float64Array;
}

/** The tables' image sets; images without a group are units of their own, numbered in image order. */
function imageSets(tables: LossTable[], groups: Record<string, string> | undefined): { sets: ImageSet[]; of: ImageSet[] } {
  const shared = new Map<string, ImageSet>();
  const of = tables.map((t) => {
    const key = t.images.join('\n');
    let set = shared.get(key);
    if (!set) {
      const index = new Map<string, number>();
      const unit = Int32Array.from(t.images, (img) => {
        const g = groups && Object.hasOwn(groups, img) ? `g:${groups[img]}` : `i:${img}`;
        let i = index.get(g);
        if (i === undefined) index.set(g, (i = index.size));
        return i;
      });
      shared.set(key, (set = { unit, units: index.size, weights: new Float64Array(t.images.length) }));
    }
    return set;
  });
  return { sets: [...shared.values()], of };
}

/** The tables' AHP affinities with each image weighted by its set's current weights. */
function weightedTruth(tables: LossTable[], of: ImageSet[]): ResultDict {
  return ahpAffinities(tables.map((t, i) => tournamentOf(t, of[i].weights))).affinities;
}

/** SpearmanInterval of each measure (undefined similarity: null), all measures scored on the same draws. */
function spearmanIntervals(
  tables: LossTable[],
  predictions: ({ matrix: LabelledMatrix; targets: string[] } | undefined)[],
  ids: string[],
  groups: Record<string, string> | undefined,
  { draws, seed }: { draws: number; seed: number },
): (SpearmanInterval | null)[] {
  if (draws === 0) return predictions.map(() => null);
  // Targets scored on the same images (the bank's: the same test crops) share each draw; a target with other images
  // gets its own.
  const { sets, of } = imageSets(tables, groups);
  const unit = groups ? 'photograph' : 'image';
  const random = mulberry32((seed ^ 0x5bd1e995) >>> 0);
  const values: number[][] = predictions.map(() => []);
  for (let b = 0; b < draws; b++) {
    for (const set of sets) {
      const counts = new Float64Array(set.units);
      for (let k = 0; k < set.units; k++) counts[Math.floor(random() * set.units)]++;
      for (let x = 0; x < set.unit.length; x++) set.weights[x] = counts[set.unit[x]];
    }
    const truth = truthFromResultDict(weightedTruth(tables, of), { sources: ids, targets: ids });
    predictions.forEach((p, i) => {
      const mean = p ? spearmanScore(p.matrix, truth, ids, p.targets).mean : null;
      if (mean !== null) values[i].push(mean);
    });
  }
  return values.map((v, i) => (predictions[i] && v.length ? { draws: v.length, seed, unit, low: percentile(v, 2.5), high: percentile(v, 97.5) } : null));
}

/** The two halves of one random halving: the first ⌊units/2⌋ units of a seeded permutation, and the rest. */
function reliabilityHalves(units: number, random: () => number): [Set<number>, Set<number>] {
  const perm = randomPermutation(units, random);
  const k = Math.floor(units / 2);
  return [new Set(perm.slice(0, k)), new Set(perm.slice(k))];
}

/** Spearman–Brown: the reliability of the mean of k measurements whose pairwise correlation is r (0 where r ≤ 0). */
export function spearmanBrown(r: number, k: number): number {
  return r > 0 ? (k * r) / (1 + (k - 1) * r) : 0;
}

/** Per target t, the Spearman between two affinity dicts' columns s → t (s the other tasks); NaN where undefined. */
function columnAgreement(a: ResultDict, b: ResultDict, ids: string[]): Map<string, number> {
  const column = (aff: ResultDict, t: string) => ids.filter((s) => s !== t).map((s) => aff[`${s}__${t}`] ?? Number.NaN);
  return new Map(ids.map((t) => [t, spearman(column(a, t), column(b, t))]));
}

/** Mean of each target's finite values, or null when it has none. */
function meanPerTarget(values: Map<string, number>[], ids: string[]): Record<string, number | null> {
  return Object.fromEntries(
    ids.map((t) => {
      const v = values.map((m) => m.get(t)!).filter(Number.isFinite);
      return [t, v.length ? v.reduce((x, y) => x + y, 0) / v.length : null];
    }),
  );
}

/**
 * TargetReliability of every target (the comment there). Without halvings (none asked for, or fewer than 2 units to
 * halve) its photograph values are null and `splits` 0; null when there are neither halvings nor repeated readouts.
 */
function targetReliability(
  tables: LossTable[],
  repeatTables: LossTable[][] | undefined,
  ids: string[],
  groups: Record<string, string> | undefined,
  { splits, seed }: { splits: number; seed: number },
): TargetReliability | null {
  const { sets, of } = imageSets(tables, groups);
  const units = Math.min(...sets.map((s) => s.units));
  // One test photograph cannot be halved: then only the readouts' reliability (if repeated) is measured.
  const halvings = units < 2 ? 0 : splits;
  if (halvings === 0 && !(repeatTables && repeatTables.length > 1)) return null;
  const random = mulberry32((seed ^ 0x27d4eb2f) >>> 0);
  const agreements: Map<string, number>[] = [];
  for (let b = 0; b < halvings; b++) {
    const halves = sets.map((set) => reliabilityHalves(set.units, random));
    const half = (h: 0 | 1) => {
      sets.forEach((set, i) => {
        for (let x = 0; x < set.unit.length; x++) set.weights[x] = halves[i][h].has(set.unit[x]) ? 1 : 0;
      });
      return weightedTruth(tables, of);
    };
    agreements.push(columnAgreement(half(0), half(1), ids));
  }
  const half = meanPerTarget(agreements, ids);
  const perTarget = Object.fromEntries(ids.map((t) => [t, half[t] === null ? null : spearmanBrown(half[t]!, 2)]));
  let readouts: TargetReliability['readouts'];
  if (repeatTables && repeatTables.length > 1) {
    const k = repeatTables.length;
    const affinities = repeatTables.map((ts) => ahpAffinities(ts.map((t) => tournamentOf(t))).affinities);
    const pairs: Map<string, number>[] = [];
    for (let a = 0; a < k; a++) for (let b = a + 1; b < k; b++) pairs.push(columnAgreement(affinities[a], affinities[b], ids));
    const pairwise = meanPerTarget(pairs, ids);
    readouts = { repeats: k, pairwise, perTarget: Object.fromEntries(ids.map((t) => [t, pairwise[t] === null ? null : spearmanBrown(pairwise[t]!, k)])) };
  }
  const ok = (x: number | null | undefined) => x !== null && x !== undefined && x >= TASKBANK_RELIABLE;
  const reliable = ids.filter((t) => (halvings === 0 || ok(perTarget[t])) && (!readouts || ok(readouts.perTarget[t])));
  return {
    splits: halvings,
    seed,
    unit: groups ? 'photograph' : 'image',
    units,
    half,
    perTarget,
    ...(readouts ? { readouts } : {}),
    threshold: TASKBANK_RELIABLE,
    reliable,
  };
}

/**
 * The DDS protocol's score of predictions made through the other targets' transfers (taskonomy/viaTransfers.ts): per
 * target t, the candidates are the other tasks, the known tasks are the other targets, weighted by `weight(t, u)`.
 */
function viaTransfersScore(weight: (t: string, u: string) => number, affinities: ResultDict, ids: string[], neighbours?: number): SpearmanScore {
  const perTarget: Record<string, number | null> = {};
  const undefinedTargets: string[] = [];
  for (const t of ids) {
    const candidates = ids.filter((s) => s !== t);
    const weights = Object.fromEntries(candidates.map((u) => [u, weight(t, u)]));
    const p = predictViaTransfers({ candidates, weights, affinities, neighbours });
    const ok = candidates.every((s) => p[s] !== null);
    const r = ok
      ? spearman(
          candidates.map((s) => p[s]!),
          candidates.map((s) => affinities[`${s}__${t}`]),
        )
      : Number.NaN;
    perTarget[t] = Number.isFinite(r) ? r : null;
    if (!Number.isFinite(r)) undefinedTargets.push(t);
  }
  const v = Object.values(perTarget).filter((x): x is number => x !== null);
  return { mean: v.length ? v.reduce((a, b) => a + b, 0) / v.length : null, perTarget, undefinedTargets };
}

/** TaskbankEvaluation.sourcePrior: each source's mean rank over the other targets (equal weights), against the affinities. */
export function sourcePriorScore(affinities: ResultDict, ids: string[]): SpearmanScore {
  return viaTransfersScore(() => 1, affinities, ids, Number.POSITIVE_INFINITY);
}

/**
 * A similarity matrix (larger = more similar) against measured first-order affinities among `ids`, both ways: the DDS
 * protocol on the similarity itself (self excluded) and the prediction through the other targets' transfers.
 */
export function transferPrediction(
  similarity: LabelledMatrix,
  affinities: ResultDict,
  ids: string[],
): { similarity: SpearmanScore; viaTransfers: SpearmanScore } {
  const truth = truthFromResultDict(affinities, { sources: ids, targets: ids });
  return {
    similarity: spearmanScore(similarity, truth, ids),
    viaTransfers: measureViaTransfersScore(similarity, affinities, ids),
  };
}

/** TaskbankMeasureResult.viaTransfers: the measure's similarity of t to each other target as the weights. */
export function measureViaTransfersScore(similarity: LabelledMatrix, affinities: ResultDict, ids: string[], neighbours?: number): SpearmanScore {
  const row = new Map(similarity.rows.map((l, i) => [l, i]));
  const col = new Map(similarity.cols.map((l, i) => [l, i]));
  const n = similarity.cols.length;
  return viaTransfersScore((t, u) => similarity.matrix.data[row.get(t)! * n + col.get(u)!], affinities, ids, neighbours);
}

/** Mean per-target Spearman over the given targets (those with a defined value); null when none. */
export function meanOverTargets(score: SpearmanScore | null, targets: readonly string[]): number | null {
  const v = targets.map((t) => score?.perTarget[t]).filter((x): x is number => x !== null && x !== undefined);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

function transferSummary(source: string, target: string, affinities: ResultDict, gain: ResultDict, quality: ResultDict): TransferSummary {
  const key = `${source}__${target}`;
  return { source, affinity: affinities[key] ?? null, gain: gain[key] ?? null, quality: quality[key] ?? null };
}

function targetSummaries(
  e: Pick<TaskbankEvaluation, 'tasks' | 'affinities' | 'winsVsPixels' | 'winsVsTask' | 'consistency'>,
  losses: LossRecord[],
): TaskbankTargetSummary[] {
  const sums = new Map<string, { sum: number; n: number }>();
  for (const r of losses) {
    const k = `${r.target}\u0000${r.source}`;
    const s = sums.get(k) ?? { sum: 0, n: 0 };
    s.sum += r.loss;
    s.n++;
    sums.set(k, s);
  }
  const ids = e.tasks.map((t) => t.id);
  return e.tasks.map(({ id: t, family }) => {
    const of = (s: string) => transferSummary(s, t, e.affinities, e.winsVsPixels, e.winsVsTask);
    let best = ids.find((s) => s !== t)!;
    for (const s of ids) if (s !== t && e.affinities[`${s}__${t}`] > e.affinities[`${best}__${t}`]) best = s;
    const meanLoss: Record<string, number> = {};
    for (const s of [...ids, ...PSEUDO_SOURCES]) {
      const v = sums.get(`${t}\u0000${s}`);
      if (v) meanLoss[s] = v.sum / v.n;
    }
    return {
      target: t,
      family,
      best: of(best),
      own: of(t),
      self: of(QUALITY_BASELINE),
      random: `random__${t}` in e.affinities ? of('random') : null,
      meanLoss,
      consistencyRatio: e.consistency.find((c) => c.target === t)!.consistencyRatio,
    };
  });
}

/**
 * Judge the task bank: the measured Taskonomy from the per-image losses, then every measure against it. Bad input —
 * an unknown target or source, a non-finite loss, a target without losses or without its baselines, probe features
 * missing or of different crop counts — is an error naming it.
 */
export async function evaluateTaskbank(input: TaskbankEvalInput): Promise<TaskbankEvaluation> {
  const progress = input.onProgress ?? (() => undefined);
  const tasks = input.tasks.map((t) => ({ id: t.id, family: t.family }));
  checkTasks(tasks);
  const ids = tasks.map((t) => t.id);
  const familyOf = new Map(tasks.map((t) => [t.id, t.family]));
  checkLosses(input.losses, ids);
  const reps = probeRepresentations(input.probeFeatures, ids);

  // Measured side: the Taskonomy engine on the losses.
  const tables = lossTables(input.losses, 'task bank losses');
  const tournaments = tables.map((t) => tournamentOf(t));
  const { affinities, consistency } = ahpAffinities(tournaments);
  const gq = gainAndQuality(tournaments);
  progress('taskonomy', 1, 2, 'affinities');
  const budgets = input.budgets ?? ids.map((_, i) => i + 1);
  const timeLimit = input.policyTimeLimit ?? TASKBANK_POLICY_TIME_LIMIT;
  const sweep = await budgetSweep({ affinities, winsVsPixels: gq.winsVsPixels, winsVsTask: gq.winsVsTask, budget: 1 }, budgets, {
    // Both solvers are exact; `auto` enumerates where that is faster (every budget of 13 tasks: ~10⁶ sets), else HiGHS.
    solver: 'auto',
    timeLimit,
  });
  progress('taskonomy', 2, 2, 'policy');
  const tree = measuredTree(affinities, ids, familyOf);

  // Predicted side: each measure's similarity of the encoders against the affinities.
  const truth = truthFromResultDict(affinities, { sources: ids, targets: ids });
  const measures: TaskbankMeasureResult[] = [];
  const nullDraws = { draws: input.permutations ?? TASKBANK_PERMUTATIONS, seed: input.seed ?? 0 };
  if (!Number.isInteger(nullDraws.draws) || nullDraws.draws < 0)
    throw new Error(`evaluateTaskbank: permutations must be a whole number ≥ 0, got ${nullDraws.draws}`);
  const list = input.measures ?? TASKBANK_MEASURES;
  const oriented: (LabelledMatrix | undefined)[] = [];
  for (let i = 0; i < list.length; i++) {
    const judged = await judgeMeasure(reps, list[i], truth, affinities, ids, familyOf, nullDraws);
    measures.push(judged.result);
    oriented.push(judged.oriented);
    progress('measures', i + 1, list.length, measures[i].measure);
  }
  const imageDraws = input.imageDraws ?? TASKBANK_IMAGE_DRAWS;
  if (!Number.isInteger(imageDraws) || imageDraws < 0) throw new Error(`evaluateTaskbank: imageDraws must be a whole number ≥ 0, got ${imageDraws}`);
  const labelScores = input.labelScores?.map((l, i) => judgeLabelScore(l, truth, ids, nullDraws, i));
  const intervals = spearmanIntervals(
    tables,
    [...oriented.map((m) => (m ? { matrix: m, targets: ids } : undefined)), ...(labelScores ?? []).map((l) => l.prediction)],
    ids,
    input.imageGroups,
    { draws: imageDraws, seed: nullDraws.seed },
  );
  measures.forEach((m, i) => {
    if (m.spearman) m.spearmanInterval = intervals[i];
  });
  labelScores?.forEach((l, k) => {
    l.result.spearmanInterval = intervals[measures.length + k];
    l.result.withSimilarity = measures.flatMap((m, i) => {
      const sim = oriented[i];
      if (!sim) return [];
      const combined = rankSumMatrix(l.prediction, sim, ids);
      return [{ measure: m.measure, spearman: spearmanScore(combined, truth, ids, l.prediction.targets) }];
    });
    l.result.withLabelScores = labelScores.slice(k + 1).map((other) => {
      const combined = rankSumMatrix(l.prediction, other.prediction.matrix, ids);
      return { score: other.result.score, againstLabels: other.result.againstLabels, spearman: spearmanScore(combined, truth, ids, l.prediction.targets) };
    });
  });
  progress('measures', list.length, list.length, 'image bootstrap');
  const splits = input.reliabilitySplits ?? TASKBANK_RELIABILITY_SPLITS;
  if (!Number.isInteger(splits) || splits < 0) throw new Error(`evaluateTaskbank: reliabilitySplits must be a whole number ≥ 0, got ${splits}`);
  const repeatTables = input.repeatLosses?.map((l, r) => {
    checkLosses(l, ids);
    return lossTables(l, `task bank losses of readout repeat ${r + 1}`);
  });
  const reliability = targetReliability(tables, repeatTables, ids, input.imageGroups, { splits, seed: nullDraws.seed });
  if (reliability) for (const m of measures) if (m.spearman) m.spearmanReliable = meanOverTargets(m.spearman, reliability.reliable);
  if (reliability) for (const l of labelScores ?? []) l.result.spearmanReliable = meanOverTargets(l.result.spearman, reliability.reliable);

  const sources = [...new Set(tournaments.flatMap((t) => t.sources))];
  const base = { tasks, affinities, winsVsPixels: gq.winsVsPixels, winsVsTask: gq.winsVsTask, consistency };
  return {
    ...base,
    families: [...new Set(tasks.map((t) => t.family))],
    sources,
    images: tournaments[0].images ?? 0,
    probeImages: reps[0].n,
    tournaments: tournamentsToJson(tournaments),
    targets: targetSummaries(base, input.losses),
    policy: { budgets, timeLimit, rows: sweep.rows, results: sweep.results },
    tree,
    measures,
    sourcePrior: sourcePriorScore(affinities, ids),
    ...(labelScores ? { labelScores: labelScores.map((l) => l.result) } : {}),
    reliability,
    chance: { nearestNeighbourAgreement: tree.recovery.chance, adjustedRandIndex: 0, spearman: 0 },
  };
}
