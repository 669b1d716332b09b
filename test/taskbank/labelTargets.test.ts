import { describe, expect, it } from 'vitest';
import { hasLabelScore, labelledIndices, labelScoreTarget, subsetSamples } from '../../src/taskbank/labelTargets.js';
import type { TaskData } from '../../src/taskbank/taskData.js';
import { taskDefinition } from '../../src/taskbank/tasks.js';

/** n samples of a task at side r whose target value is f(i, y, x, c) (and a mask, when given). */
function samples(
  task: string,
  r: number,
  n: number,
  f: (i: number, y: number, x: number, c: number) => number,
  mask?: (y: number, x: number) => number,
): TaskData {
  const shape = taskDefinition(task).targetShape(r);
  const [h, w, ch] = shape.length === 1 ? [1, 1, shape[0]] : shape;
  const targets = new Float32Array(n * h * w * ch);
  for (let i = 0; i < n; i++)
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < ch; c++) targets[((i * h + y) * w + x) * ch + c] = f(i, y, x, c);
  const m = mask ? Float32Array.from({ length: n * r * r }, (_, k) => mask(Math.floor((k % (r * r)) / r), k % r)) : undefined;
  return { n, inputs: new Float32Array(n * r * r * 3), targets, ...(m ? { mask: m } : {}), targetShape: shape };
}

describe('labelScoreTarget', () => {
  it('averages a map over the encoder’s 8-px cells: a ramp’s cell means by hand', () => {
    // 16-px autoencoding target, channel 0 = row index, channel 1 = 10 × image index, channel 2 = column index.
    const data = samples('autoencoding', 16, 2, (i, y, x, c) => (c === 0 ? y : c === 1 ? 10 * i : x));
    const t = labelScoreTarget(taskDefinition('autoencoding'), data, 16)!;
    expect(t.kind).toBe('regression');
    if (t.kind !== 'regression') return;
    expect([t.values.rows, t.values.cols]).toEqual([2, 2 * 2 * 3]);
    // Cell (row, column) of image 1: rows 0–7 average 3.5, rows 8–15 average 11.5; likewise the columns.
    const cell = (i: number, gy: number, gx: number) => Array.from(t.values.data.subarray(i * 12 + (gy * 2 + gx) * 3, i * 12 + (gy * 2 + gx) * 3 + 3));
    expect(cell(1, 0, 0)).toEqual([3.5, 10, 3.5]);
    expect(cell(1, 1, 0)).toEqual([11.5, 10, 3.5]);
    expect(cell(0, 0, 1)).toEqual([3.5, 0, 11.5]);
  });

  it('keeps what a masked loss sees (the hole), and pools a coarser map (16×16 at 64 px) by its own factor', () => {
    // Inpainting at 16 px: every target pixel 1, the hole the top-left 4×4 — cell (0, 0) holds 16 of its 64 pixels.
    const hole = samples(
      'inpainting',
      16,
      1,
      () => 1,
      (y, x) => (y < 4 && x < 4 ? 1 : 0),
    );
    const t = labelScoreTarget(taskDefinition('inpainting'), hole, 16)!;
    if (t.kind !== 'regression') throw new Error('expected a regression');
    expect(Array.from(t.values.data)).toEqual([0.25, 0.25, 0.25, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const { mask: _m, ...unmasked } = hole;
    expect(() => labelScoreTarget(taskDefinition('inpainting'), unmasked, 16)).toThrow(/masked target needs its R×R mask/);
    // The face heat-map is 16×16 at 64 px: an 8×8 grid of 2×2 cells.
    const face = samples('face-heatmap', 64, 1, (_i, y, x) => (y % 2 === 0 && x % 2 === 0 ? 1 : 0));
    const ft = labelScoreTarget(taskDefinition('face-heatmap'), face, 64)!;
    if (ft.kind !== 'regression') throw new Error('expected a regression');
    expect(ft.values.cols).toBe(64);
    expect(new Set(ft.values.data)).toEqual(new Set([0.25]));
  });

  it('turns one-hot classes into codes, keeps a soft distribution as a regression, and gives segmentation none', () => {
    const rot = samples('rotation', 16, 3, (i, _y, _x, c) => (c === [2, 0, 3][i] ? 1 : 0));
    const t = labelScoreTarget(taskDefinition('rotation'), rot, 16)!;
    expect(t.kind).toBe('class');
    if (t.kind === 'class') expect(Array.from(t.codes).map((k) => t.classes[k])).toEqual(['2', '0', '3']);
    const soft = samples('content-class', 16, 2, (i, _y, _x, c) => (c === i ? 0.6 : 0.1));
    const st = labelScoreTarget(taskDefinition('content-class'), soft, 16)!;
    expect(st.kind).toBe('regression');
    if (st.kind === 'regression') expect(Array.from(st.values.data)).toEqual(Array.from(soft.targets));
    expect(hasLabelScore(taskDefinition('segmentation'))).toBe(false);
    expect(
      labelScoreTarget(
        taskDefinition('segmentation'),
        samples('segmentation', 16, 1, () => 0),
        16,
      ),
    ).toBeUndefined();
    expect(['autoencoding', 'rotation', 'person-mask', 'content-class'].every((t) => hasLabelScore(taskDefinition(t)))).toBe(true);
  });
});

describe('labelledIndices and subsetSamples', () => {
  it('spread n of the total evenly (all of them when n ≥ total) and copy exactly those rows', () => {
    expect(labelledIndices(10, 4)).toEqual([0, 2, 5, 7]);
    expect(labelledIndices(3, 5)).toEqual([0, 1, 2]);
    expect(() => labelledIndices(10, 0)).toThrow(/positive whole number/);
    const data = samples('autoencoding', 16, 3, (i) => i);
    const sub = subsetSamples(data, [2, 0], 16);
    expect(sub.n).toBe(2);
    expect(sub.targets[0]).toBe(2);
    expect(sub.targets[16 * 16 * 3]).toBe(0);
    expect(() => subsetSamples(data, [3], 16)).toThrow(/outside 0…2/);
  });
});
