/**
 * Taskonomy result dictionaries ({"src__…__target": number}) from the published `.pkl` files or their `.json`
 * conversions.
 */
import { extname } from 'node:path';
import { parseTransferKey, type ResultDict } from '../taskonomy/results.js';
import { readInputFile } from './input.js';
import { EXCERPT_CHARS, excerpt, summarize } from './limits.js';
import { unpickle } from './pickle.js';

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
      throw new Error(`${name}: ${key.length > EXCERPT_CHARS ? `${excerpt(key)} is not a Taskonomy transfer key` : (e as Error).message}`);
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
      throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
    }
  } else {
    value = unpickle(bytes, path);
  }
  return validateResultDict(value, path);
}
