/**
 * Files of `taskmap benchmark transfer`: transfer.json (everything, including every draw's scores), report.md (the
 * tables with the command that reproduces them), figures/*.svg|png (mean weighted τ per measure with intervals).
 * The numbers come from src/benchmark/transferEval.ts (judging) and the ground truth of src/benchmark/transferTruth.ts.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TransferBenchmarkResult, TransferSourceInfo, TransferTruthTable } from '../benchmark/transfer.js';
import type { JudgeMetric, MetricRow, TransferEvaluation } from '../benchmark/transferEval.js';
import { writeFileAtomic } from '../io/atomic.js';
import { intervalBarsSvg, svgToPng } from './figures.js';
import { markdownTable, type Table } from './tables.js';

const f3 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(3));
const withCi = (i: MetricRow['metrics'][JudgeMetric]) => (i ? `${f3(i.mean)} [${f3(i.lo)}, ${f3(i.hi)}]` : '—');

function rowsFor(e: TransferEvaluation, perClass: number, head: string, target = 'mean'): MetricRow[] {
  return e.rows
    .filter((r) => r.perClass === perClass && r.head === head && r.target === target)
    .sort((a, b) => (b.metrics.weightedtau?.mean ?? -Infinity) - (a.metrics.weightedtau?.mean ?? -Infinity));
}

function heads(e: TransferEvaluation): string[] {
  return [...new Set(e.rows.map((r) => r.head))];
}

/** The main table: one row per measure, mean over targets, for one draw size; the first head in full, the others' weighted τ. */
export function summaryTable(e: TransferEvaluation, perClass: number): Table {
  const [main, ...others] = heads(e);
  const other = (measure: string, head: string) =>
    e.rows.find((r) => r.measure === measure && r.perClass === perClass && r.head === head && r.target === 'mean');
  return {
    head: [
      'measure',
      `weighted τ (${main}) [95% CI]`,
      'Kendall τ',
      'Spearman',
      'top-1',
      'regret (acc. points)',
      ...others.map((h) => `weighted τ (${h})`),
      'ms per draw',
      'candidates',
    ],
    rows: rowsFor(e, perClass, main).map((r) => [
      r.measure,
      withCi(r.metrics.weightedtau),
      f3(r.metrics.kendall?.mean),
      f3(r.metrics.spearman?.mean),
      f3(r.metrics.top1?.mean),
      r.metrics.regret ? (100 * r.metrics.regret.mean).toFixed(2) : '—',
      ...others.map((h) => f3(other(r.measure, h)?.metrics.weightedtau?.mean)),
      r.ms.toFixed(0),
      String(r.candidates),
    ]),
    numeric: [false, true, true, true, true, true, ...others.map(() => true), true, true],
  };
}

/** Weighted τ per measure (rows) and target (columns), for one draw size and head. */
export function perTargetTable(e: TransferEvaluation, perClass: number, head: string, targets: string[]): Table {
  return {
    head: ['measure', ...targets],
    rows: rowsFor(e, perClass, head).map((r) => [
      r.measure,
      ...targets.map((t) =>
        f3(e.rows.find((x) => x.measure === r.measure && x.perClass === perClass && x.head === head && x.target === t)?.metrics.weightedtau?.mean),
      ),
    ]),
    numeric: [false, ...targets.map(() => true)],
  };
}

export function truthTable(truth: TransferTruthTable, head: string, targets: string[], sources: string[]): Table {
  const t = truth[head] ?? {};
  const best = Object.fromEntries(targets.map((g) => [g, Math.max(...sources.map((s) => t[g]?.[s] ?? -Infinity))]));
  return {
    head: ['source', ...targets],
    rows: sources.map((s) => [
      s,
      ...targets.map((g) => {
        const v = t[g]?.[s];
        return v === undefined ? '—' : `${(100 * v).toFixed(1)}${v === best[g] ? ' ★' : ''}`;
      }),
    ]),
    numeric: [false, ...targets.map(() => true)],
  };
}

/** What wins, stated from the numbers: the top measures by mean weighted τ and where the plain baselines stand. */
export function verdict(e: TransferEvaluation, perClass: number, head: string): string {
  const rows = rowsFor(e, perClass, head).filter((r) => r.metrics.weightedtau);
  if (rows.length === 0) return `No measure has a defined weighted τ at ${perClass} images per class.`;
  const best = rows[0];
  const tied = rows.filter((r) => r !== best && r.metrics.weightedtau!.hi >= best.metrics.weightedtau!.lo).map((r) => r.measure);
  const place = (family: string) => {
    const i = rows.findIndex((r) => r.measure === family || r.measure.startsWith(`${family}:`));
    return i < 0 ? null : `${rows[i].measure} ranks ${i + 1} of ${rows.length} (${f3(rows[i].metrics.weightedtau!.mean)})`;
  };
  const baselines = ['knn', 'linear'].map(place).filter((x): x is string => x !== null);
  return (
    `At ${perClass} images per class (${head} head), ${best.measure} predicts the ranking of sources best: mean weighted τ ` +
    `${withCi(best.metrics.weightedtau)}, top-1 ${f3(best.metrics.top1?.mean)}. ` +
    (tied.length ? `Its interval overlaps ${tied.length === 1 ? 'that of' : 'those of'} ${tied.join(', ')}, so they are not separated by these draws. ` : '') +
    (baselines.length ? `Plain baselines: ${baselines.join('; ')}.` : '')
  );
}

export function transferMarkdown(r: TransferBenchmarkResult): string {
  const e = r.evaluation;
  const [main] = heads(e);
  const targets = r.targets.map((t) => t.id);
  const sources = r.sources.map((s) => s.id);
  const lines = [
    '# Transfer benchmark: which score picks the source model that transfers best?',
    '',
    `Reproduce: \`${r.command}\` (written ${r.created})`,
    '',
    '## Protocol',
    `- Sources: ${r.sources.length} networks of the bundled zoo (default tap, global average pool): ${sources.join(', ')}.`,
    `- Targets: ${r.targets.map((t) => `${t.id} (${t.classes.length} classes; ${t.train} training-pool / ${t.test} test images; ${t.description})`).join('; ')}.`,
    `- Ground truth per (source, target): test accuracy of a head trained on the frozen features of the whole training pool. ${Object.entries(r.heads)
      .map(([h, d]) => `**${h}**: ${d}`)
      .join(' ')}`,
    `- Each measure sees only a small labelled draw from the training pool: ${e.perClass.join(' and ')} images per class, ${e.draws} seeded stratified draws (seed ${e.seed}), the same draws for every measure. Representation measures compare each source with the draw's class labels: RSA, DDS and CKA with their label RDM / kernel, the pairwise families (Procrustes, CCA, predictivity, kNN, …) with the 0/1 label matrix.`,
    `- Judged per target and draw by weighted Kendall τ (scipy's weightedtau), Kendall τ-b, Spearman, top-1 hit and regret (accuracy points lost by taking the measure's favourite); then averaged over draws and targets. Intervals: 95% percentile bootstrap over draws (${e.resamples} resamples).`,
    '',
  ];
  for (const k of e.perClass) {
    lines.push(
      `## ${k} labelled images per class`,
      '',
      verdict(e, k, main),
      '',
      markdownTable(summaryTable(e, k)),
      '',
      `![weighted τ, ${k} per class](figures/weighted-tau-${k}.svg)`,
      '',
    );
    lines.push(`Weighted τ per target (${main} head):`, '', markdownTable(perTargetTable(e, k, main, targets)), '');
  }
  for (const h of Object.keys(r.truth))
    lines.push(`## Ground truth: ${h} head test accuracy (%)`, '', markdownTable(truthTable(r.truth, h, targets, sources)), '');
  for (const s of r.layerStudies) {
    const k = s.evaluation.perClass[s.evaluation.perClass.length - 1];
    lines.push(
      `## Layer study: ${s.network} (${s.layers.length} taps)`,
      '',
      `Candidates are the taps of one network; the ground truth is each tap's logistic-head accuracy; ${k} images per class, measures ${s.evaluation.measures.join(', ')}. ${verdict(s.evaluation, k, main)}`,
      '',
      markdownTable(summaryTable(s.evaluation, k)),
      '',
    );
  }
  lines.push('## Sources', '', markdownTable(sourcesTable(r.sources)), '');
  lines.push(
    '## Wall time',
    '',
    markdownTable({ head: ['stage', 'seconds'], rows: Object.entries(r.timings).map(([k, v]) => [k, v.toFixed(1)]), numeric: [false, true] }),
    '',
  );
  const records = [r.evaluation, ...r.layerStudies.map((s) => s.evaluation)].flatMap((e) => e.records);
  const cached = records.filter((x) => x.cached).length;
  if (cached > 0) {
    lines.push(
      `${cached} of ${records.length} draw records were read from the score cache; the measures' times in the tables are those measured in the run that computed each record.`,
      '',
    );
  }
  if (r.notes.length) lines.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}

function sourcesTable(sources: TransferSourceInfo[]): Table {
  return {
    head: ['source', 'features', 'source classes (LEEP/NCE)', 'ms per image'],
    rows: sources.map((s) => [
      s.id,
      String(s.dims),
      s.classes === null ? '—' : String(s.classes),
      s.msPerImage === undefined ? '(cached)' : s.msPerImage.toFixed(1),
    ]),
    numeric: [false, true, true, true],
  };
}

export function weightedTauSvg(e: TransferEvaluation, perClass: number): string {
  const [main] = heads(e);
  return intervalBarsSvg(
    `Weighted τ vs ${main}-head accuracy, ${perClass} per class (95% CI over draws)`,
    rowsFor(e, perClass, main).map((r) => ({
      label: r.measure,
      value: r.metrics.weightedtau?.mean ?? null,
      ci: r.metrics.weightedtau ? [r.metrics.weightedtau.lo, r.metrics.weightedtau.hi] : null,
    })),
  );
}

/** Write transfer.json, report.md and the figures into `r.out`; returns the files written (relative). */
export async function writeTransferReport(r: TransferBenchmarkResult): Promise<string[]> {
  const written: string[] = [];
  const write = async (rel: string, data: string | Uint8Array) => {
    await writeFileAtomic(join(r.out, rel), data);
    written.push(rel);
  };
  await mkdir(join(r.out, 'figures'), { recursive: true });
  for (const k of r.evaluation.perClass) {
    const svg = weightedTauSvg(r.evaluation, k);
    await write(`figures/weighted-tau-${k}.svg`, svg);
    await write(`figures/weighted-tau-${k}.png`, await svgToPng(svg));
  }
  await write('transfer.json', `${JSON.stringify(r, null, 1)}\n`);
  await write('report.md', transferMarkdown(r));
  return written;
}
