/**
 * Labelled image data for the NSL harness and the Fisher task embeddings: an IDX reader (the MNIST family's
 * format, gzip or plain), Fashion-MNIST from Debian's `dataset-fashion-mnist` package, class subsets, few-shot
 * splits, batching and the reference's training augmentation.
 *
 * Images stay uint8 (0–255) in memory — 47 MB for all of Fashion-MNIST as float32 would be 188 MB per worker — and
 * are converted per batch.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { mulberry32, sampleWithoutReplacement } from '../linalg/resample.js';

export interface IdxArray {
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const IDX_TYPES: Record<number, { name: string; bytes: number }> = {
  0x08: { name: 'uint8', bytes: 1 },
  0x09: { name: 'int8', bytes: 1 },
  0x0b: { name: 'int16', bytes: 2 },
  0x0c: { name: 'int32', bytes: 4 },
  0x0d: { name: 'float32', bytes: 4 },
  0x0e: { name: 'float64', bytes: 8 },
};

/**
 * Parse an IDX file (LeCun's format: two zero bytes, a type code, the number of dimensions, the dimensions as
 * big-endian uint32, then the values big-endian, row-major). Gzip input (magic 1f 8b) is inflated first.
 */
export function parseIdx(bytes: Uint8Array, name = 'IDX file'): IdxArray {
  let buf = bytes;
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = new Uint8Array(gunzipSync(buf));
    } catch (e) {
      throw new Error(`${name}: corrupt gzip data (${(e as Error).message})`, { cause: e });
    }
  }
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) throw new Error(`${name}: not an IDX file (the first two bytes must be 0)`);
  const type = IDX_TYPES[buf[2]];
  if (!type) throw new Error(`${name}: unknown IDX type code 0x${buf[2].toString(16)}`);
  const ndim = buf[3];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const header = 4 + 4 * ndim;
  if (buf.length < header) throw new Error(`${name}: truncated IDX header (${ndim} dimensions declared)`);
  const shape: number[] = [];
  for (let i = 0; i < ndim; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = header + count * type.bytes;
  if (buf.length !== expected) {
    throw new Error(`${name}: ${buf.length} bytes, but a ${type.name} array of shape ${shape.join('×')} needs ${expected}; the file is truncated or not IDX`);
  }
  let data: IdxArray['data'];
  switch (type.name) {
    case 'uint8':
      data = buf.slice(header, expected);
      break;
    case 'int8':
      data = new Int8Array(buf.slice(header, expected).buffer);
      break;
    default: {
      const read = {
        int16: (o: number) => view.getInt16(o, false),
        int32: (o: number) => view.getInt32(o, false),
        float32: (o: number) => view.getFloat32(o, false),
        float64: (o: number) => view.getFloat64(o, false),
      }[type.name as 'int16' | 'int32' | 'float32' | 'float64'];
      const Ctor = { int16: Int16Array, int32: Int32Array, float32: Float32Array, float64: Float64Array }[type.name as 'int16'];
      const out = new Ctor(count);
      for (let i = 0; i < count; i++) out[i] = read(header + i * type.bytes);
      data = out;
    }
  }
  return { shape, data };
}

/** Images [n, h, w, c] as uint8 plus integer labels 0…numClasses−1. */
export interface ImageDataset {
  images: Uint8Array;
  labels: Int32Array;
  n: number;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  classNames: string[];
}

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** Where Debian's `dataset-fashion-mnist` puts the files; TASKMAP_FASHION_MNIST overrides. */
export function defaultFashionMnistDir(): string {
  return process.env.TASKMAP_FASHION_MNIST ?? '/usr/share/datasets/fashion-mnist';
}

export const FASHION_MNIST_INSTALL = 'apt-get update && apt-get install -y dataset-fashion-mnist';

const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

function locate(dir: string, base: string): string | undefined {
  for (const name of [`${base}.gz`, base]) if (existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

/** Build a dataset from an IDX image array [n, h, w] or [n, h, w, c] and an IDX label vector [n]. */
export function datasetFromIdx(images: IdxArray, labels: IdxArray, classNames: string[], name: string): ImageDataset {
  if (!(images.data instanceof Uint8Array)) throw new Error(`${name}: images must be uint8`);
  if (images.shape.length !== 3 && images.shape.length !== 4)
    throw new Error(`${name}: images must have shape n×h×w or n×h×w×c, got ${images.shape.join('×')}`);
  if (labels.shape.length !== 1 || labels.shape[0] !== images.shape[0]) {
    throw new Error(`${name}: ${labels.shape.join('×')} labels for ${images.shape[0]} images`);
  }
  const lab = Int32Array.from(labels.data as ArrayLike<number>);
  for (const l of lab) {
    if (l < 0 || l >= classNames.length) throw new Error(`${name}: label ${l} outside 0…${classNames.length - 1}`);
  }
  return {
    images: images.data,
    labels: lab,
    n: images.shape[0],
    height: images.shape[1],
    width: images.shape[2],
    channels: images.shape[3] ?? 1,
    numClasses: classNames.length,
    classNames: [...classNames],
  };
}

/**
 * Fashion-MNIST train (60 000) and test (10 000) splits from the four IDX files (gzip or not) in `dir`. A missing
 * directory or file fails with the install command.
 */
export async function loadFashionMnist(dir = defaultFashionMnistDir()): Promise<{ train: ImageDataset; test: ImageDataset }> {
  const out: Partial<Record<'train' | 'test', ImageDataset>> = {};
  for (const split of ['train', 'test'] as const) {
    const [imgBase, labBase] = FILES[split];
    const img = locate(dir, imgBase);
    const lab = locate(dir, labBase);
    if (!img || !lab) {
      throw new Error(
        `Fashion-MNIST not found: ${dir} has no ${!img ? imgBase : labBase}(.gz). Install Debian's package with ` +
          `\`${FASHION_MNIST_INSTALL}\` (as root), or point --data (or TASKMAP_FASHION_MNIST) at a directory ` +
          `holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz`,
      );
    }
    out[split] = datasetFromIdx(parseIdx(await readFile(img), img), parseIdx(await readFile(lab), lab), FASHION_MNIST_CLASSES, `${dir} (${split})`);
  }
  return out as { train: ImageDataset; test: ImageDataset };
}

/** The images at `indices`, in that order. */
export function subset(ds: ImageDataset, indices: ArrayLike<number>): ImageDataset {
  const size = ds.height * ds.width * ds.channels;
  const images = new Uint8Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    images.set(ds.images.subarray(j * size, (j + 1) * size), i * size);
    labels[i] = ds.labels[j];
  }
  return { ...ds, images, labels, n: indices.length };
}

/**
 * The images of the given classes, relabelled 0…k−1 in the order given (a task made of a class subset, as the
 * Fisher task-similarity experiments use).
 */
export function selectClasses(ds: ImageDataset, classes: number[]): ImageDataset {
  if (classes.length === 0) throw new Error('a class subset needs at least one class');
  const remap = new Map<number, number>();
  classes.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c >= ds.numClasses) throw new Error(`class ${c} outside 0…${ds.numClasses - 1}`);
    if (remap.has(c)) throw new Error(`class ${c} listed twice`);
    remap.set(c, i);
  });
  const idx: number[] = [];
  for (let i = 0; i < ds.n; i++) if (remap.has(ds.labels[i])) idx.push(i);
  const out = subset(ds, idx);
  out.labels = out.labels.map((l) => remap.get(l)!);
  return { ...out, numClasses: classes.length, classNames: classes.map((c) => ds.classNames[c]) };
}

/**
 * `perClass` images of every class, drawn without replacement with a seeded generator (mulberry32; per class in
 * class order), returned in the dataset's order. Fails when a class has fewer images.
 */
export function fewShot(ds: ImageDataset, perClass: number, seed: number): ImageDataset {
  if (!Number.isInteger(perClass) || perClass <= 0) throw new Error(`few-shot: images per class must be a positive integer, got ${perClass}`);
  const byClass: number[][] = Array.from({ length: ds.numClasses }, () => []);
  for (let i = 0; i < ds.n; i++) byClass[ds.labels[i]].push(i);
  const rng = mulberry32(seed);
  const chosen: number[] = [];
  byClass.forEach((members, c) => {
    if (members.length < perClass) throw new Error(`few-shot: class ${c} (${ds.classNames[c]}) has ${members.length} images, fewer than ${perClass}`);
    for (const k of sampleWithoutReplacement(members.length, perClass, rng)) chosen.push(members[k]);
  });
  return subset(
    ds,
    chosen.sort((a, b) => a - b),
  );
}

/** The first `n` images (or all). */
export function head(ds: ImageDataset, n: number | undefined): ImageDataset {
  if (n === undefined || n >= ds.n) return ds;
  return subset(
    ds,
    Array.from({ length: n }, (_, i) => i),
  );
}

/** A seeded permutation of 0…n−1 (Fisher–Yates from the end, on mulberry32). */
export function permutation(n: number, seed: number): Uint32Array {
  const rng = mulberry32(seed);
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** Reflect index i into 0…n−1 the way numpy's 'symmetric' pad does (edge repeated: …, 1, 0 | 0, 1, …). */
function symmetric(i: number, n: number): number {
  const period = 2 * n;
  let m = ((i % period) + period) % period;
  if (m >= n) m = period - 1 - m;
  return m;
}

export interface BatchOptions {
  /** Multiply the 0–255 pixel values by this (the reference feeds raw 0–255: scale 1). */
  scale?: number;
  /**
   * The reference's augmentation: symmetric padding by `pad`, a random crop back to the original size and a
   * random horizontal flip, drawn from `random`.
   */
  augment?: { pad: number; random: () => number };
}

/** A float32 NHWC batch of the images at `indices` (and their labels). */
export function makeBatch(ds: ImageDataset, indices: ArrayLike<number>, opts: BatchOptions = {}): { x: Float32Array; y: Int32Array } {
  const { height: h, width: w, channels: c } = ds;
  const size = h * w * c;
  const scale = opts.scale ?? 1;
  const x = new Float32Array(indices.length * size);
  const y = new Int32Array(indices.length);
  for (let b = 0; b < indices.length; b++) {
    const j = indices[b];
    y[b] = ds.labels[j];
    const src = j * size;
    const dst = b * size;
    if (!opts.augment) {
      for (let t = 0; t < size; t++) x[dst + t] = ds.images[src + t] * scale;
      continue;
    }
    const { pad, random } = opts.augment;
    const oy = Math.floor(random() * (2 * pad + 1)) - pad;
    const ox = Math.floor(random() * (2 * pad + 1)) - pad;
    const flip = random() < 0.5;
    for (let r = 0; r < h; r++) {
      const sr = symmetric(r + oy, h);
      for (let q = 0; q < w; q++) {
        const sq = symmetric((flip ? w - 1 - q : q) + ox, w);
        for (let ch = 0; ch < c; ch++) x[dst + (r * w + q) * c + ch] = ds.images[src + (sr * w + sq) * c + ch] * scale;
      }
    }
  }
  return { x, y };
}
