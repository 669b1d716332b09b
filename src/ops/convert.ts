/**
 * Use case: turn a matrix published without labels — such as the DDS authors' `kernels.npy` / `rdms.npy` (a
 * pickled nested dict f → 'cka' → 'debiased_centered' → normalisation → 1×20×20 array) or their `.json` twins —
 * into a labelled matrix that `evaluate`, `taxonomy` and the rest read.
 *
 * The input is a `.npy` file (numeric, or an object array that np.save pickled; read by the restricted unpickler,
 * nothing executed) or a `.json` file (nested objects and arrays). `key` walks into it, one dot-separated segment
 * at a time: a segment names a dict key, or — on an array — an index into its first dimension. Leading
 * dimensions of size 1 are dropped; what is left must be a square matrix, whose rows and columns the labels name
 * in order. `drop` then removes tasks from both rows and columns.
 */
import { extname } from 'node:path';
import { readInputFile, readInputText } from '../io/input.js';
import { checkAllocation, excerpt } from '../io/limits.js';
import { isNdArray, product, type NdArray } from '../io/npy.js';
import { readNpyObject } from '../io/pickle.js';
import type { LabelledMatrix } from '../linalg/labelled.js';

/** Options of {@link convertMatrix} and {@link convertMatrixFile}. */
export interface ConvertOptions {
  /**
   * Dot-separated path into the file's nested data, e.g. `cosine.cka.debiased_centered.znorm`; a numeric segment
   * indexes an array's first dimension. Required when the file holds a dict.
   */
  key?: string;
  /** Names of the matrix's rows and columns, in order (one per row). */
  labels: string[];
  /** Labels to remove from rows and columns after labelling (e.g. tasks outside an evaluation protocol). */
  drop?: string[];
  /** Measure id recorded in the output (`measure` of the labelled matrix), when known. */
  measure?: string;
}

interface Dense {
  shape: number[];
  data: Float64Array;
}

const isDict = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !isNdArray(v) && !(v instanceof Uint8Array);

function keysOf(v: Record<string, unknown>): string {
  const keys = Object.keys(v);
  const shown = keys.slice(0, 20).map((k) => excerpt(k));
  return keys.length > 20 ? `${shown.join(', ')}, … (${keys.length} keys)` : shown.join(', ');
}

/** A nested array of numbers (JSON) → shape + float64 data; an error names the path when it is ragged. */
function denseOfNested(v: unknown[], where: string): Dense {
  const shape: number[] = [];
  for (let x: unknown = v; Array.isArray(x); x = x[0]) shape.push(x.length);
  // The shape is read off the first row at each depth; a ragged file can claim far more than it holds.
  checkAllocation(`the ${shape.join('×')} array`, product(shape) * 8, where);
  const data = new Float64Array(product(shape));
  let k = 0;
  const walk = (x: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (typeof x !== 'number' && x !== null) throw new Error(`${where}: expected numbers, found ${typeof x}`);
      data[k++] = x === null ? Number.NaN : x;
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[depth]) throw new Error(`${where}: a ragged array (not every row has ${shape[depth]} entries)`);
    for (const y of x) walk(y, depth + 1);
  };
  walk(v, 0);
  return { shape, data };
}

function denseOfNdArray(a: NdArray): Dense {
  const data = a.data instanceof Float64Array ? a.data : Float64Array.from(a.data as ArrayLike<number | bigint>, Number);
  return { shape: [...a.shape], data };
}

/** Follow `key` into the data; errors list the keys available where the path stops. */
function select(root: unknown, key: string | undefined, name: string): Dense {
  let v = root;
  const path: string[] = [];
  const here = () => (path.length ? `${name} → ${path.join('.')}` : name);
  let dense: Dense | undefined;
  for (const seg of key ? key.split('.') : []) {
    if (dense || isNdArray(v) || Array.isArray(v)) {
      dense ??= isNdArray(v) ? denseOfNdArray(v) : denseOfNested(v as unknown[], here());
      const i = Number(seg);
      if (!/^\d+$/.test(seg) || i >= dense.shape[0] || dense.shape.length < 2)
        throw new Error(
          `${here()}: an array of shape ${dense.shape.join('×')}; key segment ${excerpt(seg)} must index its first dimension (0…${dense.shape[0] - 1})`,
        );
      const size = product(dense.shape.slice(1));
      dense = { shape: dense.shape.slice(1), data: dense.data.slice(i * size, (i + 1) * size) };
    } else if (isDict(v)) {
      if (!Object.hasOwn(v, seg)) throw new Error(`${here()}: no key ${excerpt(seg)} (available: ${keysOf(v)})`);
      v = v[seg];
    } else {
      throw new Error(`${here()}: not a dict or an array, cannot follow ${excerpt(seg)}`);
    }
    path.push(seg);
  }
  if (!dense) {
    if (isDict(v)) throw new Error(`${here()}: holds a dict; choose an entry with --key (available: ${keysOf(v)})`);
    if (isNdArray(v)) dense = denseOfNdArray(v);
    else if (Array.isArray(v)) dense = denseOfNested(v, here());
    else throw new Error(`${here()}: not a matrix`);
  }
  while (dense.shape.length > 2 && dense.shape[0] === 1) dense = { shape: dense.shape.slice(1), data: dense.data };
  const [r, c] = dense.shape;
  if (dense.shape.length !== 2 || r !== c)
    throw new Error(
      `${here()}: expected a square matrix, found shape ${dense.shape.join('×') || 'scalar'}${dense.shape.length > 2 ? ' (add an index to --key, e.g. ".0")' : ''}`,
    );
  return dense;
}

/**
 * Label a matrix held somewhere inside already-read data (an unpickled `.npy` object, parsed JSON or a numeric
 * array); `name` is used in error messages. See the module comment for `key`, `labels` and `drop`.
 */
export function convertMatrix(root: unknown, opts: ConvertOptions, name = 'input'): LabelledMatrix {
  const { shape, data } = select(root, opts.key, name);
  const n = shape[0];
  if (opts.labels.length !== n) throw new Error(`${name}: ${opts.labels.length} labels given for a ${n}×${n} matrix; give one label per row`);
  const seen = new Set<string>();
  for (const l of opts.labels) {
    if (seen.has(l)) throw new Error(`${name}: label ${excerpt(l)} is given twice`);
    seen.add(l);
  }
  const drop = new Set(opts.drop ?? []);
  const unknown = [...drop].filter((l) => !seen.has(l));
  if (unknown.length) throw new Error(`${name}: cannot drop ${unknown.map((l) => excerpt(l)).join(', ')}: not among the labels`);
  const keep = opts.labels.flatMap((l, i) => (drop.has(l) ? [] : [i]));
  if (keep.length === 0) throw new Error(`${name}: --drop removes every label`);
  const m = keep.length;
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) out[i * m + j] = data[keep[i] * n + keep[j]];
  const labels = keep.map((i) => opts.labels[i]);
  const result: LabelledMatrix = { rows: labels, cols: [...labels], matrix: { rows: m, cols: m, data: out } };
  if (opts.measure !== undefined) result.measure = opts.measure;
  return result;
}

/** {@link convertMatrix} on a `.npy` (numeric or pickled object array) or `.json` file. */
export async function convertMatrixFile(path: string, opts: ConvertOptions): Promise<LabelledMatrix> {
  const ext = extname(path).toLowerCase();
  let root: unknown;
  if (ext === '.npy') {
    root = readNpyObject(new Uint8Array(await readInputFile(path, 'a matrix')), path);
  } else if (ext === '.json') {
    try {
      root = JSON.parse(await readInputText(path, 'a matrix'));
    } catch (e) {
      if (e instanceof SyntaxError) throw new Error(`${path}: not valid JSON (${e.message})`, { cause: e });
      throw e;
    }
  } else {
    throw new Error(`${path}: unsupported input "${ext}"; convert reads .npy (numeric or pickled dicts) and .json`);
  }
  return convertMatrix(root, opts, path);
}
