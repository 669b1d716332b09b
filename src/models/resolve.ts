/**
 * A model reference as users write it — a zoo id or a file path — resolved to everything extraction needs:
 * the file and format, the preprocessing (the zoo card's, or inferred from the model's input and overridden by
 * flags), the default tap, and a fingerprint for the cache.
 */
import { stat } from 'node:fs/promises';
import { basename, dirname, resolve as resolvePath } from 'node:path';
import { canonicalPreprocessing, validatePreprocessing } from '../images/preprocess.js';
import { hfFolderOf, readHfPreprocessing, resolveHfFolder } from './huggingface.js';
import { convertedRuntime, fingerprintModelFile, loadModelFile, resolveModelFile, type ResolvedModelFile } from './load.js';
import type { ExtraInputs, FeatureLayout, ModelFormat, ModelRunner, Preprocessing, Reduction, TensorInfo } from './types.js';
import { featureLayoutOf, TASKMAP_PACKAGE, zooModel, zooModelPath, zooIds, type ZooModel } from './zoo.js';

export interface ModelSpec {
  /** Label stem used for output files: the zoo id, or the file's base name. */
  id: string;
  ref: string;
  file: ResolvedModelFile;
  format: ModelFormat;
  /** For zoo models: "package@version/path"; for files: the absolute path. */
  source: string;
  zoo?: ZooModel;
  /** Undefined for files until the model is loaded (inferred from its input then). */
  preprocessing?: Preprocessing;
  /** User overrides applied on top of the card / the inferred spec (for HF folders: the folder's, then the user's). */
  overrides: Partial<Preprocessing>;
  /** Set for a Hugging Face ONNX folder (huggingface.ts): what its preprocessor_config.json gave and what was approximated. */
  huggingface?: { dir: string; preprocessing: Partial<Preprocessing>; notes: string[] };
  defaultTap?: string;
  defaultReduce?: Reduction;
  featureLayout: FeatureLayout;
  extraInputs?: ExtraInputs;
  batchable: boolean;
  /** Content hash (files) or package identity (zoo) — what the feature cache keys on. */
  fingerprint: string;
  /** Set when another runtime than the format's computes the features (load.ts convertedRuntime); in the cache key. */
  runtime?: string;
}

export function looksLikePath(ref: string): boolean {
  return ref.includes('/') || ref.includes('\\') || /\.(onnx|json|js)$/i.test(ref) || ref.startsWith('.');
}

/**
 * Resolve a zoo id or a path. `overrides` (from CLI flags) replace fields of the preprocessing. A Hugging Face ONNX
 * folder (config.json + preprocessor_config.json + onnx/model*.onnx) or an .onnx in one takes its preprocessing
 * from preprocessor_config.json (huggingface.ts), under the user's overrides.
 */
export async function resolveModel(ref: string, overrides: Partial<Preprocessing> = {}, opts: { featureLayout?: FeatureLayout } = {}): Promise<ModelSpec> {
  const zoo = zooModel(ref);
  if (zoo) {
    const { path, version } = zooModelPath(zoo);
    const pre = { ...zoo.preprocessing, ...overrides };
    validatePreprocessing(pre, `zoo model ${zoo.id}`);
    const runtime = await convertedRuntime({ path, format: zoo.format });
    return {
      id: zoo.id,
      ref,
      file: { path, format: zoo.format, runtime: runtime ?? null },
      format: zoo.format,
      source: `${zoo.package.name}@${version}/${zoo.file}`,
      zoo,
      preprocessing: pre,
      overrides,
      defaultTap: zoo.tap,
      defaultReduce: zoo.reduce,
      featureLayout: opts.featureLayout ?? featureLayoutOf(zoo),
      extraInputs: zoo.extraInputs,
      batchable: zoo.batchable,
      // The task bank is retrained in place (`benchmark taskbank --ship`) under the same name and version: key its
      // encoders by their files' content, or the feature cache would serve the old encoder's rows.
      fingerprint: zoo.package === TASKMAP_PACKAGE ? await fingerprintModelFile({ path, format: zoo.format }) : `${zoo.package.name}@${version}/${zoo.file}`,
      ...(runtime ? { runtime } : {}),
    };
  }
  if (!looksLikePath(ref)) {
    throw new Error(`"${ref}" is neither a zoo model nor a model file; zoo ids: ${zooIds().join(', ')}`);
  }
  const abs = resolvePath(ref);
  const st = await stat(abs).catch(() => undefined);
  // A Hugging Face folder, or an .onnx inside one: the folder's preprocessor_config.json sets the preprocessing.
  const hfDir = st?.isDirectory() ? (await resolveHfFolder(abs))?.dir : st?.isFile() && /\.onnx$/i.test(abs) ? await hfFolderOf(abs) : undefined;
  const file = await resolveModelFile(hfDir && st?.isDirectory() ? (await resolveHfFolder(abs))!.onnx : abs);
  const stem = basename(file.path).replace(/\.(onnx|json|min\.js)$/i, '');
  let huggingface: ModelSpec['huggingface'];
  let id: string;
  if (hfDir) {
    const hf = await readHfPreprocessing(hfDir);
    huggingface = { dir: hfDir, preprocessing: hf.preprocessing, notes: hf.notes };
    overrides = { ...hf.preprocessing, ...overrides };
    // model.onnx → the folder's name; model_quantized.onnx → <folder>_quantized.
    id = basename(hfDir) + (/^model_./i.test(stem) ? `_${stem.slice(6)}` : stem === 'model' ? '' : `_${stem}`);
  } else {
    // "model" says nothing: name TF.js models after their folder.
    id = stem === 'model' ? basename(dirname(file.path)) : stem;
  }
  id = id.replace(/[^A-Za-z0-9._-]+/g, '_');
  const runtime = await convertedRuntime(file);
  return {
    id,
    ref,
    file: { ...file, runtime: runtime ?? null },
    format: file.format,
    source: file.path,
    overrides,
    ...(huggingface ? { huggingface } : {}),
    featureLayout: opts.featureLayout ?? featureLayoutOf({ format: file.format }),
    batchable: true,
    fingerprint: await fingerprintModelFile(file),
    ...(runtime ? { runtime } : {}),
  };
}

/**
 * Preprocessing for a model file without a card: input size and layout from the model's image input (224×224
 * where it is dynamic), RGB, centre crop, values 0…1 — the commonest convention — then the user's overrides.
 * Errors when an override contradicts a fixed input size.
 */
export function inferPreprocessing(input: TensorInfo, overrides: Partial<Preprocessing>, what: string): Preprocessing {
  const s = input.shape;
  let layout: Preprocessing['layout'] = 'NHWC';
  if (s.length === 4 && (s[1] === 3 || s[1] === 1) && s[3] !== 3 && s[3] !== 1) layout = 'NCHW';
  const [h, w, c] = layout === 'NCHW' ? [s[2], s[3], s[1]] : [s[1], s[2], s[3]];
  const pre: Preprocessing = {
    width: w ?? 224,
    height: h ?? 224,
    resize: 'crop',
    channels: c === 1 ? 'gray' : 'rgb',
    range: [0, 1],
    layout,
    dtype: input.dtype === 'int32' || input.dtype === 'uint8' ? 'int32' : 'float32',
    ...overrides,
  };
  if (input.dtype === 'int32' || input.dtype === 'uint8') {
    if (!overrides.range) pre.range = [0, 255];
  }
  validatePreprocessing(pre, what);
  return canonicalPreprocessing(pre);
}

/** Fail early when preprocessing cannot fit the model's input (fixed size, channel count, rank). */
export function checkInputCompatible(input: TensorInfo, pre: Preprocessing, what: string): void {
  const s = input.shape;
  if (s.length !== 4) {
    throw new Error(
      `${what}: the image input "${input.name}" has shape [${s.map((d) => d ?? '?').join(', ')}]; only 4-d image inputs (N,H,W,C or N,C,H,W) are supported`,
    );
  }
  const [h, w, c] = pre.layout === 'NCHW' ? [s[2], s[3], s[1]] : [s[1], s[2], s[3]];
  const wantC = pre.channels === 'gray' ? 1 : 3;
  const problems: string[] = [];
  if (h !== null && h !== pre.height) problems.push(`height ${h} (preprocessing gives ${pre.height})`);
  if (w !== null && w !== pre.width) problems.push(`width ${w} (preprocessing gives ${pre.width})`);
  if (c !== null && c !== wantC)
    problems.push(
      `${c} channel${c === 1 ? '' : 's'} (preprocessing gives ${wantC}: ${pre.channels}; check --layout ${pre.layout === 'NCHW' ? 'NHWC' : 'NCHW'} or --channels)`,
    );
  if (problems.length) {
    throw new Error(
      `${what}: input size mismatch: input "${input.name}" [${s.map((d) => d ?? '?').join(', ')}] expects ${problems.join(', ')}; set --input-size ${w ?? pre.width}x${h ?? pre.height}`,
    );
  }
}

/** Load the runner and settle the preprocessing (inferred for files), checking it against the model input. */
export async function openModel(spec: ModelSpec, opts: { threads?: number } = {}): Promise<{ runner: ModelRunner; preprocessing: Preprocessing }> {
  const runner = await loadModelFile(spec.file, { extraInputs: spec.extraInputs, threads: opts.threads });
  try {
    const input = runner.inputs[0];
    if (!input) throw new Error(`${spec.ref}: model has no inputs`);
    const pre = spec.preprocessing ?? inferPreprocessing(input, spec.overrides, spec.ref);
    checkInputCompatible(input, pre, spec.ref);
    const unfed = runner.inputs.slice(1).filter((i) => !(spec.extraInputs && i.name in spec.extraInputs));
    if (unfed.length)
      throw new Error(
        `${spec.ref}: model has further inputs (${unfed.map((i) => i.name).join(', ')}) that taskmap cannot feed; only single-image-input models are supported`,
      );
    return { runner, preprocessing: pre };
  } catch (e) {
    runner.dispose();
    throw e;
  }
}
