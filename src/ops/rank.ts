/**
 * Use case: rank candidate sources (members of a feature set, or model/layer entries) for a target on the same
 * probe images. The target is any of the kinds the library ranks against: a member, a representation file (.npy
 * features of a model trained on the new task), or a labels file (one class label or regression value per image).
 * The shells name the target; this module reads it. The measure is a representation measure (RSA, DDS, CKA, …) or
 * a label-based transferability score (LogME, LEEP, …; docs/transferability.md); `rankAll` puts several of them
 * side by side in one table (`taskmap rank --measure all`).
 */
import { extname } from 'node:path';
import { loadFeatureSet, loadRepresentation } from '../features/featureSet.js';
import { applyImageList, type ImageList } from '../features/imageIdentity.js';
import type { Representation } from '../features/types.js';
import { readInputFile, readInputText } from '../io/input.js';
import { checkAllocation } from '../io/limits.js';
import { product, readNpy } from '../io/npy.js';
import { parseCsv } from '../io/labelledMatrix.js';
import { rankData, summedRanks } from '../linalg/ranks.js';
import { catalogueEntry, entriesFor, findEntry } from '../measures/catalogue.js';
import { canonicalMeasureId, describeMeasure } from '../measures/registry.js';
import { parseResultDict, PSEUDO_SOURCES, type ResultDict } from '../io/resultDict.js';
import { predictViaTransfers, VIA_TRANSFERS_NEIGHBOURS, weighingTasks } from '../taskonomy/viaTransfers.js';
import { rankSources, scoreLabels, type LabelKind, type RankOptions, type RankResult, type Target } from '../taxonomy/rank.js';
import { rankTable, standardRankMeasures, type RankTable, type RankTableOptions } from '../taxonomy/rankTable.js';
import { isScoreId, modelOfLabel, scoreOf, targetProblem } from '../taxonomy/scoreColumns.js';

export { standardRankMeasures, VIA_TRANSFERS_NEIGHBOURS, type RankTable, type RankTableOptions };

/** `--measure all`: every standard score, then rsa and the default dds (standardRankMeasures). */
export const ALL_MEASURES = 'all';

/** File extensions read as a labels target. */
export const LABEL_FILE_EXTENSIONS: readonly string[] = ['.csv', '.txt'];
export const LABEL_KINDS: readonly LabelKind[] = ['class', 'regression'];

/** The records of a labels file: one column, or two ("image,label"), the same width on every line. */
function labelRecords(text: string, name: string): { records: string[][]; width: number } {
  const records = parseCsv(text, name);
  const width = records[0]?.length ?? 0;
  const bad = records.findIndex((r) => r.length !== width);
  if (width < 1 || width > 2) {
    throw new Error(`${name}: expected one label per line, or two columns "image,label"; line 1 has ${width} fields`);
  }
  if (bad >= 0) throw new Error(`${name}: line ${bad + 1} has ${records[bad].length} fields but line 1 has ${width}`);
  return { records, width };
}

/**
 * One label per image, in the feature set's image order: a single column, or `image,label` (the image column is
 * not used to reorder). A header row is recognised by the count: n + 1 rows means the first is a header.
 */
export async function readTargetLabels(path: string, n: number, name = path): Promise<string[]> {
  const { records, width } = labelRecords(await readInputText(path, 'a labels file'), name);
  const body = records.length === n + 1 ? records.slice(1) : records;
  if (body.length !== n) {
    throw new Error(`${name}: ${records.length} rows, but the feature set has ${n} images (one label per image, optionally after a header row)`);
  }
  return body.map((r) => r[width - 1].trim());
}

/**
 * What a labels file holds, before it meets a feature set (an upload): its rows (a header row included, if any) and
 * the distinct values of its label column. Throws, naming the file, when it is not a labels file.
 */
export function describeLabelsText(text: string, name: string): { rows: number; distinct: number } {
  const { records, width } = labelRecords(text, name);
  if (records.length < 2) throw new Error(`${name}: ${records.length} row(s); a labels file has one label per image`);
  return { rows: records.length, distinct: new Set(records.map((r) => r[width - 1].trim())).size };
}

/**
 * Dense regression labels: a .npy of N × K values (any shape with N first — a map per image, flattened), one vector
 * per image for the scores (LogME) and compared as features by the measures. Class labels are refused: they go in a
 * labels file.
 */
async function readLabelVectors(path: string, n: number, name: string, kind: LabelKind): Promise<Float32Array[] | Float64Array[]> {
  if (kind !== 'regression') {
    throw new Error(
      `${name}: a .npy of labels is read as regression values (--target-kind regression; targetKind "regression" in the API); class labels go in a .csv / .txt, one per image`,
    );
  }
  // Read as an array, not as features: one value per image may be stored 1-d, and a non-finite value is the label
  // check's to name (regressionValues).
  const { shape, data } = readNpy(await readInputFile(path, 'a .npy of regression values'), name);
  if (shape.length === 0) throw new Error(`${name}: a 0-d array; regression values need one row per image, shape (n_images, ...)`);
  const rows = shape[0];
  if (rows !== n) throw new Error(`${name}: ${rows} rows of regression values, but the feature set has ${n} images (one row per image)`);
  const p = product(shape.slice(1));
  // Integer or boolean maps are widened to float64 here, and regressionValues copies the values once more.
  checkAllocation('its regression values as float64, twice', 2 * 8 * n * p, name);
  const values = data instanceof Float64Array || data instanceof Float32Array ? data : Float64Array.from(data as ArrayLike<number | bigint>, Number);
  return Array.from({ length: n }, (_, i) => values.subarray(i * p, (i + 1) * p)) as Float32Array[] | Float64Array[];
}

/**
 * A target as a shell names it. `name` is how the user called the file (default: its path). A labels file is a
 * .csv / .txt (one label per image) or, for regression, a .npy of one vector of values per image.
 */
export type TargetSpec =
  | { kind: 'member'; label: string }
  | { kind: 'representation-file'; path: string; name?: string; images?: ImageList }
  | { kind: 'labels-file'; path: string; name?: string; labelKind?: LabelKind };

/**
 * Whether a file can hold the new task's labels of this kind: a .csv / .txt always, a .npy as regression vectors.
 * Why not, or undefined when it can.
 */
export function labelsFileProblem(path: string, kind: LabelKind | undefined): string | undefined {
  const file = targetFileKind(path);
  if (file === 'labels-file' || (file === 'representation-file' && kind === 'regression')) return undefined;
  return file === 'representation-file'
    ? 'a .npy holds labels only as regression values (--target-kind regression; targetKind "regression" in the API); class labels go in a .csv / .txt'
    : 'a labels file is .csv or .txt (one label per image), or a .npy of regression values';
}

/** The kind of file a target path is, by extension; undefined when it is neither. */
export function targetFileKind(path: string): 'representation-file' | 'labels-file' | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === '.npy') return 'representation-file';
  if (LABEL_FILE_EXTENSIONS.includes(ext)) return 'labels-file';
  return undefined;
}

/** Read a target for a feature set of `n` images. */
export async function loadTarget(spec: TargetSpec, n: number): Promise<Target> {
  switch (spec.kind) {
    case 'member':
      return { kind: 'member', label: spec.label };
    case 'representation-file': {
      const representation: Representation = await loadRepresentation(spec.path);
      applyImageList(representation, spec.images);
      return { kind: 'representation', representation };
    }
    default: {
      const labelKind = spec.labelKind ?? 'class';
      if (!LABEL_KINDS.includes(labelKind)) throw new Error(`label kind must be ${LABEL_KINDS.join(' or ')}, got "${String(labelKind)}"`);
      const name = spec.name ?? spec.path;
      const labels =
        targetFileKind(spec.path) === 'representation-file'
          ? await readLabelVectors(spec.path, n, name, labelKind)
          : await readTargetLabels(spec.path, n, name);
      return { kind: 'labels', labels, labelKind, label: name };
    }
  }
}

/**
 * A measure id for ranking, canonical: a representation measure (ranking compares representations) or a
 * label-based score. Task measures (Fisher distances over labelled data sets) are refused with the catalogue's list.
 */
export function rankMeasure(id: string): string {
  if (id.trim() === ALL_MEASURES) throw new Error('"all" names the score table: call rankAll (taskmap rank --measure all)');
  if (isScoreId(id)) return scoreOf(id).id;
  const e = findEntry(id);
  if (!e) {
    const known = [...entriesFor('representations'), ...entriesFor('labels'), ...entriesFor('source-probabilities')].map((x) => x.family);
    throw new Error(`unknown measure "${id.split(':')[0].trim()}" (known: ${known.join(', ')}; or "all" for the score table)`);
  }
  if (e.input !== 'representations') {
    throw new Error(
      `"${e.family}" is a ${e.input} measure, not one that ranks sources (rank with a representation measure or a score: see \`taskmap measures\`)`,
    );
  }
  catalogueEntry(id, 'representations');
  return canonicalMeasureId(id);
}

/** The human name of a ranking measure id. */
export function rankMeasureName(id: string): string {
  return isScoreId(id) ? scoreOf(id).family.name : describeMeasure(id).name;
}

/** Rank the candidates for a target: the library's rankSources, with the measure checked by the catalogue. */
export async function rank(
  candidates: Representation[],
  target: Target,
  opts: RankOptions & { measure: string },
): Promise<{ result: RankResult; measureName: string }> {
  const measure = rankMeasure(opts.measure);
  const result = await rankSources(candidates, target, { ...opts, measure });
  return { result, measureName: rankMeasureName(measure) };
}

/** Several measures side by side (`--measure all`): the library's rankTable, every id checked by the catalogue first. */
export async function rankAll(candidates: Representation[], target: Target, opts: RankTableOptions = {}): Promise<RankTable> {
  const measures = opts.measures?.map(rankMeasure);
  return rankTable(candidates, target, { ...opts, measures, sortBy: opts.sortBy === undefined ? undefined : rankMeasure(opts.sortBy) });
}

/**
 * The source models' class probabilities on the target images, for LEEP and NCE: a feature set (a folder of .npy,
 * a .npz or a .safetensors) with one member per source model, each N × C_s softmax outputs. Members are matched to
 * candidates by label (the candidate's label, else its model part before the separator; see matchProbabilities).
 */
export async function loadProbabilities(path: string): Promise<Representation[]> {
  return (await loadFeatureSet(path)).members;
}

/** `taskmap rank --via-transfers`: the sources ranked through the measured transfers among known tasks. */
export interface ViaTransfersRanking {
  /** How many of the most similar known tasks weigh (ties at the last kept); null: all. */
  neighbours: number | null;
  /**
   * The known tasks (targets of the affinities) found among the ranked members — by label, else by model (the part
   * before the separator; a model's best layer) — with the member and its similarity to the target.
   */
  weights: { task: string; member: string; similarity: number; used: boolean }[];
  /** Every task source of the affinities, by its weighted mean rank (0 … 1) over the known tasks; ties share a rank. */
  ranking: { rank: number; source: string; score: number }[];
  /** Sources that no known task of positive weight ranks (no prediction). */
  unranked: string[];
}

/**
 * Why `measure` cannot weigh the known tasks of a via-transfers ranking (undefined when it can): it must be one
 * representation measure with larger = more similar. The shells ask before any work; `--group-by` is theirs to refuse.
 */
export function viaTransfersMeasureProblem(measure: string): string | undefined {
  if (measure.trim() === ALL_MEASURES || isScoreId(measure) || findEntry(measure)?.input !== 'representations')
    return 'weighs the known tasks by one representation measure (rsa, dds, cka, …): not with a score or "all"';
  if (!describeMeasure(measure).largerIsMoreSimilar) return `weighs the known tasks by a similarity; ${canonicalMeasureId(measure)} is a distance`;
  return undefined;
}

/**
 * Rank the sources of measured first-order transfers for the target (taskonomy/viaTransfers.ts): the known tasks are
 * the affinities' targets that are also ranked members, weighted by their similarity to the target; the candidates are
 * the affinities' task sources (not `pixels`, `random`, `self`), less the target's own (its label or model). A member
 * is a known task by its label, else by its model (the part before `separator`), taking the model's most similar
 * layer. Higher-order transfers are not used. A distance measure, or no member that is a known task, is an error.
 */
export function rankViaTransfers(
  result: RankResult,
  affinities: ResultDict,
  opts: { name?: string; separator?: string; neighbours?: number } = {},
): ViaTransfersRanking {
  const neighbours = opts.neighbours ?? VIA_TRANSFERS_NEIGHBOURS;
  const name = opts.name ?? 'affinities';
  const modelOf = (label: string) => modelOfLabel(label, opts.separator);
  if (!result.largerIsMoreSimilar) {
    throw new Error(`${result.measure} is a distance: weighing the known tasks needs a similarity (rsa, dds, cka, …)`);
  }
  const firstOrder: ResultDict = {};
  const pairs = parseResultDict(affinities).filter((k) => k.sources.length === 1);
  for (const k of pairs) firstOrder[`${k.sources[0]}__${k.target}`] = affinities[k.key];
  const known = new Set(pairs.map((k) => k.target));
  const pseudo: ReadonlySet<string> = new Set(PSEUDO_SOURCES);
  // A member target's model is its task: neither a candidate nor a known task (its own column must never be read).
  const own = result.target.excluded;
  const candidates = [...new Set(pairs.map((k) => k.sources[0]))].filter((s) => !pseudo.has(s) && (own === undefined || (s !== own && s !== modelOf(own))));
  // The ranking is sorted by similarity, so the first member of a task is its most similar layer.
  const weights: ViaTransfersRanking['weights'] = [];
  for (const task of known) {
    const e = result.ranking.find((x) => x.label === task) ?? result.ranking.find((x) => modelOf(x.label) === task);
    if (e && (own === undefined || task !== modelOf(own))) weights.push({ task, member: e.label, similarity: e.score, used: false });
  }
  weights.sort((a, b) => b.similarity - a.similarity || (a.task < b.task ? -1 : 1));
  if (weights.length === 0) {
    const members = result.ranking.map((e) => e.label).sort();
    throw new Error(
      `${name}: none of its ${known.size} targets is a ranked member, so nothing weighs the measured transfers ` +
        `(targets: ${[...known].slice(0, 8).join(', ')}${known.size > 8 ? ', …' : ''}; members: ${members.slice(0, 8).join(', ')}${members.length > 8 ? ', …' : ''})`,
    );
  }
  if (candidates.length < 2) throw new Error(`${name}: ${candidates.length} task source(s) to rank; at least 2 are needed`);
  const byTask = Object.fromEntries(weights.map((w) => [w.task, w.similarity]));
  let p: Record<string, number | null>;
  try {
    const used = new Set(weighingTasks(byTask, neighbours).map(([u]) => u));
    for (const w of weights) w.used = used.has(w.task);
    p = predictViaTransfers({ candidates, weights: byTask, affinities: firstOrder, neighbours });
  } catch (e) {
    throw new Error(`${name}: ${(e as Error).message.replace(/^predictViaTransfers: /, '')}`, { cause: e });
  }
  const scored = candidates.filter((s) => p[s] !== null).sort((a, b) => p[b]! - p[a]! || (a < b ? -1 : 1));
  return {
    neighbours: Number.isFinite(neighbours) ? neighbours : null,
    weights,
    ranking: scored.map((source) => ({ rank: 1 + scored.filter((x) => p[x]! > p[source]!).length, source, score: p[source]! })),
    unranked: candidates.filter((s) => p[s] === null),
  };
}

/** `taskmap rank --labels`: the label-based score read beside the similarity when none is named. */
export const DEFAULT_LABEL_SCORE = 'logme';

/**
 * `taskmap rank --labels`: the candidates ranked twice — by their similarity to the new task's trained network (a
 * member or a .npy target) and by a label-based score on the new task's labels — and by the two ranks summed. On the
 * task bank the sum predicts the measured transfers better than either alone (docs/taskbank.md, *What a few hundred
 * labels give*): the score reads the labels, the similarity the trained network, and they fail on different targets.
 */
export interface LabelsRanking {
  /** The labels file as the user named it, and how its labels were read. */
  labels: string;
  labelKind: LabelKind;
  /** The representation measure's id and name. */
  measure: string;
  measureName: string;
  /** The score's canonical id and name. */
  score: string;
  scoreName: string;
  /**
   * Every candidate the similarity ranks (the target member is not one), best first: its similarity and score, its
   * place under each (1 = best; ties share the mean of their places), their sum (smaller = better) and its rank by
   * that sum (1 = best; equal sums share the better rank).
   */
  ranking: {
    rank: number;
    label: string;
    rankSum: number;
    similarity: number;
    similarityPlace: number;
    score: number;
    scorePlace: number;
  }[];
  /**
   * With a grouped similarity ranking (group by model): each model by its best layer — the one with the smallest
   * sum of places among all the members — best first, ranked like the members.
   */
  groups?: { rank: number; model: string; bestLayer: string; label: string; layers: number; rankSum: number }[];
}

/** A label-based score id for `--labels`, canonical; anything else (a measure, "all", an unknown id) is an error. */
export function labelScoreId(id: string): string {
  if (!isScoreId(id)) {
    const scores = [...entriesFor('labels'), ...entriesFor('source-probabilities')].map((e) => e.family);
    throw new Error(`"${id}" is not a label-based score (${scores.join(', ')}; parameters in the id, e.g. logme:solver=icml)`);
  }
  return scoreOf(id).id;
}

/**
 * Why the similarity ranking cannot take the new task's labels beside it (undefined when it can): the measure must be
 * one representation measure and the target a representation (a member or .npy). Bootstrap draws may come with it
 * (the places are those on all images, which a bootstrap ranking also reports), and grouping by model.
 */
export function labelsRankingProblem(a: { measure: string; target?: TargetSpec['kind'] }): string | undefined {
  if (a.measure.trim() === ALL_MEASURES || isScoreId(a.measure) || findEntry(a.measure)?.input !== 'representations')
    return 'scores the labels beside a representation measure (rsa, dds, cka, …) of the new task’s trained network: not with a score or "all"';
  if (a.target === 'labels-file')
    return 'are the new task’s labels beside a trained network of it as the target (a member or a .npy of its features), not beside a labels target';
  return undefined;
}

/**
 * Check the new task's labels for a score before any work: their count, values and classes (scoreLabels), and
 * whether the score rates their kind (a classification-only score refuses regression values). Throws the reason.
 */
export function checkLabelsForScore(labels: Extract<Target, { kind: 'labels' }>, n: number, score: string): void {
  const id = labelScoreId(score);
  const { target, name } = scoreLabels(labels, n, id);
  const problem = targetProblem(scoreOf(id).family, target, name);
  if (problem) throw new Error(problem);
}

/**
 * The second and third rankings of `LabelsRanking`: every candidate of `similarity` scored with `score` against the
 * labels (the same images, in the same order), then both rankings combined by summedRanks — each on all images, also
 * when the similarity ranking carries bootstrap draws.
 */
export async function rankWithLabels(
  candidates: Representation[],
  similarity: RankResult,
  labels: Extract<Target, { kind: 'labels' }>,
  opts: Pick<RankOptions, 'engine' | 'precision' | 'probabilities' | 'separator'> & { score?: string; name?: string },
): Promise<LabelsRanking> {
  const score = labelScoreId(opts.score ?? DEFAULT_LABEL_SCORE);
  const ranked = new Set(similarity.ranking.map((e) => e.label));
  // On all images: the options of the similarity's bootstrap (draws, subset, seed, keepDraws) must not reach the score.
  const { engine, precision, probabilities, separator } = opts;
  const { result, measureName: scoreName } = await rank(
    candidates.filter((c) => ranked.has(c.label)),
    labels,
    { engine, precision, probabilities, separator, measure: score },
  );
  const scoreOfLabel = new Map(result.ranking.map((e) => [e.label, e.score]));
  const rows = similarity.ranking.map((e) => {
    const s = scoreOfLabel.get(e.label);
    if (s === undefined) throw new Error(`${result.measure}: no score for ${e.label}`);
    return { label: e.label, similarity: e.score, score: s };
  });
  // Oriented larger = better for summedRanks; a place is then n + 1 − rank.
  const n = rows.length;
  const sign = (larger: boolean) => (larger ? 1 : -1);
  const readings = [rows.map((r) => sign(similarity.largerIsMoreSimilar) * r.similarity), rows.map((r) => sign(result.largerIsMoreSimilar) * r.score)];
  const [a, b] = readings.map((r) => rankData(r));
  const sum = summedRanks(readings);
  const placed = rows.map((r, i) => ({ ...r, similarityPlace: n + 1 - a[i], scorePlace: n + 1 - b[i], rankSum: 2 * (n + 1) - sum[i] }));
  placed.sort((x, y) => x.rankSum - y.rankSum || y.score - x.score || (x.label < y.label ? -1 : 1));
  const ranking = placed.map((r) => ({ rank: 1 + placed.filter((x) => x.rankSum < r.rankSum).length, ...r }));
  return {
    labels: opts.name ?? labels.label ?? 'labels',
    labelKind: labels.labelKind,
    measure: similarity.measure,
    measureName: rankMeasureName(similarity.measure),
    score: result.measure,
    scoreName,
    ranking,
    ...(similarity.groups ? { groups: modelGroups(ranking, separator) } : {}),
  };
}

/** Members `model<separator>layer` grouped by model, each by its first (best) entry of the best-first `ranking`. */
function modelGroups(ranking: LabelsRanking['ranking'], separator = '/'): NonNullable<LabelsRanking['groups']> {
  const byModel = new Map<string, LabelsRanking['ranking']>();
  for (const e of ranking) {
    const model = modelOfLabel(e.label, separator);
    byModel.set(model, [...(byModel.get(model) ?? []), e]);
  }
  const models = [...byModel].map(([model, es]) => ({
    model,
    bestLayer: es[0].label === model ? '' : es[0].label.slice(model.length + separator.length),
    label: es[0].label,
    layers: es.length,
    rankSum: es[0].rankSum,
  }));
  return models.map((m) => ({ rank: 1 + models.filter((x) => x.rankSum < m.rankSum).length, ...m }));
}
