/**
 * NumPy `.npz` archives: a zip of `.npy` members (np.savez stores them, np.savez_compressed deflates them).
 *
 * Reading parses the zip central directory here rather than through fflate's unzipSync, because a zip bomb has to
 * be refused from what the directory declares, before anything is inflated, and inflating has to stop as soon
 * as a member's output passes its declared size (fflate keeps decoding into a fixed buffer and ignores the
 * overflow). Members are inflated by zlib with `maxOutputLength`, which stops at the limit.
 */
import { inflateRawSync } from 'node:zlib';
import { zipSync, type Zippable } from 'fflate';
import { checkAllocation, excerpt } from './limits.js';
import { formatCount, readNpy, writeNpy, type NdArray } from './npy.js';

export interface ReadNpzOptions {
  /** Decompress and parse only these arrays (names without `.npy`); a missing one is an error listing the others. */
  keys?: string[];
}

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

class ZipFormatError extends Error {}

/** The central directory of a zip (zip64 included); throws ZipFormatError on anything malformed. */
function zipDirectory(bytes: Uint8Array): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => {
    const v = view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipFormatError('a zip64 size or offset is out of range');
    return Number(v);
  };
  const inside = (at: number, len: number) => {
    if (at < 0 || at + len > bytes.length) throw new ZipFormatError('a directory entry points outside the file');
  };
  // The end-of-central-directory record is within the last 22 + 65,535 (comment) bytes.
  let eocd = -1;
  for (let at = bytes.length - 22; at >= 0 && at >= bytes.length - 22 - 0xffff; at--) {
    if (u32(at) === 0x06054b50) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw new ZipFormatError('no end-of-central-directory record');
  let count = u16(eocd + 10);
  let offset = u32(eocd + 16);
  if (eocd >= 20 && u32(eocd - 20) === 0x07064b50) {
    const z = u64(eocd - 12);
    inside(z, 56);
    if (u32(z) !== 0x06064b50) throw new ZipFormatError('bad zip64 end-of-central-directory record');
    count = u64(z + 32);
    offset = u64(z + 48);
  }
  const entries: ZipEntry[] = [];
  let at = offset;
  for (let i = 0; i < count; i++) {
    inside(at, 46);
    if (u32(at) !== 0x02014b50) throw new ZipFormatError(`central directory entry ${i + 1} has a bad signature`);
    const flags = u16(at + 8);
    const method = u16(at + 10);
    let compressedSize = u32(at + 20);
    let size = u32(at + 24);
    const nameLen = u16(at + 28);
    const extraLen = u16(at + 30);
    const commentLen = u16(at + 32);
    let localOffset = u32(at + 42);
    inside(at + 46, nameLen + extraLen + commentLen);
    const rawName = bytes.subarray(at + 46, at + 46 + nameLen);
    // Bit 11: UTF-8 names; otherwise CP437, which agrees with latin-1 on the ASCII names numpy writes.
    const name = flags & 0x800 ? new TextDecoder('utf-8').decode(rawName) : String.fromCharCode(...rawName);
    // Zip64 extra field: the 8-byte values present are those whose 32-bit fields are saturated, in this order.
    for (let e = at + 46 + nameLen; e + 4 <= at + 46 + nameLen + extraLen;) {
      const id = u16(e);
      const len = u16(e + 2);
      if (id === 0x0001) {
        let f = e + 4;
        if (size === 0xffffffff) {
          size = u64(f);
          f += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = u64(f);
          f += 8;
        }
        if (localOffset === 0xffffffff) localOffset = u64(f);
      }
      e += 4 + len;
    }
    entries.push({ name, method, compressedSize, size, localOffset });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** The member's bytes, refusing to inflate past its declared size. */
function memberData(bytes: Uint8Array, e: ZipEntry, name: string): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (e.localOffset + 30 > bytes.length || view.getUint32(e.localOffset, true) !== 0x04034b50) {
    throw new ZipFormatError(`the local header of "${e.name}" is missing`);
  }
  const start = e.localOffset + 30 + view.getUint16(e.localOffset + 26, true) + view.getUint16(e.localOffset + 28, true);
  if (start + e.compressedSize > bytes.length) throw new ZipFormatError(`the data of "${e.name}" runs past the end of the file`);
  const raw = bytes.subarray(start, start + e.compressedSize);
  if (e.method === 0) {
    if (e.compressedSize !== e.size) throw new ZipFormatError(`stored member "${e.name}" has different stored and declared sizes`);
    return new Uint8Array(raw);
  }
  if (e.method !== 8) throw new ZipFormatError(`member "${e.name}" uses compression method ${e.method} (only stored and deflate are read)`);
  let out: Buffer;
  try {
    out = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new Error(
        `${name}: member "${e.name}" inflates to more than the ${formatCount(e.size)} bytes its zip directory declares; the archive is corrupt or a zip bomb — refusing it`,
        { cause: err },
      );
    }
    throw new ZipFormatError(`member "${e.name}" does not inflate (${(err as Error).message})`);
  }
  if (out.length !== e.size) {
    throw new ZipFormatError(`member "${e.name}" inflates to ${formatCount(out.length)} bytes but its zip directory declares ${formatCount(e.size)}`);
  }
  return out;
}

/** The directory's members, directories skipped; duplicate names are an error (which one would np.load pick?). */
function npzMembers(bytes: Uint8Array, name: string): ZipEntry[] {
  let entries: ZipEntry[];
  try {
    entries = zipDirectory(bytes).filter((e) => !e.name.endsWith('/'));
  } catch (e) {
    throw notAnNpz(name, e);
  }
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name))
      throw new Error(`${name}: the archive holds two members named ${excerpt(e.name)}; an .npz needs unique array names — re-create it with np.savez`);
    seen.add(e.name);
  }
  return entries;
}

const keyOf = (member: string) => (member.endsWith('.npy') ? member.slice(0, -4) : member);

/**
 * Read every array of an .npz (or only `opts.keys`), keyed by member name without `.npy`. Array errors name the
 * member as `file.npz:key`. Members that are not .npy files mean it is a plain zip, not an npz: an error. The
 * declared sizes of the members to read are checked against the memory budget before any is inflated.
 */
export function readNpz(bytes: Uint8Array, name: string, opts: ReadNpzOptions = {}): Map<string, NdArray> {
  const wanted = opts.keys ? new Set(opts.keys) : undefined;
  const entries = npzMembers(bytes, name);
  const available = entries.map((e) => keyOf(e.name));
  if (wanted) {
    const missing = [...wanted].filter((k) => !available.includes(k));
    if (missing.length > 0) {
      throw new Error(`${name}: no array named ${missing.map((k) => `"${k}"`).join(', ')}; available: ${available.join(', ') || '(none)'}`);
    }
  }
  const selected = entries.filter((e) => wanted === undefined || wanted.has(keyOf(e.name)));
  for (const e of selected) {
    if (!e.name.endsWith('.npy')) {
      throw new Error(`${name}: member "${e.name}" is not a .npy array; an .npz holds only .npy members (write it with np.savez)`);
    }
  }
  const total = selected.reduce((sum, e) => sum + e.size, 0);
  const largest = selected.reduce((a, e) => (a && a.size >= e.size ? a : e), undefined as ZipEntry | undefined);
  checkAllocation(
    `inflating ${selected.length === 1 ? `member "${selected[0].name}"` : `${selected.length} members (the largest "${largest?.name}", ${formatCount(largest?.size ?? 0)} bytes)`} to the ${formatCount(total)} bytes the zip directory declares`,
    total,
    name,
  );
  const out = new Map<string, NdArray>();
  for (const e of selected) {
    let data: Uint8Array;
    try {
      data = memberData(bytes, e, name);
    } catch (err) {
      throw err instanceof ZipFormatError ? notAnNpz(name, err) : err;
    }
    const key = keyOf(e.name);
    out.set(key, readNpy(data, `${name}:${key}`));
  }
  return out;
}

/** The array names in an .npz (without `.npy`), read from the zip directory without decompressing anything. */
export function npzKeys(bytes: Uint8Array, name: string): string[] {
  return npzMembers(bytes, name).map((e) => keyOf(e.name));
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
