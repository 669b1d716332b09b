/**
 * Greedy label placement for scatter plots, shared by the report's MDS figure (SVG) and the web UI's MDS chart:
 * one rule, so the two maps label the same points. Pure arithmetic on pixel boxes (no DOM, no Node).
 */

/** An axis-aligned box in pixels (x, y: top left). */
export interface LabelBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface PlacedLabel {
  /** The label's box; its text is drawn from `anchor` (start = left edge, middle, end = right edge). */
  box: LabelBox;
  anchor: 'start' | 'middle' | 'end';
}

export const boxesOverlap = (a: LabelBox, b: LabelBox): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/**
 * Each point's label goes to the first of eight positions around it (right, left, above, below, then the
 * diagonals) where it overlaps no label placed before it and no point and stays inside `bounds`; a label with no
 * free position is left out (null) and its point keeps its hover title. Points are labelled in order of how
 * isolated they are, so crowded clusters lose labels rather than pushing out lone points. Text width is estimated
 * as `charWidth` em per character (no font metrics in either place that draws).
 */
export function placeLabels(
  points: { x: number; y: number; label: string }[],
  opts: { fontSize: number; radius: number; bounds: LabelBox; charWidth: number },
): (PlacedLabel | null)[] {
  const { fontSize: fs, radius: r, bounds, charWidth } = opts;
  const h = fs + 2;
  const gap = r + 2;
  const pointBoxes = points.map((p) => ({ x: p.x - r, y: p.y - r, w: 2 * r, h: 2 * r }));
  const nearest = points.map((p, i) => Math.min(Infinity, ...points.filter((_, j) => j !== i).map((q) => Math.hypot(p.x - q.x, p.y - q.y))));
  const order = points.map((_, i) => i).sort((a, b) => nearest[b] - nearest[a] || a - b);
  const placed: LabelBox[] = [];
  const out: (PlacedLabel | null)[] = points.map(() => null);
  const inside = (b: LabelBox) => b.x >= bounds.x && b.y >= bounds.y && b.x + b.w <= bounds.x + bounds.w && b.y + b.h <= bounds.y + bounds.h;
  for (const i of order) {
    const p = points[i];
    const w = p.label.length * fs * charWidth;
    const candidates: [number, number, PlacedLabel['anchor']][] = [
      [p.x + gap, p.y - h / 2, 'start'],
      [p.x - gap - w, p.y - h / 2, 'end'],
      [p.x - w / 2, p.y - gap - h, 'middle'],
      [p.x - w / 2, p.y + gap, 'middle'],
      [p.x + gap * 0.7, p.y - gap * 0.7 - h, 'start'],
      [p.x + gap * 0.7, p.y + gap * 0.7, 'start'],
      [p.x - gap * 0.7 - w, p.y - gap * 0.7 - h, 'end'],
      [p.x - gap * 0.7 - w, p.y + gap * 0.7, 'end'],
    ];
    for (const [bx, by, anchor] of candidates) {
      const box = { x: bx, y: by, w, h };
      if (!inside(box) || placed.some((b) => boxesOverlap(b, box)) || pointBoxes.some((b) => boxesOverlap(b, box))) continue;
      placed.push(box);
      out[i] = { box, anchor };
      break;
    }
  }
  return out;
}

/** The x at which text drawn from `anchor` starts, is centred or ends, for a placed label. */
export function anchorX(p: PlacedLabel): number {
  return p.anchor === 'start' ? p.box.x : p.anchor === 'end' ? p.box.x + p.box.w : p.box.x + p.box.w / 2;
}
