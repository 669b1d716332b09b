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

/** onnxruntime sessions of one model, one per distinct tap list (a tap list changes the graph's outputs). */
export class OrtSessions {
  private sessions = new Map<string, Promise<OrtSession>>();

  constructor(
    private ort: Ort,
    private threads: number,
  ) {}

  /** The session for `key`, built from `bytes()` the first time (a failed build is retried next time). */
  get(key: string, bytes: () => Uint8Array): Promise<OrtSession> {
    let s = this.sessions.get(key);
    if (!s) {
      s = this.ort.InferenceSession.create(bytes(), { intraOpNumThreads: this.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
      s.catch(() => this.sessions.delete(key));
      this.sessions.set(key, s);
    }
    return s;
  }

  /** Run on one batch fed to `input` and return the `taps` in order, as float32. */
  async run(session: OrtSession, input: TensorInfo, batch: InputBatch, taps: string[], path: string): Promise<TapValue[]> {
    const feeds = { [input.name]: new this.ort.Tensor(input.dtype === 'int32' ? 'int32' : 'float32', batch.data, batch.shape) };
    let result: Record<string, import('onnxruntime-node').Tensor>;
    try {
      result = await session.run(feeds, [...new Set(taps)]);
    } catch (e) {
      throw new Error(`${path}: onnxruntime failed on input ${batch.shape.join('×')}: ${(e as Error).message}`, { cause: e });
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

export class OnnxRunner implements ModelRunner {
  readonly format = 'onnx' as const;
  readonly inputs: TensorInfo[];
  readonly outputs: string[];
  private sessions: OrtSessions;

  private constructor(
    ort: Ort,
    private onnx: any,
    private model: OnnxModel,
    private path: string,
    threads: number,
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
    this.sessions = new OrtSessions(ort, threads);
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
    return this.sessions.get(extra.join('\u0000'), () => {
      if (extra.length === 0) return this.onnx.ModelProto.encode(this.model).finish();
      const g = this.model.graph!;
      const copy = this.onnx.ModelProto.create({
        ...this.model,
        graph: this.onnx.GraphProto.create({ ...g, output: [...g.output, ...extra.map((name) => this.onnx.ValueInfoProto.create({ name }))] }),
      });
      return this.onnx.ModelProto.encode(copy).finish();
    });
  }

  async run(batch: InputBatch, taps: string[]): Promise<TapValue[]> {
    return this.sessions.run(await this.session(taps), this.inputs[0], batch, taps, this.path);
  }

  dispose(): void {
    this.sessions.dispose();
  }
}
