import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadFeatureSet } from '../../features/featureSet.js';
import { readImagesList } from '../../features/imageIdentity.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { readResultDict, renameTasks } from '../../io/resultDict.js';
import { getGemmEngine, type EngineKind, type Precision } from '../../linalg/gemm.js';
import {
  ALL_MEASURES,
  LABEL_KINDS,
  loadProbabilities,
  loadTarget,
  rank,
  rankAll,
  rankMeasure,
  rankViaTransfers,
  targetFileKind,
  VIA_TRANSFERS_NEIGHBOURS,
  viaTransfersMeasureProblem,
  type ViaTransfersRanking,
  DEFAULT_LABEL_SCORE,
  checkLabelsForScore,
  labelScoreId,
  labelsFileProblem,
  labelsRankingProblem,
  rankWithLabels,
  type LabelsRanking,
  type RankTable,
  type TargetSpec,
} from '../../ops/rank.js';
import { CATALOGUE, findEntryInput } from '../../ops/measures.js';
import type { LabelKind, RankEntry, RankResult } from '../../taxonomy/rank.js';
import { similarityMemory, type MemberShape } from '../../ops/memory.js';
import { addMeasureOptions, givenParameterFlags, measureIdFromOptions, type MeasureOptions } from '../measureOptions.js';
import { addViaNeighboursOption, viaNeighboursFrom } from '../options.js';
import { addDryRunOption, memoryGate } from '../memory.js';
import { progressBar } from '../progress.js';
import { formatTable } from '../table.js';
import { collect, parseKeyValues, parseNumber, UsageError } from '../util.js';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * `--target` is a member label if one matches, else a file: .npy features or a .csv/.txt of labels. Anything else
 * is passed on as a member label so that the library's error lists close matches.
 */
async function targetSpec(value: string, members: string[], kind: string | undefined): Promise<TargetSpec> {
  const fileKind = targetFileKind(value);
  const isFile = !members.includes(value) && (await exists(value));
  if (kind !== undefined && !(isFile && fileKind !== undefined)) {
    throw new UsageError('--target-kind applies only when --target is a labels file (.csv or .txt, or a .npy of regression values)');
  }
  if (!isFile) {
    if (!members.includes(value) && fileKind !== undefined) {
      throw new UsageError(`--target ${value}: no such file (and no member has that label)`);
    }
    return { kind: 'member', label: value };
  }
  // A .npy is features, unless --target-kind reads it as labels (regression vectors).
  if (fileKind === 'representation-file' && kind === undefined) return { kind: 'representation-file', path: value };
  if (fileKind === 'representation-file') {
    const problem = labelsFileProblem(value, labelKindFrom(kind));
    if (problem) throw new UsageError(`--target ${value}: ${problem}`);
    return { kind: 'labels-file', path: value, labelKind: labelKindFrom(kind) };
  }
  if (fileKind === 'labels-file') return { kind: 'labels-file', path: value, labelKind: labelKindFrom(kind) };
  throw new UsageError(`--target ${value}: a target file must be .npy (features) or .csv / .txt (one label per image)`);
}

function labelScoreFromOption(id: string): string {
  try {
    return labelScoreId(id);
  } catch (e) {
    throw new UsageError(`--label-score: ${(e as Error).message}`, { cause: e });
  }
}

function labelKindFrom(kind: string | undefined): LabelKind {
  const labelKind = kind ?? 'class';
  if (!(LABEL_KINDS as readonly string[]).includes(labelKind)) throw new UsageError(`--target-kind must be ${LABEL_KINDS.join(' or ')}, got "${labelKind}"`);
  return labelKind as LabelKind;
}

/** `--labels`: the rankings by the similarity and by the score, then by the two places summed. */
export function formatLabelsRanking(l: LabelsRanking): string {
  const rows = l.ranking.map((e) => [
    String(e.rank),
    e.label,
    fmt(e.rankSum, 1),
    fmt(e.similarity),
    fmt(e.similarityPlace, 1),
    fmt(e.score),
    fmt(e.scorePlace, 1),
  ]);
  const header = ['rank', 'label', 'places summed', l.measure, 'place', l.score, 'place'];
  padLabels(header, rows, 1);
  const lines = [
    `with the new task's labels (${l.labels}, ${l.labelKind}): ranked by the sum of each candidate's places under ${l.measure} ` +
      `to the target and ${l.score} on the labels (1 = best; ties share the mean place)`,
  ];
  if (l.groups) {
    const gh = ['rank', 'model', 'best layer (by places summed)', 'places summed'];
    const gr = l.groups.map((g) => [String(g.rank), g.model, `${g.bestLayer} (of ${g.layers})`, fmt(g.rankSum, 1)]);
    padLabels(gh, gr, 1);
    padLabels(gh, gr, 2);
    lines.push(formatTable(gh, gr), '', 'all layers:');
  }
  lines.push(formatTable(header, rows));
  return lines.join('\n');
}

function fmt(x: number | null, digits = 4): string {
  return x === null ? '' : x.toFixed(digits);
}

function ci(x: [number, number] | null): string {
  return x === null ? '' : `[${fmt(x[0])}, ${fmt(x[1])}]`;
}

/** Left-align the label column (formatTable right-aligns every column but the first). */
function padLabels(header: string[], rows: string[][], col: number): void {
  const w = Math.max(header[col].length, ...rows.map((r) => r[col].length));
  header[col] = header[col].padEnd(w);
  for (const r of rows) r[col] = r[col].padEnd(w);
}

function targetText(t: RankResult['target']): string {
  if (t.kind !== 'labels') return `${t.kind === 'member' ? 'member' : 'features'} ${t.label}`;
  if (t.labels!.kind !== 'class') return `regression target ${t.label}`;
  const encoding = t.labels!.encoding;
  const how = encoding === 'label-matrix' ? '; label RDM: same class 0, different 1' : encoding === 'one-hot' ? '; one-hot' : '';
  return `class labels ${t.label} (${t.labels!.classes!.length} classes${how})`;
}

function bootText(b: { draws: number; subset: number; seed: number } | null): string {
  return b ? `${b.draws} draws of ${b.subset} images (seed ${b.seed})` : 'no bootstrap';
}

export function formatRanking(result: RankResult): string {
  const boot = result.bootstrap !== null;
  const t = result.target;
  const what = targetText(t);
  const lines = [`${result.measure} · target: ${what} · ${result.n_images} images · ` + bootText(result.bootstrap)];
  if (t.excluded) lines.push(`(${t.excluded} is the target and is not ranked)`);
  const header = ['rank', 'label', 'score', ...(boot ? ['mean', '95% interval', 'P(best)'] : [])];
  const row = (e: RankEntry, label: string): string[] => [String(e.rank), label, fmt(e.score), ...(boot ? [fmt(e.mean), ci(e.ci95), fmt(e.pBest, 3)] : [])];
  if (result.groups) {
    const gh = ['rank', 'model', 'best layer', 'score', ...(boot ? ['mean', '95% interval', 'P(best)', 'P(best layer)'] : [])];
    const gr = result.groups.map((g) => [
      String(g.rank),
      g.model,
      `${g.bestLayer} (of ${g.layers})`,
      fmt(g.score),
      ...(boot ? [fmt(g.mean), ci(g.ci95), fmt(g.pBest, 3), fmt(g.pBestLayer, 3)] : []),
    ]);
    padLabels(gh, gr, 1);
    padLabels(gh, gr, 2);
    lines.push('', 'models, ranked by their best layer:', formatTable(gh, gr), '', 'all layers:');
  } else lines.push('');
  const rows = result.ranking.map((e) => row(e, e.label));
  padLabels(header, rows, 1);
  lines.push(formatTable(header, rows));
  if (boot) {
    const b = result.bootstrap!;
    lines.push('', `mean and 95% interval: over the draws (each on ${b.subset} images); P(best): share of draws in which the entry scored best.`);
    if (b.skipped > 0) {
      const why = (b.skipReasons ?? []).map((r) => `${r.reason} (${r.draws})`).join('; ');
      lines.push(`${b.skipped} of ${b.draws} draws skipped, the statistics are over the other ${b.draws - b.skipped}: ${why}`);
    }
  }
  return lines.join('\n');
}

/** `--via-transfers`: the known tasks that weigh, then the sources ranked through their measured transfers. */
export function formatViaTransfers(v: ViaTransfersRanking, file: string): string {
  const weights = v.weights.map((w) => `${w.task} ${fmt(w.similarity, 3)}${w.used ? '' : ' (not used)'}`).join(', ');
  const rows = v.ranking.map((e) => [String(e.rank), e.source, fmt(e.score)]);
  const header = ['rank', 'source', 'weighted mean rank'];
  padLabels(header, rows, 1);
  return [
    `through the measured transfers of ${file}: each source's rank among the sources on each known task (0 worst … 1 best), ` +
      `averaged over the ${v.neighbours === null ? '' : `${v.neighbours} `}known tasks most similar to the target, with their similarity as weights (≤ 0 left out)`,
    `known tasks: ${weights}`,
    formatTable(header, rows),
    ...(v.unranked.length ? [`not ranked (no known task of positive weight measures them): ${v.unranked.join(', ')}`] : []),
  ].join('\n');
}

/** A table with a footer row under a rule (formatTable's own rule, repeated). */
function withFooter(header: string[], rows: string[][], footer: string[]): string {
  const text = formatTable(header, [...rows, footer]).split('\n');
  const rule = text[1];
  return [...text.slice(0, -1), rule, text[text.length - 1]].join('\n');
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(ms < 10_000 ? 3 : 1);
}

/** `--measure all`: one row per candidate, one column per measure, wall times in the footer, then the notes. */
export function formatRankTable(t: RankTable): string {
  const lines = [`${t.measures.length} measures · target: ${targetText(t.target)} · ${t.n_images} images · ${bootText(t.bootstrap)} · sorted by ${t.sortBy}`];
  if (t.target.excluded) lines.push(`(${t.target.excluded} is the target and is not ranked)`);
  const cell = (v: number | null) => (v === null ? '' : fmt(v));
  const times = ['', 'wall time (s)', ...t.columns.map((c) => seconds(c.ms))];
  if (t.groups) {
    const sortAt = t.measures.indexOf(t.sortBy);
    const gh = ['rank', 'model', `best layer (by ${t.sortBy})`, ...t.measures];
    const gr = t.groups.map((g) => {
      const best = g.best[sortAt];
      return [g.rank === null ? '' : String(g.rank), g.model, best ? `${best.layer} (of ${g.layers})` : '', ...g.best.map((b) => cell(b?.score ?? null))];
    });
    padLabels(gh, gr, 1);
    padLabels(gh, gr, 2);
    lines.push(
      '',
      "models, ranked by their best layer (each measure's value is the model's best layer under that measure):",
      formatTable(gh, gr),
      '',
      'all layers:',
    );
  } else lines.push('');
  const header = ['rank', 'label', ...t.measures];
  const rows = t.rows.map((r) => [r.rank === null ? '' : String(r.rank), r.label, ...r.values.map(cell)]);
  padLabels(header, rows, 1);
  lines.push(withFooter(header, rows, times));
  if (t.bootstrap) {
    const bh = ['measure', 'draws used', 'most often best', 'P(best)'];
    const br = t.columns.map((c) => {
      const b = c.result?.bootstrap;
      const top = (c.result?.ranking ?? []).filter((e) => e.pBest !== null).sort((a, b2) => b2.pBest! - a.pBest!)[0];
      const scored = (c.result?.ranking.length ?? 0) > 0;
      return [c.id, b && scored ? String(b.draws - b.skipped) : '', top?.label ?? '', top ? fmt(top.pBest, 3) : ''];
    });
    padLabels(bh, br, 0);
    padLabels(bh, br, 2);
    lines.push(
      '',
      `over the ${t.bootstrap.draws} draws (each on ${t.bootstrap.subset} images; means and 95% intervals of every cell in --out):`,
      formatTable(bh, br),
    );
  }
  if (t.notes.length) lines.push('', 'notes:', ...t.notes.map((n) => `- ${n}`));
  return lines.join('\n');
}

/**
 * `--measure`: a representation measure (with its per-parameter flags), a score id (its parameters in the id:
 * logme:solver=icml), or "all" (the score table). Flags of representation measures do not apply to the others.
 */
function rankMeasureFromOptions(o: MeasureOptions): string {
  const base = o.measure.trim();
  if (base !== ALL_MEASURES && findEntryInput(base) === 'representations') return measureIdFromOptions(o);
  // A score, "all", or an id the catalogue refuses for ranking (its message lists what ranks).
  const id = base === ALL_MEASURES ? base : rankMeasure(base);
  const flags = givenParameterFlags(o);
  if (flags.length > 0) {
    throw new UsageError(
      `${flags.join(', ')} ${flags.length === 1 ? 'applies' : 'apply'} to representation measures (rsa, dds, cka); ` +
        (base === ALL_MEASURES ? '--measure all runs every standard setting' : `a score takes its parameters in its id, e.g. ${base.split(':')[0]}:…`) +
        ' (see `taskmap measures`)',
    );
  }
  return id;
}

/** The score families, in catalogue order (help texts are generated, never a second list). */
const SCORES = CATALOGUE.filter((e) => e.input === 'labels' || e.input === 'source-probabilities').map((e) => e.family);

export function register(program: Command): void {
  const cmd = addMeasureOptions(
    program
      .command('rank')
      .summary('rank candidate sources (models or layers) for a new task')
      .description(
        'Rank every member of a feature set by the similarity of its representation to a target on the same ' +
          'probe images: which pre-trained model, and which layer, to transfer from. The target is a member label, ' +
          'a .npy of features from a model trained on the new task (even a small one), or a .csv/.txt with one ' +
          'label per image in the feature set order (a single column or "image,label"; a header row is allowed). ' +
          'Class labels are compared as the label RDM (same class 0, different 1); regression values as one ' +
          'feature per image. A pairwise measure (procrustes, cca, …) compares each candidate with the one-hot ' +
          'encoding of the classes (n × C) or with the regression values (n × 1).\n\n' +
          `With a labels target, --measure also takes the label-based transferability scores (${SCORES.join(', ')}; ` +
          'parameters in the id, e.g. logme:solver=icml or knn:k=5; ' +
          'docs/transferability.md), and --measure all prints one table: a column per standard score plus rsa and ' +
          'the default dds, their wall times in the footer, rows ordered by --sort-by. LEEP and NCE score the source ' +
          "models' class probabilities: --probabilities names a feature set of softmax outputs, one member per " +
          'model, matched to a candidate by its label or by its model (the part before --separator). A regression ' +
          'target (--target-kind regression) works with logme; with --target-kind regression a .npy target is read ' +
          "as the new task's regression values instead of features, one vector per image (a dense map flattened; " +
          'any shape with the images first).\n\n' +
          'With --bootstrap, the DDS Pascal protocol: that many random subsets of --subset images, drawn without ' +
          'replacement from a seeded generator (mulberry32, same seed → same output), everything recomputed per ' +
          'subset; per entry the mean, a 95% interval (2.5/97.5 percentiles) and the probability of being the best.\n\n' +
          'With --via-transfers, measured transfers among known tasks (a Taskonomy result dict: `taskmap ahp` ' +
          "affinities, or the published files) rank their sources a second way: each source's place in the measured " +
          `rankings of the ${VIA_TRANSFERS_NEIGHBOURS} known tasks most similar to the target (--via-neighbours), averaged with their similarity as weights (members whose ` +
          'label or model is a target of the dict are the known tasks; --alias renames its tasks). A source good for the tasks most like the new one ' +
          'comes first; on the task bank this predicts the measured transfers better than the similarity alone, ' +
          "on Taskonomy's published affinities about as well (docs/taskbank.md).\n\n" +
          "With --labels, the new task's labels (a .csv/.txt, one per image, or a .npy of regression values; read as --target-kind says) beside a " +
          'target that is a trained network of the new task (a member or a .npy of its features): every candidate ' +
          `is also scored on the labels (--label-score, default ${DEFAULT_LABEL_SCORE}) and ranked a third way, by the sum of its places ` +
          'under the measure and under the score. On the task bank, LogME plus RSA to the target network predicts the ' +
          'measured transfers better than either alone (docs/taskbank.md).',
      )
      .argument('<featureset>', 'directory of .npy files, a .npz or a .safetensors file'),
  );
  const measureOption = cmd.options.find((x) => x.long === '--measure');
  if (measureOption) {
    measureOption.description =
      `${measureOption.description}; with a labels target also a score (${SCORES.join(', ')}, e.g. logme:solver=icml) ` +
      'or "all" (every standard score, rsa and dds in one table)';
  }
  cmd
    .requiredOption('-t, --target <target>', 'member label, features.npy, or labels.csv/.txt')
    .option(
      '--target-kind <kind>',
      'for a labels file (the target, or --labels): class (default) or regression; regression also reads a .npy as labels, one vector of values per image',
    )
    .option('--sort-by <id>', 'with --measure all: the column the rows are ordered by (default: the first, logme)')
    .option('--probabilities <featureset>', "for leep and nce: the source models' class probabilities on the target images, one member per model")
    .option('--bootstrap <draws>', 'number of random image subsets (e.g. 100)')
    .option('--subset <k>', 'images per subset (default min(200, n/2))')
    .option('--seed <s>', 'generator seed, 0…4294967295 (default 1993)')
    .option('--group-by <what>', 'model: group "model/layer" members and rank models by their best layer')
    .option('--separator <sep>', 'between model and layer in member labels', '/')
    .option('-o, --out <file.json>', 'write the ranking as JSON')
    .option('--keep-draws', "with --out: include every draw's scores")
    .option('--precision <p>', 'GEMM precision for the n×n matrices: float64 (default) or float32', 'float64')
    .option('--engine <kind>', 'GEMM engine: auto (default), ort, js')
    .option(
      '--images-list <file>',
      'image ids when the feature set has no extraction manifest: a file with one image per line (path, SHA-256 or name) or a JSON list',
    )
    .option('--target-images <file>', 'image ids of a .npy target outside an extracted folder (same format as --images-list)')
    .option(
      '--via-transfers <affinities>',
      "measured first-order transfers among known tasks (.json or .pkl result dict, e.g. from `taskmap ahp`, or the task bank's models/taskbank/affinities.json): also rank their sources through the known tasks most similar to the target; a member is a known task by its label or its model (the part before --separator)",
    )
    .option('--alias <old=new>', "with --via-transfers: rename a task of the result dict to a member's label or model (repeatable)", collect, [])
    .option(
      '--labels <file>',
      "the new task's labels (.csv/.txt, one per image, or a .npy of regression values) beside a trained network of it as the target: also rank by a score on the labels and by both ranks summed",
    )
    .option('--label-score <id>', `with --labels: the label-based score (default ${DEFAULT_LABEL_SCORE}; e.g. logme:solver=icml, knn:k=5)`);
  addViaNeighboursOption(cmd);
  addDryRunOption(cmd).action(
    async (
      featureset: string,
      o: MeasureOptions & {
        target: string;
        targetKind?: string;
        sortBy?: string;
        probabilities?: string;
        bootstrap?: string;
        subset?: string;
        seed?: string;
        groupBy?: string;
        separator: string;
        out?: string;
        keepDraws?: boolean;
        precision: string;
        engine?: string;
        imagesList?: string;
        targetImages?: string;
        dryRun?: boolean;
        viaTransfers?: string;
        alias: string[];
        viaNeighbours?: string;
        labels?: string;
        labelScore?: string;
      },
    ) => {
      const measure = rankMeasureFromOptions(o);
      const all = measure === ALL_MEASURES;
      if (o.viaTransfers !== undefined) {
        const problem = viaTransfersMeasureProblem(measure);
        if (problem) throw new UsageError(`--via-transfers ${problem}`);
        if (o.groupBy !== undefined) throw new UsageError('--via-transfers finds the known tasks among the members themselves: not with --group-by');
      }
      if (o.alias.length > 0 && o.viaTransfers === undefined) throw new UsageError('--alias renames tasks of the --via-transfers result dict');
      const neighbours = viaNeighboursFrom(o.viaNeighbours, o.viaTransfers !== undefined);
      // Read before the features: a bad dict fails in a second, not after the similarity work.
      const transfers = o.viaTransfers === undefined ? undefined : renameTasks(await readResultDict(o.viaTransfers), parseKeyValues(o.alias, '--alias'));
      if (o.sortBy !== undefined && !all) throw new UsageError('--sort-by orders the table of --measure all');
      const sortBy = o.sortBy === undefined ? undefined : rankMeasure(o.sortBy);
      if (o.precision !== 'float64' && o.precision !== 'float32') throw new UsageError(`--precision must be float64 or float32, got "${o.precision}"`);
      if (o.groupBy !== undefined && o.groupBy !== 'model') throw new UsageError(`--group-by must be "model", got "${o.groupBy}"`);
      if ((o.subset !== undefined || o.seed !== undefined) && o.bootstrap === undefined) {
        throw new UsageError('--subset and --seed need --bootstrap <draws>');
      }
      const draws = o.bootstrap === undefined ? 0 : parseNumber(o.bootstrap, '--bootstrap', { integer: true, min: 1 });
      if (o.labelScore !== undefined && o.labels === undefined) throw new UsageError("--label-score scores the --labels file: give the new task's labels");
      const labelScore = o.labelScore === undefined ? undefined : labelScoreFromOption(o.labelScore);
      if (o.labels !== undefined) {
        const problem = labelsRankingProblem({ measure });
        if (problem) throw new UsageError(`--labels ${problem}`);
        const fileProblem = labelsFileProblem(o.labels, labelKindFrom(o.targetKind));
        if (fileProblem) throw new UsageError(`--labels ${o.labels}: ${fileProblem}`);
      }
      const subset = o.subset === undefined ? undefined : parseNumber(o.subset, '--subset', { integer: true, min: 4 });
      const seed = o.seed === undefined ? undefined : parseNumber(o.seed, '--seed', { integer: true, min: 0 });
      // The memory estimate covers the representation measures (the label-based scores hold the features and
      // small d×d or class-sized matrices).
      if (!all && findEntryInput(measure) === 'representations') {
        const estimateOf = (members: MemberShape[]) => {
          const n = members[0].n;
          const bootstrap = draws > 0 ? { subset: subset ?? Math.min(200, Math.floor(n / 2)) } : undefined;
          return similarityMemory(members, measure, { bootstrap });
        };
        if (await memoryGate(featureset, o.dryRun, undefined, estimateOf)) return;
      } else if (o.dryRun) {
        process.stdout.write(
          `no memory estimate for ${all ? 'the score table (--measure all)' : measure} yet: the estimate covers the representation measures\n`,
        );
        return;
      }
      const set = await loadFeatureSet(featureset, { images: await readImagesList(o.imagesList) });
      const spec = await targetSpec(
        o.target,
        set.members.map((m) => m.label),
        o.labels === undefined ? o.targetKind : undefined,
      );
      const labelsProblem = o.labels === undefined ? undefined : labelsRankingProblem({ measure, target: spec.kind });
      if (labelsProblem) throw new UsageError(`--labels ${labelsProblem}`);
      if (o.targetImages !== undefined && spec.kind !== 'representation-file')
        throw new UsageError('--target-images applies only to a .npy target of features');
      if (spec.kind === 'representation-file') spec.images = await readImagesList(o.targetImages);
      const target = await loadTarget(spec, set.n);
      // The labels are read and checked for the score before the similarity work, so a bad file fails at once.
      const labels =
        o.labels === undefined ? undefined : await loadTarget({ kind: 'labels-file', path: o.labels, labelKind: labelKindFrom(o.targetKind) }, set.n);
      if (labels && labels.kind !== 'labels') throw new Error('unreachable: a labels file reads as labels');
      if (labels) checkLabelsForScore(labels, set.n, labelScore ?? DEFAULT_LABEL_SCORE);
      const engine = await getGemmEngine((o.engine ?? process.env.TASKMAP_ENGINE ?? 'auto') as EngineKind);
      const probabilities = o.probabilities === undefined ? undefined : await loadProbabilities(o.probabilities);
      const bar = progressBar(`rank ${measure}`);
      const t0 = performance.now();
      const common = {
        bootstrap: draws,
        subset,
        seed,
        groupBy: o.groupBy as 'model' | undefined,
        separator: o.separator,
        engine,
        precision: o.precision as Precision,
        keepDraws: Boolean(o.keepDraws),
        probabilities,
      };
      let text: string;
      let json: Record<string, unknown>;
      let count: number;
      try {
        if (all) {
          const table = await rankAll(set.members, target, { ...common, sortBy, onProgress: (d, t, label) => bar.update(d, t, label) });
          text = formatRankTable(table);
          json = { featureset, ...table };
          count = table.rows.length;
        } else {
          const { result, measureName } = await rank(set.members, target, { ...common, measure, onProgress: (d, t) => bar.update(d, t, 'draws') });
          text = formatRanking(result);
          json = { featureset, ...result, measure_name: measureName };
          if (transfers) {
            const via = rankViaTransfers(result, transfers, { name: o.viaTransfers, separator: o.separator, neighbours });
            text += `\n\n${formatViaTransfers(via, o.viaTransfers!)}`;
            json.via_transfers = { affinities: o.viaTransfers, ...via };
          }
          if (labels) {
            const both = await rankWithLabels(set.members, result, labels, { ...common, score: labelScore, name: o.labels });
            text += `\n\n${formatLabelsRanking(both)}`;
            json.with_labels = both;
          }
          count = result.ranking.length;
        }
      } finally {
        bar.stop();
      }
      const ms = performance.now() - t0;
      process.stdout.write(`${text}\n`);
      if (o.out) {
        await writeFileAtomic(o.out, `${JSON.stringify(json, null, 2)}\n`);
        process.stderr.write(`${count} candidates ranked in ${(ms / 1000).toFixed(1)} s → ${o.out}\n`);
      }
    },
  );
}
