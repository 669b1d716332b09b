import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTf } from '../../src/models/tfjs.js';
import { conv2d, shiftedMix, unfold3x3 } from '../../src/nsl/conv.js';
import { directoryIO, loadModel } from '../../src/nsl/io.js';
import { NslConv2D, NslDynamicDNS, NslDynamicUNS, NslStaticDNS, NslStaticUNS } from '../../src/nsl/layers.js';
import { buildNetwork, VARIANTS } from '../../src/nsl/network.js';
import * as ref from './reference.js';

type AnyLayer = tf.layers.Layer;

const X_SHAPE: [number, number, number, number] = [2, 5, 5, 3];
let x: tf.Tensor4D;
let dir: string;

/** The layer's variable whose name ends with `/suffix`. */
function weight(layer: AnyLayer, suffix: string): tf.Variable {
  const w = layer.weights.find((v) => v.originalName.endsWith(`/${suffix}`));
  if (!w) throw new Error(`no weight ${suffix} in ${layer.weights.map((v) => v.originalName).join(', ')}`);
  return w.read() as tf.Variable;
}

/** Give every trainable weight unit-scale random values, so the dynamic paths matter (init makes them ≈ I). */
function randomise(layer: AnyLayer, seed: number, scale = 0.5): void {
  layer.trainableWeights.forEach((w, i) => {
    const v = w.read() as tf.Variable;
    v.assign(tf.tensor(ref.normals(v.size, seed + i, scale), v.shape));
  });
}

function values(v: tf.Variable): number[] {
  return Array.from(v.dataSync());
}

function asT4(v: tf.Tensor): ref.T4 {
  return ref.fromTensor(v);
}

beforeAll(async () => {
  await loadTf();
  x = tf.tensor(
    ref.normals(
      X_SHAPE.reduce((a, b) => a * b),
      7,
    ),
    X_SHAPE,
  ) as tf.Tensor4D;
  dir = await mkdtemp(join(tmpdir(), 'taskmap-nsl-layers-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('conv2d (trainable on WASM)', () => {
  it('matches a float64 direct convolution (SAME 3×3, 1×1; VALID 3×3, 4×4)', () => {
    for (const [k, padding] of [
      [3, 'same'],
      [1, 'same'],
      [3, 'valid'],
      [4, 'valid'],
    ] as const) {
      const w = tf.tensor(ref.normals(k * k * 3 * 4, 11 + k), [k, k, 3, 4]) as tf.Tensor4D;
      const got = conv2d(x, w, padding);
      const want = ref.conv(asT4(x), asT4(w), padding);
      expect(got.shape).toEqual(want.shape);
      expect(ref.maxAbsDiff(got.dataSync(), want.data)).toBeLessThan(1e-5);
    }
  });

  it('has input and filter gradients equal to those of the im2col formulation', () => {
    const w = tf.tensor(ref.normals(9 * 3 * 4, 3), [3, 3, 3, 4]) as tf.Tensor4D;
    const r = tf.tensor(ref.normals(2 * 5 * 5 * 4, 4), [2, 5, 5, 4]);
    const viaConv = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv2d(a as tf.Tensor4D, b as tf.Tensor4D), r)))([x, w]);
    // im2col: columns k·C + c of the unfolded input against the kernel reshaped to [9·C_in, C_out].
    const viaIm2col = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.reshape(tf.matMul(unfold3x3(a as tf.Tensor4D), tf.reshape(b, [27, 4])), [2, 5, 5, 4]), r)),
    )([x, w]);
    expect(ref.maxAbsDiff(viaConv[0].dataSync(), viaIm2col[0].dataSync())).toBeLessThan(1e-5);
    expect(ref.maxAbsDiff(viaConv[1].dataSync(), viaIm2col[1].dataSync())).toBeLessThan(1e-5);
  });

  it('shiftedMix gradients match finite differences', () => {
    const z = tf.variable(tf.tensor(ref.normals(2 * 4 * 3 * 18, 5), [2, 4, 3, 18]));
    const cols = tf.variable(tf.tensor(ref.normals(9 * 24 * 9, 6), [9, 24, 9]));
    const r = tf.tensor(ref.normals(2 * 4 * 3 * 2, 8), [2, 4, 3, 2]);
    const checks = ref.directionalCheck(() => tf.sum(tf.mul(shiftedMix(cols as tf.Variable<tf.Rank.R3>, z as tf.Variable<tf.Rank.R4>), r)), [z, cols], {
      eps: 1e-2,
    });
    for (const c of checks) expect(c.rel, c.name).toBeLessThan(1e-3);
  });
});

describe('NSL layers against the float64 formulas of §9', () => {
  it('static UNS computes Σ wᵀ M x', () => {
    const layer = new NslStaticUNS({ filters: 4, seed: 1 });
    layer.apply(x);
    randomise(layer, 20);
    const M = Array.from({ length: 9 }, (_, a) => values(weight(layer, 'matrix')).slice(9 * a, 9 * a + 9));
    const want = ref.staticNsl(asT4(x), asT4(weight(layer, 'kernel')), M);
    const got = layer.apply(x) as tf.Tensor;
    expect(ref.maxAbsDiff(got.dataSync(), want.data)).toBeLessThan(1e-4 * ref.maxAbs(want.data));
  });

  it('static DNS computes Σ wᵀ diag(m) x', () => {
    const layer = new NslStaticDNS({ filters: 4, seed: 1 });
    layer.apply(x);
    randomise(layer, 30);
    const want = ref.staticNsl(asT4(x), asT4(weight(layer, 'kernel')), ref.diag(values(weight(layer, 'diagonal'))));
    expect(ref.maxAbsDiff((layer.apply(x) as tf.Tensor).dataSync(), want.data)).toBeLessThan(1e-4 * ref.maxAbs(want.data));
  });

  it('dynamic DNS (training mode) computes its predictor, ν normalisation, BNs and the per-position diagonal', () => {
    const layer = new NslDynamicDNS({ filters: 4, predictorWidth: 5, seed: 1 });
    layer.apply(x);
    randomise(layer, 40);
    const w: ref.DnsWeights = {
      kernel: asT4(weight(layer, 'kernel')),
      p1: asT4(weight(layer, 'predictor1/kernel')),
      gamma1: values(weight(layer, 'predictor1/bn/gamma')),
      beta1: values(weight(layer, 'predictor1/bn/beta')),
      p2: asT4(weight(layer, 'predictor2/kernel')),
      gamma2: values(weight(layer, 'predictor2/bn/gamma')),
      beta2: values(weight(layer, 'predictor2/bn/beta')),
    };
    const want = ref.dynamicDns(asT4(x), w);
    const got = layer.apply(x, { training: true }) as tf.Tensor;
    expect(ref.maxAbsDiff(got.dataSync(), want.data)).toBeLessThan(1e-4 * ref.maxAbs(want.data));
  });

  it('dynamic UNS computes M(p) = I + predicted and mixes the shifted 1×1 projections', () => {
    const layer = new NslDynamicUNS({ filters: 4, predictorWidth: 5, seed: 1 });
    layer.apply(x);
    randomise(layer, 50);
    const w: ref.UnsWeights = { f: asT4(weight(layer, 'kernel')), p1: asT4(weight(layer, 'predictor1/kernel')), p2: asT4(weight(layer, 'predictor2/kernel')) };
    const want = ref.dynamicUns(asT4(x), w);
    expect(ref.maxAbsDiff((layer.apply(x) as tf.Tensor).dataSync(), want.data)).toBeLessThan(1e-4 * ref.maxAbs(want.data));
  });
});

describe('§9 equivalences with a plain convolution', () => {
  const plain = (kernel: tf.Tensor) => tf.conv2d(x, kernel as tf.Tensor4D, 1, 'same');

  it('static UNS with M = I (its initialisation) equals conv to 1e-6', () => {
    const layer = new NslStaticUNS({ filters: 4, seed: 2 });
    const y = layer.apply(x) as tf.Tensor;
    expect(values(weight(layer, 'matrix'))).toEqual(Array.from({ length: 81 }, (_, i) => (i % 10 === 0 ? 1 : 0)));
    expect(ref.maxAbsDiff(y.dataSync(), plain(weight(layer, 'kernel')).dataSync())).toBeLessThanOrEqual(1e-6);
  });

  it('static DNS with m = 1 equals conv to 1e-6; the reference init is the flattened 3×3 identity', () => {
    const quirk = new NslStaticDNS({ filters: 4, seed: 3 });
    quirk.apply(x);
    expect(values(weight(quirk, 'diagonal'))).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const layer = new NslStaticDNS({ filters: 4, seed: 3, diagonalInit: 'ones' });
    const y = layer.apply(x) as tf.Tensor;
    expect(values(weight(layer, 'diagonal'))).toEqual(Array(9).fill(1));
    expect(ref.maxAbsDiff(y.dataSync(), plain(weight(layer, 'kernel')).dataSync())).toBeLessThanOrEqual(1e-6);
  });

  it('dynamic DNS with a zero second predictor conv (BN output 0) equals conv', () => {
    const layer = new NslDynamicDNS({ filters: 4, predictorWidth: 5, seed: 4 });
    layer.apply(x);
    randomise(layer, 60);
    weight(layer, 'predictor2/kernel').assign(tf.zerosLike(weight(layer, 'predictor2/kernel')));
    weight(layer, 'predictor2/bn/beta').assign(tf.zeros([9]));
    const want = plain(weight(layer, 'kernel')).dataSync();
    for (const training of [true, false]) {
      const y = layer.apply(x, { training }) as tf.Tensor;
      expect(ref.maxAbsDiff(y.dataSync(), want)).toBeLessThan(1e-6 * Math.max(1, ref.maxAbs(want)) * 4);
    }
  });

  it('dynamic UNS with a zero second predictor conv (M = I) equals conv with W[k, ci, co] = f[ci, k, co]', () => {
    const layer = new NslDynamicUNS({ filters: 4, predictorWidth: 5, seed: 5 });
    layer.apply(x);
    randomise(layer, 70);
    weight(layer, 'predictor2/kernel').assign(tf.zerosLike(weight(layer, 'predictor2/kernel')));
    const want = plain(layer.identityKernel()).dataSync();
    expect(ref.maxAbsDiff((layer.apply(x) as tf.Tensor).dataSync(), want)).toBeLessThan(1e-6 * Math.max(1, ref.maxAbs(want)) * 4);
  });
});

describe('gradients against float64 finite differences', () => {
  // The analytic (float32, TF.js autograd + the custom conv gradients) directional derivative of L = Σ y ⊙ R
  // against central differences of the float64 reference formulas with ε = 1e-6. Float32 differences cannot be
  // used for the dynamic layers: any ε large enough to beat float32 rounding flips some predictor ReLUs.
  type P = { shape: number[]; data: Float64Array };
  const k4 = (p: P) => ref.t4(p.shape as [number, number, number, number], p.data);
  const rows = (p: P) => Array.from({ length: 9 }, (_, a) => Array.from(p.data.subarray(9 * a, 9 * a + 9)));
  const cases: [string, () => AnyLayer, (x: ref.T4, p: P[]) => ref.T4][] = [
    ['plain conv', () => new NslConv2D({ filters: 4, seed: 1 }), (xx, p) => ref.conv(xx, k4(p[0]))],
    ['static UNS', () => new NslStaticUNS({ filters: 4, seed: 1 }), (xx, p) => ref.staticNsl(xx, k4(p[0]), rows(p[1]))],
    ['static DNS', () => new NslStaticDNS({ filters: 4, seed: 1 }), (xx, p) => ref.staticNsl(xx, k4(p[0]), ref.diag(p[1].data))],
    [
      'dynamic DNS',
      () => new NslDynamicDNS({ filters: 4, predictorWidth: 5, seed: 1 }),
      (xx, p) =>
        ref.dynamicDns(xx, {
          kernel: k4(p[0]),
          p1: k4(p[1]),
          gamma1: [...p[2].data],
          beta1: [...p[3].data],
          p2: k4(p[4]),
          gamma2: [...p[5].data],
          beta2: [...p[6].data],
        }),
    ],
    [
      'dynamic UNS',
      () => new NslDynamicUNS({ filters: 4, predictorWidth: 5, seed: 1 }),
      (xx, p) => ref.dynamicUns(xx, { f: k4(p[0]), p1: k4(p[1]), p2: k4(p[2]) }),
    ],
  ];
  for (const [name, make, forward] of cases) {
    it(`${name}: input and every trainable weight`, () => {
      const layer = make();
      const xv = tf.variable(x.clone());
      layer.apply(xv);
      randomise(layer, 80);
      const R = ref.normals(2 * 5 * 5 * 4, 9);
      const r = tf.tensor(R, [2, 5, 5, 4]);
      const vars = [xv, ...layer.trainableWeights.map((w) => w.read() as tf.Variable)];
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(xv, { training: true }) as tf.Tensor, r)) as tf.Scalar, vars);
      const params: P[] = vars.map((v) => ({ shape: v.shape, data: Float64Array.from(v.dataSync()) }));
      const loss = (ps: P[]) => {
        const y = forward(k4(ps[0]), ps.slice(1));
        return y.data.reduce((s, v, i) => s + v * R[i], 0);
      };
      const eps = 1e-6;
      vars.forEach((v, i) => {
        const dir = ref.normals(v.size, 100 + i);
        const shifted = (sign: number) => params.map((p, j) => (j === i ? { shape: p.shape, data: p.data.map((d, e) => d + sign * eps * dir[e]) } : p));
        const numeric = (loss(shifted(1)) - loss(shifted(-1))) / (2 * eps);
        const analytic = Array.from(grads[v.name].dataSync()).reduce((s, g, e) => s + g * dir[e], 0);
        expect(
          Math.abs(analytic - numeric) / Math.max(1, Math.abs(numeric)),
          `${layer.getClassName()} ${i === 0 ? 'input' : layer.trainableWeights[i - 1].originalName}: analytic ${analytic}, numeric ${numeric}`,
        ).toBeLessThan(1e-4);
      });
    });
  }
});

describe('serialisation', () => {
  it('every variant saves through the directory IOHandler and reloads with identical outputs and configs', async () => {
    const input = tf.tensor(ref.normals(2 * 8 * 8, 12, 50), [2, 8, 8, 1]);
    for (const variant of VARIANTS) {
      const model = buildNetwork({ variant, inputShape: [8, 8, 1], numClasses: 3, widths: [2, 3, 3, 4], layersPerStage: 1, predictorWidth: 3, seed: 9 });
      model.apply(input, { training: true }); // move the BN averages off their initial values
      const out = join(dir, variant);
      await model.save(directoryIO(out));
      const loaded = await loadModel(out);
      expect(loaded.layers.map((l) => l.getClassName())).toEqual(model.layers.map((l) => l.getClassName()));
      // Through JSON, as on disk (undefined options become null).
      const configs = (m: tf.LayersModel) => JSON.parse(JSON.stringify(m.layers.map((l) => l.getConfig())));
      expect(configs(loaded)).toEqual(configs(model));
      const a = (model.apply(input, { training: false }) as tf.Tensor).dataSync();
      const b = (loaded.apply(input, { training: false }) as tf.Tensor).dataSync();
      expect(Array.from(b)).toEqual(Array.from(a));
    }
  });
});
