/**
 * NumPy `.npz` archives: a zip of `.npy` members (np.savez stores them, np.savez_compressed deflates them).
 */
import { unzipSync, zipSync, type Zippable } from 'fflate';
import { readNpy, writeNpy, type NdArray } from './npy.js';

export interface ReadNpzOptions {
  /** Decompress and parse only these arrays (names without `.npy`); a missing one is an error listing the others. */
  keys?: string[];
}

/**
 * Read every array of an .npz (or only `opts.keys`), keyed by member name without `.npy`. Array errors name the
 * member as `file.npz:key`. Members that are not .npy files mean it is a plain zip, not an npz: an error.
 */
export function readNpz(bytes: Uint8Array, name: string, opts: ReadNpzOptions = {}): Map<string, NdArray> {
  const wanted = opts.keys ? new Set(opts.keys) : undefined;
  const available: string[] = [];
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(bytes, {
      filter: (f) => {
        if (f.name.endsWith('/')) return false;
        const key = f.name.endsWith('.npy') ? f.name.slice(0, -4) : f.name;
        available.push(key);
        return wanted === undefined || wanted.has(key);
      },
    });
  } catch (e) {
    throw notAnNpz(name, e);
  }
  if (wanted) {
    const missing = [...wanted].filter((k) => !available.includes(k));
    if (missing.length > 0) {
      throw new Error(`${name}: no array named ${missing.map((k) => `"${k}"`).join(', ')}; available: ${available.join(', ') || '(none)'}`);
    }
  }
  const out = new Map<string, NdArray>();
  for (const [member, data] of Object.entries(members)) {
    if (!member.endsWith('.npy')) {
      throw new Error(`${name}: member "${member}" is not a .npy array; an .npz holds only .npy members (write it with np.savez)`);
    }
    const key = member.slice(0, -4);
    out.set(key, readNpy(data, `${name}:${key}`));
  }
  return out;
}

/** The array names in an .npz (without `.npy`), read from the zip directory without decompressing anything. */
export function npzKeys(bytes: Uint8Array, name: string): string[] {
  const keys: string[] = [];
  try {
    unzipSync(bytes, {
      filter: (f) => {
        if (!f.name.endsWith('/')) keys.push(f.name.endsWith('.npy') ? f.name.slice(0, -4) : f.name);
        return false;
      },
    });
  } catch (e) {
    throw notAnNpz(name, e);
  }
  return keys;
}

function notAnNpz(name: string, e: unknown): Error {
  return new Error(`${name}: not a readable .npz (zip) archive (${(e as Error).message}); the file is truncated or corrupt — re-create it with np.savez`);
}

export interface WriteNpzOptions {
  /** Deflate the members, like np.savez_compressed (default: stored, like np.savez). */
  compress?: boolean;
}

/** An .npz that np.load reads; members in the map's order, with a fixed timestamp so output is reproducible. */
export function writeNpz(arrays: Map<string, NdArray>, opts: WriteNpzOptions = {}): Uint8Array {
  const files: Zippable = {};
  for (const [key, arr] of arrays) {
    if (key.length === 0) throw new Error('writeNpz: empty array name');
    files[`${key}.npy`] = writeNpy(arr);
  }
  return zipSync(files, { level: opts.compress ? 6 : 0, mtime: new Date(2000, 0, 1) });
}
