/**
 * TF.js graph and layers models on the WASM backend, loaded from disk without @tensorflow/tfjs-node (whose install
 * needs a download; DEPENDENCIES §3.2). Intermediate tensors: graph models by node name (`execute(x, names)`),
 * layers models by layer name (a sub-model whose outputs are those layers).
 *
 * The WASM backend is single-threaded in Node (DEPENDENCIES §3.3): parallelism comes from running one backend
 * per worker thread (see ./pool.ts), never from tfjs itself.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ExtraInputs, InputBatch, LayerInfo, ModelRunner, TapValue, TensorInfo } from './types.js';
import { readInputFile, readInputText } from '../io/input.js';
import { pathInside } from '../io/paths.js';

type Tf = typeof import('@tensorflow/tfjs');
type Tensor = import('@tensorflow/tfjs').Tensor;
type GraphModel = import('@tensorflow/tfjs').GraphModel;
type LayersModel = import('@tensorflow/tfjs').LayersModel;

const require = createRequire(import.meta.url);
let tfReady: Promise<Tf> | undefined;

/** @tensorflow/tfjs with the WASM backend initialised (once per thread). */
export function loadTf(): Promise<Tf> {
  tfReady ??= (async () => {
    const tf = (await import('@tensorflow/tfjs')) as Tf;
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // The .wasm binaries ship in the package's dist/; point the loader there instead of a CDN.
    const dist = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
    wasm.setWasmPaths(dist);
    if (!(await tf.setBackend('wasm'))) throw new Error('could not initialise the TF.js WASM backend');
    await tf.ready();
    return tf;
  })();
  return tfReady;
}

/** The JSON of a TF.js model: model.json, or the object a browserified `model.min.js` (nsfwjs) exports. */
export interface TfModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology: Record<string, unknown> & { node?: GraphNode[] };
  weightsManifest: { paths: string[]; weights: unknown[] }[];
  signature?: unknown;
  userDefinedMetadata?: Record<string, unknown>;
  modelInitializer?: unknown;
}

export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown>;
}

export function isLayersJson(json: TfModelJson): boolean {
  if (json.format === 'layers-model') return true;
  if (json.format === 'graph-model') return false;
  return !Array.isArray(json.modelTopology?.node) && ('model_config' in json.modelTopology || 'class_name' in json.modelTopology);
}

/**
 * Read a TF.js model from disk: `model.json` + binary shards, or nsfwjs's `model.min.js` + `group1-shardXofY.min.js`
 * (UMD bundles whose export is the JSON object / the base64 shard).
 */
export async function readTfModel(path: string, opts: { weights?: boolean } = {}): Promise<{ json: TfModelJson; weights: Uint8Array; files: string[] }> {
  const dir = dirname(path);
  const minified = path.endsWith('.min.js');
  let json: TfModelJson;
  if (minified) {
    json = require(path) as TfModelJson;
  } else {
    const text = await readInputText(path, 'a TF.js model.json');
    try {
      json = JSON.parse(text) as TfModelJson;
    } catch (e) {
      throw new Error(`${path}: not a TF.js model.json (invalid JSON: ${(e as Error).message})`, { cause: e });
    }
  }
  if (typeof json !== 'object' || json === null || typeof json.modelTopology !== 'object' || !Array.isArray(json.weightsManifest)) {
    throw new Error(
      `${path}: not a TF.js model (no modelTopology / weightsManifest); expected a model.json written by the TF.js converter or tf.LayersModel.save`,
    );
  }
  const files = [path];
  const parts: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      // Shard names come from the model file: they may only name files beside it.
      const file = pathInside(dir, minified ? `${p}.min.js` : p, `${path}: weightsManifest path`);
      files.push(file);
      if (opts.weights === false) continue;
      if (minified) {
        const b64 = require(file) as unknown;
        if (typeof b64 !== 'string') throw new Error(`${file}: expected a base64 weight shard`);
        parts.push(Buffer.from(b64, 'base64'));
      } else {
        parts.push(
          await readInputFile(file, 'a weight shard').catch((e: Error) => {
            throw new Error(`${path}: weight shard ${p} cannot be read (${e.message}); copy every file listed in weightsManifest next to model.json`);
          }),
        );
      }
    }
  }
  const weights = new Uint8Array(parts.reduce((s, b) => s + b.length, 0));
  let off = 0;
  for (const b of parts) {
    weights.set(b, off);
    off += b.length;
  }
  return { json, weights, files };
}

function artifacts(json: TfModelJson, weights: Uint8Array) {
  return {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy ?? undefined,
    signature: json.signature,
    userDefinedMetadata: json.userDefinedMetadata,
    modelInitializer: json.modelInitializer,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  };
}

async function readTensors(tf: Tf, tensors: Tensor[]): Promise<TapValue[]> {
  const out: TapValue[] = [];
  for (const t of tensors) {
    const data = await t.data();
    out.push({ shape: [...t.shape], data: data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>) });
  }
  tf.dispose(tensors);
  return out;
}

// Ops that exist only to implement control flow or that have no data output worth reading.
const NOT_TAPPABLE = new Set(['Const', 'Placeholder', 'NoOp', 'Enter', 'Exit', 'Merge', 'Switch', 'NextIteration', 'LoopCond', 'Assert']);

/** Graph nodes reachable from `input` in topological order (Kahn), without constants and control-flow plumbing. */
export function graphLayers(nodes: GraphNode[], inputs: string[]): LayerInfo[] {
  const clean = (s: string) => s.replace(/^\^/, '').replace(/:\d+$/, '');
  const succ = new Map<string, string[]>();
  for (const n of nodes) {
    for (const i of n.input ?? []) {
      const k = clean(i);
      if (!succ.has(k)) succ.set(k, []);
      succ.get(k)!.push(n.name);
    }
  }
  const reach = new Set(inputs);
  const stack = [...inputs];
  while (stack.length) {
    const x = stack.pop()!;
    for (const y of succ.get(x) ?? []) {
      if (!reach.has(y)) {
        reach.add(y);
        stack.push(y);
      }
    }
  }
  const byName = new Map(nodes.map((n) => [n.name, n]));
  // NextIteration → Merge is a while loop's back edge; ignoring it makes the graph acyclic.
  const forward = (d: string) => reach.has(d) && byName.get(d)?.op !== 'NextIteration';
  const pending = new Map<string, number>();
  for (const x of reach) pending.set(x, new Set((byName.get(x)?.input ?? []).map(clean).filter(forward)).size);
  // Start from every node with no reachable forward input (inputs, and loop counters fed only by back edges).
  const queue = nodes.map((n) => n.name).filter((x) => reach.has(x) && pending.get(x) === 0);
  const order: string[] = [];
  while (queue.length) {
    const x = queue.shift()!;
    order.push(x);
    if (byName.get(x)?.op === 'NextIteration') continue;
    for (const y of new Set(succ.get(x) ?? [])) {
      if (!reach.has(y)) continue;
      const left = pending.get(y)! - 1;
      pending.set(y, left);
      if (left === 0) queue.push(y);
    }
  }
  // Nodes inside a while loop frame run once per iteration and cannot be fetched as ordinary outputs.
  return order
    .map((name) => byName.get(name)!)
    .filter((n) => n && !NOT_TAPPABLE.has(n.op) && !/\/while\//.test(n.name))
    .map((n) => ({ name: n.name, op: n.op }));
}

interface KerasLayerConfig {
  name?: string;
  class_name?: string;
  config?: { name?: string };
}

/**
 * Tappable layers read from the model JSON alone (no weights, no backend): graph nodes reachable from the
 * placeholders, or Keras layers. Lets taps be checked before any model is loaded.
 */
export function layersFromJson(json: TfModelJson): LayerInfo[] {
  if (!isLayersJson(json)) {
    const nodes = json.modelTopology.node ?? [];
    return graphLayers(
      nodes,
      nodes.filter((n) => n.op === 'Placeholder').map((n) => n.name),
    );
  }
  const cfg = (json.modelTopology as { model_config?: { config?: unknown } }).model_config?.config ?? (json.modelTopology as { config?: unknown }).config;
  const list = (Array.isArray(cfg) ? cfg : ((cfg as { layers?: KerasLayerConfig[] } | undefined)?.layers ?? [])) as KerasLayerConfig[];
  return list
    .filter((l) => l.class_name !== 'InputLayer')
    .map((l) => ({ name: l.config?.name ?? l.name ?? '', op: l.class_name ?? '' }))
    .filter((l) => l.name);
}

export class TfGraphRunner implements ModelRunner {
  readonly format = 'tfjs-graph' as const;
  readonly inputs: TensorInfo[];
  readonly outputs: string[];
  private asyncTaps = new Set<string>();
  private layerList?: LayerInfo[];

  constructor(
    private tf: Tf,
    private model: GraphModel,
    private json: TfModelJson,
    private extra: ExtraInputs = {},
  ) {
    const ins = model.inputs.map((i) => ({ name: i.name, shape: (i.shape ?? []).map((d) => (d === -1 || d == null ? null : d)), dtype: String(i.dtype) }));
    // The image input first: the one not fed from `extra`, preferring 4-d inputs.
    ins.sort((a, b) => Number(a.name in extra) - Number(b.name in extra) || Number(b.shape.length === 4) - Number(a.shape.length === 4));
    this.inputs = ins;
    this.outputs = model.outputs.map((o) => o.name);
  }

  layers(): LayerInfo[] {
    this.layerList ??= graphLayers(
      this.json.modelTopology.node ?? [],
      this.inputs.map((i) => i.name),
    );
    return this.layerList;
  }

  async run(batch: InputBatch, taps: string[]): Promise<TapValue[]> {
    const tf = this.tf;
    const main = this.inputs[0];
    const feed: Record<string, Tensor> = {
      [main.name]: tf.tensor(batch.data, batch.shape, main.dtype === 'int32' ? 'int32' : 'float32'),
    };
    for (const [name, value] of Object.entries(this.extra)) {
      const info = this.inputs.find((i) => i.name === name);
      if (!info) continue;
      feed[name] = tf.scalar(value, info.dtype === 'int32' ? 'int32' : 'float32');
    }
    try {
      // Taps downstream of loops or dynamic-shape ops (NMS inside the graph) can only be computed asynchronously;
      // remembered per tap list because executeAsync warns on every call that does not need it.
      const key = taps.join('\u0000');
      let result: Tensor | Tensor[];
      if (!this.asyncTaps.has(key)) {
        try {
          result = this.model.execute(feed, taps);
        } catch (e) {
          if (!/executeAsync/.test((e as Error).message)) throw e;
          this.asyncTaps.add(key);
          result = await this.model.executeAsync(feed, taps);
        }
      } else {
        result = await this.model.executeAsync(feed, taps);
      }
      return await readTensors(tf, Array.isArray(result) ? result : [result]);
    } finally {
      tf.dispose(Object.values(feed));
    }
  }

  dispose(): void {
    this.model.dispose();
  }
}

export class TfLayersRunner implements ModelRunner {
  readonly format = 'tfjs-layers' as const;
  readonly inputs: TensorInfo[];
  readonly outputs: string[];
  private subModels = new Map<string, LayersModel>();

  constructor(
    private tf: Tf,
    private model: LayersModel,
  ) {
    this.inputs = model.inputs.map((i) => ({ name: i.name, shape: i.shape.map((d) => (d == null || d === -1 ? null : d)), dtype: String(i.dtype) }));
    this.outputs = model.outputLayers.map((l) => l.name);
  }

  layers(): LayerInfo[] {
    return this.model.layers
      .filter((l) => l.getClassName() !== 'InputLayer')
      .map((l) => {
        const s = l.outputShape;
        const shape = Array.isArray(s) && (s.length === 0 || !Array.isArray(s[0])) ? (s as (number | null)[]) : undefined;
        return { name: l.name, op: l.getClassName(), shape };
      });
  }

  async run(batch: InputBatch, taps: string[]): Promise<TapValue[]> {
    const tf = this.tf;
    const key = taps.join('\u0000');
    let sub = this.subModels.get(key);
    if (!sub) {
      const outputs = taps.map((t) => {
        const out = this.model.getLayer(t).output;
        if (Array.isArray(out)) throw new Error(`layer ${t} has ${out.length} outputs; tap a single-output layer`);
        return out;
      });
      sub = tf.model({ inputs: this.model.inputs, outputs });
      this.subModels.set(key, sub);
    }
    const x = tf.tensor(batch.data, batch.shape, this.inputs[0].dtype === 'int32' ? 'int32' : 'float32');
    try {
      const result = sub.predict(x) as Tensor | Tensor[];
      return await readTensors(tf, Array.isArray(result) ? result : [result]);
    } finally {
      x.dispose();
    }
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** Load a TF.js model file (model.json or model.min.js) as a runner. */
export async function loadTfModel(path: string, extra: ExtraInputs = {}): Promise<ModelRunner> {
  const { json, weights } = await readTfModel(path);
  const tf = await loadTf();
  const handler = tf.io.fromMemory(artifacts(json, weights));
  if (isLayersJson(json)) return new TfLayersRunner(tf, await tf.loadLayersModel(handler));
  return new TfGraphRunner(tf, await tf.loadGraphModel(handler), json, extra);
}
