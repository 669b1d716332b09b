import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/linalg/resample.js';
import { loadModelFile, resolveModelFile } from '../../src/models/load.js';
import { loadTf } from '../../src/models/tfjs.js';
import { unfold3x3 } from '../../src/nsl/conv.js';
import {
  buildDecoder,
  buildEncoder,
  decoderOutputShape,
  exportEncoder,
  featureShape,
  firstLayerPatches,
  readWeights,
  saveEncoder,
  weightCount,
} from '../../src/taskbank/network.js';
import { taskDefinition } from '../../src/taskbank/tasks.js';

let dir: string;
beforeAll(async () => {
  await loadTf();
  dir = await mkdtemp(join(tmpdir(), 'taskmap-taskbank-network-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function uniform(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => r());
}

const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).arraySync() as number);

describe('encoder', () => {
  it('maps R×R×3 to [R/8, R/8, 64] with 60,512 weights (widths 16/32/64/64)', () => {
    expect(featureShape(64)).toEqual([8, 8, 64]);
    expect(featureShape(96)).toEqual([12, 12, 64]);
    const enc = buildEncoder(16, 1);
    expect(weightCount(enc)).toBe(3 * 9 * 16 + 16 + 16 * 9 * 32 + 32 + 32 * 9 * 64 + 64 + 64 * 9 * 64 + 64);
    const y = enc.apply(tf.tensor4d(uniform(2 * 16 * 16 * 3, 1), [2, 16, 16, 3]));
    expect(y.shape).toEqual([2, 2, 2, 64]);
    expect(y.min().arraySync()).toBeGreaterThanOrEqual(0);
    enc.dispose();
  });

  it('is seeded: the same seed gives the same weights, another seed others', () => {
    const [a, b, c] = [buildEncoder(16, 5), buildEncoder(16, 5), buildEncoder(16, 6)];
    const [wa, wb, wc] = [a, b, c].map((e) => readWeights(e)[0]);
    expect(Array.from(wa)).toEqual(Array.from(wb));
    expect(Array.from(wa)).not.toEqual(Array.from(wc));
    // He-normal: std √(2/27) for the first layer.
    const sd = Math.sqrt(wa.reduce((s, v) => s + v * v, 0) / wa.length);
    expect(sd).toBeGreaterThan(0.6 * Math.sqrt(2 / 27));
    expect(sd).toBeLessThan(1.4 * Math.sqrt(2 / 27));
    [a, b, c].forEach((e) => e.dispose());
  });

  it('first-layer patches are the transposed im2col of nsl/conv.ts unfold3x3', () => {
    const x = uniform(2 * 8 * 8 * 3, 3);
    const p = firstLayerPatches(x, 2, 8);
    const ref = tf.transpose(unfold3x3(tf.tensor4d(x, [2, 8, 8, 3])));
    expect(maxAbs(tf.tensor2d(p, [27, 128]), ref)).toBe(0);
    expect(() => firstLayerPatches(x, 3, 8)).toThrow(/3 images of 8×8×3 need 576 values, got 384/);
  });

  it('gives the same weight gradients with and without the first-layer patches', () => {
    const enc = buildEncoder(16, 2);
    const xs = uniform(3 * 16 * 16 * 3, 4);
    const x = tf.tensor4d(xs, [3, 16, 16, 3]);
    const patches = tf.tensor2d(firstLayerPatches(xs, 3, 16), [27, 3 * 256]);
    const target = tf.tensor(uniform(3 * 2 * 2 * 64, 5), [3, 2, 2, 64]);
    const loss = (p?: tf.Tensor2D) => () => tf.mean(tf.square(tf.sub(enc.apply(x, p), target))) as tf.Scalar;
    const g1 = tf.variableGrads(loss(), enc.variables).grads;
    const g2 = tf.variableGrads(loss(patches), enc.variables).grads;
    for (const v of enc.variables) {
      expect(maxAbs(g1[v.name], g2[v.name])).toBeLessThan(1e-6);
      expect(tf.max(tf.abs(g1[v.name])).arraySync()).toBeGreaterThan(0);
    }
    enc.dispose();
  });

  it('refuses sides that are not multiples of 8 and wrong inputs', () => {
    expect(() => featureShape(60)).toThrow(/positive multiple of 8, got 60/);
    const enc = buildEncoder(16, 1);
    expect(() => enc.apply(tf.zeros([1, 8, 8, 3]) as tf.Tensor4D)).toThrow(/takes \[batch, 16, 16, 3\] images, got \[1, 8, 8, 3\]/);
    enc.dispose();
  });
});

describe('exported encoder', () => {
  it('is built-in layers only, computes the same features, and loads through models/load.ts without custom classes', async () => {
    const enc = buildEncoder(16, 9);
    // Non-zero biases, so they are copied too.
    enc.variables.filter((_, i) => i % 2 === 1).forEach((v, k) => v.assign(tf.fill(v.shape, 0.01 * (k + 1))));
    const model = exportEncoder(enc);
    expect(model.layers.map((l) => l.getClassName())).toEqual([
      'InputLayer',
      'Conv2D',
      'ReLU',
      'AveragePooling2D',
      'Conv2D',
      'ReLU',
      'AveragePooling2D',
      'Conv2D',
      'ReLU',
      'AveragePooling2D',
      'Conv2D',
      'ReLU',
    ]);
    const xs = uniform(4 * 16 * 16 * 3, 11);
    const x = tf.tensor4d(xs, [4, 16, 16, 3]);
    const want = enc.apply(x);
    expect(maxAbs(model.predict(x) as tf.Tensor, want)).toBeLessThan(1e-5);
    const out = join(dir, 'enc');
    await saveEncoder(enc, out);
    const file = await resolveModelFile(out);
    expect(file.format).toBe('tfjs-layers');
    const runner = await loadModelFile(file);
    const [tap] = await runner.run({ n: 4, data: xs, shape: [4, 16, 16, 3] }, runner.outputs);
    expect(tap.shape).toEqual([4, 2, 2, 64]);
    expect(maxAbs(tf.tensor(tap.data, tap.shape), want)).toBeLessThan(1e-5);
    expect(runner.layers().some((l) => l.name.startsWith('relu4'))).toBe(true);
    runner.dispose();
    model.dispose();
    enc.dispose();
  });
});

describe('decoder', () => {
  it('outputs the target shape (segmentation: an 8-channel embedding per pixel)', () => {
    const f = featureShape(64);
    expect(buildDecoder(taskDefinition('autoencoding'), f, 64, 0).outputShape).toEqual([64, 64, 3]);
    expect(buildDecoder(taskDefinition('face-heatmap'), f, 64, 0).outputShape).toEqual([16, 16, 1]);
    expect(buildDecoder(taskDefinition('rotation'), f, 64, 0).outputShape).toEqual([4]);
    expect(decoderOutputShape(taskDefinition('segmentation'), 64)).toEqual([64, 64, 8]);
    const pixels = buildDecoder(taskDefinition('edges'), [8, 8, 192], 64, 0);
    expect(pixels.apply(tf.zeros([2, 8, 8, 192]) as tf.Tensor4D).shape).toEqual([2, 64, 64, 1]);
  });

  it('dense head: 1×1 hidden layer then depth-to-space, checked element by element in float64', () => {
    const task = taskDefinition('colourisation'); // [16, 16, 2] at R = 16
    const dec = buildDecoder(task, [2, 2, 5], 16, 3);
    const [w1, b1, w2, b2] = readWeights(dec);
    b1.forEach((_, i) => (b1[i] = 0.05 * (i % 3)));
    b2.forEach((_, i) => (b2[i] = 0.01 * i));
    dec.variables[1].assign(tf.tensor(b1));
    dec.variables[3].assign(tf.tensor(b2));
    const feats = uniform(2 * 2 * 2 * 5, 8);
    const y = dec.apply(tf.tensor4d(feats, [2, 2, 2, 5])).arraySync() as number[][][][];
    const hiddenN = b1.length;
    const block = 8;
    let worst = 0;
    for (let b = 0; b < 2; b++)
      for (let py = 0; py < 2; py++)
        for (let px = 0; px < 2; px++) {
          const f = feats.subarray(((b * 2 + py) * 2 + px) * 5, ((b * 2 + py) * 2 + px + 1) * 5);
          const h = Array.from({ length: hiddenN }, (_, j) => Math.max(0, b1[j] + f.reduce((s, v, c) => s + v * w1[c * hiddenN + j], 0)));
          for (let i = 0; i < block; i++)
            for (let j = 0; j < block; j++)
              for (let k = 0; k < 2; k++) {
                const ch = (i * block + j) * 2 + k;
                const want = b2[ch] + h.reduce((s, v, q) => s + v * w2[q * 128 + ch], 0);
                worst = Math.max(worst, Math.abs(y[b][py * block + i][px * block + j][k] - want));
              }
        }
    expect(worst).toBeLessThan(1e-5);
  });

  it('every weight of encoder + decoder gets a gradient on the WASM backend', () => {
    for (const id of ['super-resolution', 'jigsaw', 'segmentation']) {
      const task = taskDefinition(id);
      const enc = buildEncoder(16, 1);
      const dec = buildDecoder(task, featureShape(16), 16, 2);
      const x = tf.tensor4d(uniform(2 * 16 * 16 * 3, 1), [2, 16, 16, 3]);
      const { grads } = tf.variableGrads(() => tf.mean(tf.square(dec.apply(enc.apply(x)))) as tf.Scalar, [...enc.variables, ...dec.variables]);
      for (const g of Object.values(grads)) expect(tf.max(tf.abs(g)).arraySync()).toBeGreaterThan(0);
      enc.dispose();
      dec.dispose();
    }
  });

  it('refuses features it cannot expand and inputs of another shape', () => {
    expect(() => buildDecoder(taskDefinition('edges'), [3, 3, 64], 16, 0)).toThrow(/\[3, 3\] feature map cannot be expanded to a \[16, 16\] target/);
    expect(() => buildDecoder(taskDefinition('edges'), [2, 2], 16, 0)).toThrow(/feature shape must be \[h, w, c\]/);
    const dec = buildDecoder(taskDefinition('rotation'), [2, 2, 64], 16, 0);
    expect(() => dec.apply(tf.zeros([1, 2, 2, 8]) as tf.Tensor4D)).toThrow(/rotation decoder takes \[batch, 2, 2, 64\] features, got \[1, 2, 2, 8\]/);
  });
});
