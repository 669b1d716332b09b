/**
 * Taskonomy result dictionaries ({"src__…__target": number}) from the published `.pkl` files or their `.json`
 * conversions: the data type, key parsing, the first-order transfer matrix, and the readers.
 *
 * A dict is flat {"src1__src2__…__target": value}. The last `__` token is the target, the others the (unordered)
 * source set; pseudo-sources `self`, `random`, `pixels`.
 */
import { extname } from 'node:path';
import { zeros } from '../linalg/dense.js';
import type { LabelledMatrix } from '../linalg/labelled.js';
import { readInputFile } from './input.js';
import { checkAllocation, EXCERPT_CHARS, excerpt, summarize } from './limits.js';
import { unpickle } from './pickle.js';

export type ResultDict = Record<string, number>;

export const PSEUDO_SOURCES = ['self', 'random', 'pixels'] as const;

export interface TransferKey {
  key: string;
  target: string;
  /** Sources sorted by name (the file's order is not meaningful). */
  sources: string[];
}

export function parseTransferKey(key: string): TransferKey {
  const parts = key.split('__');
  if (parts.length < 2 || parts.some((p) => p.length === 0)) {
    throw new Error(`"${key}" is not a Taskonomy transfer key (expected "source__target" or "a__b__target")`);
  }
  const target = parts[parts.length - 1];
  const sources = parts.slice(0, -1).sort();
  return { key, target, sources };
}

/** Canonical key: sources sorted, then the target. Two keys with the same source set map to the same id. */
export function canonicalKey(sources: string[], target: string): string {
  return [...sources].sort().concat(target).join('__');
}

export function parseResultDict(dict: ResultDict): TransferKey[] {
  return Object.keys(dict).map(parseTransferKey);
}

/** Apply `old=new` task renames to every token of every key. */
export function renameTasks(dict: ResultDict, aliases: Record<string, string>): ResultDict {
  const out: ResultDict = {};
  for (const [key, v] of Object.entries(dict)) {
    const renamed = key
      .split('__')
      // own properties only: a task such as "constructor" must not pick up Object.prototype members
      .map((t) => (Object.hasOwn(aliases, t) ? aliases[t] : t))
      .join('__');
    if (Object.hasOwn(out, renamed)) throw new Error(`renaming makes two keys collide at "${renamed}"`);
    out[renamed] = v;
  }
  return out;
}

/**
 * Bytes a dense sources × targets matrix costs its consumers: the float64 matrix plus the JSON/CSV rendering that
 * every caller makes of it (number arrays, then text), about 3× the matrix.
 */
export const LABELLED_MATRIX_BYTES_PER_CELL = 24;

/**
 * The first-order transfer matrix G[source][target] = dict["source__target"] for the given sources and targets
 * (default: every first-order source and every target in the dict). Missing entries are NaN. The matrix is dense
 * while a dict may name each source and target once (20,000 keys → 20,000²  cells), so its size is checked against
 * the memory budget first; `name` (the file) starts that error.
 *
 * The diagonal: a file that stores a target's own (fully supervised) result as `self__t` rather than `t__t` (the
 * model-zoo transfer files) gets it as the cell [t][t] whenever `t` is a source row and the dict has no `t__t`, so
 * every reader of a truth sees the target's own entry the same way. Where the dict has `t__t` (Taskonomy's files
 * have both) that measured transfer is kept.
 */
export function firstOrderMatrix(dict: ResultDict, opts: { sources?: string[]; targets?: string[]; name?: string } = {}): LabelledMatrix {
  const keys = parseResultDict(dict).filter((k) => k.sources.length === 1);
  const targets = opts.targets ?? [...new Set(keys.map((k) => k.target))].sort();
  const sources = opts.sources ?? [...new Set(keys.map((k) => k.sources[0]))].sort();
  checkAllocation(
    `the ${sources.length.toLocaleString('en-US')} sources × ${targets.length.toLocaleString('en-US')} targets transfer matrix`,
    sources.length * targets.length * LABELLED_MATRIX_BYTES_PER_CELL,
    opts.name ?? 'result dict',
  );
  const m = zeros(sources.length, targets.length);
  m.data.fill(Number.NaN);
  const si = new Map(sources.map((s, i) => [s, i]));
  const ti = new Map(targets.map((t, j) => [t, j]));
  for (const k of keys) {
    const i = si.get(k.sources[0]);
    const j = ti.get(k.target);
    if (i !== undefined && j !== undefined) m.data[i * targets.length + j] = dict[k.key];
  }
  targets.forEach((t, j) => {
    const i = si.get(t);
    const self = `self__${t}`;
    if (i !== undefined && !Object.hasOwn(dict, `${t}__${t}`) && Object.hasOwn(dict, self)) m.data[i * targets.length + j] = dict[self];
  });
  return { rows: sources, cols: targets, matrix: m };
}

/**
 * Index a result dict by canonical key, so that transfers can be looked up as source sets whatever source order
 * the file used. Two keys with the same source set and target are an error (the files never have them, and a
 * silent choice between two measurements would change results).
 */
export function canonicalIndex(dict: ResultDict, what = 'result dict'): Map<string, { key: string; value: number }> {
  const index = new Map<string, { key: string; value: number }>();
  for (const [key, value] of Object.entries(dict)) {
    const k = parseTransferKey(key);
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new Error(`${what}: value of "${key}" is ${String(value)}, not a finite number`);
    }
    const c = canonicalKey(k.sources, k.target);
    const prev = index.get(c);
    if (prev) throw new Error(`${what}: "${prev.key}" and "${key}" name the same transfer (same sources and target)`);
    index.set(c, { key, value });
  }
  return index;
}

/** Every target (last key token) of a result dict, sorted. */
export function resultTargets(dict: ResultDict): string[] {
  return [...new Set(parseResultDict(dict).map((k) => k.target))].sort();
}

const SHAPE_HINT = 'a Taskonomy result dict maps "source__target" keys to finite numbers';

/** Check that a parsed value is a Taskonomy result dict; `name` (the file) prefixes every error. */
export function validateResultDict(value: unknown, name: string): ResultDict {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || ArrayBuffer.isView(value) || value instanceof Set) {
    throw new Error(`${name}: expected an object, found ${Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value}; ${SHAPE_HINT}`);
  }
  const entries = Object.entries(value);
  if (entries.length === 0) throw new Error(`${name}: the result dict is empty; ${SHAPE_HINT}`);
  const out: ResultDict = {};
  for (const [key, v] of entries) {
    try {
      parseTransferKey(key);
    } catch (e) {
      throw new Error(`${name}: ${key.length > EXCERPT_CHARS ? `${excerpt(key)} is not a Taskonomy transfer key` : (e as Error).message}`, { cause: e });
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      // Never JSON.stringify the value: it may be huge, cyclic, deeply nested, shared or a bigint.
      const shown = typeof v === 'string' ? excerpt(v) : typeof v === 'object' && v !== null ? summarize(v) : typeof v === 'bigint' ? summarize(v) : String(v);
      throw new Error(`${name}: value of ${excerpt(key)} is ${shown} (${typeof v}); ${SHAPE_HINT}`);
    }
    out[key] = v;
  }
  return out;
}

/** Read a result dict from `.json` or `.pkl` (restricted unpickler: plain data and numpy scalars only). */
export async function readResultDict(path: string): Promise<ResultDict> {
  const ext = extname(path).toLowerCase();
  if (ext !== '.json' && ext !== '.pkl' && ext !== '.pickle') {
    throw new Error(`${path}: unsupported result-dict format "${ext}"; use .json or .pkl`);
  }
  const bytes = await readInputFile(path, 'a Taskonomy result dict (.json or .pkl)');
  let value: unknown;
  if (ext === '.json') {
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch (e) {
      throw new Error(`${path}: not valid JSON (${(e as Error).message})`, { cause: e });
    }
  } else {
    value = unpickle(bytes, path);
  }
  return validateResultDict(value, path);
}
