/**
 * Model files → runners: recognise the format of a path (an .onnx file, a TF.js model.json or its folder, an
 * nsfwjs-style model.min.js), load it, and fingerprint it for the feature cache.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { decodeOnnx, onnxLayers, OnnxRunner } from './onnx.js';
import { isLayersJson, layersFromJson, loadTfModel, readTfModel } from './tfjs.js';
import { KERAS_ONNX_VERSION, KerasOnnxRunner, kerasOnnxUnsupported } from './kerasOnnx.js';
import type { ExtraInputs, LayerInfo, ModelFormat, ModelRunner } from './types.js';
import { readInputFile } from '../io/input.js';

export interface ResolvedModelFile {
  /** The file to load (.onnx, model.json or model.min.js). */
  path: string;
  format: ModelFormat;
  /**
   * The runtime decided for it (resolve.ts, part of the feature cache key): a converted runtime's id
   * (convertedRuntime), or null for the format's own. Undefined: decide when loading. A job carries the decision to
   * the thread or machine that loads the model, so rows are computed by the runtime their key names.
   */
  runtime?: string | null;
}

/** Which file under `path` is the model and what format it is; errors say what was expected. */
export async function resolveModelFile(path: string): Promise<ResolvedModelFile> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new Error(`${path}: no such model file or folder (give a zoo id — see \`taskmap zoo\` — an .onnx file, or a TF.js model.json)`);
  if (st.isDirectory()) {
    for (const name of ['model.json', 'model.min.js']) {
      const p = join(path, name);
      if (
        await stat(p).then(
          (s) => s.isFile(),
          () => false,
        )
      )
        return resolveModelFile(p);
    }
    throw new Error(`${path}: folder holds no model.json (TF.js) or model.min.js; give the model file itself (.onnx or model.json)`);
  }
  const lower = path.toLowerCase();
  if (lower.endsWith('.json') || lower.endsWith('.min.js')) {
    const { json } = await readTfModel(path, { weights: false });
    return { path, format: isLayersJson(json) ? 'tfjs-layers' : 'tfjs-graph' };
  }
  // Anything else must be an ONNX protobuf; sniff JSON first so a renamed model.json gets the right message.
  const head = (await readInputFile(path, 'a model file')).subarray(0, 64);
  const text = Buffer.from(head).toString('utf8').trimStart();
  if (text.startsWith('{')) {
    const { json } = await readTfModel(path, { weights: false });
    return { path, format: isLayersJson(json) ? 'tfjs-layers' : 'tfjs-graph' };
  }
  if (!lower.endsWith('.onnx')) {
    // Validate as ONNX now: a clear error beats a protobuf stack trace later.
    await OnnxRunner.load(await readInputFile(path, 'a model file'), path).catch(() => {
      throw new Error(`${path}: not a model this tool can read — expected an ONNX model (.onnx) or a TF.js model (model.json + weight shards)`);
    });
  }
  return { path, format: 'onnx' };
}

export interface LoadOptions {
  /** Constant values for non-image inputs (recurrent states, scalars). */
  extraInputs?: ExtraInputs;
  /** ONNX intra-op threads (default 1: extraction runs one model per core). */
  threads?: number;
}

export async function loadModelFile(file: ResolvedModelFile, opts: LoadOptions = {}): Promise<ModelRunner> {
  if (file.format === 'onnx') return OnnxRunner.load(await readInputFile(file.path, 'an ONNX model'), file.path, { threads: opts.threads });
  if (file.format === 'tfjs-layers') {
    const runtime = file.runtime !== undefined ? file.runtime : await convertedRuntime(file);
    if (runtime) {
      if (runtime !== KERAS_ONNX_RUNTIME) {
        throw new Error(`${file.path}: planned to run on ${runtime}, but this installation converts Keras models as ${KERAS_ONNX_RUNTIME}; use one taskmap version everywhere`);
      }
      const { json, weights } = await readTfModel(file.path);
      // Everything that passes converts (kerasOnnxUnsupported checks it from the JSON); a failure here is a weight
      // the shards lack, which TF.js refuses as well.
      const why = kerasOnnxUnsupported(json);
      if (why) throw new Error(`${file.path}: planned to run on ${runtime}, but it does not convert here (${why}); the model file changed?`);
      return KerasOnnxRunner.load(json, weights, file.path, { threads: opts.threads });
    }
  }
  return loadTfModel(file.path, opts.extraInputs);
}

/** TASKMAP_KERAS_RUNTIME=tfjs keeps Keras models on TF.js (a way around a conversion problem; default onnx). */
function kerasOnOnnx(): boolean {
  const v = process.env.TASKMAP_KERAS_RUNTIME;
  if (v === undefined || v === '' || v === 'onnx') return true;
  if (v === 'tfjs') return false;
  throw new Error(`TASKMAP_KERAS_RUNTIME=${v}: use onnx (the default) or tfjs`);
}

/**
 * The runtime that computes a model's features when it is not the format's own: Keras (TF.js layers) models that
 * convert run on onnxruntime (./kerasOnnx.ts). Part of the feature cache key, since the runtimes agree only to
 * float rounding.
 */
export async function convertedRuntime(file: ResolvedModelFile): Promise<string | undefined> {
  if (file.format !== 'tfjs-layers' || !kerasOnOnnx()) return undefined;
  const { json } = await readTfModel(file.path, { weights: false });
  return kerasOnnxUnsupported(json) ? undefined : KERAS_ONNX_RUNTIME;
}

/** The converted runtime's id in cache keys and queue payloads. */
export const KERAS_ONNX_RUNTIME = `keras-onnx@${KERAS_ONNX_VERSION}`;

/** Content hash of a model's files (model.json + shards, or the .onnx), for cache keys of user-supplied models. */
export async function fingerprintModelFile(file: ResolvedModelFile): Promise<string> {
  const h = createHash('sha256');
  const files = file.format === 'onnx' ? [file.path] : (await readTfModel(file.path, { weights: false })).files;
  for (const f of files) {
    h.update(basename(f));
    h.update(await readInputFile(f, 'a model file'));
  }
  return h.digest('hex');
}

/** Layer names and ops without loading weights into a runtime (for checking taps before extraction starts). */
export async function listLayers(file: ResolvedModelFile): Promise<LayerInfo[]> {
  if (file.format === 'onnx') return onnxLayers(await decodeOnnx(await readInputFile(file.path, 'an ONNX model'), file.path));
  const { json } = await readTfModel(file.path, { weights: false });
  return layersFromJson(json);
}
