import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTf } from '../../src/models/tfjs.js';
import { loadModel } from '../../src/nsl/io.js';
import { buildNetwork, finalMapSize, VARIANTS, type Variant } from '../../src/nsl/network.js';
import { learningRateAt, nslLoss, REFERENCE_LR_STEPS, train, weightPenalty, type TrainConfig } from '../../src/nsl/train.js';
import { prototypeImages } from './synthetic.js';

let dir: string;
beforeAll(async () => {
  await loadTf();
  dir = await mkdtemp(join(tmpdir(), 'taskmap-nsl-train-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const data = prototypeImages([0, 1, 2, 3], 8);
const test = prototypeImages([0, 1, 2, 3], 4, { sampleSeed: 99 });

function tiny(variant: Variant, extra: Partial<TrainConfig> = {}): TrainConfig {
  return {
    network: { variant, widths: [4, 4, 4, 4], layersPerStage: 1, predictorWidth: 4, batchNorm: { decay: 0.9 } },
    epochs: 6,
    batchSize: 16,
    learningRate: 0.05,
    inputScale: 1 / 255,
    augmentPad: 0,
    seed: 3,
    ...extra,
  };
}

describe('loss, schedule, weight decay', () => {
  it('the reference loss: softmax + 1e-4 against 0.99·onehot + 0.01/K', () => {
    const logits = tf.tensor2d([
      [0, 0],
      [2, 0],
    ]);
    const p = [Math.exp(2) / (Math.exp(2) + 1), 1 / (Math.exp(2) + 1)];
    const row1 = -Math.log(0.5 + 1e-4);
    const row2 = -(0.995 * Math.log(p[0] + 1e-4) + 0.005 * Math.log(p[1] + 1e-4));
    expect(nslLoss(logits, tf.tensor1d([0, 0], 'int32')).dataSync()[0]).toBeCloseTo((row1 + row2) / 2, 5);
  });

  it('the step schedule divides by 10 at 20 000, 30 000 and 37 500 of 42 500 iterations', () => {
    const c = { learningRate: 0.1, lrSteps: REFERENCE_LR_STEPS, lrDecay: 0.1 };
    expect([0, 19999, 20000, 29999, 30000, 37499, 37500, 42499].map((i) => learningRateAt(i, 42500, c))).toEqual([
      0.1,
      0.1,
      0.1 * 0.1,
      0.1 * 0.1,
      0.1 * 0.1 * 0.1,
      0.1 * 0.1 * 0.1,
      0.1 * 0.1 * 0.1 * 0.1,
      0.1 * 0.1 * 0.1 * 0.1,
    ]);
  });

  it('weight decay is λ·½Σw² on kernels and BN γ/β (λ = 5e-4), 5e-3 on static-UNS M, none on the DNS diagonal', () => {
    for (const variant of ['static-uns', 'static-dns', 'dynamic-dns'] as const) {
      const model = buildNetwork({ variant, inputShape: [8, 8, 1], numClasses: 4, widths: [3, 3, 3, 3], layersPerStage: 1, predictorWidth: 3, seed: 1 });
      let want = 0;
      for (const w of model.trainableWeights) {
        const lambda = /\/matrix$/.test(w.originalName) ? 5e-3 : /\/diagonal$/.test(w.originalName) ? 0 : 5e-4;
        want += (lambda / 2) * Array.from(w.read().dataSync()).reduce((s, v) => s + v * v, 0);
      }
      const got = weightPenalty(model)!.dataSync()[0];
      expect(got).toBeCloseTo(want, 6);
    }
  });

  it('28×28 inputs pool to 4×4, the reference score-conv size', () => {
    expect(finalMapSize(28)).toBe(4);
    expect(finalMapSize(32)).toBe(4);
    const model = buildNetwork({ variant: 'conv', inputShape: [28, 28, 1], numClasses: 10, widthScale: 0.125 });
    expect(model.getLayer('score').getConfig().kernelSize).toBe(4);
    expect(model.outputs[0].shape).toEqual([null, 10]);
  });
});

describe('smoke training (tiny synthetic data)', () => {
  for (const variant of VARIANTS) {
    it(`${variant}: the loss decreases over a few steps and the model evaluates`, async () => {
      const losses: number[] = [];
      const r = await train(data, tiny(variant), { test, onStep: (e) => losses.push(e.loss) });
      expect(losses.length).toBe(12);
      const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
      expect(mean(losses.slice(-4))).toBeLessThan(mean(losses.slice(0, 4)));
      expect(r.history).toHaveLength(6);
      expect(r.history.at(-1)!.testAccuracy).toBeGreaterThanOrEqual(0);
      expect(r.stopped).toBe(false);
      r.model.dispose();
    });
  }
});

describe('checkpoints', () => {
  it('stop after epoch 1 + resume equals an uninterrupted run exactly; the final model is saved and reloads', async () => {
    const straight = await train(data, tiny('static-dns', { epochs: 3 }), { out: join(dir, 'a'), test });
    const outB = join(dir, 'b');
    const first = await train(data, tiny('static-dns', { epochs: 3 }), { out: outB, test, stopAfterEpoch: 1 });
    expect(first.stopped).toBe(true);
    expect(existsSync(join(outB, 'checkpoint', 'checkpoint.json'))).toBe(true);
    expect(existsSync(join(outB, 'model'))).toBe(false);
    first.model.dispose();
    await expect(train(data, tiny('static-dns', { epochs: 3 }), { out: outB })).rejects.toThrow(/--resume/);
    await expect(train(data, tiny('static-dns', { epochs: 3, learningRate: 0.1 }), { out: outB, resume: true })).rejects.toThrow(
      /learningRate: checkpoint 0.05, now 0.1/,
    );
    const resumed = await train(data, tiny('static-dns', { epochs: 3 }), { out: outB, resume: true, test });
    expect(resumed.history.map((h) => h.loss)).toEqual(straight.history.map((h) => h.loss));
    const a = straight.model.getWeights().map((w) => Array.from(w.dataSync()));
    const b = resumed.model.getWeights().map((w) => Array.from(w.dataSync()));
    expect(b).toEqual(a);
    // The saved model predicts like the trained one.
    const loaded = await loadModel(join(outB, 'model'));
    const x = tf.tensor4d(
      Float32Array.from(test.images, (v) => v / 255),
      [test.n, 8, 8, 1],
    );
    expect(Array.from((loaded.apply(x, { training: false }) as tf.Tensor).dataSync())).toEqual(
      Array.from((resumed.model.apply(x, { training: false }) as tf.Tensor).dataSync()),
    );
    const summary = JSON.parse(await readFile(join(outB, 'result.json'), 'utf8'));
    expect(summary.history).toHaveLength(3);
    expect(summary.config.network.variant).toBe('static-dns');
  });
});
