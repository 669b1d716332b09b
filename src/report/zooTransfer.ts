/**
 * Files of `taskmap benchmark zoo-transfer` (the numbers come from src/benchmark/zooTransfer.ts): JSON (everything, plus the Taskonomy-format dicts and tournaments
 * the other taskonomy commands read), the per-image losses as a `target,source,image,loss` CSV (`taskmap ahp
 * --losses` input), the task tree as Newick, SVG figures, and the same tables as Markdown and HTML.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import type { ZooTransferResult, ZooTransferRun } from '../benchmark/zooTransfer.js';
import { escapeXml, inlineSvg, intervalBarsSvg, viridis } from './figures.js';
import { htmlTable as html, markdownTable as md, type Table } from './tables.js';

const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
const f3 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(3));
const f2 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(2));
const ci = (c: [number, number] | null) => (c ? `[${f3(c[0])}, ${f3(c[1])}]` : '—');

/**
 * Heatmap of a targets × sources matrix. `perRow` colours each row on its own range (affinities sum to 1 per
 * target; losses differ in scale between targets), `lowIsGood` flips the scale so the best cell is always bright.
 */
export function matrixHeatmapSvg(
  title: string,
  rows: string[],
  cols: string[],
  value: (r: string, c: string) => number | undefined,
  opts: { lowIsGood?: boolean; digits?: number } = {},
): string {
  const cell = 22;
  const left = 8 + 7 * Math.max(...rows.map((r) => r.length));
  const top = 24 + 6.5 * Math.max(...cols.map((c) => c.length));
  // Column labels are rotated −60°, so the last ones reach right of the grid by about half their length.
  const width = Math.max(left + cell * cols.length + 10 + 3.3 * Math.max(...cols.map((c) => c.length)), 8 + 7.2 * title.length);
  const height = top + cell * rows.length + 10;
  const parts: string[] = [];
  rows.forEach((r, i) => {
    const vals = cols.map((c) => value(r, c));
    const finite = vals.filter((v): v is number => v !== undefined && Number.isFinite(v));
    const lo = Math.min(...finite);
    const hi = Math.max(...finite);
    parts.push(`<text x="${left - 4}" y="${top + i * cell + cell * 0.7}" text-anchor="end" font-size="11">${escapeXml(r)}</text>`);
    vals.forEach((v, j) => {
      const x = left + j * cell;
      const y = top + i * cell;
      if (v === undefined || !Number.isFinite(v)) {
        parts.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="#eeeeee"><title>${escapeXml(`${cols[j]} → ${r}: —`)}</title></rect>`);
        return;
      }
      const t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
      parts.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${viridis(opts.lowIsGood ? 1 - t : t)}"><title>${escapeXml(`${cols[j]} → ${r}: ${v.toFixed(opts.digits ?? 4)}`)}</title></rect>`,
      );
    });
  });
  cols.forEach((c, j) => {
    const x = left + j * cell + cell * 0.65;
    parts.push(`<text transform="translate(${x},${top - 4}) rotate(-60)" font-size="11">${escapeXml(c)}</text>`);
  });
  parts.push(`<text x="8" y="16" font-size="13" font-weight="bold">${escapeXml(title)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" role="img"><title>${escapeXml(title)}</title><rect width="100%" height="100%" fill="#ffffff"/>${parts.join('')}</svg>`;
}

/** Horizontal bars: mean per-target Spearman per measure with its bootstrap interval as a whisker. */
export function predictionSvg(rows: ZooTransferResult['prediction'], withSelf: boolean): string {
  return intervalBarsSvg(
    `Mean per-target Spearman vs measured affinities (self ${withSelf ? 'included' : 'excluded'}), 95% CI`,
    rows.map((r) => ({ label: r.measure, value: withSelf ? r.meanWithSelf : r.mean, ci: withSelf ? r.ciWithSelf : r.ci })),
  );
}

export interface ZooTransferTables {
  targets: Table;
  summary: Table;
  loss: Table;
  policy: Table;
  prediction: Table;
  timings: Table;
}

/** Best first-order source of each target by affinity (self and the baselines excluded). */
export function bestSources(r: ZooTransferResult): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of r.models) {
    let best = '';
    for (const s of r.models) if (s !== t && (best === '' || r.affinities[`${s}__${t}`] > r.affinities[`${best}__${t}`])) best = s;
    out[t] = best;
  }
  return out;
}

export function zooTransferTables(r: ZooTransferResult): ZooTransferTables {
  const best = bestSources(r);
  const order = r.tree.order;
  const cols = [...order, 'pixels', 'random'];
  const sorted = [...r.prediction].sort((a, b) => (b.mean ?? -Infinity) - (a.mean ?? -Infinity));
  return {
    targets: {
      head: ['task (model)', 'family', 'output tensors (per-image shape → reduction)', 'dims'],
      rows: r.models.map((m) => [
        m,
        r.targets[m].family,
        r.targets[m].outputs.map((o) => `${o.name} [${o.shape.join('×')}] → ${o.reduce}`).join('; '),
        String(r.targets[m].dims),
      ]),
      numeric: [false, false, false, true],
    },
    summary: {
      head: [
        'target',
        'best source',
        'affinity',
        'loss best',
        'loss self',
        'loss pixels',
        'loss random',
        'Quality (best vs self)',
        'Gain (best vs pixels)',
        'affinity self',
        'AHP CR',
      ],
      rows: r.models.map((t) => {
        const b = best[t];
        const l = r.meanLoss[t];
        const cons = r.consistency.find((c) => c.target === t);
        return [
          t,
          b,
          f3(r.affinities[`${b}__${t}`]),
          f3(l[b]),
          f3(l.self),
          f3(l.pixels),
          f3(l.random),
          f3(r.winsVsTask[`${b}__${t}`]),
          f3(r.winsVsPixels[`${b}__${t}`]),
          f3(r.affinities[`self__${t}`]),
          f3(cons?.consistencyRatio),
        ];
      }),
      numeric: [false, false, true, true, true, true, true, true, true, true, true],
    },
    loss: {
      head: ['target \\ source', ...cols.map((c) => c)],
      rows: order.map((t) => [t, ...cols.map((s) => f2(r.meanLoss[t][s === t ? 'self' : s]))]),
      numeric: [false, ...cols.map(() => true)],
    },
    policy: {
      head: ['budget', 'status', 'supervised (fully labelled)', 'mean Gain', 'mean Quality', 'objective (Σ affinity)'],
      rows: r.policy.map((p) => [String(p.budget), p.status, p.supervised.join(', '), f3(p.meanGain), f3(p.meanQuality), f3(p.objective)]),
      numeric: [true, false, false, true, true, true],
    },
    prediction: {
      head: ['measure', 'family', 'Spearman (self excluded)', '95% CI', 'Spearman (self included)', '95% CI', 'time (s)', 'note'],
      rows: sorted.map((p) => [p.measure, p.name, f3(p.mean), ci(p.ci), f3(p.meanWithSelf), ci(p.ciWithSelf), (p.ms / 1000).toFixed(2), p.error ?? '']),
      numeric: [false, false, true, false, true, false, true, false],
    },
    timings: {
      head: ['stage', 'seconds'],
      rows: Object.entries(r.timings).map(([k, v]) => [k, v.toFixed(1)]),
      numeric: [false, true],
    },
  };
}

function protocolText(r: ZooTransferResult): string[] {
  return [
    `Tasks: the outputs of ${r.models.length} zoo networks on ${r.images.length} probe images (each network's final output tensors; large ones pooled or randomly projected to ≤ 256 values). Model T itself is T's fully supervised network (\`self\`).`,
    `Transfer S → T: closed-form ridge readout from S's default-tap features (centred, not rescaled) to T's outputs, ${r.folds}-fold cross-fitting (seed ${r.seed}), so every image has a held-out loss; λ = ratio · tr(K)/n with the ratio chosen per source, target and fold from {${r.lambdaRatios.join(', ')}} by leave-one-out error on the training folds.`,
    'Loss: each output dimension z-scored on the training folds (constant ones dropped), every output tensor weighted equally; the per-image loss is the weighted mean squared error, so 1.0 = predicting the training mean.',
    "`self` = readout from T's own default-tap features; `pixels` = readout from 16×16 RGB thumbnails (Gain baseline); `random` = readout from a random-weight one-layer ReLU encoder (1024 units) of 32×32 RGB thumbnails.",
    'Win rates, AHP affinities (pixels excluded from the AHP, as in Taskonomy), Gain/Quality, the supervision policy (HiGHS BIP) and the task tree (average linkage, correlation distance on affinity columns) come from the taskmap Taskonomy engine.',
    `Prediction: for each measure, similarity of S's features to T's features on all images; per target, Spearman between that and the measured affinity of S for T over the other ${r.models.length - 1} models (self excluded) or over all ${r.models.length} with T's own entry = affinity of \`self\` (self included, the DDS Taskonomy protocol); mean over targets. CIs: θ̂ ± 1.96 × SD over ${r.bootstrap} bootstrap draws of the images with replacement (held-out losses resampled, win rates and affinities recomputed; the similarities held fixed). Duplicated images add noise to the re-measured affinities, so the bootstrap distribution sits below θ̂ (mean shift bootstrapBias and raw percentiles in zoo-transfer.json); only its spread is used.`,
  ];
}

export function zooTransferMarkdown(r: ZooTransferResult, command: string): string {
  const t = zooTransferTables(r);
  const predTime = r.prediction.reduce((a, p) => a + p.ms, 0) / 1000;
  return [
    `# Zoo transfer benchmark: a Taskonomy of ${r.models.length} real networks`,
    '',
    `Reproduce: \`${command}\``,
    '',
    ...protocolText(r).map((s) => `- ${s}`),
    '',
    '## Tasks',
    md(t.targets),
    '',
    '## Transfer summary (mean held-out loss; Quality = win rate vs self, Gain = win rate vs pixels)',
    md(t.summary),
    '',
    '## Mean held-out loss, target × source (diagonal = self)',
    md(t.loss),
    '',
    '![affinities](figures/affinities.svg)',
    '',
    '## Supervision policy (BIP, affinity objective)',
    md(t.policy),
    '',
    `Task tree (Newick): \`${r.tree.newick}\``,
    '',
    '## How well similarity predicts transfer (DDS protocol)',
    md(t.prediction),
    '',
    '![prediction](figures/prediction.svg)',
    '',
    '## Wall time',
    `All ${r.prediction.length} measures' similarity matrices: ${predTime.toFixed(1)} s; measuring the transfers (Grams, ${r.folds}-fold readouts for ${r.sources.length} sources × ${r.models.length} targets): ${(r.timings.transfers ?? 0).toFixed(1)} s. Both need the features; measuring also needs each target network's outputs (labels).`,
    md(t.timings),
    r.failed.length ? `\nLeft out: ${r.failed.map((f) => `${f.model} (${f.error})`).join('; ')}` : '',
    '',
  ].join('\n');
}

function htmlPage(r: ZooTransferResult, command: string, figures: Record<string, string>): string {
  const t = zooTransferTables(r);
  const predTime = r.prediction.reduce((a, p) => a + p.ms, 0) / 1000;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>taskmap — zoo transfer benchmark</title>
<style>body{font-family:${FONT};max-width:1400px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;font-size:12px;margin:1em 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}.num{text-align:right;font-variant-numeric:tabular-nums}.fig{overflow-x:auto}code{background:#f4f4f4;padding:1px 3px}</style></head><body>
<h1>Zoo transfer benchmark: a Taskonomy of ${r.models.length} real networks</h1>
<p>Reproduce: <code>${escapeXml(command)}</code></p>
<ul>${protocolText(r)
    .map((s) => `<li>${escapeXml(s)}</li>`)
    .join('')}</ul>
<h2>Tasks</h2>${html(t.targets)}
<h2>Transfer summary</h2>${html(t.summary)}
<h2>Affinities (AHP) and mean held-out losses</h2><div class="fig">${inlineSvg(figures.affinities)}</div><div class="fig">${inlineSvg(figures.loss)}</div>
<h2>Mean held-out loss, target × source</h2>${html(t.loss)}
<h2>Supervision policy</h2>${html(t.policy)}<p>Task tree (Newick): <code>${escapeXml(r.tree.newick)}</code></p>
<h2>How well similarity predicts transfer</h2><div class="fig">${inlineSvg(figures.prediction)}</div>${html(t.prediction)}
<h2>Wall time</h2><p>All measures: ${predTime.toFixed(1)} s; measuring the transfers: ${(r.timings.transfers ?? 0).toFixed(1)} s.</p>${html(t.timings)}
${r.failed.length ? `<p>Left out: ${escapeXml(r.failed.map((f) => `${f.model} (${f.error})`).join('; '))}</p>` : ''}
</body></html>
`;
}

/**
 * Write every file of a run into its output folder (`run.result.out`) and add the time that took to
 * `run.result.timings.report` (after zoo-transfer.json is written, which therefore has the timings before it).
 * `command` is quoted in the report as the way to reproduce it.
 */
export async function writeZooTransferReport(run: ZooTransferRun, command = 'taskmap benchmark zoo-transfer'): Promise<string[]> {
  const t0 = performance.now();
  const written = await writeFiles(run, command);
  run.result.timings = { ...run.result.timings, report: (run.result.timings.report ?? 0) + (performance.now() - t0) / 1000 };
  return written;
}

async function writeFiles({ result: r, tournaments, records }: ZooTransferRun, command: string): Promise<string[]> {
  const written: string[] = [];
  const write = async (rel: string, data: string) => {
    await writeFileAtomic(join(r.out, rel), data);
    written.push(rel);
  };
  await mkdir(join(r.out, 'figures'), { recursive: true });
  const order = r.tree.order;
  const figures = {
    affinities: matrixHeatmapSvg(
      'AHP affinity of each source (column) for each target (row), per-row colour scale',
      order,
      [...order, 'self', 'random'],
      (t, s) => r.affinities[`${s === t ? 'self' : s}__${t}`],
    ),
    loss: matrixHeatmapSvg(
      'Mean held-out loss (bright = low), per-row colour scale',
      order,
      [...order, 'pixels', 'random'],
      (t, s) => r.meanLoss[t][s === t ? 'self' : s],
      { lowIsGood: true },
    ),
    prediction: predictionSvg(
      [...r.prediction].sort((a, b) => (b.mean ?? -Infinity) - (a.mean ?? -Infinity)),
      false,
    ),
  };
  for (const [name, svg] of Object.entries(figures)) await write(`figures/${name}.svg`, svg);
  const { out: _out, ...json } = r;
  await write('zoo-transfer.json', `${JSON.stringify(json, null, 1)}\n`);
  await write('affinities.json', `${JSON.stringify(r.affinities, null, 1)}\n`);
  await write('wins_vs_pixels.json', `${JSON.stringify(r.winsVsPixels, null, 1)}\n`);
  await write('wins_vs_task.json', `${JSON.stringify(r.winsVsTask, null, 1)}\n`);
  await write('tournaments.json', `${JSON.stringify(tournaments)}\n`);
  await write(
    'losses.csv',
    `target,source,image,loss\n${records.map((x) => `${x.target},${x.source},"${x.image.replace(/"/g, '""')}",${x.loss}`).join('\n')}\n`,
  );
  await write('task-tree.nwk', `${r.tree.newick}\n`);
  await write('report.md', zooTransferMarkdown(r, command));
  await write('report.html', htmlPage(r, command, figures));
  return written;
}
