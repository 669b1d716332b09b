import { describe, expect, it } from 'vitest';
import { pairSimilarity } from '../../src/measures/similarity.js';
import { featureRepresentation, hasLabelScore, labelledIndices, labelRepresentation, labelScoreInput, subsetSamples } from '../../src/taskbank/labelTargets.js';
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

/** Features n × g × g × c whose value is f(i, cy, cx, k). */
function grid(n: number, g: number, c: number, f: (i: number, cy: number, cx: number, k: number) => number): Float32Array {
  return Float32Array.from({ length: n * g * g * c }, (_, q) => {
    const k = q % c;
    const cell = Math.floor(q / c);
    return f(Math.floor(cell / (g * g)), Math.floor((cell % (g * g)) / g), cell % g, k);
  });
}

describe('labelScoreInput', () => {
  it('reads a map per feature cell: each cell’s features against its 8×8 block of the target, by hand', () => {
    // 16 px: a 2×2 grid. Target channel 0 = row, 1 = 10 × image, 2 = column; features (image, cell row, cell column).
    const data = samples('autoencoding', 16, 2, (i, y, x, c) => (c === 0 ? y : c === 1 ? 10 * i : x));
    const input = labelScoreInput(
      taskDefinition('autoencoding'),
      data,
      grid(2, 2, 3, (i, cy, cx, k) => [i, cy, cx][k]),
      [2, 2, 3],
      16,
    )!;
    expect([input.features!.rows, input.features!.cols]).toEqual([8, 3]);
    const t = input.target;
    if (t.kind !== 'regression') throw new Error('expected a regression');
    expect([t.values.rows, t.values.cols]).toEqual([8, 8 * 8 * 3]);
    // Row 7 is image 1, cell (1, 1): features [1, 1, 1]; block pixel (dy, dx) = target pixel (8 + dy, 8 + dx).
    expect(Array.from(input.features!.data.subarray(21, 24))).toEqual([1, 1, 1]);
    const at = (row: number, dy: number, dx: number) => Array.from(t.values.data.subarray(row * 192 + (dy * 8 + dx) * 3, row * 192 + (dy * 8 + dx) * 3 + 3));
    expect(at(7, 2, 5)).toEqual([10, 10, 13]);
    expect(at(1, 0, 0)).toEqual([0, 0, 8]); // image 0, cell (0, 1)
  });

  it('keeps only the cells a masked target’s hole touches, and blocks a coarser map by its own factor', () => {
    // Inpainting at 16 px, every target pixel 1, the hole the top-left 4×4: one cell, a quarter of its block lit.
    const hole = samples(
      'inpainting',
      16,
      1,
      () => 1,
      (y, x) => (y < 4 && x < 4 ? 1 : 0),
    );
    const input = labelScoreInput(
      taskDefinition('inpainting'),
      hole,
      grid(1, 2, 2, (_i, cy, cx, k) => 10 * cy + cx + k),
      [2, 2, 2],
      16,
    )!;
    expect(Array.from(input.features!.data)).toEqual([0, 1]);
    if (input.target.kind !== 'regression') throw new Error('expected a regression');
    const block = Array.from(input.target.values.data);
    expect(block.filter((v) => v === 1)).toHaveLength(16 * 3);
    expect(block.slice(0, 3)).toEqual([1, 1, 1]);
    expect(block.slice((4 * 8 + 4) * 3, (4 * 8 + 4) * 3 + 3)).toEqual([0, 0, 0]);
    const { mask: _m, ...unmasked } = hole;
    expect(() =>
      labelScoreInput(
        taskDefinition('inpainting'),
        unmasked,
        grid(1, 2, 2, () => 0),
        [2, 2, 2],
        16,
      ),
    ).toThrow(/masked target needs its R×R mask/);
    // The face heat-map is 16×16 at 64 px: an 8×8 grid of 2×2 blocks.
    const face = samples('face-heatmap', 64, 1, (_i, y, x) => y * 16 + x);
    const f = labelScoreInput(
      taskDefinition('face-heatmap'),
      face,
      grid(1, 8, 1, () => 0),
      [8, 8, 1],
      64,
    )!;
    if (f.target.kind !== 'regression') throw new Error('expected a regression');
    expect([f.target.values.rows, f.target.values.cols]).toEqual([64, 4]);
    expect(Array.from(f.target.values.data.subarray(9 * 4, 10 * 4))).toEqual([2 * 16 + 2, 2 * 16 + 3, 3 * 16 + 2, 3 * 16 + 3]); // cell (1, 1)
    expect(() =>
      labelScoreInput(
        taskDefinition('face-heatmap'),
        face,
        grid(1, 8, 1, () => 0),
        [8, 8, 2],
        64,
      ),
    ).toThrow(/need 128 feature values/);
  });

  it('reads a vector target on all the features: one-hot classes as codes, a soft distribution as a regression; segmentation none', () => {
    const features = grid(3, 2, 1, (i, cy, cx) => i + cy + cx);
    const rot = samples('rotation', 16, 3, (i, _y, _x, c) => (c === [2, 0, 3][i] ? 1 : 0));
    const r = labelScoreInput(taskDefinition('rotation'), rot, features, [2, 2, 1], 16)!;
    expect([r.features!.rows, r.features!.cols]).toEqual([3, 4]);
    expect(Array.from(r.features!.data.subarray(4, 8))).toEqual([1, 2, 2, 3]);
    const t = r.target;
    expect(t.kind).toBe('class');
    if (t.kind === 'class') expect(Array.from(t.codes).map((k) => t.classes[k])).toEqual(['2', '0', '3']);
    const soft = samples('content-class', 16, 3, (i, _y, _x, c) => (c === i ? 0.6 : 0.1));
    const st = labelScoreInput(taskDefinition('content-class'), soft, features, [2, 2, 1], 16)!.target;
    expect(st.kind).toBe('regression');
    if (st.kind === 'regression') expect(Array.from(st.values.data)).toEqual(Array.from(soft.targets));
    expect(hasLabelScore(taskDefinition('segmentation'))).toBe(false);
    expect(
      labelScoreInput(
        taskDefinition('segmentation'),
        samples('segmentation', 16, 1, () => 0),
        grid(1, 2, 1, () => 0),
        [2, 2, 1],
        16,
      ),
    ).toBeUndefined();
    expect(['autoencoding', 'rotation', 'person-mask', 'content-class'].every((x) => hasLabelScore(taskDefinition(x)))).toBe(true);
  });
});

describe('labelRepresentation', () => {
  it('is each image’s whole target flattened: masked pixels at 0, classes one-hot; segmentation none', () => {
    const hole = samples(
      'inpainting',
      8,
      2,
      (i, y, x, c) => 100 * i + 10 * y + x + c / 10,
      (y, x) => (y < 2 && x < 3 ? 1 : 0),
    );
    const rep = labelRepresentation(taskDefinition('inpainting'), hole, 8)!;
    expect([rep.n, rep.p, rep.shape]).toEqual([2, 8 * 8 * 3, [8, 8, 3]]);
    for (let i = 0; i < 2; i++)
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 8; x++)
          for (let c = 0; c < 3; c++) expect(rep.data[i * 192 + (y * 8 + x) * 3 + c]).toBeCloseTo(y < 2 && x < 3 ? 100 * i + 10 * y + x + c / 10 : 0, 4);
    const rot = samples('rotation', 16, 3, (i, _y, _x, c) => (c === [2, 0, 3][i] ? 1 : 0));
    expect(Array.from(labelRepresentation(taskDefinition('rotation'), rot, 16)!.data)).toEqual([0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
    expect(
      labelRepresentation(
        taskDefinition('segmentation'),
        samples('segmentation', 16, 1, () => 0),
        16,
      ),
    ).toBeUndefined();
    expect(() => labelRepresentation(taskDefinition('inpainting'), { ...hole, mask: undefined }, 8)).toThrow('a masked target needs its R×R mask');
  });

  it('against a source’s features, linear CKA is the closed form on the centred matrices, and 1 for a rescaled copy', async () => {
    const n = 6;
    const data = samples('edges', 8, n, (i, y, x) => Math.sin(1.3 * i + 0.7 * y) + Math.cos(0.4 * x * (i + 1)));
    const labels = labelRepresentation(taskDefinition('edges'), data, 8)!;
    const g = 2;
    const c = 3;
    const feats = grid(n, g, c, (i, cy, cx, k) => Math.cos(i * (k + 1) + cy) + 0.3 * cx * i);
    const rep = featureRepresentation('src', feats, [g, g, c], n);
    expect([rep.n, rep.p]).toEqual([n, g * g * c]);
    // ‖Yᵀ X‖² / (‖Xᵀ X‖ ‖Yᵀ Y‖) on the column-centred matrices, by plain loops.
    const centred = (a: ArrayLike<number>, p: number) => {
      const out = Array.from({ length: n }, (_, i) => Array.from({ length: p }, (_, j) => a[i * p + j]));
      for (let j = 0; j < p; j++) {
        const m = out.reduce((acc, row) => acc + row[j], 0) / n;
        for (const row of out) row[j] -= m;
      }
      return out;
    };
    const cross = (a: number[][], b: number[][]) => {
      let sum = 0;
      for (let j = 0; j < a[0].length; j++)
        for (let k = 0; k < b[0].length; k++) {
          let d = 0;
          for (let i = 0; i < n; i++) d += a[i][j] * b[i][k];
          sum += d * d;
        }
      return sum;
    };
    const X = centred(feats, rep.p);
    const Y = centred(labels.data, labels.p);
    const expected = cross(Y, X) / Math.sqrt(cross(X, X) * cross(Y, Y));
    expect(await pairSimilarity(rep, labels, 'cka')).toBeCloseTo(expected, 10);
    const copy = featureRepresentation(
      'copy',
      Float32Array.from(labels.data, (v) => 2 * v),
      [8, 8, 1],
      n,
    );
    expect(await pairSimilarity(copy, labels, 'cka')).toBeCloseTo(1, 6);
    expect(() => featureRepresentation('short', feats.subarray(1), [g, g, c], n)).toThrow(`short: ${n} samples need ${n * g * g * c} feature values`);
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
