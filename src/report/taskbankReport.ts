/**
 * Files of the task bank's evaluation (the numbers come from src/benchmark/taskbankEval.ts): taskbank.json (all of
 * it), the Taskonomy-format dicts and tournaments the other taskonomy commands read (`taskmap ahp`, `policy`, `tree`),
 * the measured task tree as Newick, report.md (the tables, with the command that reproduces them) and figures: the
 * affinity heatmap, the measured task tree beside the RSA taxonomy, and the mean per-target Spearman per measure.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  meanOverTargets,
  type SpearmanNull,
  type TaskbankEvaluation,
  type TaskbankMeasureResult,
  type TaskbankTree,
  type TransferSummary,
} from '../benchmark/taskbankEval.js';
import { writeFileAtomic } from '../io/atomic.js';
import { fromRows } from '../linalg/dense.js';
import { familyTaxonomy, type TaxonomyResult } from '../ops/taxonomy.js';
import { leafOrder } from '../taxonomy/cluster.js';
import { VIA_TRANSFERS_NEIGHBOURS } from '../taskonomy/viaTransfers.js';
import { dendrogramSvg, escapeXml, intervalBarsSvg, svgToPng } from './figures.js';
import { markdownTable, type Table } from './tables.js';
import { matrixHeatmapSvg } from './zooTransfer.js';

/** What the evaluation does not know about its run: how to reproduce it, when, how long it took, what to add. */
export interface TaskbankReportMeta {
  /** The command that reproduces the files. */
  command: string;
  /** ISO time of the run (default: now). */
  created?: string;
  /** Seconds per stage of the whole run (training, transfers, …), shown in a table and kept in the JSON. */
  timings?: Record<string, number>;
  /** Lines for the report's notes (configuration, caveats). */
  notes?: string[];
  /** Also write PNG versions of the figures (default true). */
  png?: boolean;
}

export const f3 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(3));
export const f2 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(2));

/** A permutation p-value; at its floor 1/(1 + draws), said so (no relabelling reached the observed mean). */
function pValue(n: SpearmanNull): string {
  const floor = 1 / (1 + n.draws);
  return n.p <= floor * (1 + 1e-12) ? `${n.p.toPrecision(2)} (none of ${n.draws} reached it)` : n.p.toPrecision(2);
}

/** The measure whose taxonomy is drawn beside the measured tree: RSA when it was run and succeeded, else the first that did. */
export function drawnMeasure(e: TaskbankEvaluation): TaskbankMeasureResult | undefined {
  const ok = e.measures.filter((m) => m.taxonomy && !m.error);
  return ok.find((m) => m.measure === 'rsa') ?? ok[0];
}

/**
 * A tree of the evaluation as the demo's figures take it: the taxonomy of its task similarity (ops/taxonomy), with
 * the evaluation's own merges and leaf order, so the drawing is the tree the statistics were computed on.
 */
export function treeTaxonomy(e: TaskbankEvaluation, tree: TaskbankTree, name: string): TaxonomyResult {
  const familyOf = new Map(e.tasks.map((t) => [t.id, t.family]));
  const sim = { rows: [...tree.labels], cols: [...tree.labels], matrix: fromRows(tree.similarity) };
  const t = familyTaxonomy(
    sim,
    tree.labels.map((l) => familyOf.get(l)!),
    name,
  );
  const dendrogram = { labels: [...tree.labels], linkage: tree.linkage, merges: tree.merges };
  return { ...t, dendrogram, order: leafOrder(dendrogram) };
}

function svgSize(svg: string): [number, number] {
  const w = /width="([\d.]+)"/.exec(svg);
  const h = /height="([\d.]+)"/.exec(svg);
  if (!w || !h) throw new Error('an SVG figure without width and height');
  return [Number(w[1]), Number(h[1])];
}

/** Two figures next to each other under one title (each kept whole as a nested <svg>). */
export function sideBySideSvg(title: string, left: string, right: string): string {
  const [wl, hl] = svgSize(left);
  const [wr, hr] = svgSize(right);
  const top = 28;
  const width = wl + wr + 20;
  const height = top + Math.max(hl, hr);
  const nest = (s: string, x: number) => s.replace('<svg ', `<svg x="${x}" y="${top}" `);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" role="img">` +
    `<title>${escapeXml(title)}</title><rect width="100%" height="100%" fill="#ffffff"/>` +
    `<text x="10" y="18" font-size="14" font-weight="bold">${escapeXml(title)}</text>${nest(left, 0)}${nest(right, wl + 20)}</svg>`
  );
}

/** Sources of the affinity tables: the tasks in measured-tree order, then the baselines in the AHP. */
function affinitySources(e: TaskbankEvaluation): string[] {
  return [...e.tree.order, ...['self', 'random'].filter((s) => e.sources.includes(s))];
}

/** Affinity of every source (column) for every target (row), in measured-tree order; ★ marks each target's best task source. */
export function affinityTable(e: TaskbankEvaluation): Table {
  const cols = affinitySources(e);
  const best = new Map(e.targets.map((t) => [t.target, t.best.source]));
  return {
    head: ['target \\ source', ...cols],
    rows: e.tree.order.map((t) => [t, ...cols.map((s) => `${f3(e.affinities[`${s}__${t}`])}${best.get(t) === s ? ' ★' : ''}`)]),
    numeric: [false, ...cols.map(() => true)],
  };
}

const gq = (x: TransferSummary) => `${f2(x.gain)} / ${f2(x.quality)}`;

/** Per target: its best task source with affinity, Gain and Quality, its own encoder's, and the baselines'. */
export function targetTable(e: TaskbankEvaluation): Table {
  return {
    head: [
      'target',
      'family',
      'best source (≠ target)',
      'affinity',
      'Gain / Quality',
      'own encoder: affinity',
      'own: Gain / Quality',
      'self: Gain',
      'random: Gain',
      'consistency ratio',
    ],
    rows: e.targets.map((t) => [
      t.target,
      t.family,
      t.best.source,
      f3(t.best.affinity),
      gq(t.best),
      f3(t.own.affinity),
      gq(t.own),
      f2(t.self.gain),
      t.random ? f2(t.random.gain) : '—',
      f2(t.consistencyRatio),
    ]),
    numeric: [false, false, false, true, true, true, true, true, true, true],
  };
}

/** Mean test loss of every source on every target (rows in measured-tree order). */
export function lossTable(e: TaskbankEvaluation): Table {
  const cols = [...e.tree.order, ...['pixels', 'random', 'self'].filter((s) => e.sources.includes(s))];
  const byTarget = new Map(e.targets.map((t) => [t.target, t.meanLoss]));
  return {
    head: ['target \\ source', ...cols],
    rows: e.tree.order.map((t) => [t, ...cols.map((s) => (byTarget.get(t)![s] === undefined ? '—' : byTarget.get(t)![s].toPrecision(3)))]),
    numeric: [false, ...cols.map(() => true)],
  };
}

/** One row per measure and one for the measured tree: the DDS-protocol Spearman (both settings) and family recovery, with chance. */
export function predictionTable(e: TaskbankEvaluation): Table {
  const rec = (t: TaskbankTree | null) => (t ? [f3(t.recovery.nearestNeighbourAgreement), f3(t.recovery.adjustedRandIndex)] : ['—', '—']);
  const { unit } = imageInterval(e);
  const reliable = e.reliability ? `${e.reliability.reliable.length} reliable targets` : undefined;
  // A row with a mean Spearman (and its mean over the reliable targets) and nothing else: no interval, null or tree.
  const spearmanOnly = (name: string, s: NonNullable<Parameters<typeof meanOverTargets>[0]>) => [
    name,
    f3(s.mean),
    '—',
    ...(reliable ? [f3(meanOverTargets(s, e.reliability!.reliable))] : []),
    '—',
    '—',
    '—',
    '—',
    '—',
  ];
  return {
    head: [
      'taxonomy',
      'Spearman vs affinities (self excluded)',
      `95% interval, test ${unit}s resampled`,
      ...(reliable ? [`Spearman, the ${reliable}`] : []),
      'permutation 95th pct. / p',
      'Spearman (self included)',
      'NN family agreement',
      `ARI of the ${e.families.length}-cluster cut`,
      'seconds',
    ],
    rows: [
      ...e.measures.map((m) => [
        m.error ? `${m.measure} (failed: ${m.error})` : m.measure,
        f3(m.spearman?.mean),
        m.spearmanInterval ? `${f3(m.spearmanInterval.low)} – ${f3(m.spearmanInterval.high)}` : '—',
        ...(reliable ? [f3(m.spearmanReliable)] : []),
        m.spearmanNull ? `${f3(m.spearmanNull.q95)} / ${pValue(m.spearmanNull)}` : '—',
        f3(m.spearmanWithSelf?.mean),
        ...rec(m.taxonomy),
        (m.ms / 1000).toFixed(2),
      ]),
      ['measured task tree (affinities)', '—', '—', ...(reliable ? ['—'] : []), '—', '—', ...rec(e.tree), '—'],
      ...(e.labelScores ?? []).map((l) => labelScoreRow(l, Boolean(reliable))),
      ...(e.labelScores ?? []).flatMap((l) => labelScoreCombinations(l).map((c) => spearmanOnly(`${c.name} (ranks summed)`, c.spearman))),
      spearmanOnly('source prior (other targets’ rankings)', e.sourcePrior),
      [
        'chance',
        f3(e.chance.spearman),
        '—',
        ...(reliable ? [f3(e.chance.spearman)] : []),
        '—',
        f3(e.chance.spearman),
        f3(e.chance.nearestNeighbourAgreement),
        f3(e.chance.adjustedRandIndex),
        '—',
      ],
    ],
    numeric: [false, true, true, ...(reliable ? [true] : []), true, true, true, true, true],
  };
}

/** A label score's name in tables and summaries: a similarity measure is said to be on the labels. */
export function labelScoreName(l: { score: string; againstLabels: boolean }): string {
  return l.againstLabels ? `${l.score} on the labels` : l.score;
}

/** A label score's combinations (ranks summed) with each similarity and each later label score, named as the tables name them. */
export function labelScoreCombinations<S>(l: {
  score: string;
  againstLabels: boolean;
  withSimilarity?: { measure: string; spearman: S }[];
  withLabelScores?: { score: string; againstLabels: boolean; spearman: S }[];
}): { name: string; spearman: S }[] {
  return [
    ...(l.withSimilarity ?? []).map((c) => ({ name: `${labelScoreName(l)} + ${c.measure}`, spearman: c.spearman })),
    ...(l.withLabelScores ?? []).map((c) => ({ name: `${labelScoreName(l)} + ${labelScoreName(c)}`, spearman: c.spearman })),
  ];
}

/** A label score's row of the prediction table: it reads the targets' labels, so it has no taxonomy. */
function labelScoreRow(l: NonNullable<TaskbankEvaluation['labelScores']>[number], reliable: boolean): string[] {
  return [
    `${labelScoreName(l)}, ${l.labelled} labelled transfer crops (label-based, ${l.targets.length} targets)`,
    f3(l.spearman.mean),
    l.spearmanInterval ? `${f3(l.spearmanInterval.low)} – ${f3(l.spearmanInterval.high)}` : '—',
    ...(reliable ? [f3(l.spearmanReliable)] : []),
    l.spearmanNull ? `${f3(l.spearmanNull.q95)} / ${pValue(l.spearmanNull)}` : '—',
    f3(l.spearmanWithSelf.mean),
    '—',
    '—',
    '—',
  ];
}

/**
 * Each measure's mean Spearman from its similarity alone and through the other targets' transfers (weights: its
 * similarity), with the equal-weight case — the source prior — as the baseline.
 */
export function viaTransfersTable(e: TaskbankEvaluation): Table {
  const reliable = e.reliability ? `${e.reliability.reliable.length} reliable targets` : undefined;
  const onReliable = (s: Parameters<typeof meanOverTargets>[0]) => (reliable ? [f3(meanOverTargets(s, e.reliability!.reliable))] : []);
  return {
    head: [
      'weights',
      'similarity alone',
      'through the other targets’ transfers',
      'weights on shuffled targets: 95th pct. / p',
      ...(reliable ? [`the same, the ${reliable}`] : []),
    ],
    rows: [
      ...e.measures
        .filter((m) => m.viaTransfers)
        .map((m) => [
          `${m.measure} similarity of t to its ${VIA_TRANSFERS_NEIGHBOURS} nearest other targets`,
          f3(m.spearman?.mean),
          f3(m.viaTransfers!.mean),
          m.viaTransfersNull ? `${f3(m.viaTransfersNull.q95)} / ${pValue(m.viaTransfersNull)}` : '—',
          ...onReliable(m.viaTransfers!),
        ]),
      ['equal (the source prior)', '—', f3(e.sourcePrior.mean), '—', ...onReliable(e.sourcePrior)],
    ],
    numeric: [false, true, true, true, ...(reliable ? [true] : [])],
  };
}

/**
 * Per-target Spearman (self excluded) of every measure and of the source prior, then the reliability of each target's
 * measured ranking (TargetReliability); columns are the targets in measured-tree order.
 */
export function perTargetTable(e: TaskbankEvaluation): Table {
  const r = e.reliability;
  const row = (name: string, of: Record<string, number | null>) => [name, ...e.tree.order.map((t) => f2(of[t]))];
  return {
    head: ['measure', ...e.tree.order],
    rows: [
      ...e.measures.filter((m) => m.spearman).map((m) => row(m.measure, m.spearman!.perTarget)),
      ...e.measures.filter((m) => m.viaTransfers).map((m) => row(`${m.measure} through the other targets’ transfers`, m.viaTransfers!.perTarget)),
      row('source prior (other targets’ rankings)', e.sourcePrior.perTarget),
      ...(e.labelScores ?? []).map((l) => row(`${labelScoreName(l)}, ${l.labelled} labelled crops`, l.spearman.perTarget)),
      ...(r?.splits ? [row(`reliability over test ${r.unit}s`, r.perTarget)] : []),
      ...(r?.readouts ? [row(`reliability over readout seeds (mean of ${r.readouts.repeats})`, r.readouts.perTarget)] : []),
      ...(r?.readouts ? [row('reliability of one readout', r.readouts.pairwise)] : []),
    ],
    numeric: [false, ...e.tree.order.map(() => true)],
  };
}

/** The reliability paragraph of the per-target section: how it is measured and which targets fall short. */
function reliabilityText(e: TaskbankEvaluation): string[] {
  const r = e.reliability;
  if (!r) return [];
  const low = unreliableTargets(e);
  const over = [
    ...(r.splits
      ? [
          `the test ${r.unit}s (${r.units}) halved at random ${r.splits} times, the Spearman between the two halves' affinities, stepped up to the whole set (Spearman–Brown)`,
        ]
      : []),
    ...(r.readouts ? [`the Spearman between the affinities of the ${r.readouts.repeats} readout seeds, stepped up to their mean`] : []),
  ];
  return [
    `Reliability of each target's measured ranking of the task sources: ${over.join('; and ')}. ` +
      `A measure's Spearman on a target cannot be expected above √reliability. ` +
      (low.length
        ? `Below ${r.threshold}: ${low.join(', ')} — their rankings are largely noise, so the measures are also scored on the other ${r.reliable.length} alone.`
        : `Every target reaches ${r.threshold}.`),
  ];
}

/** The flat cut of each tree: each family's tasks and the cluster each one fell in. */
export function clusterTable(e: TaskbankEvaluation): Table {
  const trees = [{ name: 'measured', tree: e.tree }, ...e.measures.filter((m) => m.taxonomy).map((m) => ({ name: m.measure, tree: m.taxonomy! }))];
  return {
    head: ['task', 'family', ...trees.map((t) => `${t.name} cluster`)],
    rows: e.tasks.map((t) => [t.id, t.family, ...trees.map((x) => String(x.tree.recovery.clusters[t.id]))]),
    numeric: [false, false, ...trees.map(() => true)],
  };
}

export function policyTable(e: TaskbankEvaluation): Table {
  return {
    head: ['budget', 'status', 'solver', 'objective', 'mean Gain', 'mean Quality', 'supervised'],
    rows: e.policy.rows.map((r, i) => [
      String(r.budget),
      r.status,
      e.policy.results[i]?.solver ?? '—',
      f3(r.objective),
      f3(r.meanGain),
      f3(r.meanQuality),
      r.supervised.join(', '),
    ]),
    numeric: [true, false, false, true, true, true, false],
  };
}

/** The findings in words, stated from the numbers only. */
export function verdict(e: TaskbankEvaluation): string {
  const drawn = drawnMeasure(e);
  const k = e.families.length;
  const parts = [
    `The measured task tree (transfer-out affinities) cut into ${k} clusters recovers the task families with ARI ${f3(e.tree.recovery.adjustedRandIndex)} ` +
      `(nearest-neighbour agreement ${f3(e.tree.recovery.nearestNeighbourAgreement)}, chance ${f3(e.chance.nearestNeighbourAgreement)}).`,
  ];
  const scored = e.measures.filter((m) => m.spearman?.mean !== null && m.spearman?.mean !== undefined);
  if (scored.length) {
    const best = [...scored].sort((a, b) => b.spearman!.mean! - a.spearman!.mean!)[0];
    parts.push(
      `Of the measures, ${best.measure} predicts the affinities best: mean per-target Spearman ${f3(best.spearman!.mean)} with the self entry left out, ` +
        `${f3(best.spearmanWithSelf?.mean)} with it` +
        (best.spearmanNull
          ? ` (permutation p = ${pValue(best.spearmanNull)}; the 95th percentile of ${best.spearmanNull.draws} relabellings of the encoders is ${f3(best.spearmanNull.q95)}).`
          : ' (chance 0).'),
    );
  }
  if (drawn)
    parts.push(
      `The ${drawn.measure} taxonomy's ${k}-cluster cut has ARI ${f3(drawn.taxonomy!.recovery.adjustedRandIndex)} against the families ` +
        `(nearest-neighbour agreement ${f3(drawn.taxonomy!.recovery.nearestNeighbourAgreement)}).`,
    );
  return parts.join(' ');
}

/** The test-image bootstrap's draws and what it resampled, from whichever measure has an interval (all share them). */
export function imageInterval(e: TaskbankEvaluation): { draws: number; unit: 'photograph' | 'image' } {
  const iv = e.measures.find((m) => m.spearmanInterval)?.spearmanInterval;
  return { draws: iv?.draws ?? 0, unit: iv?.unit ?? 'image' };
}

/** The tasks whose measured ranking falls below the reliability threshold (none when reliability was not measured). */
export function unreliableTargets(e: TaskbankEvaluation): string[] {
  const r = e.reliability;
  return r ? e.tasks.map((t) => t.id).filter((t) => !r.reliable.includes(t)) : [];
}

/** A report section: its heading, paragraphs, then the table. */
function section(title: string, table: Table, ...paragraphs: string[]): string[] {
  return [`## ${title}`, '', ...paragraphs.flatMap((p) => [p, '']), markdownTable(table), ''];
}

export function taskbankMarkdown(e: TaskbankEvaluation, meta: TaskbankReportMeta): string {
  const drawn = drawnMeasure(e);
  const lines = [
    '# Task bank: a measured Taskonomy of one encoder trained on many tasks, and the similarity measures against it',
    '',
    `Reproduce: \`${meta.command}\` (written ${meta.created ?? new Date().toISOString()})`,
    '',
    '## Protocol',
    `- Tasks: ${e.tasks.length} in ${e.families.length} families (${e.families
      .map(
        (f) =>
          `${f}: ${e.tasks
            .filter((t) => t.family === f)
            .map((t) => t.id)
            .join(', ')}`,
      )
      .join('; ')}).`,
    `- Measured: per-image test losses on ${e.images} test crops per target of every transfer (sources ${e.sources.join(', ')}) → per-target tournaments (share of images on which one source has the lower loss, ties ½) → AHP affinities (clip [0.001, 0.999], Perron vector, sums to 1 per target; \`pixels\` left out). Gain = win rate vs \`pixels\`, Quality = win rate vs \`self\` (the fully trained task network). \`t → t\` is t's own frozen encoder with a fresh decoder.`,
    `- Task tree: average linkage on the correlation distance between the tasks' transfer-out affinities (Taskonomy's task tree, taskonomy/tree.ts).`,
    `- Predicted: each measure's similarity between the encoders on ${e.probeImages} probe crops (default parameters); per target, Spearman of similarity(s, t) with affinity(s → t) over the other task encoders (self excluded) and with s = t kept (the DDS paper's setting), then the mean over targets. Its chance level: the 95th percentile of the mean over ${e.measures.find((m) => m.spearmanNull)?.spearmanNull?.draws ?? 0} relabellings of the encoders (the similarity's task labels shuffled, affinities fixed), with the one-sided p-value. Its sensitivity to the test images: the 2.5th–97.5th percentile of the mean over ${imageInterval(e).draws} bootstrap draws of the test ${imageInterval(e).unit === 'photograph' ? 'photographs (each with all its crops, since crops of one photograph are not independent)' : 'images'} (tournaments and affinities recomputed per draw; the training runs are not redrawn). Taxonomies: average linkage on 1 − similarity, as in the demo.`,
    `- Through the other targets' transfers (taskonomy/viaTransfers.ts): per target t, each task source's place in the measured ranking of the sources (scaled to 0 … 1, u's own encoder included) of the ${VIA_TRANSFERS_NEIGHBOURS} other targets u most similar to t under the measure, averaged with weights max(0, similarity(t, u)), ranks the sources for t; scored like a measure. It uses the other targets' measured transfers, as a Taskonomy allows; t's own are never read. With equal weights on every other target it is the source prior, a baseline without representations — high where the same sources transfer best to every target.`,
    `- Family recovery: nearest-neighbour family agreement (chance ${f3(e.chance.nearestNeighbourAgreement)}) and the adjusted Rand index of the cut into ${e.families.length} clusters (chance 0).`,
    '',
    '## Findings',
    '',
    verdict(e),
    '',
    markdownTable(predictionTable(e)),
    '',
    '![mean per-target Spearman per measure](figures/spearman.svg)',
    '',
    `![measured task tree beside the ${drawn?.measure ?? 'measure'} taxonomy](figures/trees.svg)`,
    '',
    'Clusters of each tree cut at the number of families:',
    '',
    markdownTable(clusterTable(e)),
    '',
    ...section(
      'Through the other targets’ transfers',
      viaTransfersTable(e),
      `Mean per-target Spearman (self excluded) of the sources ranked by their measured ranks on the ${VIA_TRANSFERS_NEIGHBOURS} other targets most similar to the target under each measure, weighted by that similarity, beside the measure’s similarity alone and the equal-weight source prior. Its chance level keeps every measured ranking and shuffles the similarity’s task labels, so each target weighs the wrong tasks: above it, the similarity says which other targets to trust, beyond what the prior knows.`,
    ),
    ...section('Per-target Spearman (self excluded)', perTargetTable(e), ...reliabilityText(e)),
    ...section(
      'Affinities',
      affinityTable(e),
      'AHP affinity of each source (column) for each target (row), both in measured-tree order; ★ = the best task source other than the target itself.',
    ),
    '![affinity heatmap of the task sources, each row on its own colour scale](figures/affinities.svg)',
    '',
    ...section(
      'Gain and Quality per target',
      targetTable(e),
      'Gain = share of test images on which the transfer beats `pixels`; Quality = share on which it beats `self` (0.5 = as good).',
    ),
    ...section('Mean test loss per target and source', lossTable(e)),
    ...section(
      'Supervision policy (budget sweep)',
      policyTable(e),
      `Objective: affinity (the paper's), first-order transfers. Each budget is solved exactly, by enumeration where that is faster, else by HiGHS (at most ${e.policy.timeLimit} s; status \`time-limited\` when it ran out).`,
    ),
    '## Trees (Newick)',
    '',
    `- measured: \`${e.tree.newick}\``,
    ...e.measures.filter((m) => m.taxonomy).map((m) => `- ${m.measure}: \`${m.taxonomy!.newick}\``),
    '',
  ];
  if (meta.timings && Object.keys(meta.timings).length)
    lines.push(
      ...section('Wall time', { head: ['stage', 'seconds'], rows: Object.entries(meta.timings).map(([k, v]) => [k, v.toFixed(1)]), numeric: [false, true] }),
    );
  if (meta.notes?.length) lines.push('## Notes', '', ...meta.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}

/** The report's figures as SVG strings, by file stem. */
export function taskbankFigures(e: TaskbankEvaluation): Record<string, string> {
  const order = e.tree.order;
  const figures: Record<string, string> = {
    // Task sources only: `self` wins nearly every tournament and would flatten every row's colour scale.
    affinities: matrixHeatmapSvg('AHP affinity: source (column) → target (row)', order, order, (t, s) => e.affinities[`${s}__${t}`]),
    spearman: intervalBarsSvg(
      'Mean per-target Spearman vs measured affinities (self excluded / included)',
      e.measures.flatMap((m) => [
        { label: `${m.measure}`, value: m.spearman?.mean ?? null, ci: null },
        { label: `${m.measure} (with self)`, value: m.spearmanWithSelf?.mean ?? null, ci: null, color: '#a0cbe8' },
      ]),
    ),
  };
  const drawn = drawnMeasure(e);
  // Short names: the figure's own title adds "average linkage on 1 − similarity" and its width follows the leaf labels.
  const measured = dendrogramSvg(treeTaxonomy(e, e.tree, 'measured transfers'));
  figures.trees = drawn
    ? sideBySideSvg(
        `Measured task tree (left; similarity = correlation of transfer-out affinities) and the ${drawn.measure} taxonomy of the encoders (right)`,
        measured,
        dendrogramSvg(treeTaxonomy(e, drawn.taxonomy!, drawn.measure)),
      )
    : measured;
  return figures;
}

/** Write taskbank.json, the Taskonomy-format files, report.md and the figures into `dir`; returns the files written (relative). */
export async function writeTaskbankReport(dir: string, e: TaskbankEvaluation, meta: TaskbankReportMeta): Promise<string[]> {
  const written: string[] = [];
  const write = async (rel: string, data: string | Uint8Array) => {
    await writeFileAtomic(join(dir, rel), data);
    written.push(rel);
  };
  const created = meta.created ?? new Date().toISOString();
  await mkdir(join(dir, 'figures'), { recursive: true });
  for (const [name, svg] of Object.entries(taskbankFigures(e))) {
    await write(`figures/${name}.svg`, svg);
    if (meta.png ?? true) await write(`figures/${name}.png`, await svgToPng(svg));
  }
  const { png: _png, ...info } = meta;
  await write('taskbank.json', `${JSON.stringify({ ...info, created, evaluation: e }, null, 1)}\n`);
  await write('affinities.json', `${JSON.stringify(e.affinities, null, 1)}\n`);
  await write('wins_vs_pixels.json', `${JSON.stringify(e.winsVsPixels, null, 1)}\n`);
  await write('wins_vs_task.json', `${JSON.stringify(e.winsVsTask, null, 1)}\n`);
  await write('tournaments.json', `${JSON.stringify(e.tournaments)}\n`);
  await write('task-tree.nwk', `${e.tree.newick}\n`);
  await write('report.md', taskbankMarkdown(e, { ...meta, created }));
  return written;
}
