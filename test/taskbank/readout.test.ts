import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/linalg/resample.js';
import { loadTf } from '../../src/models/tfjs.js';
import { pixelFeatures, pixelFeatureShape, trainReadout } from '../../src/taskbank/readout.js';
import { taskData } from '../../src/taskbank/taskData.js';

const R = 16;
beforeAll(async () => {
  await loadTf();
});

function crops(n: number, seed: number): Uint8Array {
  const random = mulberry32(seed);
  const out = new Uint8Array(n * R * R * 3);
  for (let i = 0; i < n; i++) {
    const colours = Array.from({ length: 12 }, () => Math.floor(random() * 256));
    for (let y = 0; y < R; y++)
      for (let x = 0; x < R; x++) for (let c = 0; c < 3; c++) out[((i * R + y) * R + x) * 3 + c] = colours[((y < R / 2 ? 0 : 2) + (x < R / 2 ? 0 : 1)) * 3 + c];
  }
  return out;
}

const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;

describe('pixelFeatures', () => {
  it('is space-to-depth: tf.depthToSpace gives the images back', () => {
    const random = mulberry32(1);
    const x = Float32Array.from({ length: 2 * R * R * 3 }, () => random());
    const f = pixelFeatures(x, 2, R);
    expect(pixelFeatureShape(R)).toEqual([2, 2, 192]);
    const back = tf.depthToSpace(tf.tensor4d(f, [2, 2, 2, 192]), 8).dataSync();
    expect(Array.from(back)).toEqual(Array.from(x));
    expect(() => pixelFeatures(x, 3, R)).toThrow(/3 images of 16×16×3 need 2304 values, got 1536/);
    expect(() => pixelFeatures(x, 2, 12)).toThrow(/multiple of 8, got 12/);
  });
});

describe('trainReadout', () => {
  const train = taskData('autoencoding', crops(64, 2), undefined, R, 0);
  const test = taskData('autoencoding', crops(16, 3), undefined, R, 0);
  const shape = pixelFeatureShape(R);
  const opts = { epochs: 6, batchSize: 16, learningRate: 3e-3, seed: 1 };

  /** The pixels readout of the autoencoding target, features optionally transformed. */
  const pixelReadout = (o: typeof opts, f: (a: Float32Array) => Float32Array = (a) => a) =>
    trainReadout(
      'autoencoding',
      shape,
      R,
      { features: f(pixelFeatures(train.inputs, 64, R)), targets: train.targets },
      { features: f(pixelFeatures(test.inputs, 16, R)), targets: test.targets },
      o,
    );

  it('reads the target from informative features far better than from noise; seeded; scale-free', async () => {
    const good = await pixelReadout(opts);
    const random = mulberry32(9);
    const noise = (n: number) => Float32Array.from({ length: n * 768 }, () => random());
    const bad = await trainReadout(
      'autoencoding',
      shape,
      R,
      { features: noise(64), targets: train.targets },
      { features: noise(16), targets: test.targets },
      opts,
    );
    expect(good.testLosses).toHaveLength(16);
    expect(mean(good.testLosses)).toBeLessThan(0.6 * mean(bad.testLosses));
    const again = await pixelReadout(opts);
    expect(Array.from(again.testLosses)).toEqual(Array.from(good.testLosses));
    const big = await pixelReadout(opts, (a) => a.map((v) => v * 1000));
    expect(big.featureScale / good.featureScale).toBeCloseTo(1000, 2);
    for (let i = 0; i < 16; i++) expect(big.testLosses[i]).toBeCloseTo(good.testLosses[i], 3);
    const other = await pixelReadout({ ...opts, seed: 2 });
    expect(Array.from(other.testLosses)).not.toEqual(Array.from(good.testLosses));
  });

  it('masked and vector targets: losses per test image', async () => {
    const tr = taskData('inpainting', crops(32, 4), undefined, R, 0);
    const te = taskData('inpainting', crops(8, 5), undefined, R, 0);
    const r = await trainReadout(
      'inpainting',
      shape,
      R,
      { features: pixelFeatures(tr.inputs, 32, R), targets: tr.targets, mask: tr.mask },
      { features: pixelFeatures(te.inputs, 8, R), targets: te.targets, mask: te.mask },
      { epochs: 1 },
    );
    expect(r.testLosses).toHaveLength(8);
    const rt = taskData('rotation', crops(32, 4), undefined, R, 0);
    const rv = await trainReadout(
      'rotation',
      shape,
      R,
      { features: pixelFeatures(rt.inputs, 32, R), targets: rt.targets },
      { features: pixelFeatures(rt.inputs, 32, R), targets: rt.targets },
      { epochs: 1 },
    );
    expect(rv.testLosses.every((v) => v > 0 && Number.isFinite(v))).toBe(true);
  });

  it('weight decay shrinks the head’s kernels: none is the default; lr·λ = 1 leaves a constant prediction', async () => {
    const rt = taskData('rotation', crops(32, 4), undefined, R, 0);
    const data = { features: pixelFeatures(rt.inputs, 32, R), targets: rt.targets };
    const run = (o: object) => trainReadout('rotation', shape, R, data, data, { epochs: 2, batchSize: 16, learningRate: 3e-3, seed: 1, ...o });
    const plain = await run({});
    expect(Array.from((await run({ weightDecay: 0 })).testLosses)).toEqual(Array.from(plain.testLosses));
    // w ← w·(1 − lr·λ) = 0 after every step: the outputs are the output bias alone, the same for every image, so two
    // images of one rotation class have the same loss — which a trained head's do not.
    const classOf = (i: number) => Array.from(rt.targets.subarray(i * 4, i * 4 + 4)).indexOf(1);
    const tensors = tf.memory().numTensors;
    const zeroed = await run({ weightDecay: 1 / 3e-3 });
    // Nothing left behind (a decayed product kept outside tidy leaked one kernel-sized tensor per step).
    expect(tf.memory().numTensors).toBe(tensors);
    const byClass = new Map<number, number[]>();
    for (let i = 0; i < 32; i++) byClass.set(classOf(i), [...(byClass.get(classOf(i)) ?? []), i]);
    const sameClass = [...byClass.values()].find((is) => is.length >= 2)!;
    expect(zeroed.testLosses[sameClass[1]]).toBeCloseTo(zeroed.testLosses[sameClass[0]], 6);
    expect(Math.abs(plain.testLosses[sameClass[1]] - plain.testLosses[sameClass[0]])).toBeGreaterThan(1e-4);
    await expect(run({ weightDecay: -1 })).rejects.toThrow(/weight decay must be a finite number ≥ 0, got -1/);
  });

  it('refuses dead or mismatched features', async () => {
    const z = new Float32Array(64 * 768);
    await expect(trainReadout('autoencoding', shape, R, { features: z, targets: train.targets }, { features: z, targets: train.targets })).rejects.toThrow(
      /training features are all zero/,
    );
    const f = pixelFeatures(train.inputs, 64, R);
    await expect(
      trainReadout('autoencoding', shape, R, { features: f.subarray(1), targets: train.targets }, { features: f, targets: train.targets }),
    ).rejects.toThrow(/are not whole \[2, 2, 192\] maps/);
    await expect(trainReadout('autoencoding', shape, R, { features: f, targets: test.targets }, { features: f, targets: train.targets })).rejects.toThrow(
      /64 training samples need 49152 target values, got 12288/,
    );
    const nan = f.slice();
    nan[3] = Number.NaN;
    await expect(trainReadout('autoencoding', shape, R, { features: f, targets: train.targets }, { features: nan, targets: train.targets })).rejects.toThrow(
      /test features hold non-finite values/,
    );
  });
});
