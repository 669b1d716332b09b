import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/linalg/resample.js';
import { loadTf } from '../../src/models/tfjs.js';
import { loadModel } from '../../src/nsl/io.js';
import { perImageLosses } from '../../src/taskbank/losses.js';
import { readWeights } from '../../src/taskbank/network.js';
import { taskData } from '../../src/taskbank/taskData.js';
import { disposeTaskNetwork, encodeFeatures, loadTaskNetwork, predictTask, selfLosses, trainTaskNetwork, type TaskNetwork } from '../../src/taskbank/train.js';

const R = 16;
let dir: string;
beforeAll(async () => {
  await loadTf();
  dir = await mkdtemp(join(tmpdir(), 'taskmap-taskbank-train-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Smooth random crops (blocky colour fields), so the tiny network has something to learn. */
function crops(n: number, seed: number): Uint8Array {
  const random = mulberry32(seed);
  const out = new Uint8Array(n * R * R * 3);
  for (let i = 0; i < n; i++) {
    const colours = Array.from({ length: 4 * 3 }, () => Math.floor(random() * 256));
    for (let y = 0; y < R; y++)
      for (let x = 0; x < R; x++) for (let c = 0; c < 3; c++) out[((i * R + y) * R + x) * 3 + c] = colours[((y < R / 2 ? 0 : 2) + (x < R / 2 ? 0 : 1)) * 3 + c];
  }
  return out;
}

const train = taskData('autoencoding', crops(24, 1), undefined, R, 0);
const test = taskData('autoencoding', crops(8, 2), undefined, R, 0);
const settings = { seed: 4, epochs: 2, batchSize: 8, learningRate: 3e-3 };

function weights(net: TaskNetwork): number[] {
  return [...readWeights(net.encoder), ...readWeights(net.decoder)].flatMap((a) => Array.from(a));
}

describe('trainTaskNetwork', () => {
  it('learns, is deterministic for a seed, and resumes exactly after a stop', async () => {
    const a = await trainTaskNetwork('autoencoding', train, { ...settings, dir: join(dir, 'a') });
    expect(a.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(a.history[1].loss).toBeLessThan(a.history[0].loss);
    expect(a.encoderWeights).toBe(60512);
    const steps: number[] = [];
    const c1 = await trainTaskNetwork('autoencoding', train, { ...settings, dir: join(dir, 'c'), stopAfterEpoch: 1, onProgress: (p) => steps.push(p.step) });
    expect(c1.stopped).toBe(true);
    expect(steps).toEqual([1, 2, 3]);
    disposeTaskNetwork(c1);
    const c = await trainTaskNetwork('autoencoding', train, { ...settings, dir: join(dir, 'c') });
    expect(c.stopped).toBe(false);
    expect(weights(c)).toEqual(weights(a));
    expect(c.history.map((h) => h.loss)).toEqual(a.history.map((h) => h.loss));
    // Another seed, another network.
    const d = await trainTaskNetwork('autoencoding', train, { ...settings, seed: 5, epochs: 1 });
    expect(weights(d)).not.toEqual(weights(a).slice(0, weights(d).length));
    [c, d].forEach(disposeTaskNetwork);

    // A finished directory is reused; other settings are refused.
    const again = await trainTaskNetwork('autoencoding', train, { ...settings, dir: join(dir, 'a') });
    expect(again.reused).toBe(true);
    expect(weights(again)).toEqual(weights(a));
    await expect(trainTaskNetwork('autoencoding', train, { ...settings, epochs: 4, dir: join(dir, 'a') })).rejects.toThrow(
      /trained with other settings or data:\n {2}epochs: saved 2, now 4/,
    );
    await expect(trainTaskNetwork('autoencoding', test, { ...settings, dir: join(dir, 'a') })).rejects.toThrow(/n: saved 24, now 8/);
    const loaded = await loadTaskNetwork(join(dir, 'a'));
    expect(weights(loaded)).toEqual(weights(a));

    // Features: the trainable encoder and the saved, exported one agree.
    const model = await loadModel(join(dir, 'a', 'encoder'));
    const f1 = await encodeFeatures(a.encoder, test.inputs, test.n, 3);
    const f2 = await encodeFeatures(model, test.inputs, test.n);
    expect(f1.length).toBe(test.n * 2 * 2 * 64);
    expect(Math.max(...f1.map((v, i) => Math.abs(v - f2[i])))).toBeLessThan(1e-5);
    model.dispose();

    // self losses: the float64 losses of the network's predictions, lower than the untrained network's.
    const self = await selfLosses(a, test);
    const pred = await predictTask(a, test.inputs, test.n);
    expect(Array.from(self)).toEqual(Array.from(perImageLosses('l1', pred, test.targets, undefined, test.n, test.targetShape)));
    const untrained = await trainTaskNetwork('autoencoding', train, { ...settings, stopAfterEpoch: 0 });
    const before = await selfLosses(untrained, test);
    expect(self.reduce((s, v) => s + v, 0)).toBeLessThan(0.8 * before.reduce((s, v) => s + v, 0));
    const result = JSON.parse(await readFile(join(dir, 'a', 'result.json'), 'utf8')) as { history: unknown[] };
    expect(result.history).toHaveLength(2);
    [a, loaded, again, untrained].forEach(disposeTaskNetwork);
    expect(tf.memory().numTensors).toBeLessThan(200);
  });

  it('trains the masked and metric tasks too (finite, decreasing losses)', async () => {
    for (const id of ['inpainting', 'segmentation']) {
      const data = taskData(id, crops(16, 3), undefined, R, 0);
      const r = await trainTaskNetwork(id, data, { ...settings, epochs: 4 });
      expect(r.history.every((h) => Number.isFinite(h.loss))).toBe(true);
      expect(r.history[3].loss).toBeLessThan(r.history[0].loss);
      disposeTaskNetwork(r);
    }
  });

  it('refuses bad settings and data that do not fit the task', async () => {
    await expect(trainTaskNetwork('autoencoding', train, { epochs: 0 })).rejects.toThrow(/epochs must be a positive integer, got 0/);
    await expect(trainTaskNetwork('edges', train, {})).rejects.toThrow(/task edges: targets of shape \[16, 16, 3\] given, the task's are \[16, 16, 1\]/);
    await expect(trainTaskNetwork('autoencoding', { ...train, inputs: train.inputs.subarray(5) }, {})).rejects.toThrow(/not 24 square RGB images/);
    await expect(loadTaskNetwork(join(dir, 'nothing'))).rejects.toThrow(/no trained task network here/);
  });
});
