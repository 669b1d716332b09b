import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/linalg/resample.js';
import { loadTf } from '../../src/models/tfjs.js';
import { metricPairs, perImageLosses, perImageLossTensor, trainingLoss } from '../../src/taskbank/losses.js';
import type { TaskLoss } from '../../src/taskbank/tasks.js';

interface Case {
  loss: TaskLoss;
  n: number;
  targetShape: number[];
  pred: number[];
  target: number[];
  mask: number[] | null;
  losses: number[];
}
const golden = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/taskbank/losses.json'), 'utf8')) as {
  cases: Case[];
  pairs8x8: { a: number[]; b: number[] };
};

beforeAll(async () => {
  await loadTf();
});

function predShape(c: Case): number[] {
  return c.loss === 'metric' ? [c.n, c.targetShape[0], c.targetShape[1], 8] : [c.n, ...c.targetShape];
}

describe('losses against the numpy reference', () => {
  it('the metric pairs are the reference generator’s', () => {
    const { a, b } = metricPairs(8, 8);
    expect(Array.from(a.subarray(0, 20))).toEqual(golden.pairs8x8.a);
    expect(Array.from(b.subarray(0, 20))).toEqual(golden.pairs8x8.b);
    for (let k = 0; k < a.length; k++) expect(a[k]).not.toBe(b[k]);
  });

  for (const c of golden.cases) {
    it(`${c.loss}: float64 per-image losses`, () => {
      const got = perImageLosses(c.loss, c.pred, c.target, c.mask ?? undefined, c.n, c.targetShape);
      for (let i = 0; i < c.n; i++) expect(got[i]).toBeCloseTo(c.losses[i], 10);
    });
    it(`${c.loss}: tensor per-image losses and the batch mean`, () => {
      const pred = tf.tensor(c.pred, predShape(c));
      const target = tf.tensor(c.target, [c.n, ...c.targetShape]);
      const mask = c.mask ? tf.tensor(c.mask, [c.n, c.targetShape[0], c.targetShape[1], 1]) : undefined;
      const per = perImageLossTensor(c.loss, pred, target, mask).arraySync();
      for (let i = 0; i < c.n; i++) expect(Math.abs(per[i] - c.losses[i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(c.losses[i])));
      const mean = c.losses.reduce((s, v) => s + v, 0) / c.n;
      expect(Math.abs(trainingLoss(c.loss, pred, target, mask).arraySync() - mean)).toBeLessThan(1e-5 * Math.max(1, mean));
      tf.dispose([pred, target, mask]);
    });
  }
});

describe('closed forms and properties', () => {
  it('a perfect prediction costs 0 (l1, l2, masked-l1); uniform logits cost log K', () => {
    const t = [0.2, 0.4, 0.6, 0.8];
    expect(perImageLosses('l1', t, t, undefined, 1, [2, 2, 1])[0]).toBe(0);
    expect(perImageLosses('l2', t, t, undefined, 1, [2, 2, 1])[0]).toBe(0);
    expect(perImageLosses('cross-entropy', [0, 0, 0, 0], [0, 1, 0, 0], undefined, 1, [4])[0]).toBeCloseTo(Math.log(4), 12);
    // BCE at p = 0 is log 2 whatever the target; huge logits stay finite.
    expect(perImageLosses('bce', [0, 0], [0.3, 1], undefined, 1, [2])[0]).toBeCloseTo(Math.log(2), 12);
    expect(perImageLosses('bce', [800, -800], [1, 0], undefined, 1, [2])[0]).toBe(0);
  });

  it('masked-l1 counts the hole only', () => {
    // 2×2×1 map, mask on one pixel: error 0.5 there, huge errors elsewhere.
    expect(perImageLosses('masked-l1', [0.5, 9, 9, 9], [0, 0, 0, 0], [1, 0, 0, 0], 1, [2, 2, 1])[0]).toBe(0.5);
  });

  it('the metric loss ignores how segments are numbered and sees which pixels share one (3 seeds)', () => {
    for (const seed of [1, 2, 3]) {
      const random = mulberry32(seed);
      const h = 6;
      const labels = Array.from({ length: h * h }, () => Math.floor(random() * 4));
      const emb = Array.from({ length: h * h * 8 }, () => random() - 0.5);
      const relabelled = labels.map((l) => [3, 0, 2, 1][l]);
      const base = perImageLosses('metric', emb, labels, undefined, 1, [h, h, 1])[0];
      expect(perImageLosses('metric', emb, relabelled, undefined, 1, [h, h, 1])[0]).toBeCloseTo(base, 12);
      const merged = labels.map((l) => (l === 1 ? 0 : l));
      expect(Math.abs(perImageLosses('metric', emb, merged, undefined, 1, [h, h, 1])[0] - base)).toBeGreaterThan(1e-4);
    }
    // One segment, one embedding everywhere: zero loss; all different at distance ≥ margin: zero loss.
    expect(perImageLosses('metric', new Array(16 * 8).fill(0.3), new Array(16).fill(2), undefined, 1, [4, 4, 1])[0]).toBe(0);
  });

  it('the metric loss’s gradient equals the one through a dense pair-difference matrix', () => {
    const [b, h, w, e] = [2, 4, 4, 3];
    const random = mulberry32(7);
    const emb = tf.tensor4d(
      Array.from({ length: b * h * w * e }, () => random() - 0.5),
      [b, h, w, e],
    );
    const labels = tf.tensor4d(
      Array.from({ length: b * h * w }, () => Math.floor(random() * 3)),
      [b, h, w, 1],
    );
    const g1 = tf.grad((x: tf.Tensor) => trainingLoss('metric', x, labels))(emb);
    // Reference: d² through D = onehot(a) − onehot(b) as a plain matMul, same per-pair costs.
    const { a, b: bb } = metricPairs(h, w);
    const d = new Float32Array(a.length * h * w);
    for (let k = 0; k < a.length; k++) {
      d[k * h * w + a[k]] += 1;
      d[k * h * w + bb[k]] -= 1;
    }
    const D = tf.tensor2d(d, [a.length, h * w]);
    const lab = labels.reshape([b, h * w]).arraySync() as number[][];
    const same = tf.tensor2d(lab.map((row) => Array.from(a, (ak, k) => (row[ak] === row[bb[k]] ? 1 : 0))));
    const g2 = tf.grad((x: tf.Tensor) => {
      const rows = tf.unstack(tf.reshape(x, [b, h * w, e]));
      const d2 = tf.stack(rows.map((r) => tf.sum(tf.square(tf.matMul(D, r)), 1)));
      const push = tf.square(tf.relu(tf.sub(1, tf.sqrt(tf.add(d2, 1e-6)))));
      return tf.mean(tf.add(tf.mul(same, d2), tf.mul(tf.sub(1, same), push)));
    })(emb);
    const diff = tf.max(tf.abs(tf.sub(g1, g2))).arraySync();
    expect(diff).toBeLessThan(1e-6);
    expect(tf.max(tf.abs(g1)).arraySync()).toBeGreaterThan(1e-4);
  });
});

describe('bad inputs', () => {
  it('names the problem', () => {
    expect(() => perImageLosses('masked-l1', [0, 0], [0, 0], [0, 0], 2, [1, 1, 1])).toThrow(/image 0 has an empty mask/);
    expect(() => perImageLosses('l1', [0, Number.NaN], [0, 0], undefined, 1, [2])).toThrow(/image 0 has a non-finite loss/);
    expect(() => perImageLosses('l1', [0], [0, 0], undefined, 1, [2])).toThrow(/1 predictions of \[2\] need 2 values, got 1/);
    expect(() => perImageLosses('masked-l1', [0], [0], undefined, 1, [1, 1, 1])).toThrow(/no mask given/);
    expect(() => perImageLosses('metric', [0, 0], [0, 0], undefined, 1, [2, 1])).toThrow(/\[H, W, 1\] label maps/);
    expect(() => perImageLossTensor('l2', tf.zeros([2, 3]), tf.zeros([2, 4]))).toThrow(/differ in shape/);
    expect(() => metricPairs(1, 1)).toThrow(/no pixel pairs/);
  });
});
