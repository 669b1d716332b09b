/**
 * The self-contained HTML report: one file with inline CSS and inline SVG figures — no scripts, fonts, images or
 * styles fetched from anywhere, so it opens offline and can be archived as is.
 */
import { basename } from 'node:path';
import { VIA_TRANSFERS_NEIGHBOURS } from '../taskonomy/viaTransfers.js';
import { dendrogramSvg, escapeXml, familyColors, heatmapSvg, inlineSvg, intervalHeatmapSvg, mdsSvg } from './figures.js';
import type { TaxonomyResult } from './taxonomy.js';
import type { FamilyCut, NeighbourAgreement } from '../taxonomy/agreement.js';
import type { BankTransferPrediction, DemoDuplicate, DemoModel, DistinctStatistics } from '../ops/demo.js';

/** One model as the report lists it: the demo's record of it. */
export type ReportModel = DemoModel;

export interface ReportData {
  title: string;
  created: string;
  images: { dir: string; count: number; description: string };
  models: ReportModel[];
  failed: { model: string; error: string }[];
  taxonomies: TaxonomyResult[];
  /** Seconds per stage of the run that wrote this report. */
  timings: Record<string, number>;
  /**
   * Whether that run extracted features (cold) or found them all cached (warm), and — for a warm run — the stages
   * of the last run that did extract them, so the header never passes a warm run's seconds off as the cost of the
   * whole pipeline.
   */
  run?: RunTimings;
  /** Output files, relative to the report (linked); a note says what a folder holds. */
  files: (string | { path: string; note?: string })[];
  familyDescriptions?: Record<string, string>;
  /** Identical exports among the models, left out of the family statistics. */
  duplicates?: DemoDuplicate[];
  /** Per taxonomy, its family statistics without the duplicates (given with duplicates). */
  distinct?: DistinctStatistics[];
  /** The task bank's encoders on the same images: their models and one taxonomy per measure. */
  bank?: { models: ReportModel[]; taxonomies: TaxonomyResult[]; transfers?: BankTransferPrediction };
}

/** What the features of a run cost: computed in it, or reused from the cache of an earlier (cold) run. */
export interface RunTimings {
  /** Models whose features this run computed (all or some of their images), and those it reused as they were. */
  computed: number;
  reused: number;
  /** The last run that computed features: when, its stages (seconds) and how many models it computed. */
  cold?: { at: string; timings: Record<string, number>; computed: number };
}

const esc = escapeXml;
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'NaN');

const CSS = `
body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:24px auto;max-width:1500px;padding:0 16px;color:#222;line-height:1.4}
h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px}
table{border-collapse:collapse;font-size:13px;margin:8px 0;max-width:100%}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f4f4f4;overflow-wrap:normal}td.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#666}.fig{overflow-x:auto;margin:8px 0;max-width:100%}.fig svg{max-width:100%;height:auto}
.row{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}.row>div{min-width:0;max-width:100%}
td.num{white-space:nowrap;overflow-wrap:normal}
.dot{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:5px;vertical-align:middle}
code{font-size:12px;background:#f6f6f6;padding:0 3px}.warn{background:#fff4e5;border:1px solid #f0c36d;padding:8px 12px}
nav a{margin-right:14px}
`;

/** "34 + 3 + 2 + 1": sizes of a flat clustering, largest first. */
export function clusterSizes(clusters: number[]): string {
  const counts = new Map<number, number>();
  for (const c of clusters) counts.set(c, (counts.get(c) ?? 0) + 1);
  return [...counts.values()].sort((a, b) => b - a).join(' + ');
}

function recoveryRow(name: string, measure: string, models: string, n: NeighbourAgreement, cut: FamilyCut): string {
  return (
    `<tr><td>${esc(name)}<br><code>${esc(measure)}</code></td><td>${models}</td><td class="num">${f3(n.agreement)}</td><td class="num">${f3(n.chance)}</td>` +
    `<td class="num">${f3(cut.ari)}</td><td class="num">${clusterSizes(cut.clusters)}</td></tr>`
  );
}

function duplicateList(duplicates: DemoDuplicate[]): string {
  return duplicates.map((d) => `<code>${esc(d.label)}</code> = <code>${esc(d.of)}</code>`).join(', ');
}

function recoveryTable(ts: TaxonomyResult[], distinct?: DistinctStatistics[], duplicates: DemoDuplicate[] = []): string {
  const all = (t: TaxonomyResult) => `all ${t.similarity.rows.length}`;
  const rows = ts
    .map((t, i) => {
      const d = distinct?.[i];
      if (!d) return recoveryRow(t.name, t.measure, all(t), t.neighbours, t.cut);
      return (
        recoveryRow(t.name, t.measure, `${d.labels.length} (identical exports left out)`, d.neighbours, d.cut) +
        recoveryRow(t.name, t.measure, `${all(t)} (with them)`, t.neighbours, t.cut)
      );
    })
    .join('');
  const k = distinct?.[0]?.cut.k ?? ts[0]?.cut.k ?? '';
  return (
    `<table><tr><th>measure</th><th>models</th><th>nearest-neighbour family agreement</th><th>chance level</th><th>adjusted Rand index of the ${k}-cluster cut</th><th>cluster sizes of the cut</th></tr>${rows}</table>` +
    (duplicates.length
      ? `<p>Identical exports (one network in two files: similarity 1): ${duplicateList(duplicates)}. They stay in the heatmaps, trees and maps; ` +
        `the first row of each measure leaves them out, since a copy is always its original's nearest neighbour.</p>`
      : '') +
    `<p class="muted">Nearest-neighbour agreement: share of models whose most similar other model has the same task family (ties share credit); ` +
    `chance: expected share if that neighbour were picked at random. ARI: the average-linkage tree cut into as many clusters as there are families, ` +
    `compared with the families (1 = identical partition, 0 = chance level). Average linkage tends to split off outlying models as ` +
    `singleton clusters, which the cluster sizes show.</p>`
  );
}

function topTable(t: TaxonomyResult): string {
  const fam = new Map(t.similarity.rows.map((l, i) => [l, t.families[i]]));
  const colors = familyColors(t.families);
  const dot = (l: string) => `<span class="dot" style="background:${colors.get(fam.get(l)!)}"></span>`;
  const rows = t.order
    .map((i) => t.top[i])
    .map(
      (r) =>
        `<tr><td>${dot(r.label)}${esc(r.label)}</td>${r.similar.map((s) => `<td>${dot(s.label)}${esc(s.label)} <span class="muted">${f3(s.similarity)}</span></td>`).join('')}</tr>`,
    )
    .join('');
  return `<table><tr><th>model</th><th>most similar</th><th>2nd</th><th>3rd</th></tr>${rows}</table>`;
}

/** With a bootstrap: the interval-width heatmap and how to read it and the tree's support numbers; empty otherwise. */
function intervalSection(t: TaxonomyResult): string {
  const svgText = intervalHeatmapSvg(t);
  if (!svgText || !t.bootstrap) return '';
  const r = t.bootstrap.resampling;
  const pct = Math.round(100 * t.bootstrap.level);
  return (
    `<h3>How much each cell depends on the images: ${pct}% interval width</h3><p class="muted" data-bootstrap>Upper − lower ${pct}% percentile of each similarity over ` +
    `${r.draws} bootstrap draws of ${r.size} images${r.replacement ? ' with replacement' : ''} (seed ${r.seed}), everything recomputed per draw; hover a cell for its value and interval. ` +
    `The numbers on the task tree are split support: the percentage of draws whose tree contains exactly that cluster.</p>` +
    `<div class="fig">${inlineSvg(svgText)}</div>`
  );
}

function measureSection(t: TaxonomyResult, id: string, d?: DistinctStatistics): string {
  const stats = (n: NeighbourAgreement, cut: FamilyCut) =>
    `nearest-neighbour family agreement <b>${f3(n.agreement)}</b> (chance ${f3(n.chance)}); adjusted Rand index of the ${cut.k}-cluster cut <b>${f3(cut.ari)}</b>`;
  return [
    `<h2 id="${id}">${esc(t.name)} <code>${esc(t.measure)}</code></h2>`,
    t.description ? `<p class="muted">${esc(t.description)}</p>` : '',
    d
      ? `<p>Without identical exports (${d.labels.length} models): ${stats(d.neighbours, d.cut)}. With them (${t.similarity.rows.length}): ${stats(t.neighbours, t.cut)}.</p>`
      : `<p>${stats(t.neighbours, t.cut).replace(/^n/, 'N')}.</p>`,
    `<h3>Similarity heatmap, ordered by the task tree</h3><p class="muted">Hover a cell for its value. The strip left of the labels is the task family.</p>`,
    `<div class="fig">${inlineSvg(heatmapSvg(t))}</div>`,
    intervalSection(t),
    `<div class="row"><div><h3>Task tree (average linkage)</h3><div class="fig">${inlineSvg(dendrogramSvg(t))}</div></div>`,
    `<div><h3>2-D map (classical MDS of 1 − similarity)</h3><div class="fig">${inlineSvg(mdsSvg(t))}</div></div></div>`,
    `<h3>Each model's three most similar models</h3>${topTable(t)}`,
  ].join('\n');
}

function modelsTable(models: ReportModel[], families: string[]): string {
  const colors = familyColors(families);
  const rows = models
    .map(
      (m) =>
        `<tr><td>${esc(m.label)}${m.duplicateOf ? `<br><span class="muted">identical export of ${esc(m.duplicateOf)}</span>` : ''}</td><td><span class="dot" style="background:${colors.get(m.family) ?? '#999'}"></span>${esc(m.family)}</td><td>${esc(m.description ?? '')}</td>` +
        `<td><code>${esc(m.layer)}</code></td><td>${esc(m.reduce)}</td><td class="num">${m.features.join('×')}</td><td class="num">${m.msPerImage !== undefined ? m.msPerImage.toFixed(1) : '—'}</td>` +
        `<td>${esc(m.source)}${m.licence ? `<br><span class="muted">${esc(m.licence)}</span>` : ''}</td></tr>`,
    )
    .join('');
  return `<table><tr><th>model</th><th>task family</th><th>network</th><th>tap</th><th>reduction</th><th>features / image</th><th>ms / image</th><th>source, licence</th></tr>${rows}</table>`;
}

const stages = (t: Record<string, number>) =>
  Object.entries(t)
    .map(([k, v]) => `${esc(k)} ${v.toFixed(1)} s`)
    .join(' · ');
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The header's timings: this run's stages, said to be cold or warm, plus the cold run's stages after a warm one. */
export function timingText(timings: Record<string, number>, run?: RunTimings): string {
  const now = stages(timings);
  if (!run) return now ? `timings: ${now}` : '';
  if (run.computed > 0) {
    const what = `features of ${plural(run.computed, 'model')} extracted${run.reused ? `, ${run.reused} reused from the cache` : ''}`;
    return `<span data-timings="cold">cold run (${what}): ${now}</span>`;
  }
  const warm = `<span data-timings="warm">warm run (features of ${plural(run.reused, 'model')} reused from the cache in <code>features/</code>): ${now}</span>`;
  return run.cold
    ? `${warm}; <span data-timings="cold-record">features extracted by the cold run of ${esc(run.cold.at)} (${plural(run.cold.computed, 'model')}): ${stages(run.cold.timings)}</span>`
    : warm;
}

function fileItem(f: ReportData['files'][number]): string {
  const { path, note } = typeof f === 'string' ? { path: f, note: undefined } : f;
  // Relative links, so the report and its files can move together.
  const href = path.split('/').map(encodeURIComponent).join('/');
  return `<li><a href="${esc(href)}"><code>${esc(path)}</code></a>${note ? ` <span class="muted">${esc(note)}</span>` : ''}</li>`;
}

/** How the bank's similarities on these images predict the transfers measured when it was trained. */
function bankTransfersTable(t: BankTransferPrediction): string {
  const f = (x: number | null) => (x === null ? '—' : x.toFixed(3));
  const rows = t.measures
    .map(
      (m) => `<tr><td>${esc(m.name)} <code>${esc(m.measure)}</code></td><td class="num">${f(m.similarity)}</td><td class="num">${f(m.viaTransfers)}</td></tr>`,
    )
    .join('');
  return (
    `<h3>Predicting the bank's measured transfers</h3>` +
    `<p>Mean over the ${t.targets.length} encoders, each as the target, of the Spearman correlation between a prediction for each other encoder as ` +
    `its source and the AHP affinity measured when the bank was trained (<code>${esc(basename(t.affinities))}</code> beside the encoders). ` +
    `<em>Similarity alone</em>: the encoders' similarity on these images. <em>Through the other targets' transfers</em>: each source's measured ` +
    `rank on the ${VIA_TRANSFERS_NEIGHBOURS} other targets most similar to the target, weighted by that similarity (<code>taskmap rank --via-transfers</code>; ` +
    `the target's own transfers are never read). Every other target with equal weights, no representations: ${f(t.sourcePrior)}.</p>` +
    `<table><tr><th>measure</th><th>similarity alone</th><th>through the other targets' transfers</th></tr>${rows}</table>`
  );
}

/** The task bank beside the zoo: its family recovery, then per measure its heatmap and tree. */
function bankSection(bank: NonNullable<ReportData['bank']>): string {
  return [
    `<h2 id="bank">The task bank: one architecture, many tasks</h2>`,
    `<p>${bank.models.length} encoders of one architecture, each trained on one task over the same pool of photograph crops ` +
      `(<code>taskmap benchmark taskbank</code>, docs/taskbank.md), run on the same probe images as the zoo. Their families are the bank's task ` +
      `families (low-level, 2D, global, semantic), not the zoo's. What separates them is the task alone, which is the setting of the RSA and ` +
      `Taskonomy papers; the zoo's networks also differ in architecture, input size and training data.</p>`,
    recoveryTable(bank.taxonomies),
    ...(bank.transfers ? [bankTransfersTable(bank.transfers)] : []),
    ...bank.taxonomies.map(
      (t) =>
        `<h3>${esc(t.name)} <code>${esc(t.measure)}</code></h3><div class="row"><div><div class="fig">${inlineSvg(heatmapSvg(t))}</div></div>` +
        `<div><div class="fig">${inlineSvg(dendrogramSvg(t))}</div></div></div>`,
    ),
    modelsTable(
      bank.models,
      bank.models.map((m) => m.family),
    ),
  ].join('\n');
}

export function renderReport(r: ReportData): string {
  const families = r.models.map((m) => m.family);
  const ids = r.taxonomies.map((t, i) => `measure-${i}`);
  const timing = timingText(r.timings, r.run);
  const famList = r.familyDescriptions
    ? `<ul>${[...familyColors(families)]
        .map(
          ([f, c]) =>
            `<li><span class="dot" style="background:${c}"></span><b>${esc(f)}</b> (${families.filter((x) => x === f).length}): ${esc(r.familyDescriptions![f] ?? '')}</li>`,
        )
        .join('')}</ul>`
    : '';
  const failed = r.failed.length
    ? `<div class="warn"><b>${r.failed.length} model${r.failed.length === 1 ? '' : 's'} failed and ${r.failed.length === 1 ? 'is' : 'are'} not in the taxonomy:</b><ul>${r.failed
        .map((f) => `<li><code>${esc(f.model)}</code>: ${esc(f.error)}</li>`)
        .join('')}</ul></div>`
    : '<p class="muted">Every requested model loaded and ran.</p>';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(r.title)}</title><style>${CSS}</style></head><body>
<h1>${esc(r.title)}</h1>
<p class="muted">${r.models.length} models × ${r.images.count} probe images (${esc(r.images.description)}) · generated ${esc(r.created)}${timing ? ` · ${timing}` : ''}</p>
<nav><a href="#recovery">Family recovery</a>${r.taxonomies.map((t, i) => `<a href="#${ids[i]}">${esc(t.name)}</a>`).join('')}${r.bank ? '<a href="#bank">Task bank</a>' : ''}<a href="#models">Models</a><a href="#files">Files</a><a href="#method">Method</a></nav>
<h2 id="recovery">Does the taxonomy recover the task families?</h2>
${recoveryTable(r.taxonomies, r.distinct, r.duplicates)}
<h3>Task families</h3>${famList}
${failed}
${r.taxonomies.map((t, i) => measureSection(t, ids[i], r.distinct?.[i])).join('\n')}
${r.bank ? bankSection(r.bank) : ''}
<h2 id="models">Models</h2>
${modelsTable(r.models, families)}
<h2 id="files">Files</h2>
<ul data-files>${r.files.map(fileItem).join('')}</ul>
<h2 id="method">Method</h2>
<p>Each model ran on every probe image with its own preprocessing (input size, resize mode, channel order and value range as
the code published with its weights uses). The default tap of each zoo model is its encoder output — the deepest feature map before the
task heads — average-pooled to 4×4 spatial bins (the manifest in <code>features/</code> records each model's layer, reduction and
preprocessing). Each similarity measure compares how two models arrange the same images (see the measure descriptions above). The task
tree is average-linkage clustering of d = 1 − similarity; the map is classical MDS of the same distances.</p>
</body></html>
`;
}
