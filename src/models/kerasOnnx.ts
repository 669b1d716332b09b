/**
 * Keras (TF.js layers) models → an ONNX graph for onnxruntime. The TF.js WASM backend is single-threaded and runs a
 * layers model op by op (convolution, then batch norm, then the activation, each a pass over memory); the same
 * network on onnxruntime, with batch norm and activations fused into the convolutions, runs several times faster
 * (nsfw-mobilenet-v2: 59 → 5 ms per image on one thread of this machine, docs/models.md). Only a plain functional or
 * sequential network of the layers below converts; anything else (shared layers, custom layers, other layer types or
 * options) keeps the TF.js runner — `kerasOnnxUnsupported` says why, from the model JSON alone, so the choice is
 * known before loading.
 *
 * Layout: Keras is channels-last, ONNX convolutions channels-first. The input is transposed once; every tap of a
 * 4-d layer is transposed back, so taps have exactly the shapes and element order the TF.js runner gives.
 */
import { loadOnnxProto, loadOnnxRuntime, type OnnxProto } from '../util/onnxRuntime.js';
import { OrtSessions } from './onnx.js';
import { layersFromJson, type TfModelJson } from './tfjs.js';
import type { InputBatch, LayerInfo, ModelRunner, TapValue, TensorInfo } from './types.js';

/** Bump when the conversion changes what a converted model computes (it is part of the feature cache key). */
export const KERAS_ONNX_VERSION = 1;

interface KerasLayer {
  class_name: string;
  name?: string;
  config: Record<string, unknown> & { name: string };
  inbound_nodes?: unknown[];
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype?: string;
  quantization?: { dtype: string; min?: number; scale?: number };
}

const ACTIVATIONS = new Set(['linear', 'relu', 'relu6', 'sigmoid', 'tanh', 'softmax', 'elu', 'swish', 'silu', 'hard_sigmoid']);
const IDENTITY_LAYERS = new Set(['Dropout', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'ActivityRegularization']);
const CONVERTED = new Set([
  'InputLayer',
  'ZeroPadding2D',
  'Conv2D',
  'DepthwiseConv2D',
  'BatchNormalization',
  'ReLU',
  'Activation',
  'Add',
  'Multiply',
  'Concatenate',
  'AveragePooling2D',
  'MaxPooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'Flatten',
  'Dense',
  ...IDENTITY_LAYERS,
]);

function modelConfig(json: TfModelJson): { layers: KerasLayer[]; input_layers: unknown[]; output_layers: unknown[] } | undefined {
  const topo = json.modelTopology as { model_config?: { class_name?: string; config?: unknown }; class_name?: string; config?: unknown };
  const mc = topo.model_config ?? topo;
  if (mc.class_name === 'Sequential') {
    // A chain: each layer takes the previous one; the first declares the input shape (or is an InputLayer).
    const list = (Array.isArray(mc.config) ? mc.config : (mc.config as { layers?: unknown } | undefined)?.layers) as KerasLayer[] | undefined;
    if (!Array.isArray(list) || list.length === 0 || typeof list[0]?.config?.name !== 'string') return undefined;
    const layers: KerasLayer[] =
      list[0].class_name === 'InputLayer'
        ? [list[0]]
        : [
            {
              class_name: 'InputLayer',
              config: { name: `${list[0].config.name}_input`, batch_input_shape: list[0].config.batch_input_shape, dtype: list[0].config.dtype },
            },
          ];
    for (const l of list.slice(list[0].class_name === 'InputLayer' ? 1 : 0))
      layers.push({ ...l, inbound_nodes: [[[layers[layers.length - 1].config.name, 0, 0, {}]]] });
    const last = layers[layers.length - 1].config.name;
    return { layers, input_layers: [[layers[0].config.name, 0, 0]], output_layers: [[last, 0, 0]] };
  }
  const cfg = mc.config as { layers?: KerasLayer[]; input_layers?: unknown[]; output_layers?: unknown[] } | undefined;
  if (mc.class_name !== 'Model' && mc.class_name !== 'Functional') return undefined;
  if (!cfg || !Array.isArray(cfg.layers) || !Array.isArray(cfg.input_layers) || !Array.isArray(cfg.output_layers)) return undefined;
  return { layers: cfg.layers, input_layers: cfg.input_layers, output_layers: cfg.output_layers };
}

/** The names of a layer's inputs: one inbound node, each input the first output of a layer's first call. */
function inboundNames(l: KerasLayer): string[] | undefined {
  const nodes = l.inbound_nodes ?? [];
  if (nodes.length === 0) return [];
  if (nodes.length !== 1 || !Array.isArray(nodes[0])) return undefined;
  const out: string[] = [];
  for (const ref of nodes[0] as unknown[]) {
    if (!Array.isArray(ref) || typeof ref[0] !== 'string' || ref[1] !== 0 || ref[2] !== 0) return undefined;
    out.push(ref[0]);
  }
  return out;
}

const pair = (v: unknown, what: string): [number, number] => {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => Number.isInteger(x))) return [v[0] as number, v[1] as number];
  throw new Error(`${what}: ${JSON.stringify(v)}`);
};

/** Why a layer cannot be converted (undefined when it can), from its configuration alone. */
function layerProblem(l: KerasLayer): string | undefined {
  const c = l.config;
  if (!CONVERTED.has(l.class_name)) return `layer type ${l.class_name}`;
  if (c.dtype != null && c.dtype !== 'float32') return `${c.name}: dtype ${JSON.stringify(c.dtype)}`;
  if ('data_format' in c && c.data_format !== 'channels_last' && c.data_format != null) return `${c.name}: data_format ${String(c.data_format)}`;
  if ('activation' in c && !ACTIVATIONS.has(String(c.activation))) return `${c.name}: activation ${String(c.activation)}`;
  if ((c.groups ?? 1) !== 1) return `${c.name}: grouped convolution`;
  const strides = pair(c.strides ?? c.pool_size ?? 1, 'strides');
  if ('dilation_rate' in c && pair(c.dilation_rate, 'dilation').some((d) => d !== 1) && strides.some((st) => st !== 1)) return `${c.name}: dilation with stride`;
  if ('padding' in c && l.class_name !== 'ZeroPadding2D' && c.padding !== 'same' && c.padding !== 'valid') return `${c.name}: padding ${String(c.padding)}`;
  // TF pads a 'same' pooling window smaller than its stride by a size-dependent amount onnxruntime cannot express.
  if (/Pooling2D$/.test(l.class_name) && c.padding === 'same' && pair(c.pool_size ?? 2, 'pool_size').some((k, i) => k < strides[i]))
    return `${c.name}: 'same' pooling with a window smaller than its stride`;
  if (l.class_name === 'BatchNormalization' && c.axis !== -1 && c.axis !== 3 && !(Array.isArray(c.axis) && c.axis.length === 1 && (c.axis[0] === -1 || c.axis[0] === 3)))
    return `${c.name}: batch norm over axis ${JSON.stringify(c.axis)}`;
  if (l.class_name === 'ReLU' && ((c.threshold ?? 0) !== 0 || ((c.negative_slope ?? 0) !== 0 && c.max_value != null))) return `${c.name}: ReLU options`;
  return undefined;
}

/** The rank of a layer's output from its inputs' ranks, or why the converter cannot take it. */
function layerRank(l: KerasLayer, ins: number[]): number | string {
  const c = l.config;
  const want = (r: number) => (ins.length === 1 && ins[0] === r ? r : `${c.name}: ${l.class_name} on a rank-${ins.join('/')} tensor`);
  switch (l.class_name) {
    case 'InputLayer': {
      const shape = (c.batch_input_shape ?? c.batch_shape) as unknown[] | undefined;
      return Array.isArray(shape) && (shape.length === 4 || shape.length === 2) ? shape.length : `${c.name}: input shape ${JSON.stringify(shape ?? null)}`;
    }
    case 'ZeroPadding2D':
    case 'Conv2D':
    case 'DepthwiseConv2D':
    case 'AveragePooling2D':
    case 'MaxPooling2D':
      return want(4);
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D':
      return ins.length === 1 && ins[0] === 4 ? (c.keepdims === true ? 4 : 2) : want(4);
    case 'Flatten':
      return ins.length === 1 ? 2 : want(4);
    case 'Dense':
      return want(2);
    case 'BatchNormalization':
      return ins.length === 1 && (ins[0] === 2 || ins[0] === 4) ? ins[0] : want(4);
    case 'Add':
    case 'Multiply':
    case 'Concatenate':
      // Keras broadcasts a lower-rank input from axis 1, which ONNX's trailing-axis broadcasting would get wrong.
      if (ins.length < 2 || ins.some((r) => r !== ins[0])) return `${c.name}: ${l.class_name} of tensors of ranks ${ins.join(', ')}`;
      if (l.class_name === 'Concatenate' && c.axis !== -1 && c.axis !== ins[0] - 1) return `${c.name}: concatenation along axis ${String(c.axis)}`;
      return ins[0];
    default:
      // Activations, ReLU, dropout and noise layers keep their input.
      return ins.length === 1 ? ins[0] : `${c.name}: ${l.class_name} with ${ins.length} inputs`;
  }
}

/**
 * Why this TF.js model cannot run on onnxruntime (undefined when it can): read from the JSON alone, so every
 * model it passes converts (kerasToOnnx then only fails on weights that are missing, which TF.js refuses too).
 */
export function kerasOnnxUnsupported(json: TfModelJson): string | undefined {
  const cfg = modelConfig(json);
  if (!cfg) return 'not a functional or sequential Keras model';
  if (cfg.input_layers.length !== 1) return `${cfg.input_layers.length} inputs`;
  const ranks = new Map<string, number>();
  for (const l of cfg.layers) {
    if (typeof l.config?.name !== 'string') return 'a layer without a name';
    let problem: string | undefined;
    try {
      problem = layerProblem(l);
    } catch (e) {
      problem = `${l.config.name}: ${(e as Error).message}`;
    }
    if (problem) return problem;
    const ins = inboundNames(l);
    if (!ins) return `${l.config.name}: inbound nodes not in the TF.js Keras 2 form (a shared layer, a multi-output layer, or Keras 3)`;
    if (ins.some((i) => !ranks.has(i))) return `${l.config.name}: layers not in topological order`;
    if ((l.class_name === 'InputLayer') !== (ins.length === 0)) return `${l.config.name}: ${ins.length ? 'an input layer with inputs' : 'a layer without inputs'}`;
    const rank = layerRank(
      l,
      ins.map((i) => ranks.get(i)!),
    );
    if (typeof rank === 'string') return rank;
    ranks.set(l.config.name, rank);
  }
  for (const o of cfg.output_layers) if (!Array.isArray(o) || !ranks.has(String(o[0]))) return `output ${JSON.stringify(o)} is not a layer`;
  return undefined;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** The weights of a TF.js weights manifest as named float32 arrays (dequantised as TF.js does: q·scale + min). */
export function decodeKerasWeights(specs: WeightSpec[], data: Uint8Array): Map<string, { shape: number[]; values: Float32Array }> {
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  let off = 0;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (const s of specs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    const q = s.quantization;
    const dtype = s.dtype ?? 'float32';
    if (dtype !== 'float32') throw new Error(`weight ${s.name}: dtype ${dtype}`);
    const bytes = q ? (q.dtype === 'uint8' ? 1 : 2) : 4;
    if (off + n * bytes > data.byteLength) throw new Error(`weight ${s.name}: the weight data ends early`);
    if (!q) for (let i = 0; i < n; i++) values[i] = view.getFloat32(off + 4 * i, true);
    else if (q.dtype === 'uint8' || q.dtype === 'uint16') {
      const { min = 0, scale = 1 } = q;
      for (let i = 0; i < n; i++) values[i] = (q.dtype === 'uint8' ? data[off + i] : view.getUint16(off + 2 * i, true)) * scale + min;
    } else if (q.dtype === 'float16') for (let i = 0; i < n; i++) values[i] = halfToFloat(view.getUint16(off + 2 * i, true));
    else throw new Error(`weight ${s.name}: quantization ${q.dtype}`);
    off += n * bytes;
    if (out.has(s.name)) throw new Error(`weight ${s.name} appears twice in the weights manifest`);
    out.set(s.name, { shape: s.shape, values });
  }
  return out;
}

/** A converted network: the ONNX graph pieces, to which a runner adds the outputs of the layers it taps. */
interface KerasGraph {
  /** onnx-proto GraphProto fields. */
  nodes: unknown[];
  initializers: unknown[];
  inputName: string;
  /** [null, H, W, C] (or [null, D]) as Keras declares it. */
  inputShape: (number | null)[];
  /** Per layer: the internal tensor name and its rank (4-d tensors are channels-first inside). */
  tensors: Map<string, { name: string; rank: number }>;
  outputLayers: string[];
  onnx: OnnxProto;
}

/** Convert (the JSON must pass `kerasOnnxUnsupported`). */
async function kerasToOnnx(json: TfModelJson, weightData: Uint8Array): Promise<KerasGraph> {
  const why = kerasOnnxUnsupported(json);
  if (why) throw new Error(`cannot convert this Keras model to ONNX: ${why}`);
  const onnx = await loadOnnxProto();
  const cfg = modelConfig(json)!;
  const weights = decodeKerasWeights(
    json.weightsManifest.flatMap((g) => g.weights as WeightSpec[]),
    weightData,
  );
  // TF.js binds a weight to `<layer>/<param>` exactly (container.loadWeights): the same rule here.
  const weight = (layer: string, param: string): { shape: number[]; values: Float32Array } => {
    const w = weights.get(`${layer}/${param}`);
    if (!w) throw new Error(`layer ${layer}: weight ${layer}/${param} is not in the weights manifest`);
    return w;
  };
  const nodes: unknown[] = [];
  const initializers: unknown[] = [];
  const tensors = new Map<string, { name: string; rank: number }>();
  let uid = 0;
  const fresh = (base: string) => `${base}#${uid++}`;
  const init = (name: string, dims: number[], values: Float32Array | BigInt64Array) => {
    const float = values instanceof Float32Array;
    initializers.push(
      onnx.TensorProto.create({ name, dims, dataType: float ? 1 : 7, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) }),
    );
    return name;
  };
  const attr = (name: string, v: number[] | string) =>
    typeof v === 'string' ? onnx.AttributeProto.create({ name, type: 3, s: new TextEncoder().encode(v) }) : onnx.AttributeProto.create({ name, type: 7, ints: v });
  const int = (name: string, v: number) => onnx.AttributeProto.create({ name, type: 2, i: v });
  // Typed explicitly: a float attribute that happens to be whole (epsilon 1, slope 1) must not be written as an INT.
  const float = (name: string, v: number) => onnx.AttributeProto.create({ name, type: 1, f: v });
  const node = (op: string, inputs: string[], attrs: unknown[] = [], out = fresh(op)) => {
    nodes.push(onnx.NodeProto.create({ opType: op, input: inputs, output: [out], name: out, attribute: attrs }));
    return out;
  };
  // TF's 'same' pads (k − 1)·d in total, the odd pixel after: with stride 1 that is fixed, so it is written out
  // (onnxruntime refuses SAME_UPPER with dilations); with a stride it depends on the input size: SAME_UPPER.
  const samePadding = (same: boolean, k: [number, number] | number[], dil: [number, number]) => {
    if (!same) return attr('pads', [0, 0, 0, 0]);
    if (dil[0] === 1 && dil[1] === 1) return attr('auto_pad', 'SAME_UPPER');
    const t = [0, 1].map((i) => (k[i] - 1) * dil[i]);
    return attr('pads', [Math.floor(t[0] / 2), Math.floor(t[1] / 2), Math.ceil(t[0] / 2), Math.ceil(t[1] / 2)]);
  };
  const clip = (x: string, max: number) => node('Clip', [x, init(fresh('zero'), [], Float32Array.of(0)), init(fresh('max'), [], Float32Array.of(max))]);
  const activation = (x: string, act: string, rank: number): string => {
    switch (act) {
      case 'linear':
        return x;
      case 'relu':
        return node('Relu', [x]);
      case 'relu6':
        return clip(x, 6);
      case 'sigmoid':
        return node('Sigmoid', [x]);
      case 'tanh':
        return node('Tanh', [x]);
      case 'elu':
        return node('Elu', [x]);
      case 'hard_sigmoid':
        return node('HardSigmoid', [x], [float('alpha', 0.2), float('beta', 0.5)]);
      case 'swish':
      case 'silu':
        return node('Mul', [x, node('Sigmoid', [x])]);
      case 'softmax':
        // Keras normalises over the last (channel) axis, which is axis 1 of a channels-first tensor.
        return node('Softmax', [x], [int('axis', rank === 4 ? 1 : -1)]);
      default:
        throw new Error(`activation ${act}`);
    }
  };
  // The check guarantees one input layer with a 2-d or 4-d shape, and the rank of every layer (layerRank).
  const inputLayer = cfg.layers.find((l) => l.class_name === 'InputLayer')!;
  const inputShape = (inputLayer.config.batch_input_shape ?? inputLayer.config.batch_shape) as (number | null)[];
  const inputName = inputLayer.config.name;

  for (const l of cfg.layers) {
    const c = l.config;
    const name = c.name;
    const ins = inboundNames(l)!.map((i) => tensors.get(i)!);
    const x = ins[0];
    const rank = layerRank(
      l,
      ins.map((i) => i.rank),
    ) as number;
    let out: string;
    switch (l.class_name) {
      case 'InputLayer':
        out = rank === 4 ? node('Transpose', [inputName], [attr('perm', [0, 3, 1, 2])]) : inputName;
        break;
      case 'ZeroPadding2D': {
        const p = c.padding;
        const [[t, b], [le, r]] =
          typeof p === 'number'
            ? [
                [p, p],
                [p, p],
              ]
            : Array.isArray(p) && typeof p[0] === 'number'
              ? [
                  [p[0] as number, p[0] as number],
                  [p[1] as number, p[1] as number],
                ]
              : (p as [[number, number], [number, number]]);
        const pads = BigInt64Array.from([0, 0, t, le, 0, 0, b, r].map(BigInt));
        out = node('Pad', [x.name, init(fresh('pads'), [8], pads)]);
        break;
      }
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        const depthwise = l.class_name === 'DepthwiseConv2D';
        const k = weight(name, depthwise ? 'depthwise_kernel' : 'kernel');
        const [kh, kw, cin, cout] = k.shape; // depthwise: cout is the depth multiplier
        const outCh = depthwise ? cin * cout : cout;
        // Keras HWIO (depthwise HW·C·M, output channel c·M + m) → ONNX OIHW (depthwise: [C·M, 1, kh, kw], group C).
        const w = new Float32Array(k.values.length);
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++)
            for (let ci = 0; ci < cin; ci++)
              for (let co = 0; co < cout; co++) {
                const v = k.values[((i * kw + j) * cin + ci) * cout + co];
                if (depthwise) w[((ci * cout + co) * kh + i) * kw + j] = v;
                else w[((co * cin + ci) * kh + i) * kw + j] = v;
              }
        const inputs = [x.name, init(fresh(`${name}/W`), depthwise ? [outCh, 1, kh, kw] : [cout, cin, kh, kw], w)];
        if (c.use_bias !== false) inputs.push(init(fresh(`${name}/B`), [outCh], weight(name, 'bias').values));
        const dil = pair(c.dilation_rate ?? 1, 'dilation');
        const attrs = [
          attr('kernel_shape', [kh, kw]),
          attr('strides', pair(c.strides ?? 1, 'strides')),
          attr('dilations', dil),
          int('group', depthwise ? cin : 1),
          samePadding(c.padding === 'same', [kh, kw], dil),
        ];
        out = activation(node('Conv', inputs, attrs), String(c.activation ?? 'linear'), rank);
        break;
      }
      case 'BatchNormalization': {
        const ch = (c.center === false ? weight(name, 'moving_mean') : weight(name, 'beta')).shape[0];
        const gamma = c.scale === false ? new Float32Array(ch).fill(1) : weight(name, 'gamma').values;
        const beta = c.center === false ? new Float32Array(ch) : weight(name, 'beta').values;
        const inputs = [
          x.name,
          init(fresh(`${name}/gamma`), [ch], gamma),
          init(fresh(`${name}/beta`), [ch], beta),
          init(fresh(`${name}/mean`), [ch], weight(name, 'moving_mean').values),
          init(fresh(`${name}/var`), [ch], weight(name, 'moving_variance').values),
        ];
        out = node('BatchNormalization', inputs, [float('epsilon', Number(c.epsilon ?? 1e-3))]);
        break;
      }
      case 'ReLU': {
        const slope = Number(c.negative_slope ?? 0);
        const max = c.max_value == null ? undefined : Number(c.max_value);
        if (max !== undefined) out = clip(x.name, max);
        else if (slope !== 0) out = node('LeakyRelu', [x.name], [float('alpha', slope)]);
        else out = node('Relu', [x.name]);
        break;
      }
      case 'Activation':
        out = activation(x.name, String(c.activation), rank);
        break;
      case 'Add':
        out = node('Sum', ins.map((i) => i.name));
        break;
      case 'Multiply':
        out = ins.slice(1).reduce((acc, i) => node('Mul', [acc, i.name]), x.name);
        break;
      case 'Concatenate':
        // Along channels only (layerRank refuses other axes): the last Keras axis, axis 1 inside for a 4-d tensor.
        out = node('Concat', ins.map((i) => i.name), [int('axis', rank === 4 ? 1 : -1)]);
        break;
      case 'AveragePooling2D':
      case 'MaxPooling2D': {
        const pool = pair(c.pool_size ?? 2, 'pool_size');
        const attrs = [attr('kernel_shape', pool), attr('strides', pair(c.strides ?? pool, 'strides')), samePadding(c.padding === 'same', pool, [1, 1])];
        out = node(l.class_name === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', [x.name], attrs);
        break;
      }
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D': {
        const g = node(l.class_name === 'GlobalMaxPooling2D' ? 'GlobalMaxPool' : 'GlobalAveragePool', [x.name]);
        out = rank === 4 ? g : node('Flatten', [g], [int('axis', 1)]);
        break;
      }
      case 'Flatten':
        // Keras flattens channels-last: back to NHWC first so the element order is the same.
        out = x.rank === 4 ? node('Flatten', [node('Transpose', [x.name], [attr('perm', [0, 2, 3, 1])])], [int('axis', 1)]) : x.name;
        break;
      case 'Dense': {
        const k = weight(name, 'kernel');
        let y = node('MatMul', [x.name, init(fresh(`${name}/W`), k.shape, k.values)]);
        if (c.use_bias !== false) y = node('Add', [y, init(fresh(`${name}/B`), [k.shape[1]], weight(name, 'bias').values)]);
        out = activation(y, String(c.activation ?? 'linear'), rank);
        break;
      }
      default:
        // Dropout and noise layers (the check lets no other type through).
        out = x.name;
    }
    tensors.set(name, { name: out, rank });
  }
  const outputLayers = cfg.output_layers.map((o) => String((o as unknown[])[0]));
  return { nodes, initializers, inputName, inputShape, tensors, outputLayers, onnx };
}

/** ONNX model bytes of the graph with the given layers as outputs, each in Keras's (channels-last) layout. */
function kerasOnnxBytes(g: KerasGraph, taps: string[]): Uint8Array {
  const { onnx } = g;
  const extra: unknown[] = [];
  const outputs = [...new Set(taps)].map((layer) => {
    const t = g.tensors.get(layer)!; // the runner checked the names
    const perm = t.rank === 4 ? [0, 2, 3, 1] : undefined;
    extra.push(
      onnx.NodeProto.create({
        opType: perm ? 'Transpose' : 'Identity',
        input: [t.name],
        output: [layer],
        name: `${layer}:out`,
        attribute: perm ? [onnx.AttributeProto.create({ name: 'perm', type: 7, ints: perm })] : [],
      }),
    );
    return onnx.ValueInfoProto.create({ name: layer });
  });
  const dims = g.inputShape.map((d, i) => (d == null ? { dimParam: ['n', 'h', 'w', 'c'][i] ?? `d${i}` } : { dimValue: d }));
  const graph = onnx.GraphProto.create({
    name: 'keras',
    node: [...g.nodes, ...extra],
    initializer: g.initializers,
    input: [onnx.ValueInfoProto.create({ name: g.inputName, type: { tensorType: { elemType: 1, shape: { dim: dims } } } })],
    output: outputs,
  });
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, graph, opsetImport: [{ domain: '', version: 13 }] })).finish();
}

/** A converted Keras model on onnxruntime. */
export class KerasOnnxRunner implements ModelRunner {
  readonly format = 'tfjs-layers' as const;
  readonly inputs: TensorInfo[];
  readonly outputs: string[];
  private sessions: OrtSessions;

  private constructor(
    private graph: KerasGraph,
    private json: TfModelJson,
    private path: string,
    sessions: OrtSessions,
  ) {
    this.inputs = [{ name: graph.inputName, shape: graph.inputShape, dtype: 'float32' }];
    this.outputs = graph.outputLayers;
    this.sessions = sessions;
  }

  static async load(json: TfModelJson, weights: Uint8Array, path: string, opts: { threads?: number } = {}): Promise<KerasOnnxRunner> {
    const graph = await kerasToOnnx(json, weights);
    return new KerasOnnxRunner(graph, json, path, new OrtSessions(await loadOnnxRuntime(), opts.threads ?? 1));
  }

  layers(): LayerInfo[] {
    return layersFromJson(this.json);
  }

  async run(batch: InputBatch, taps: string[]): Promise<TapValue[]> {
    for (const t of taps) if (!this.graph.tensors.has(t)) throw new Error(`${this.path}: no layer named ${t}`);
    const unique = [...new Set(taps)];
    const session = await this.sessions.get(unique.join('\u0000'), () => kerasOnnxBytes(this.graph, unique));
    return this.sessions.run(session, this.inputs[0], batch, taps, this.path);
  }

  dispose(): void {
    this.sessions.dispose();
  }
}
