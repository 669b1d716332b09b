/**
 * Tiny models with known weights, built in the tests (ONNX through onnx-proto, TF.js graph JSON by hand, a TF.js
 * layers model through tfjs itself), and reference forward passes written out loop by loop, so tapped
 * intermediate values can be checked exactly. Plus small deterministic images.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { OnnxProto } from '../../src/util/onnxRuntime.js';
import { rng } from '../helpers/random.js';

async function onnxProto(): Promise<any> {
  const mod = (await import('onnx-proto')) as any;
  return (mod.default ?? mod).onnx;
}

const seq = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));

/** Conv(3→2, 2×2) → Relu → GlobalAveragePool → Flatten → Gemm(2→3), input [N, 3, 4, 4]. */
export const ONNX_WEIGHTS = {
  convW: seq(2 * 3 * 2 * 2, (i) => ((i * 7) % 11) / 10 - 0.5),
  convB: Float32Array.from([0.1, -0.2]),
  gemmW: Float32Array.from([0.5, -1, 2, 1.5, 0.25, -0.75]), // [2, 3]
  gemmB: Float32Array.from([0.3, 0, -0.1]),
};

/** A float tensor's ValueInfo (numbers: fixed sizes; strings: named dynamic axes), as exporters write them. */
export function onnxValueInfo(onnx: OnnxProto, name: string, dims: (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: onnx.TensorShapeProto.create({
          dim: dims.map((d) => onnx.TensorShapeProto.Dimension.create(typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
        }),
      }),
    }),
  });
}

export async function writeTinyOnnx(path: string): Promise<void> {
  const onnx = await onnxProto();
  const F = onnx.TensorProto.DataType.FLOAT;
  const tensor = (name: string, dims: number[], data: Float32Array) => onnx.TensorProto.create({ name, dims, dataType: F, floatData: Array.from(data) });
  const vi = (name: string, dims: (number | string)[]) => onnxValueInfo(onnx, name, dims);
  const ints = (name: string, v: number[]) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
  const graph = onnx.GraphProto.create({
    name: 'tiny',
    node: [
      onnx.NodeProto.create({ name: 'conv', opType: 'Conv', input: ['x', 'W', 'B'], output: ['c'], attribute: [ints('kernel_shape', [2, 2])] }),
      onnx.NodeProto.create({ name: 'relu', opType: 'Relu', input: ['c'], output: ['r'] }),
      onnx.NodeProto.create({ name: 'gap', opType: 'GlobalAveragePool', input: ['r'], output: ['g'] }),
      onnx.NodeProto.create({ name: 'flatten', opType: 'Flatten', input: ['g'], output: ['f'] }),
      onnx.NodeProto.create({ name: 'gemm', opType: 'Gemm', input: ['f', 'W2', 'B2'], output: ['y'] }),
    ],
    initializer: [
      tensor('W', [2, 3, 2, 2], ONNX_WEIGHTS.convW),
      tensor('B', [2], ONNX_WEIGHTS.convB),
      tensor('W2', [2, 3], ONNX_WEIGHTS.gemmW),
      tensor('B2', [3], ONNX_WEIGHTS.gemmB),
    ],
    input: [vi('x', ['N', 3, 4, 4])],
    output: [vi('y', ['N', 3])],
  });
  const model = onnx.ModelProto.create({ irVersion: 8, graph, opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: 13 })] });
  await writeFile(path, onnx.ModelProto.encode(model).finish());
}

/** Reference forward pass of the tiny ONNX model for one image x[3][4][4] (CHW, flat). */
export function onnxReference(x: ArrayLike<number>): { c: Float64Array; r: Float64Array; g: Float64Array; y: Float64Array } {
  const { convW, convB, gemmW, gemmB } = ONNX_WEIGHTS;
  const c = new Float64Array(2 * 3 * 3);
  for (let o = 0; o < 2; o++)
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        let s = convB[o];
        for (let ch = 0; ch < 3; ch++)
          for (let u = 0; u < 2; u++) for (let v = 0; v < 2; v++) s += convW[((o * 3 + ch) * 2 + u) * 2 + v] * x[(ch * 4 + i + u) * 4 + j + v];
        c[(o * 3 + i) * 3 + j] = s;
      }
  const r = c.map((v) => Math.max(0, v));
  const g = Float64Array.from([0, 1], (o) => r.slice(o * 9, o * 9 + 9).reduce((a, b) => a + b, 0) / 9);
  const y = Float64Array.from([0, 1, 2], (k) => gemmB[k] + g[0] * gemmW[k] + g[1] * gemmW[3 + k]);
  return { c, r, g, y };
}

/** TF.js graph model: x [N, 2, 2, 3] → Reshape [N, 12] → MatMul W [12, 2] → AddV2 b → Relu. */
export const GRAPH_WEIGHTS = {
  w: seq(24, (i) => ((i * 5) % 7) / 7 - 0.4),
  b: Float32Array.from([0.05, -0.3]),
};

export async function writeTinyTfGraph(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const f = { type: 'DT_FLOAT' };
  const dims = (...d: number[]) => ({ dim: d.map((size) => ({ size: String(size) })) });
  const json = {
    format: 'graph-model',
    generatedBy: 'taskmap tests',
    convertedBy: 'taskmap tests',
    modelTopology: {
      node: [
        { name: 'x', op: 'Placeholder', attr: { dtype: f, shape: { shape: dims(-1, 2, 2, 3) } } },
        { name: 'shape', op: 'Const', attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: dims(2) } } } },
        { name: 'w', op: 'Const', attr: { dtype: f, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(12, 2) } } } },
        { name: 'b', op: 'Const', attr: { dtype: f, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(2) } } } },
        { name: 'flat', op: 'Reshape', input: ['x', 'shape'], attr: { T: f, Tshape: { type: 'DT_INT32' } } },
        { name: 'mm', op: 'MatMul', input: ['flat', 'w'], attr: { T: f, transpose_a: { b: false }, transpose_b: { b: false } } },
        { name: 'add', op: 'AddV2', input: ['mm', 'b'], attr: { T: f } },
        { name: 'out', op: 'Relu', input: ['add'], attr: { T: f } },
      ],
      versions: { producer: 1 },
    },
    weightsManifest: [
      {
        paths: ['weights.bin'],
        weights: [
          { name: 'shape', shape: [2], dtype: 'int32' },
          { name: 'w', shape: [12, 2], dtype: 'float32' },
          { name: 'b', shape: [2], dtype: 'float32' },
        ],
      },
    ],
  };
  const bin = new Uint8Array(4 * (2 + 24 + 2));
  new Int32Array(bin.buffer, 0, 2).set([-1, 12]);
  new Float32Array(bin.buffer, 8, 24).set(GRAPH_WEIGHTS.w);
  new Float32Array(bin.buffer, 8 + 96, 2).set(GRAPH_WEIGHTS.b);
  await writeFile(join(dir, 'model.json'), JSON.stringify(json));
  await writeFile(join(dir, 'weights.bin'), bin);
  return join(dir, 'model.json');
}

export function graphReference(x: ArrayLike<number>): { mm: Float64Array; out: Float64Array } {
  const mm = Float64Array.from([0, 1], (k) => {
    let s = 0;
    for (let i = 0; i < 12; i++) s += x[i] * GRAPH_WEIGHTS.w[i * 2 + k];
    return s;
  });
  return { mm, out: mm.map((v, k) => Math.max(0, v + GRAPH_WEIGHTS.b[k])) };
}

/** `n` deterministic RGB images of `w`×`h` as PNG (lossless, so decoded pixels are exactly these). */
export async function writeImages(dir: string, n: number, w = 8, h = 8, seed = 1): Promise<{ name: string; pixels: Uint8Array }[]> {
  await mkdir(dir, { recursive: true });
  const random = rng(seed);
  const out: { name: string; pixels: Uint8Array }[] = [];
  for (let k = 0; k < n; k++) {
    const pixels = Uint8Array.from({ length: w * h * 3 }, () => Math.floor(random() * 256));
    const name = `img${String(k).padStart(2, '0')}.png`;
    await sharp(pixels, { raw: { width: w, height: h, channels: 3 } })
      .png()
      .toFile(join(dir, name));
    out.push({ name, pixels });
  }
  return out;
}

/** Save a TF.js layers model as model.json + one shard under `out`; returns the model.json path. */
export async function saveLayers(tf: typeof import('@tensorflow/tfjs'), model: import('@tensorflow/tfjs').LayersModel, out: string): Promise<string> {
  await mkdir(out, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      await writeFile(
        join(out, 'model.json'),
        JSON.stringify({ format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['w.bin'], weights: a.weightSpecs }] }),
      );
      await writeFile(join(out, 'w.bin'), new Uint8Array(a.weightData as ArrayBuffer));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return join(out, 'model.json');
}
