/**
 * Image → model input, following a model card's Preprocessing: decode (sharp/libvips), orient by EXIF, flatten
 * transparency onto black, resize (stretch | shorter side + centre crop | letterbox), reorder channels, scale the
 * values and lay them out NHWC or NCHW.
 */
import sharp from 'sharp';
import type { InputBatch, Preprocessing } from '../models/types.js';

/** Luminance weights the zoo's grey-scale models (emotion, gender) were trained with (ITU-R BT.601). */
export const GRAY_WEIGHTS = [0.2989, 0.587, 0.114] as const;

// libvips may use several threads per image by default; extraction already runs one job per core.
sharp.concurrency(1);

export function inputChannels(p: Preprocessing): number {
  return p.channels === 'gray' ? 1 : 3;
}

/** Values per image of the model input. */
export function inputSize(p: Preprocessing): number {
  return p.width * p.height * inputChannels(p);
}

/** Input shape for a batch of n images. */
export function inputShape(p: Preprocessing, n: number): number[] {
  const c = inputChannels(p);
  return p.layout === 'NCHW' ? [n, c, p.height, p.width] : [n, p.height, p.width, c];
}

/** Throws a clear error for an inconsistent spec (a model card or CLI flags). */
export function validatePreprocessing(p: Preprocessing, what: string): void {
  const fail = (msg: string): never => {
    throw new Error(`${what}: invalid preprocessing: ${msg}`);
  };
  if (!Number.isInteger(p.width) || !Number.isInteger(p.height) || p.width < 1 || p.height < 1)
    fail(`input size ${p.width}×${p.height} is not a positive integer size`);
  if (!['stretch', 'crop', 'pad'].includes(p.resize)) fail(`resize "${p.resize}" (use stretch, crop or pad)`);
  if (!['rgb', 'bgr', 'gray'].includes(p.channels)) fail(`channels "${p.channels}" (use rgb, bgr or gray)`);
  if (!['NHWC', 'NCHW'].includes(p.layout)) fail(`layout "${p.layout}" (use NHWC or NCHW)`);
  if (!['float32', 'int32'].includes(p.dtype)) fail(`dtype "${p.dtype}" (use float32 or int32)`);
  if (p.range.length !== 2 || !p.range.every(Number.isFinite) || p.range[0] === p.range[1])
    fail(`range [${p.range.join(', ')}] must be two different finite numbers`);
  const c = inputChannels(p);
  for (const [name, v] of [
    ['mean', p.mean],
    ['std', p.std],
  ] as const) {
    if (v === undefined) continue;
    if (v.length !== c && v.length !== 1) fail(`${name} has ${v.length} values; it needs 1 or ${c} (one per channel)`);
    if (!v.every(Number.isFinite)) fail(`${name} values must be finite`);
  }
  if (p.std && p.std.some((s) => s === 0)) fail('std values must be non-zero');
}

/** A canonical, order-independent description (cache keys, manifests). */
export function canonicalPreprocessing(p: Preprocessing): Preprocessing {
  const out: Preprocessing = {
    width: p.width,
    height: p.height,
    resize: p.resize,
    channels: p.channels,
    range: [p.range[0], p.range[1]],
    layout: p.layout,
    dtype: p.dtype,
  };
  if (p.mean && p.mean.some((m) => m !== 0)) out.mean = [...p.mean];
  if (p.std && p.std.some((s) => s !== 1)) out.std = [...p.std];
  return out;
}

export function describePreprocessing(p: Preprocessing): string {
  const norm = [`[${p.range.join(',')}]`];
  if (p.mean) norm.push(`mean ${p.mean.join('/')}`);
  if (p.std) norm.push(`std ${p.std.join('/')}`);
  return `${p.width}×${p.height} ${p.resize} ${p.channels} ${norm.join(' ')} ${p.layout} ${p.dtype}`;
}

/**
 * Decoded, resized RGB pixels (height × width × 3, uint8) of one image file's bytes — or, with `raw`, of
 * undecoded pixels of that size (the task bank's crops go to its teacher networks this way).
 */
export async function decodeResized(
  bytes: Uint8Array,
  p: Pick<Preprocessing, 'width' | 'height' | 'resize'>,
  raw?: { width: number; height: number; channels: 1 | 3 | 4 },
): Promise<Uint8Array> {
  const fit = p.resize === 'stretch' ? 'fill' : p.resize === 'crop' ? 'cover' : 'contain';
  // sharp's default failOn ('warning') rejects truncated files instead of decoding them with grey tails.
  const { data, info } = await sharp(bytes, raw ? { raw } : undefined)
    .rotate()
    .flatten({ background: { r: 0, g: 0, b: 0 } })
    .toColourspace('srgb')
    .resize(p.width, p.height, { fit, position: 'centre', background: { r: 0, g: 0, b: 0, alpha: 1 } })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== p.width || info.height !== p.height) {
    throw new Error(`resize produced ${info.width}×${info.height}, expected ${p.width}×${p.height}`);
  }
  if (info.channels === 3) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  // Grey-scale sources can come back with one channel; replicate it so the rest of the pipeline sees RGB.
  const rgb = new Uint8Array(p.width * p.height * 3);
  for (let i = 0; i < p.width * p.height; i++) {
    const v = data[i * info.channels];
    rgb[3 * i] = v;
    rgb[3 * i + 1] = v;
    rgb[3 * i + 2] = v;
  }
  return rgb;
}

/**
 * Write one image's model input into `out` at `offset` (inputSize(p) values). Separate from decoding so a
 * batch is filled in place without per-image copies.
 */
export function normalizeInto(rgb: Uint8Array, p: Preprocessing, out: Float32Array | Int32Array, offset: number): void {
  const hw = p.width * p.height;
  const c = inputChannels(p);
  const scale = (p.range[1] - p.range[0]) / 255;
  const lo = p.range[0];
  const mean = (k: number) => (p.mean ? p.mean[p.mean.length === 1 ? 0 : k] : 0);
  const std = (k: number) => (p.std ? p.std[p.std.length === 1 ? 0 : k] : 1);
  const round = out instanceof Int32Array;
  // Source channel for output channel k.
  const src = p.channels === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  for (let k = 0; k < c; k++) {
    const m = mean(k);
    const s = std(k);
    for (let i = 0; i < hw; i++) {
      const v =
        p.channels === 'gray' ? GRAY_WEIGHTS[0] * rgb[3 * i] + GRAY_WEIGHTS[1] * rgb[3 * i + 1] + GRAY_WEIGHTS[2] * rgb[3 * i + 2] : rgb[3 * i + src[k]];
      let x = (lo + scale * v - m) / s;
      if (round) x = Math.round(x);
      out[offset + (p.layout === 'NCHW' ? k * hw + i : i * c + k)] = x;
    }
  }
}

/** One image's model input. */
export async function preprocessImage(bytes: Uint8Array, p: Preprocessing): Promise<Float32Array | Int32Array> {
  const out = p.dtype === 'int32' ? new Int32Array(inputSize(p)) : new Float32Array(inputSize(p));
  normalizeInto(await decodeResized(bytes, p), p, out, 0);
  return out;
}

/** A batch of model inputs from already-decoded images. */
export function makeBatch(pixels: Uint8Array[], p: Preprocessing): InputBatch {
  const size = inputSize(p);
  const data = p.dtype === 'int32' ? new Int32Array(size * pixels.length) : new Float32Array(size * pixels.length);
  pixels.forEach((rgb, i) => normalizeInto(rgb, p, data, i * size));
  return { n: pixels.length, data, shape: inputShape(p, pixels.length) };
}
