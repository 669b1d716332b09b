/** Vega-Lite specifications of the UI's charts (pure functions of API payloads). */
import type { TopLevelSpec } from 'vega-lite';
import type { LabelledMatrixJson, RankEntry, SweepRow } from './types.js';
import { anchorX, placeLabels as placeLabelBoxes, type LabelBox } from '../../src/util/labelPlacement.js';

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif';

const CONFIG = {
  view: { stroke: null },
  font: FONT,
  axis: { labelFontSize: 11, titleFontSize: 12, labelLimit: 220 },
  legend: { labelFontSize: 11, titleFontSize: 12, titleLimit: 260 },
} as const;

/** Smallest distance between two axis labels, px: closer labels are thinned to every k-th. */
export const MIN_LABEL_PITCH = 10;

/**
 * Which labels of an axis with `n` bands of `cell` px to show: every k-th, k the smallest step that keeps labels
 * MIN_LABEL_PITCH apart, and a font that fits that pitch (8–11 px).
 */
export function labelDensity(n: number, cell: number): { every: number; fontSize: number } {
  const every = Math.max(1, Math.ceil(MIN_LABEL_PITCH / Math.max(cell, 1e-9)));
  return { every: Math.min(every, Math.max(1, n)), fontSize: Math.max(8, Math.min(11, Math.floor(cell * every) - 2)) };
}

/**
 * A labelled matrix as a heatmap, rows and columns in the given orders (e.g. the dendrogram's leaf order), with
 * the value in the tooltip. Cells are sized so that a 30×30 matrix fits beside a second one, times `zoom`. On
 * dense matrices (a whole zoo) the axes show every k-th label (labelDensity); `highlight` outlines one model's row
 * and column, dims the rest and always shows and emphasises its labels.
 */
export function heatmapSpec(
  m: LabelledMatrixJson,
  opts: {
    rowOrder?: string[];
    colOrder?: string[];
    valueTitle: string;
    rowTitle?: string;
    colTitle?: string;
    scheme?: string;
    domain?: [number, number];
    /** 'log' spreads the colours of skewed positive values (AHP affinities: `self` takes most of each column's mass). */
    scaleType?: 'linear' | 'log';
    /** Legend under the chart: narrower, for two heatmaps side by side. */
    legendBelow?: boolean;
    /** Cell size factor (1 = fit beside a second heatmap). */
    zoom?: number;
    /** A row/column label to emphasise. */
    highlight?: string | null;
  },
): TopLevelSpec {
  const values: { row: string; col: string; value: number | null }[] = [];
  m.rows.forEach((row, i) => m.cols.forEach((col, j) => values.push({ row, col, value: m.matrix[i][j] })));
  const fit = Math.max(6, Math.min(24, Math.floor((opts.legendBelow ? 340 : 380) / Math.max(m.rows.length, m.cols.length))));
  const cell = Math.round(fit * Math.max(1, opts.zoom ?? 1));
  const rowOrder = opts.rowOrder ?? m.rows;
  const colOrder = opts.colOrder ?? m.cols;
  const h = opts.highlight && (m.rows.includes(opts.highlight) || m.cols.includes(opts.highlight)) ? opts.highlight : null;
  // Legible labels on dense matrices: every k-th one (and the highlighted one), in a font that fits the pitch.
  const density = labelDensity(Math.max(m.rows.length, m.cols.length), cell);
  const shown = (order: string[]) => (density.every === 1 ? undefined : order.filter((l, i) => i % density.every === 0 || l === h));
  const isH = h === null ? '' : `datum.value === ${JSON.stringify(h)}`;
  const labelStyle =
    h === null
      ? {}
      : {
          labelColor: { condition: { test: isH, value: '#c2410c' }, value: '#333' },
          labelFontWeight: { condition: { test: isH, value: 'bold' }, value: 'normal' },
        };
  const axis = (order: string[], extra: Record<string, unknown>) => ({
    labelFontSize: density.fontSize,
    ...(shown(order) ? { values: shown(order) } : {}),
    ...labelStyle,
    ...extra,
  });
  const inH = h === null ? '' : `datum.row === ${JSON.stringify(h)} || datum.col === ${JSON.stringify(h)}`;
  const emphasis =
    h === null
      ? {}
      : {
          opacity: { condition: { test: inH, value: 1 }, value: 0.3 },
          stroke: { condition: { test: inH, value: '#c2410c' }, value: null },
          strokeWidth: { condition: { test: inH, value: Math.max(0.5, Math.min(1.5, cell / 8)) }, value: 0 },
        };
  return {
    data: { values },
    width: cell * m.cols.length,
    height: cell * m.rows.length,
    transform: [{ filter: 'datum.value !== null' }],
    mark: { type: 'rect', tooltip: true },
    encoding: {
      x: { field: 'col', type: 'nominal', sort: colOrder, axis: axis(colOrder, { title: opts.colTitle ?? null, labelAngle: -50 }) },
      y: { field: 'row', type: 'nominal', sort: rowOrder, axis: axis(rowOrder, { title: opts.rowTitle ?? null }) },
      ...emphasis,
      color: {
        field: 'value',
        type: 'quantitative',
        title: opts.valueTitle,
        scale: { scheme: opts.scheme ?? 'viridis', type: opts.scaleType ?? 'linear', ...(opts.domain ? { domain: opts.domain } : {}) },
        ...(opts.legendBelow ? { legend: { orient: 'bottom', direction: 'horizontal', gradientLength: 220 } } : {}),
      },
      tooltip: [
        { field: 'row', type: 'nominal', title: opts.rowTitle ?? 'row' },
        { field: 'col', type: 'nominal', title: opts.colTitle ?? 'column' },
        { field: 'value', type: 'quantitative', title: opts.valueTitle, format: '.4f' },
      ],
    },
    config: CONFIG,
  } as TopLevelSpec;
}

/** The report's placement rule (src/util/labelPlacement.ts) in chart pixels, positions as Vega text marks want them. */
export function placeLabels(
  points: { x: number; y: number; label: string }[],
  opts: { fontSize: number; radius: number; bounds: LabelBox },
): ({ x: number; y: number; align: 'left' | 'center' | 'right' } | null)[] {
  const align = { start: 'left', middle: 'center', end: 'right' } as const;
  return placeLabelBoxes(points, { ...opts, charWidth: 0.6 }).map((p) => (p ? { x: anchorX(p), y: p.box.y + p.box.h / 2, align: align[p.anchor] } : null));
}

/**
 * 2-D classical MDS map, points coloured by task family (or by cluster when families are unknown). Point labels
 * are placed without overlap (placeLabels on the chart's own pixel scale); the others show on hover.
 */
export function mdsSpec(coords: Record<string, number[]>, colour: Record<string, string>, colourTitle: string, explained: number[]): TopLevelSpec {
  const values = Object.entries(coords).map(([label, c]) => ({ label, x: c[0] ?? 0, y: c[1] ?? 0, group: colour[label] ?? '–' }));
  const pct = (k: number) => (explained[k] !== undefined ? ` (${(100 * explained[k]).toFixed(0)} %)` : '');
  const [W, H, PAD] = [380, 320, 20];
  // The x/y scales below: data extent (zero: false, nice: false) mapped onto [PAD, size − PAD].
  const ext = (k: 'x' | 'y') => {
    const v = values.map((d) => d[k]);
    const [lo, hi] = [Math.min(...v), Math.max(...v)];
    return [lo, hi > lo ? hi - lo : 1] as const;
  };
  const [x0, xs] = ext('x');
  const [y0, ys] = ext('y');
  const px = (x: number) => PAD + ((x - x0) / xs) * (W - 2 * PAD);
  const py = (y: number) => H - PAD - ((y - y0) / ys) * (H - 2 * PAD);
  const spots = placeLabels(
    values.map((d) => ({ x: px(d.x), y: py(d.y), label: d.label })),
    { fontSize: 10, radius: 5, bounds: { x: 0, y: 0, w: W + 60, h: H } },
  );
  // Label anchors back in data units, so they follow the same scales as the points.
  const labels = values.flatMap((d, i) => {
    const s = spots[i];
    return s ? [{ label: d.label, lx: x0 + ((s.x - PAD) / (W - 2 * PAD)) * xs, ly: y0 + ((H - PAD - s.y) / (H - 2 * PAD)) * ys, align: s.align }] : [];
  });
  // Fixed domains: the label layers must not widen the scales the placement was computed on.
  const xScale = { zero: false, nice: false, padding: PAD, domain: [x0, x0 + xs] };
  const yScale = { zero: false, nice: false, padding: PAD, domain: [y0, y0 + ys] };
  return {
    width: W,
    height: H,
    layer: [
      {
        data: { values },
        mark: { type: 'point', filled: true, size: 90, tooltip: true },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: `MDS 1${pct(0)}`, scale: xScale },
          y: { field: 'y', type: 'quantitative', title: `MDS 2${pct(1)}`, scale: yScale },
          // Legend below: point labels near the right edge would run into a legend beside the plot.
          color: { field: 'group', type: 'nominal', title: colourTitle, scale: { scheme: 'tableau10' }, legend: { orient: 'bottom', columns: 4 } },
          tooltip: [
            { field: 'label', title: 'model' },
            { field: 'group', title: colourTitle },
            { field: 'x', format: '.3f' },
            { field: 'y', format: '.3f' },
          ],
        },
      },
      ...(['left', 'center', 'right'] as const).map((align) => ({
        data: { values: labels.filter((l) => l.align === align) },
        mark: { type: 'text', align, baseline: 'middle', fontSize: 10, color: '#333' },
        encoding: { x: { field: 'lx', type: 'quantitative' }, y: { field: 'ly', type: 'quantitative' }, text: { field: 'label' } },
      })),
    ],
    config: CONFIG,
  } as TopLevelSpec;
}

/** Sources ranked by similarity to a target: score on all images, bootstrap mean and 95 % interval. */
export function rankingSpec(ranking: RankEntry[], measure: string): TopLevelSpec {
  const values = ranking.map((r) => ({ ...r, lo: r.ci95?.[0] ?? null, hi: r.ci95?.[1] ?? null }));
  const order = ranking.map((r) => r.label);
  const y = { field: 'label', type: 'nominal', sort: order, title: null } as const;
  const tooltip = [
    { field: 'rank', title: 'rank' },
    { field: 'label', title: 'source' },
    { field: 'score', format: '.4f', title: 'score (all images)' },
    { field: 'mean', format: '.4f', title: 'bootstrap mean' },
    { field: 'lo', format: '.4f', title: 'CI 2.5 %' },
    { field: 'hi', format: '.4f', title: 'CI 97.5 %' },
    { field: 'pBest', format: '.2f', title: 'P(best)' },
  ];
  return {
    data: { values },
    width: 360,
    height: Math.max(60, 18 * ranking.length),
    layer: [
      {
        transform: [{ filter: 'datum.lo !== null' }],
        mark: { type: 'rule', strokeWidth: 2, color: '#9aa5b1' },
        encoding: { y, x: { field: 'lo', type: 'quantitative', title: measure, scale: { zero: false } }, x2: { field: 'hi' }, tooltip },
      },
      {
        mark: { type: 'point', filled: true, size: 60, color: '#2f6fad', tooltip: true },
        encoding: { y, x: { field: 'score', type: 'quantitative', title: measure, scale: { zero: false } }, tooltip },
      },
    ],
    config: CONFIG,
  } as TopLevelSpec;
}

/**
 * The null distribution of a permutation test (the value under each shuffle) as a histogram, with the observed value
 * as a red rule: p is the share of shuffles on its far side (≥ for a similarity, ≤ for a distance), counted + 1.
 */
export function permutationSpec(nullValues: number[], observed: number, measure: string): TopLevelSpec {
  const x = { field: 'value', type: 'quantitative', title: measure } as const;
  return {
    width: 360,
    height: 160,
    layer: [
      {
        data: { values: nullValues.map((value) => ({ value })) },
        mark: { type: 'bar', color: '#9aa5b1', tooltip: true },
        encoding: {
          x: { ...x, bin: { maxbins: 30, extent: [Math.min(observed, ...nullValues), Math.max(observed, ...nullValues)] } },
          y: { aggregate: 'count', type: 'quantitative', title: 'shuffles' },
        },
      },
      {
        data: { values: [{ value: observed }] },
        mark: { type: 'rule', color: '#c0392b', strokeWidth: 2 },
        encoding: { x, tooltip: [{ field: 'value', format: '.4f', title: 'observed' }] },
      },
    ],
    config: CONFIG,
  } as TopLevelSpec;
}

/** Objective, mean Gain and mean Quality of the optimal policy against the labelling budget. */
export function sweepSpec(rows: SweepRow[], objective: string): TopLevelSpec {
  const values = rows.flatMap((r) =>
    (
      [
        [`objective (${objective})`, r.objective],
        ['mean Gain', r.meanGain],
        ['mean Quality', r.meanQuality],
      ] as const
    )
      .filter(([, v]) => v !== null)
      .map(([series, value]) => ({ budget: r.budget, series, value, status: r.status, supervised: r.supervised.join(', ') })),
  );
  const enc = {
    x: { field: 'budget', type: 'quantitative', title: 'labelling budget', axis: { tickMinStep: 1 } },
    y: { field: 'value', type: 'quantitative', title: null },
    color: { field: 'series', type: 'nominal', title: null, scale: { scheme: 'tableau10' } },
  } as const;
  return {
    data: { values },
    width: 420,
    height: 260,
    layer: [
      { mark: { type: 'line' }, encoding: enc },
      {
        mark: { type: 'point', filled: true, size: 50, tooltip: true },
        encoding: {
          ...enc,
          tooltip: [
            { field: 'budget', title: 'budget' },
            { field: 'series', title: 'series' },
            { field: 'value', format: '.4f', title: 'value' },
            { field: 'status', title: 'status' },
            { field: 'supervised', title: 'labelled' },
          ],
        },
      },
    ],
    config: CONFIG,
  } as TopLevelSpec;
}
