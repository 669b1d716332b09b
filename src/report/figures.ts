/**
 * The report's figures as self-contained SVG strings (no scripts, no external fonts or links): the similarity
 * heatmap in tree order with the dendrogram beside it, the dendrogram alone, and the 2-D MDS map coloured by task
 * family. Every heatmap cell and point carries a <title> so values show on hover in a browser.
 * PNG versions are rasterised from the same SVG (sharp/librsvg) for papers.
 */
import sharp from 'sharp';
import type { TaxonomyResult } from './taxonomy.js';
import { anchorX, placeLabels as placeLabelBoxes, type LabelBox } from '../util/labelPlacement.js';

const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
/** Tableau 10: distinguishable, colour-blind-aware categorical colours. */
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac', '#1f77b4', '#8c564b'];
/** Viridis at 9 stops (perceptually uniform, monotone lightness). */
const VIRIDIS = ['#440154', '#472d7b', '#3b528b', '#2c728e', '#21918c', '#28ae80', '#5ec962', '#addc30', '#fde725'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function hex(c: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) as [number, number, number];
}

export function viridis(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = hex(VIRIDIS[i]);
  const b = hex(VIRIDIS[i + 1]);
  return `#${a
    .map((v, k) =>
      Math.round(v + f * (b[k] - v))
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`;
}

/** A colour per family, stable for a given family list (sorted). */
export function familyColors(families: string[]): Map<string, string> {
  return new Map([...new Set(families)].sort().map((f, i) => [f, PALETTE[i % PALETTE.length]]));
}

const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : 'NaN');
const px = (x: number) => Number(x.toFixed(2));

function svg(width: number, height: number, body: string, title: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${px(width)}" height="${px(height)}" viewBox="0 0 ${px(width)} ${px(height)}" font-family="${FONT}" role="img">` +
    `<title>${escapeXml(title)}</title><rect width="100%" height="100%" fill="#ffffff"/>${body}</svg>`
  );
}

/**
 * Elbow dendrogram lines for leaves placed at y(leafIndex in order), root on the left of [x0, x0 + width]. With
 * `support` and a bootstrapped taxonomy, each inner merge but the root is labelled with its split support in percent
 * (green from 95 %, amber below), left of its vertical line.
 */
function dendrogramPaths(t: TaxonomyResult, x0: number, width: number, yOf: (pos: number) => number, support = false): string {
  const n = t.similarity.rows.length;
  const pos = new Map<number, number>(t.order.map((leaf, i) => [leaf, i]));
  const maxH = Math.max(1e-12, ...t.dendrogram.merges.map((m) => m.distance));
  const x = (h: number) => x0 + width * (1 - h / maxH);
  const y = new Map<number, number>();
  const h = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    y.set(i, yOf(pos.get(i)!));
    h.set(i, 0);
  }
  const parts: string[] = [];
  const labels: string[] = [];
  const values = support ? t.bootstrap?.support : undefined;
  t.dendrogram.merges.forEach((m, k) => {
    const id = n + k;
    const ya = y.get(m.a)!;
    const yb = y.get(m.b)!;
    const xm = x(m.distance);
    parts.push(`M${px(x(h.get(m.a)!))},${px(ya)}H${px(xm)}V${px(yb)}H${px(x(h.get(m.b)!))}`);
    y.set(id, (ya + yb) / 2);
    h.set(id, m.distance);
    if (values && k < t.dendrogram.merges.length - 1) {
      const s = values[k];
      labels.push(
        `<text x="${px(xm - 2)}" y="${px((ya + yb) / 2 - 2)}" font-size="9" text-anchor="end" fill="${s >= 0.95 ? '#1b5e20' : '#b45309'}" data-support="${s}">${Math.round(100 * s)}` +
          `<title>${escapeXml(`split support ${(100 * s).toFixed(1)} %: share of bootstrap draws whose tree has exactly this cluster`)}</title></text>`,
      );
    }
  });
  return `<path d="${parts.join('')}" fill="none" stroke="#333" stroke-width="1"/>${labels.join('')}`;
}

export interface HeatmapOptions {
  cell?: number;
  dendrogram?: boolean;
  /** Colour these n×n values instead of the similarities (same order as the similarity matrix). */
  values?: Float64Array;
  /** The colour bar's label (default "similarity"); with `values`, also the figure's subject. */
  valueLabel?: string;
  /** A cell's hover text (default "row × column: value"). */
  tip?: (row: number, col: number) => string;
}

/** Similarity heatmap, rows and columns in dendrogram leaf order, with the tree on the left and a colour bar. */
export function heatmapSvg(t: TaxonomyResult, opts: HeatmapOptions = {}): string {
  const labels = t.similarity.rows;
  const n = labels.length;
  const cell = opts.cell ?? (n > 60 ? 9 : 13);
  const colors = familyColors(t.families);
  const labelW = 8 + 6.2 * Math.max(...labels.map((l) => l.length));
  const treeW = opts.dendrogram === false ? 0 : 150;
  const strip = 8;
  const left = 10 + treeW + labelW + strip + 4;
  const top = 40;
  const size = n * cell;
  const legendX = left + size + 24;
  const data = opts.values ?? t.similarity.matrix.data;
  const valueLabel = opts.valueLabel ?? 'similarity';
  const title = opts.values ? `${t.name} (${t.measure}): ${valueLabel}` : `${t.name} (${t.measure})`;
  // Wide enough for the colour bar's label and the title (a long measure id or value label must not be cut off).
  const width = Math.max(legendX + Math.max(90, textWidth(valueLabel, 10) + 8), left + textWidth(title, 14) + 10);
  const height = top + size + labelW + 10;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      lo = Math.min(lo, data[i * n + j]);
      hi = Math.max(hi, data[i * n + j]);
    }
  }
  if (!(hi > lo)) {
    lo = hi - 1;
    hi = hi || 1;
  }
  const scale = (v: number) => viridis((v - lo) / (hi - lo));
  const parts: string[] = [];
  parts.push(`<text x="${left}" y="22" font-size="14" font-weight="bold">${escapeXml(title)}</text>`);
  t.order.forEach((ri, r) => {
    const yy = top + r * cell;
    parts.push(
      `<rect x="${px(left - strip - 2)}" y="${yy}" width="${strip}" height="${cell}" fill="${colors.get(t.families[ri])}"><title>${escapeXml(`${labels[ri]}: ${t.families[ri]}`)}</title></rect>`,
      `<text x="${px(left - strip - 6)}" y="${px(yy + cell * 0.75)}" font-size="${Math.min(11, cell - 1)}" text-anchor="end">${escapeXml(labels[ri])}</text>`,
    );
    t.order.forEach((ci, c) => {
      const v = data[ri * n + ci];
      parts.push(
        `<rect x="${left + c * cell}" y="${yy}" width="${cell}" height="${cell}" fill="${ri === ci ? '#d9d9d9' : scale(v)}"><title>${escapeXml(opts.tip ? opts.tip(ri, ci) : `${labels[ri]} × ${labels[ci]}: ${fmt(v)}`)}</title></rect>`,
      );
    });
  });
  t.order.forEach((ci, c) => {
    const xx = left + c * cell + cell * 0.75;
    parts.push(`<text transform="translate(${px(xx)},${px(top + size + 6)}) rotate(90)" font-size="${Math.min(11, cell - 1)}">${escapeXml(labels[ci])}</text>`);
  });
  if (treeW) parts.push(dendrogramPaths(t, 10, treeW - 6, (pos) => top + pos * cell + cell / 2));
  // Colour bar.
  const barH = Math.min(size, 200);
  for (let k = 0; k < 50; k++) {
    parts.push(`<rect x="${legendX}" y="${px(top + barH - ((k + 1) * barH) / 50)}" width="14" height="${px(barH / 50 + 0.5)}" fill="${viridis(k / 49)}"/>`);
  }
  parts.push(
    `<text x="${legendX + 18}" y="${top + 8}" font-size="10">${fmt(hi, 2)}</text>`,
    `<text x="${legendX + 18}" y="${px(top + barH)}" font-size="10">${fmt(lo, 2)}</text>`,
    `<text x="${legendX}" y="${px(top + barH + 16)}" font-size="10">${escapeXml(valueLabel)}</text>`,
    `<text x="${legendX}" y="${px(top + barH + 28)}" font-size="10" fill="#666">(diagonal grey)</text>`,
  );
  return svg(width, height, parts.join(''), `${t.name} ${valueLabel} heatmap in dendrogram order`);
}

/**
 * The width of each cell's bootstrap interval (upper − lower) as a heatmap in tree order, each cell's hover text
 * giving the value and its interval; null when the taxonomy was not bootstrapped. Wide cells are the pairs whose
 * similarity depends most on which probe images were used.
 */
export function intervalHeatmapSvg(t: TaxonomyResult): string | null {
  const b = t.bootstrap;
  if (!b) return null;
  const n = t.similarity.rows.length;
  const width = b.upper.data.map((u, i) => u - b.lower.data[i]);
  const pct = Math.round(100 * b.level);
  const labels = t.similarity.rows;
  const sim = t.similarity.matrix.data;
  return heatmapSvg(t, {
    values: width,
    valueLabel: `${pct}% interval width`,
    tip: (i, j) => `${labels[i]} × ${labels[j]}: ${fmt(sim[i * n + j])}, ${pct}% interval [${fmt(b.lower.data[i * n + j])}, ${fmt(b.upper.data[i * n + j])}]`,
  });
}

/** Average-linkage dendrogram with leaf labels coloured by family and a height axis (d = 1 − similarity). */
export function dendrogramSvg(t: TaxonomyResult): string {
  const labels = t.similarity.rows;
  const n = labels.length;
  const row = 14;
  const colors = familyColors(t.families);
  const treeW = 420;
  const top = 36;
  const left = 20;
  const labelX = left + treeW + 8;
  const width = labelX + 10 + 6.4 * Math.max(...labels.map((l) => l.length)) + 130;
  const height = top + n * row + 40 + (t.bootstrap ? 14 : 0);
  const maxH = Math.max(1e-12, ...t.dendrogram.merges.map((m) => m.distance));
  const parts: string[] = [
    `<text x="${left}" y="20" font-size="14" font-weight="bold">${escapeXml(`Task tree — ${t.name}, average linkage on 1 − similarity`)}</text>`,
  ];
  if (t.bootstrap) {
    const r = t.bootstrap.resampling;
    parts.push(
      `<text x="${left}" y="${height - 8}" font-size="10" fill="#555">${escapeXml(
        `numbers: split support (%) over ${r.draws} bootstrap draws of ${r.size} images${r.replacement ? ' with replacement' : ''}`,
      )}</text>`,
    );
  }
  parts.push(dendrogramPaths(t, left, treeW, (pos) => top + pos * row + row / 2, true));
  t.order.forEach((li, r) => {
    const y = top + r * row + row / 2;
    parts.push(
      `<circle cx="${labelX + 4}" cy="${y}" r="4" fill="${colors.get(t.families[li])}"/>`,
      `<text x="${labelX + 12}" y="${y + 4}" font-size="11">${escapeXml(labels[li])}<tspan fill="#777">\u00a0· ${escapeXml(t.families[li])}</tspan></text>`,
    );
  });
  const axisY = top + n * row + 10;
  parts.push(`<path d="M${left},${axisY}H${left + treeW}" stroke="#333"/>`);
  for (let k = 0; k <= 4; k++) {
    const h = (maxH * k) / 4;
    const x = left + treeW * (1 - h / maxH);
    parts.push(`<path d="M${px(x)},${axisY}v4" stroke="#333"/><text x="${px(x)}" y="${axisY + 16}" font-size="10" text-anchor="middle">${fmt(h, 2)}</text>`);
  }
  return svg(width, height, parts.join(''), `${t.name} task tree`);
}

/** Classical MDS map of the models, coloured by family, with a legend. */
/** Approximate advance width of `text` at `fontSize` in DejaVu Sans (≈ 0.62 em per character, a little generous). */
export function textWidth(text: string, fontSize: number): number {
  return text.length * fontSize * TEXT_EM;
}
const TEXT_EM = 0.62;

/** The shared placement rule (util/labelPlacement.ts), with SVG text positions: x at the anchor, y the baseline. */
export function placeLabels(
  points: { x: number; y: number; label: string }[],
  opts: { fontSize: number; radius: number; bounds: LabelBox },
): ({ x: number; y: number; anchor: 'start' | 'middle' | 'end'; box: LabelBox } | null)[] {
  return placeLabelBoxes(points, { ...opts, charWidth: TEXT_EM }).map((p) =>
    p ? { x: anchorX(p), y: p.box.y + p.box.h - 3, anchor: p.anchor, box: p.box } : null,
  );
}

export function mdsSvg(t: TaxonomyResult): string {
  const labels = t.similarity.rows;
  const n = labels.length;
  const colors = familyColors(t.families);
  const W = 640;
  const H = 520;
  const pad = 40;
  const legendW = 260;
  // Point labels may run up to ~110 px right of the plot area: keep the legend clear of them.
  const legendX = W + 110;
  const xs = Array.from({ length: n }, (_, i) => t.mds.coords.data[2 * i]);
  const ys = Array.from({ length: n }, (_, i) => t.mds.coords.data[2 * i + 1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const span = Math.max(x1 - x0, y1 - y0, 1e-12);
  // Same scale on both axes so distances on the map mean the same in every direction.
  const sx = (v: number) => pad + ((v - x0) / span) * (W - 2 * pad);
  const sy = (v: number) => H - pad - ((v - y0) / span) * (H - 2 * pad);
  const points = labels.map((label, i) => ({ x: sx(xs[i]), y: sy(ys[i]), label }));
  // Labels that would overlap another label or a point are left out; every point keeps its name on hover.
  const spots = placeLabels(points, { fontSize: 9, radius: 5.5, bounds: { x: 2, y: 30, w: legendX - 12, h: H - 50 } });
  const hidden = spots.filter((s) => s === null).length;
  const parts: string[] = [
    `<text x="${pad}" y="22" font-size="14" font-weight="bold">${escapeXml(`MDS map — ${t.name}`)}</text>`,
    `<text x="${pad}" y="${H - 8}" font-size="10" fill="#555">${escapeXml(`dimension 1 (${(100 * t.mds.explained[0]).toFixed(0)}% of positive eigenvalues), dimension 2 (${(100 * (t.mds.explained[1] ?? 0)).toFixed(0)}%)`)}</text>`,
  ];
  if (hidden > 0)
    parts.push(
      `<text x="${legendX - 8}" y="${H - 24}" font-size="10" fill="#555">${hidden} label${hidden === 1 ? '' : 's'} left out (overlap):</text>`,
      `<text x="${legendX - 8}" y="${H - 10}" font-size="10" fill="#555">hover a point for its model</text>`,
    );
  for (let i = 0; i < n; i++) {
    parts.push(
      `<circle cx="${px(points[i].x)}" cy="${px(points[i].y)}" r="5.5" fill="${colors.get(t.families[i])}" stroke="#222" stroke-width="0.6"><title>${escapeXml(`${labels[i]} (${t.families[i]})`)}</title></circle>`,
    );
  }
  spots.forEach((s, i) => {
    if (s)
      parts.push(
        `<text x="${px(s.x)}" y="${px(s.y)}" text-anchor="${s.anchor}" font-size="9" fill="#333" data-label="${escapeXml(labels[i])}">${escapeXml(labels[i])}</text>`,
      );
  });
  [...colors].forEach(([f, c], k) => {
    const y = 50 + k * 18;
    parts.push(
      `<circle cx="${legendX}" cy="${y}" r="5.5" fill="${c}" stroke="#222" stroke-width="0.6"/><text x="${legendX + 12}" y="${y + 4}" font-size="11">${escapeXml(f)}</text>`,
    );
  });
  return svg(W + legendW, H, parts.join(''), `${t.name} MDS map`);
}

/** PNG from an SVG string (librsvg via sharp), at `density` dpi (96 = 1:1). */
export async function svgToPng(svgText: string, density = 144): Promise<Buffer> {
  return sharp(Buffer.from(svgText), { density }).png().toBuffer();
}

/** An SVG string for inline use in HTML (the XML namespace is implied there). */
export function inlineSvg(svgText: string): string {
  return svgText.replace(' xmlns="http://www.w3.org/2000/svg"', '');
}

/** One bar of intervalBarsSvg: a value (null: not drawn) and its interval. */
export interface IntervalBar {
  label: string;
  value: number | null;
  ci: [number, number] | null;
  /** Bar colour (default: blue for ≥ 0, red below). */
  color?: string;
}

/** Horizontal bars from 0 on a fixed range (default −1…1, correlations), each with its interval as a whisker. */
export function intervalBarsSvg(title: string, rows: IntervalBar[], opts: { min?: number; max?: number; ticks?: number[] } = {}): string {
  const min = opts.min ?? -1;
  const max = opts.max ?? 1;
  const ticks = opts.ticks ?? [-1, -0.5, 0, 0.5, 1];
  const ok = rows.filter((r) => r.value !== null);
  const label = 8 + 6.5 * Math.max(10, ...ok.map((r) => r.label.length));
  const barW = 360;
  const rowH = 15;
  const top = 40;
  const height = top + rowH * ok.length + 30;
  const width = Math.max(label + barW + 60, 8 + 7.2 * title.length);
  const x = (v: number) => label + ((Math.min(max, Math.max(min, v)) - min) / (max - min)) * barW;
  const zero = x(Math.min(max, Math.max(min, 0)));
  const parts: string[] = [`<text x="8" y="16" font-size="13" font-weight="bold">${escapeXml(title)}</text>`];
  for (const v of ticks) {
    parts.push(`<line x1="${x(v)}" x2="${x(v)}" y1="${top - 6}" y2="${top + rowH * ok.length}" stroke="${v === 0 ? '#444' : '#ccc'}"/>`);
    parts.push(`<text x="${x(v)}" y="${top - 10}" font-size="10" text-anchor="middle">${v}</text>`);
  }
  ok.forEach((r, i) => {
    const m = r.value!;
    const c = r.ci;
    const y = top + i * rowH;
    parts.push(`<text x="${label - 4}" y="${y + rowH * 0.75}" font-size="10" text-anchor="end">${escapeXml(r.label)}</text>`);
    const tip = `${r.label}: ${m.toFixed(3)} ${c ? `[${c[0].toFixed(3)}, ${c[1].toFixed(3)}]` : ''}`;
    parts.push(
      `<rect x="${Math.min(zero, x(m))}" y="${y + 2}" width="${Math.abs(x(m) - zero)}" height="${rowH - 4}" fill="${r.color ?? (m >= 0 ? '#4e79a7' : '#e15759')}"><title>${escapeXml(tip)}</title></rect>`,
    );
    if (c) parts.push(`<line x1="${x(c[0])}" x2="${x(c[1])}" y1="${y + rowH / 2}" y2="${y + rowH / 2}" stroke="#000" stroke-width="1.2"/>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" role="img"><title>${escapeXml(title)}</title><rect width="100%" height="100%" fill="#ffffff"/>${parts.join('')}</svg>`;
}
