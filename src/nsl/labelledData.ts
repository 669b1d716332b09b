/**
 * Labelled data sets as tasks for the Fisher task-similarity measures (src/nsl/taskMeasures.ts).
 *
 * Two sources:
 *  - a directory of `.npz` files, one task each (task name = file base name), with arrays
 *      x  N×H×W or N×H×W×C images: uint8 (0–255), or float in [0, 1] (scaled by 255 and rounded to uint8, the
 *         form the NSL data loader keeps in memory; the probe then sees the same pixel scale as for Fashion-MNIST)
 *      y  N integer labels; the classes present are relabelled 0…k−1 in increasing order (k ≥ 2)
 *    All tasks must share one image shape H×W×C (one probe network embeds them all).
 *  - Fashion-MNIST class subsets, `NAME=CLASSES` (`taskmap nsl fisher --task`).
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { readNpz } from '../io/npz.js';
import type { NdArray } from '../io/npy.js';
import { FASHION_MNIST_CLASSES, fewShot, selectClasses, type ImageDataset } from './data.js';
import type { Task } from './fisher.js';
import { readInputFile } from '../io/input.js';

export interface LabelledTask {
  name: string;
  data: ImageDataset;
  /** The original label of each class 0…k−1. */
  labels: number[];
}

const FLOAT_DTYPES = new Set(['float32', 'float64']);

function isIntegerDType(dtype: string): boolean {
  return /^u?int(8|16|32|64)$/.test(dtype) || dtype === 'bool';
}

/** One labelled data set from an .npz's `x` and `y` arrays; errors name `file`. */
export function labelledTaskFromArrays(name: string, x: NdArray, y: NdArray, file: string): LabelledTask {
  if (x.shape.length !== 3 && x.shape.length !== 4) {
    throw new Error(`${file}: x must have shape N×H×W or N×H×W×C, got ${x.shape.join('×') || 'a scalar'}`);
  }
  const n = x.shape[0];
  if (y.shape.length !== 1) throw new Error(`${file}: y must be a vector of N labels, got shape ${y.shape.join('×') || 'a scalar'}`);
  if (y.shape[0] !== n) throw new Error(`${file}: ${y.shape[0]} labels in y for ${n} images in x`);
  if (!(x.dtype === 'uint8' || FLOAT_DTYPES.has(x.dtype))) {
    throw new Error(`${file}: x must be uint8 (0–255) or float (0–1), got ${x.dtype}`);
  }
  let images: Uint8Array;
  if (x.dtype === 'uint8') images = Uint8Array.from(x.data as ArrayLike<number>);
  else {
    const src = x.data as ArrayLike<number>;
    images = new Uint8Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const v = src[i];
      if (!(v >= 0 && v <= 1))
        throw new Error(`${file}: float x must lie in [0, 1] (it is scaled by 255), found ${v} at element ${i}; store uint8 0–255 or rescale`);
      images[i] = Math.round(v * 255);
    }
  }
  if (!isIntegerDType(y.dtype) && !FLOAT_DTYPES.has(y.dtype)) throw new Error(`${file}: y must hold integer labels, got ${y.dtype}`);
  const raw = Array.from(y.data as ArrayLike<number | bigint>, Number);
  const bad = raw.findIndex((l) => !Number.isInteger(l));
  if (bad >= 0) throw new Error(`${file}: y must hold integer labels, found ${raw[bad]} at index ${bad}`);
  const classes = [...new Set(raw)].sort((a, b) => a - b);
  if (classes.length < 2) throw new Error(`${file}: a task needs at least two classes, y has ${classes.length === 0 ? 'none' : `only ${classes[0]}`}`);
  const remap = new Map(classes.map((c, i) => [c, i]));
  return {
    name,
    labels: classes,
    data: {
      images,
      labels: Int32Array.from(raw, (l) => remap.get(l)!),
      n,
      height: x.shape[1],
      width: x.shape[2],
      channels: x.shape[3] ?? 1,
      numClasses: classes.length,
      classNames: classes.map(String),
    },
  };
}

/** Every `*.npz` of `dir` as a labelled task, sorted by name; image shapes must agree. */
export async function loadLabelledTasks(dir: string): Promise<LabelledTask[]> {
  let info;
  try {
    info = await stat(dir);
  } catch {
    throw new Error(`${dir}: no such directory (a task measure needs a directory of labelled .npz data sets, one per task, with arrays x and y)`);
  }
  if (!info.isDirectory())
    throw new Error(`${dir}: not a directory; a task measure needs a directory of labelled .npz data sets (one per task, arrays x and y)`);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.npz')).sort((a, b) => (basename(a, '.npz') < basename(b, '.npz') ? -1 : 1));
  if (files.length < 2)
    throw new Error(`${dir}: ${files.length} .npz task file(s); a task-distance matrix needs at least two labelled data sets (NAME.npz with arrays x and y)`);
  const tasks: LabelledTask[] = [];
  for (const f of files) {
    const file = join(dir, f);
    const arrays = readNpz(new Uint8Array(await readInputFile(file, 'a labelled .npz task')), file, { keys: ['x', 'y'] });
    const task = labelledTaskFromArrays(basename(f, '.npz'), arrays.get('x')!, arrays.get('y')!, file);
    const first = tasks[0]?.data;
    const d = task.data;
    if (first && (d.height !== first.height || d.width !== first.width || d.channels !== first.channels)) {
      throw new Error(
        `${file}: images are ${d.height}×${d.width}×${d.channels}, but ${tasks[0].name}.npz has ${first.height}×${first.width}×${first.channels}; all tasks must share one image shape`,
      );
    }
    tasks.push(task);
  }
  return tasks;
}

/** A Fashion-MNIST class-subset task spec, `NAME=CLASSES` (indices 0–9 or names, joined by "+" or ","). */
export function parseClassSubsetTask(spec: string): { name: string; classes: number[] } {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`--task: expected NAME=CLASSES, got "${spec}"`);
  const classes = spec
    .slice(eq + 1)
    .split(/[+,]/)
    .map((c) => c.trim())
    .filter(Boolean)
    .map((c) => {
      const byName = FASHION_MNIST_CLASSES.findIndex((n) => n.toLowerCase() === c.toLowerCase());
      if (byName >= 0) return byName;
      const k = Number(c);
      if (!Number.isInteger(k) || k < 0 || k > 9)
        throw new Error(`--task ${spec}: "${c}" is neither a class index 0–9 nor a class name (${FASHION_MNIST_CLASSES.join(', ')})`);
      return k;
    });
  if (classes.length < 2) throw new Error(`--task ${spec}: a task needs at least two classes`);
  return { name: spec.slice(0, eq), classes };
}

export const DEFAULT_CLASS_SUBSET_TASKS = ['upper=0,2,4,6', 'upper-again=0,2,4,6', 'shoes=5,7,9', 'shoes-again=5,7,9', 'other=1,3,8'];

/**
 * Fashion-MNIST class-subset tasks: `perClass` training and `probePerClass` test images per class, drawn with a
 * seed derived from the task name (so two names with the same classes are two samples of one task).
 */
export function classSubsetTasks(
  fm: { train: ImageDataset; test: ImageDataset },
  specs: string[],
  perClass: number,
  probePerClass: number,
): (Task & { classes: number[] })[] {
  const parsed = specs.map(parseClassSubsetTask);
  if (new Set(parsed.map((t) => t.name)).size !== parsed.length) throw new Error('--task: task names must be unique');
  const nameSeed = (name: string) => [...name].reduce((h, ch) => (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0, 17);
  return parsed.map((t) => ({
    name: t.name,
    classes: t.classes,
    train: fewShot(selectClasses(fm.train, t.classes), perClass, nameSeed(t.name)),
    probe: fewShot(selectClasses(fm.test, t.classes), probePerClass, nameSeed(t.name) + 1),
  }));
}
