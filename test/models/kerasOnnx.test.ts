/**
 * Keras → ONNX conversion: every converted layer type against TF.js itself (an independent implementation of the
 * same Keras semantics) on a network built for the test, the zoo's Keras model against its TF.js run, weight
 * dequantisation by hand, and the fallback for what does not convert.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { convertedRuntime, loadModelFile, resolveModelFile } from '../../src/models/load.js';
import { decodeKerasWeights, KerasOnnxRunner, kerasOnnxUnsupported } from '../../src/models/kerasOnnx.js';
import { loadTf, loadTfModel, readTfModel, TfLayersRunner, type TfModelJson } from '../../src/models/tfjs.js';
import { resolveModel } from '../../src/models/resolve.js';
import type { ModelRunner } from '../../src/models/types.js';
import { saveLayers } from './fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taskmap-keras-onnx-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Tf = Awaited<ReturnType<typeof loadTf>>;

/** Deterministic weights; batch-norm scales and variances positive, so that activations stay alive. */
function setWeights(tf: Tf, model: import('@tensorflow/tfjs').LayersModel): void {
  model.setWeights(
    model.weights.map((w, k) => {
      const shape = w.shape as number[]; // weights have no unknown dimensions
      const n = shape.reduce((a, b) => a * b, 1);
      const v = Float32Array.from({ length: n }, (_, i) => Math.sin(1.3 * k + 0.71 * i) * 0.6);
      if (/moving_variance|gamma/.test(w.name)) for (let i = 0; i < n; i++) v[i] = Math.abs(v[i]) + 0.3;
      if (/moving_mean/.test(w.name)) v.fill(0.1);
      return tf.tensor(v, shape);
    }),
  );
}

async function compareRunners(onnx: ModelRunner, ref: ModelRunner, taps: string[], shape: number[], tol: number): Promise<void> {
  const size = shape.slice(1).reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: shape[0] * size }, (_, i) => Math.cos(0.37 * i) * 0.9 + 0.1);
  const batch = { n: shape[0], data, shape };
  const [a, b] = [await onnx.run(batch, taps), await ref.run(batch, taps)];
  taps.forEach((t, i) => {
    expect(a[i].shape, t).toEqual(b[i].shape);
    const scale = Math.max(1e-3, ...Array.from(b[i].data, Math.abs));
    let worst = 0;
    for (let k = 0; k < b[i].data.length; k++) worst = Math.max(worst, Math.abs(a[i].data[k] - b[i].data[k]));
    expect(worst / scale, `${t}: max |ONNX − TF.js| / max |TF.js|`).toBeLessThan(tol);
    // Every tap carries signal (a layer that outputs a constant would let a wrong conversion before it pass).
    expect(Math.max(...b[i].data) - Math.min(...b[i].data), `${t}: spread`).toBeGreaterThan(0.05 * scale);
  });
}

describe('Keras → ONNX', () => {
  it('every converted layer type gives what TF.js gives, at every layer', async () => {
    const tf = await loadTf();
    const L = tf.layers;
    const x = tf.input({ shape: [8, 8, 3], name: 'img' });
    // 'same' with stride 2 on an even size pads one pixel after only: the asymmetric case.
    const c1 = L.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu6', name: 'c1' }).apply(x) as never;
    const bn1 = L.batchNormalization({ name: 'bn1', epsilon: 0.01 }).apply(c1) as never;
    const r1 = L.reLU({ maxValue: 6, name: 'r1' }).apply(bn1) as never;
    const dw = L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', name: 'dw' }).apply(r1) as never;
    const bn2 = L.batchNormalization({ name: 'bn2', scale: false }).apply(dw) as never;
    const act = L.activation({ activation: 'sigmoid', name: 'act' }).apply(bn2) as never;
    const c2 = L.conv2d({ filters: 8, kernelSize: 1, useBias: false, name: 'c2' }).apply(r1) as never;
    const add = L.add({ name: 'add' }).apply([act, c2]) as never;
    const zp = L.zeroPadding2d({ padding: [
      [1, 0],
      [0, 1],
    ], name: 'zp' }).apply(add) as never;
    const mp = L.maxPooling2d({ poolSize: 2, strides: 2, padding: 'same', name: 'mp' }).apply(zp) as never;
    const ap = L.averagePooling2d({ poolSize: 2, strides: 1, padding: 'valid', name: 'ap' }).apply(mp) as never;
    const c3 = L.conv2d({ filters: 2, kernelSize: 2, activation: 'elu', name: 'c3' }).apply(mp) as never;
    const cat = L.concatenate({ name: 'cat' }).apply([ap, c3]) as never;
    const flat = L.flatten({ name: 'flat' }).apply(cat) as never;
    const d1 = L.dense({ units: 6, activation: 'tanh', name: 'd1' }).apply(flat) as never;
    const gap = L.globalAveragePooling2d({ name: 'gap' }).apply(cat) as never;
    const d2 = L.dense({ units: 6, name: 'd2' }).apply(gap) as never;
    const mul = L.multiply({ name: 'mul' }).apply([d1, d2]) as never;
    const drop = L.dropout({ rate: 0.5, name: 'drop' }).apply(mul) as never;
    const out = L.dense({ units: 3, activation: 'softmax', name: 'out' }).apply(drop) as never;
    const sm4 = L.activation({ activation: 'softmax', name: 'sm4' }).apply(add) as never;
    const model = tf.model({ inputs: x, outputs: [out, sm4] });
    setWeights(tf, model);
    const path = await saveLayers(tf, model, join(dir, 'all-layers'));
    model.dispose();

    const file = await resolveModelFile(path);
    expect(file.format).toBe('tfjs-layers');
    expect(await convertedRuntime(file)).toBe('keras-onnx@1');
    const onnx = await loadModelFile(file);
    expect(onnx).toBeInstanceOf(KerasOnnxRunner);
    const ref = await loadTfModel(path);
    expect(onnx.layers()).toEqual(ref.layers().map(({ name, op }) => ({ name, op })));
    expect(onnx.inputs[0].shape).toEqual([null, 8, 8, 3]);
    expect(onnx.outputs).toEqual(['out', 'sm4']);
    const taps = onnx.layers().map((l) => l.name);
    expect(taps).toHaveLength(21);
    await compareRunners(onnx, ref, taps, [2, 8, 8, 3], 1e-5);
    // Tapping a subset in another order builds another session with the same values.
    await compareRunners(onnx, ref, ['out', 'c1', 'sm4'], [3, 8, 8, 3], 1e-5);
    await expect(onnx.run({ n: 1, data: new Float32Array(192), shape: [1, 8, 8, 3] }, ['nope'])).rejects.toThrow(/no layer named nope/);
    onnx.dispose();
    ref.dispose();
  });

  it('dilated and strided "same" convolutions, whole-number float attributes, an input of any size', async () => {
    const tf = await loadTf();
    const L = tf.layers;
    const x = tf.input({ shape: [null, null, 3], name: 'img' });
    const a = L.conv2d({ filters: 4, kernelSize: 2, dilationRate: 3, padding: 'same', name: 'atrous' }).apply(x) as never;
    const b = L.batchNormalization({ name: 'bn', epsilon: 1 }).apply(a) as never;
    const c = L.depthwiseConv2d({ kernelSize: 3, dilationRate: 2, padding: 'same', name: 'dw' }).apply(b) as never;
    const d = L.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', name: 's2' }).apply(b) as never;
    const e = L.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'ap' }).apply(d) as never;
    const model = tf.model({ inputs: x, outputs: [e, c] });
    setWeights(tf, model);
    const [dwKernel, dwBias] = model.getLayer('dw').getWeights().map((w) => w.clone());
    const path = await saveLayers(tf, model, join(dir, 'atrous'));
    model.dispose();
    const onnx = await loadModelFile(await resolveModelFile(path));
    expect(onnx).toBeInstanceOf(KerasOnnxRunner);
    const ref = await loadTfModel(path);
    // Odd and even sizes: TF's 'same' puts the odd pixel after, and the strided layers see both parities.
    for (const shape of [
      [2, 7, 10, 3],
      [1, 6, 9, 3],
    ]) {
      await compareRunners(onnx, ref, ['atrous', 'bn', 's2', 'ap'], shape, 1e-5);
      // TF.js's DepthwiseConv2D layer drops its dilation rate (it calls the op with dilations null), Keras does
      // not: the reference is TF.js's depthwiseConv2d op, which honours it, on the converted model's own input.
      const size = shape.slice(1).reduce((p, q) => p * q, 1);
      const data = Float32Array.from({ length: shape[0] * size }, (_, i) => Math.cos(0.37 * i) * 0.9 + 0.1);
      const [bn, dw] = await onnx.run({ n: shape[0], data, shape }, ['bn', 'dw']);
      const expected = await tf
        .add(tf.depthwiseConv2d(tf.tensor4d(bn.data, bn.shape as [number, number, number, number]), dwKernel as never, 1, 'same', 'NHWC', [2, 2]), dwBias)
        .data();
      expect(dw.shape).toEqual(bn.shape);
      const scale = Math.max(...Array.from(expected, Math.abs));
      expect(Math.max(...Array.from(dw.data, (v, i) => Math.abs(v - expected[i]))) / scale).toBeLessThan(1e-5);
    }
    onnx.dispose();
    ref.dispose();
  });

  it('a sequential model converts too', async () => {
    const tf = await loadTf();
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [5, 5, 2], filters: 3, kernelSize: 2, name: 'conv', activation: 'relu' }),
        tf.layers.flatten({ name: 'flat' }),
        tf.layers.dense({ units: 2, name: 'dense', activation: 'sigmoid' }),
      ],
    });
    setWeights(tf, model);
    const path = await saveLayers(tf, model, join(dir, 'sequential'));
    model.dispose();
    const onnx = await loadModelFile(await resolveModelFile(path));
    expect(onnx).toBeInstanceOf(KerasOnnxRunner);
    const ref = await loadTfModel(path);
    await compareRunners(onnx, ref, ['conv', 'flat', 'dense'], [2, 5, 5, 2], 1e-5);
    onnx.dispose();
    ref.dispose();
  });

  it('the zoo Keras model (nsfw-mobilenet-v2) runs on onnxruntime and agrees with TF.js', async () => {
    const spec = await resolveModel('nsfw-mobilenet-v2');
    expect(spec.runtime).toBe('keras-onnx@1');
    expect((await resolveModel('age')).runtime).toBeUndefined();
    const onnx = await loadModelFile(spec.file);
    expect(onnx).toBeInstanceOf(KerasOnnxRunner);
    const ref = await loadTfModel(spec.file.path);
    // Relative to the largest value: ReLU6 features are ≤ 6, so 1e-4 is far below what a wrong layout would give.
    await compareRunners(onnx, ref, ['out_relu', 'dense_3', 'block_6_project_BN'], [2, 224, 224, 3], 1e-4);
    onnx.dispose();
    ref.dispose();
  }, 60_000);

  it('dequantises weights as TF.js does: q·scale + min, and float16', () => {
    const bytes = new Uint8Array(4 + 2 * 2 + 3 * 2 + 4);
    bytes.set([0, 1, 255, 10], 0); // uint8
    new DataView(bytes.buffer).setUint16(4, 0, true); // uint16
    new DataView(bytes.buffer).setUint16(6, 1000, true);
    for (const [i, h] of [0x3c00, 0xc000, 0x3800].entries()) new DataView(bytes.buffer).setUint16(8 + 2 * i, h, true); // 1, -2, 0.5
    new DataView(bytes.buffer).setFloat32(14, -1.25, true);
    const w = decodeKerasWeights(
      [
        { name: 'a', shape: [2, 2], dtype: 'float32', quantization: { dtype: 'uint8', min: -1, scale: 0.5 } },
        { name: 'b', shape: [2], dtype: 'float32', quantization: { dtype: 'uint16', min: 2, scale: 0.001 } },
        { name: 'c', shape: [3], dtype: 'float32', quantization: { dtype: 'float16' } },
        { name: 'd', shape: [], dtype: 'float32' },
      ],
      bytes,
    );
    expect(Array.from(w.get('a')!.values)).toEqual([-1, -0.5, 126.5, 4]);
    expect(Array.from(w.get('b')!.values)).toEqual([2, Math.fround(3)]);
    expect(Array.from(w.get('c')!.values)).toEqual([1, -2, 0.5]);
    expect(Array.from(w.get('d')!.values)).toEqual([-1.25]);
    expect(() => decodeKerasWeights([{ name: 'e', shape: [4], dtype: 'float32' }], new Uint8Array(8))).toThrow(/weight e: the weight data ends early/);
  });

  it('says why a model does not convert, and such a model keeps the TF.js runner', async () => {
    const tf = await loadTf();
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 2, name: 'conv' }),
        tf.layers.upSampling2d({ size: [2, 2], name: 'up' }),
      ],
    });
    setWeights(tf, model);
    const path = await saveLayers(tf, model, join(dir, 'unsupported'));
    model.dispose();
    const { json } = await readTfModel(path, { weights: false });
    expect(kerasOnnxUnsupported(json)).toBe('layer type UpSampling2D');
    const file = await resolveModelFile(path);
    expect(await convertedRuntime(file)).toBeUndefined();
    const runner = await loadModelFile(file);
    expect(runner).toBeInstanceOf(TfLayersRunner);
    runner.dispose();
    const edit = (f: (j: TfModelJson & { modelTopology: { config: { layers: { config: Record<string, unknown> }[] } } }) => void): string | undefined => {
      const j = JSON.parse(JSON.stringify(json));
      j.modelTopology.config.layers.pop();
      f(j);
      return kerasOnnxUnsupported(j);
    };
    expect(edit(() => undefined)).toBeUndefined();
    expect(edit((j) => (j.modelTopology.config.layers[0].config.data_format = 'channels_first'))).toBe('conv: data_format channels_first');
    expect(edit((j) => (j.modelTopology.config.layers[0].config.activation = 'mish'))).toBe('conv: activation mish');
    expect(edit((j) => (j.modelTopology.config.layers[0].config.padding = 'causal'))).toBe('conv: padding causal');
    expect(edit((j) => (j.modelTopology.config.layers[0].config.groups = 2))).toBe('conv: grouped convolution');
    expect(edit((j) => (j.modelTopology.config.layers[0].config.dtype = 'float16'))).toBe('conv_input: dtype "float16"');
    expect(edit((j) => Object.assign(j.modelTopology.config.layers[0].config, { strides: [2, 2], dilation_rate: [2, 2] }))).toBe('conv: dilation with stride');
  });

  it('refuses, from the JSON alone, what the conversion would get wrong', async () => {
    const tf = await loadTf();
    const L = tf.layers;
    const check = (build: (x: never) => never, shape = [6, 6, 2]): string | undefined => {
      const x = tf.input({ shape });
      const model = tf.model({ inputs: x, outputs: build(x as never) });
      const json = JSON.parse(JSON.stringify(model.toJSON(null, false))) as TfModelJson['modelTopology'];
      model.dispose();
      return kerasOnnxUnsupported({ modelTopology: json, weightsManifest: [] });
    };
    // Keras broadcasts a (N, C) tensor against (N, H, W, C) from axis 1; ONNX would broadcast it against (H, W).
    expect(
      check((x) => {
        const g = L.dense({ units: 2, name: 'd' }).apply(L.globalAveragePooling2d({ name: 'g' }).apply(x)) as never;
        return L.multiply({ name: 'mul' }).apply([x, g]) as never;
      }),
    ).toBe('mul: Multiply of tensors of ranks 4, 2');
    expect(check((x) => L.dense({ units: 2, name: 'd4' }).apply(x) as never)).toBe('d4: Dense on a rank-4 tensor');
    expect(check((x) => L.concatenate({ axis: 1, name: 'cat' }).apply([x, x]) as never)).toBe('cat: concatenation along axis 1');
    expect(check((x) => L.maxPooling2d({ poolSize: 1, strides: 2, padding: 'same', name: 'mp' }).apply(x) as never)).toBe(
      "mp: 'same' pooling with a window smaller than its stride",
    );
    expect(check((x) => L.maxPooling2d({ poolSize: 2, strides: 2, padding: 'same', name: 'mp' }).apply(x) as never)).toBeUndefined();
  });

  /** A one-Dense-layer Keras model saved under `name`: its model.json path. */
  async function savedDense(name: string): Promise<string> {
    const tf = await loadTf();
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2, name: 'dense' })] });
    setWeights(tf, model);
    const path = await saveLayers(tf, model, join(dir, name));
    model.dispose();
    return path;
  }

  it('a weight the shards lack is an error; TASKMAP_KERAS_RUNTIME=tfjs keeps TF.js', async () => {
    const path = await savedDense('missing-weight');
    const { json, weights } = await readTfModel(path);
    const renamed = JSON.parse(JSON.stringify(json)) as TfModelJson;
    (renamed.weightsManifest[0].weights as { name: string }[])[1].name = 'dense/bias_renamed';
    await expect(KerasOnnxRunner.load(renamed, weights, path)).rejects.toThrow(/weight dense\/bias is not in the weights manifest/);
    const file = await resolveModelFile(path);
    try {
      vi.stubEnv('TASKMAP_KERAS_RUNTIME', 'tfjs');
      expect(await convertedRuntime(file)).toBeUndefined();
      const runner = await loadModelFile(file);
      expect(runner).toBeInstanceOf(TfLayersRunner);
      runner.dispose();
      vi.stubEnv('TASKMAP_KERAS_RUNTIME', 'wasm');
      await expect(loadModelFile(file)).rejects.toThrow(/TASKMAP_KERAS_RUNTIME=wasm: use onnx \(the default\) or tfjs/);
    } finally {
      vi.unstubAllEnvs();
    }
    expect(await convertedRuntime(file)).toBe('keras-onnx@1');
  });

  it('a runtime decided when the model was resolved is the one that loads it, whatever TASKMAP_KERAS_RUNTIME says where it loads', async () => {
    const file = await resolveModelFile(await savedDense('decided'));
    try {
      vi.stubEnv('TASKMAP_KERAS_RUNTIME', 'tfjs');
      const onnx = await loadModelFile({ ...file, runtime: 'keras-onnx@1' });
      expect(onnx).toBeInstanceOf(KerasOnnxRunner);
      onnx.dispose();
      vi.stubEnv('TASKMAP_KERAS_RUNTIME', undefined);
      const tfjs = await loadModelFile({ ...file, runtime: null });
      expect(tfjs).toBeInstanceOf(TfLayersRunner);
      tfjs.dispose();
      await expect(loadModelFile({ ...file, runtime: 'keras-onnx@99' })).rejects.toThrow(/planned to run on keras-onnx@99, but this installation converts Keras models as keras-onnx@1/);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
