/**
 * Hugging Face ONNX model folders: `config.json` + `preprocessor_config.json` + the ONNX file, either
 * `onnx/model*.onnx` (the layout of Hub repositories with ONNX weights) or `model.onnx` at the top (what
 * `optimum-cli export onnx` writes). The folder works as `--model DIR`; an .onnx inside it (`DIR/onnx/model_quantized.onnx`)
 * works too and still takes the folder's preprocessing.
 *
 * Which file: `onnx/model.onnx`, else `model.onnx`, else the only `model*.onnx` in `onnx/`; several variants and
 * no `model.onnx` is an error listing them (name the one to use).
 *
 * preprocessor_config.json → Preprocessing (docs/models.md has the table):
 *   size {height, width} (or an int)        → width × height, resize stretch (HF resizes to exactly that size)
 *   size {shortest_edge} + do_center_crop + crop_size → crop_size, resize crop (approximation: taskmap scales the
 *       shorter side to the crop size, HF to shortest_edge then crops; noted in `notes`)
 *   do_resize false                         → the model input's own size (inferred)
 *   do_rescale + rescale_factor (1/255)     → range [0, 255·factor]; do_rescale false → [0, 255]
 *   do_normalize + image_mean / image_std   → mean / std
 *   always                                  → RGB, NCHW (pixel_values), float32
 * Not supported (noted, not applied): resample (taskmap always resizes with libvips' Lanczos-3), crop_pct,
 * do_pad, size {longest_edge} alone and shortest_edge without a centre crop (variable input sizes).
 */
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { readdir } from 'node:fs/promises';
import { displayPath, readInputText } from '../io/input.js';
import type { Preprocessing } from './types.js';

export interface HfFolder {
  /** The folder holding config.json and preprocessor_config.json. */
  dir: string;
  /** The chosen ONNX file. */
  onnx: string;
}

export interface HfPreprocessing {
  /** Fields for the Preprocessing (the rest is inferred from the model input); user flags go on top. */
  preprocessing: Partial<Preprocessing>;
  /** What was approximated or ignored, for the user. */
  notes: string[];
}

const isFile = (p: string) =>
  stat(p).then(
    (s) => s.isFile(),
    () => false,
  );

/** Whether `dir` has config.json and preprocessor_config.json. */
export async function isHfFolder(dir: string): Promise<boolean> {
  return (await isFile(join(dir, 'config.json'))) && (await isFile(join(dir, 'preprocessor_config.json')));
}

/** The HF folder an .onnx file belongs to (beside it, or one up from `onnx/`), if any. */
export async function hfFolderOf(onnxPath: string): Promise<string | undefined> {
  const here = dirname(onnxPath);
  if (await isHfFolder(here)) return here;
  if (basename(here) === 'onnx' && (await isHfFolder(dirname(here)))) return dirname(here);
  return undefined;
}

/** The ONNX file of an HF folder by the rule in the module comment; undefined when `dir` is not an HF folder. */
export async function resolveHfFolder(dir: string): Promise<HfFolder | undefined> {
  if (!(await isHfFolder(dir))) return undefined;
  for (const p of [join(dir, 'onnx', 'model.onnx'), join(dir, 'model.onnx')]) if (await isFile(p)) return { dir, onnx: p };
  const variants = (await readdir(join(dir, 'onnx')).catch(() => [] as string[])).filter((n) => /^model.*\.onnx$/i.test(n)).sort();
  if (variants.length === 1) return { dir, onnx: join(dir, 'onnx', variants[0]) };
  if (variants.length === 0) {
    throw new Error(`${displayPath(dir)}: a Hugging Face folder without ONNX weights (no onnx/model*.onnx or model.onnx); export them — see docs/models.md`);
  }
  throw new Error(
    `${displayPath(dir)}: several ONNX variants and no model.onnx (${variants.join(', ')}); name one, e.g. --model ${join(dir, 'onnx', variants[0])}`,
  );
}

type Json = Record<string, unknown>;

function sizeOf(v: unknown, what: string, file: string): { width?: number; height?: number; shortest?: number; longest?: number } {
  if (typeof v === 'number') return { width: v, height: v };
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const o = v as Json;
    const num = (k: string) => (typeof o[k] === 'number' ? (o[k] as number) : undefined);
    return { width: num('width'), height: num('height'), shortest: num('shortest_edge'), longest: num('longest_edge') };
  }
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return { height: v[0] as number, width: v[1] as number };
  throw new Error(`${file}: "${what}" is ${JSON.stringify(v)}; expected {"height", "width"}, {"shortest_edge"} or a number`);
}

/** Map a parsed preprocessor_config.json (see the module comment); `file` names it in errors. */
export function hfPreprocessing(cfg: Json, file: string): HfPreprocessing {
  const notes: string[] = [];
  const pre: Partial<Preprocessing> = { channels: 'rgb', layout: 'NCHW', dtype: 'float32' };
  const flag = (k: string, dflt: boolean) => (typeof cfg[k] === 'boolean' ? (cfg[k] as boolean) : dflt);
  const doResize = flag('do_resize', true);
  const doCrop = flag('do_center_crop', false);
  const size = cfg.size !== undefined ? sizeOf(cfg.size, 'size', file) : undefined;
  const crop = cfg.crop_size !== undefined ? sizeOf(cfg.crop_size, 'crop_size', file) : undefined;
  if (doCrop && crop?.width && crop.height) {
    pre.width = crop.width;
    pre.height = crop.height;
    pre.resize = 'crop';
    if (doResize && size?.shortest && size.shortest !== Math.min(crop.width, crop.height)) {
      notes.push(
        `resize shortest edge to ${size.shortest} then centre-crop ${crop.width}×${crop.height} is approximated by scaling the shorter side to ${Math.min(crop.width, crop.height)} and centre-cropping`,
      );
    } else if (doResize && size?.width && size.height && (size.width !== crop.width || size.height !== crop.height)) {
      notes.push(`resize to ${size.width}×${size.height} then centre-crop ${crop.width}×${crop.height} is approximated by an aspect-preserving centre crop`);
    }
  } else if (doResize && size?.width && size.height) {
    pre.width = size.width;
    pre.height = size.height;
    pre.resize = 'stretch';
  } else if (doResize && size?.shortest) {
    pre.width = size.shortest;
    pre.height = size.shortest;
    pre.resize = 'crop';
    notes.push(`resize shortest edge to ${size.shortest} (variable input size) is approximated by a ${size.shortest}×${size.shortest} centre crop`);
  } else if (doResize && size?.longest) {
    notes.push('size {longest_edge} is not supported; the input size is inferred from the model (set --input-size)');
  }
  if (typeof cfg.crop_pct === 'number' && cfg.crop_pct !== 1) notes.push(`crop_pct ${cfg.crop_pct} is not applied`);
  if (flag('do_pad', false)) notes.push('do_pad is not applied');
  if (cfg.resample !== undefined) notes.push(`resample ${JSON.stringify(cfg.resample)} is not applied (taskmap resizes with Lanczos-3)`);
  if (flag('do_rescale', true)) {
    const f = typeof cfg.rescale_factor === 'number' ? cfg.rescale_factor : 1 / 255;
    pre.range = [0, 255 * f];
  } else pre.range = [0, 255];
  if (flag('do_normalize', true) && (cfg.image_mean !== undefined || cfg.image_std !== undefined)) {
    const list = (k: string): number[] => {
      const v = cfg[k];
      if (typeof v === 'number') return [v];
      if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v as number[];
      throw new Error(`${file}: "${k}" is ${JSON.stringify(v)}; expected a number or a list of numbers`);
    };
    if (cfg.image_mean !== undefined) pre.mean = list('image_mean');
    if (cfg.image_std !== undefined) pre.std = list('image_std');
  } else if (flag('do_normalize', true)) notes.push('do_normalize without image_mean / image_std: no normalisation applied');
  return { preprocessing: pre, notes };
}

/** Read and map `dir/preprocessor_config.json`. */
export async function readHfPreprocessing(dir: string): Promise<HfPreprocessing> {
  const file = join(dir, 'preprocessor_config.json');
  const text = await readInputText(file, 'a Hugging Face preprocessor_config.json');
  let cfg: unknown;
  try {
    cfg = JSON.parse(text);
  } catch (e) {
    throw new Error(`${displayPath(file)}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) throw new Error(`${displayPath(file)}: expected a JSON object`);
  return hfPreprocessing(cfg as Json, displayPath(file));
}
