/**
 * ONNX models on onnxruntime-node (CPU). Intermediate tensors are read by appending them to the graph's outputs
 * (a ValueInfoProto with just the name; ORT infers the type) and building a session from the re-encoded model —
 * one session per distinct tap list, cached (DEPENDENCIES §3.1).
 */
import { loadOnnxProto as onnxProto, loadOnnxRuntime as loadOrt, type Ort, type OrtSession } from '../util/onnxRuntime.js';
import type { InputBatch, LayerInfo, ModelRunner, TapValue, TensorInfo } from './types.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- onnx-proto's generated typings are loose; the shapes used are declared below */
interface OnnxDim {
  dimValue?: number | { toNumber(): number };
  dimParam?: string;
}
interface OnnxValueInfo {
  name: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim?: OnnxDim[] } } };
}
interface OnnxNode {
  name?: string;
  opType: string;
  input: string[];
  output: string[];
}
interface OnnxModel {
  graph?: { node: OnnxNode[]; input: OnnxValueInfo[]; output: OnnxValueInfo[]; initializer: { name: string }[] };
}

const ELEM_TYPES: Record<number, string> = { 1: 'float32', 2: 'uint8', 3: 'int8', 5: 'int16', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64' };

function dimOf(d: OnnxDim): number | null {
  if (d.dimValue === undefined || d.dimValue === null) return null;
  const v = typeof d.dimValue === 'number' ? d.dimValue : d.dimValue.toNumber();
  return v > 0 ? v : null;
}

/** Decode ONNX bytes; a clear error when they are not an ONNX model. */
export async function decodeOnnx(bytes: Uint8Array, path: string): Promise<OnnxModel> {
  const onnx = await onnxProto();
  let model: OnnxModel;
  try {
    model = onnx.ModelProto.decode(bytes) as OnnxModel;
  } catch (e) {
    throw new Error(`${path}: not an ONNX model (protobuf decode failed: ${(e as Error).message})`, { cause: e });
  }
  if (!model.graph || model.graph.node.length === 0) throw new Error(`${path}: not an ONNX model (no graph nodes)`);
  return model;
}

/** Every node output, in node order (ONNX requires topological order, so that is execution order). */
export function onnxLayers(model: OnnxModel): LayerInfo[] {
  const out: LayerInfo[] = [];
  for (const n of model.graph!.node) {
    if (n.opType === 'Constant') continue;
    for (const o of n.output) if (o) out.push({ name: o, op: n.opType });
  }
  return out;
}

export class OnnxRunner implements ModelRunner {
  readonly format = 'onnx' as const;
  readonly inputs: TensorInfo[];
  readonly outputs: string[];
  private sessions = new Map<string, Promise<OrtSession>>();

  private constructor(
    private ort: Ort,
    private onnx: any,
    private model: OnnxModel,
    private path: string,
    private threads: number,
  ) {
    const g = model.graph!;
    const inits = new Set(g.initializer.map((i) => i.name));
    this.inputs = g.input
      .filter((i) => !inits.has(i.name))
      .map((i) => ({
        name: i.name,
        shape: (i.type?.tensorType?.shape?.dim ?? []).map(dimOf),
        dtype: ELEM_TYPES[i.type?.tensorType?.elemType ?? 1] ?? 'float32',
      }));
    this.outputs = g.output.map((o) => o.name);
  }

  static async load(bytes: Uint8Array, path: string, opts: { threads?: number } = {}): Promise<OnnxRunner> {
    const model = await decodeOnnx(bytes, path);
    return new OnnxRunner(await loadOrt(), await onnxProto(), model, path, opts.threads ?? 1);
  }

  layers(): LayerInfo[] {
    return onnxLayers(this.model);
  }

  private session(taps: string[]): Promise<OrtSession> {
    const extra = [...new Set(taps)].filter((t) => !this.outputs.includes(t));
    const key = extra.join('\u0000');
    let s = this.sessions.get(key);
    if (!s) {
      let bytes: Uint8Array;
      if (extra.length === 0) {
        bytes = this.onnx.ModelProto.encode(this.model).finish();
      } else {
        const g = this.model.graph!;
        const copy = this.onnx.ModelProto.create({
          ...this.model,
          graph: this.onnx.GraphProto.create({ ...g, output: [...g.output, ...extra.map((name) => this.onnx.ValueInfoProto.create({ name }))] }),
        });
        bytes = this.onnx.ModelProto.encode(copy).finish();
      }
      s = this.ort.InferenceSession.create(bytes, { intraOpNumThreads: this.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
      s.catch(() => this.sessions.delete(key));
      this.sessions.set(key, s);
    }
    return s;
  }

  async run(batch: InputBatch, taps: string[]): Promise<TapValue[]> {
    const session = await this.session(taps);
    const main = this.inputs[0];
    const feeds = { [main.name]: new this.ort.Tensor(main.dtype === 'int32' ? 'int32' : 'float32', batch.data, batch.shape) };
    const fetches = [...new Set(taps)];
    let result: Record<string, import('onnxruntime-node').Tensor>;
    try {
      result = await session.run(feeds, fetches);
    } catch (e) {
      throw new Error(`${this.path}: onnxruntime failed on input ${batch.shape.join('×')}: ${(e as Error).message}`, { cause: e });
    }
    const out = taps.map((t) => {
      const r = result[t];
      const d = r.data;
      const data = d instanceof Float32Array ? d : Float32Array.from(d as ArrayLike<number | bigint>, Number);
      return { shape: r.dims.map(Number), data };
    });
    for (const r of Object.values(result)) r.dispose?.();
    return out;
  }

  dispose(): void {
    for (const s of this.sessions.values()) void s.then((x) => x.release()).catch(() => undefined);
    this.sessions.clear();
  }
}
