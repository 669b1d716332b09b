/**
 * NumPy `.npz` archives: a zip of `.npy` members (np.savez stores them, np.savez_compressed deflates them).
 *
 * Reading parses the zip central directory here rather than through fflate's unzipSync, because a zip bomb has to
 * be refused from what the directory declares, before anything is inflated, and inflating has to stop as soon
 * as a member's output passes its declared size (fflate's unzipSync keeps decoding into a fixed buffer and ignores
 * the overflow). Each member's .npy header is inflated and checked against its declared size before the rest
 * (see readMember), and the member is then inflated into one buffer of its declared size (see MemberReader):
 * zlib's inflateRawSync cannot do that, it collects chunks and concatenates them, peaking at twice the size.
 */
import { createRequire } from 'node:module';
import type { Inflate, Zippable } from 'fflate';
import { checkAllocation, excerpt } from './limits.js';
import { formatCount, formatShape, MAX_NPY_HEADER_BYTES, numericDType, parseNpyHeader, product, readNpy, writeNpy, type NdArray } from './npy.js';

export interface ReadNpzOptions {
  /** Decompress and parse only these arrays (names without `.npy`); a missing one is an error listing the others. */
  keys?: string[];
}

/** fflate, loaded on the first .npz read or write: loading a folder of .npy files never pays its start-up. */
function fflate(): typeof import('fflate') {
  return createRequire(import.meta.url)('fflate') as typeof import('fflate');
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

/** Compressed bytes fed to the inflater per step: at deflate's ~1,032:1 ratio at most ~8.5 MB of output each. */
const INFLATE_STEP = 8 * 1024;
/** Compressed bytes per step while only the .npy header is wanted: at most ~1 MB of output. */
const HEADER_STEP = 1024;

/** Output of a member past its declared size: a corrupt archive or a zip bomb (not a ZipFormatError). */
class OverflowError extends Error {}

/**
 * One member's bytes, produced incrementally: its .npy header first (`prefix`), then all of it (`all`) into ONE
 * buffer of the declared size, allocated only once the header has been checked. Deflated members are inflated by
 * fflate's streaming Inflate, fed INFLATE_STEP compressed bytes at a time and copying each output chunk into that
 * buffer, so the peak is the declared size (plus one step's output), not zlib's chunks-then-concatenate 2×, and
 * inflating stops at the first step whose output passes the declared size.
 */
class MemberReader {
  private readonly raw: Uint8Array;
  private out: Uint8Array | undefined;
  private pending: Uint8Array[] = [];
  private length = 0;
  private consumed = 0;
  private readonly inflater: Inflate | undefined;

  constructor(
    bytes: Uint8Array,
    private readonly e: ZipEntry,
    name: string,
  ) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (e.localOffset + 30 > bytes.length || view.getUint32(e.localOffset, true) !== 0x04034b50) {
      throw new ZipFormatError(`the local header of "${e.name}" is missing`);
    }
    const start = e.localOffset + 30 + view.getUint16(e.localOffset + 26, true) + view.getUint16(e.localOffset + 28, true);
    if (start + e.compressedSize > bytes.length) throw new ZipFormatError(`the data of "${e.name}" runs past the end of the file`);
    this.raw = bytes.subarray(start, start + e.compressedSize);
    if (e.method === 0) {
      if (e.compressedSize !== e.size) throw new ZipFormatError(`stored member "${e.name}" has different stored and declared sizes`);
      return;
    }
    if (e.method !== 8) throw new ZipFormatError(`member "${e.name}" uses compression method ${e.method} (only stored and deflate are read)`);
    this.inflater = new (fflate().Inflate)((chunk) => {
      if (this.length + chunk.length > e.size) {
        throw new OverflowError(
          `${name}: member "${e.name}" inflates to more than the ${formatCount(e.size)} bytes its zip directory declares (it inflates past its declared size); the archive is corrupt or a zip bomb — refusing it`,
        );
      }
      if (this.out) this.out.set(chunk, this.length);
      else this.pending.push(chunk);
      this.length += chunk.length;
    });
  }

  /** At least the first min(n, declared size) bytes, inflating only as far as needed; may hold more. */
  prefix(n: number): Uint8Array {
    if (!this.inflater) return this.raw.subarray(0, Math.min(n, this.raw.length));
    this.inflate(Math.min(n, this.e.size), HEADER_STEP);
    if (this.pending.length > 1) this.pending = [concat(this.pending, this.length)];
    return this.pending[0] ?? new Uint8Array(0);
  }

  /** The whole member, in one newly allocated buffer of its declared size. */
  all(): Uint8Array {
    if (!this.inflater) return new Uint8Array(this.raw);
    const out = new Uint8Array(this.e.size);
    let at = 0;
    for (const chunk of this.pending) {
      out.set(chunk, at);
      at += chunk.length;
    }
    this.pending = [];
    this.out = out;
    this.inflate(Infinity, INFLATE_STEP);
    if (this.length !== this.e.size) {
      throw new ZipFormatError(
        `member "${this.e.name}" inflates to only ${formatCount(this.length)} bytes but its zip directory declares ${formatCount(this.e.size)}`,
      );
    }
    return out;
  }

  /** Push compressed input, `step` bytes at a time, until `want` bytes are out or the input is used up. */
  private inflate(want: number, step: number): void {
    while (this.length < want && this.consumed < this.raw.length) {
      const end = Math.min(this.raw.length, this.consumed + step);
      try {
        this.inflater!.push(this.raw.subarray(this.consumed, end), end === this.raw.length);
      } catch (err) {
        if (err instanceof OverflowError) throw err;
        throw new ZipFormatError(`member "${this.e.name}" does not inflate (${(err as Error).message})`);
      }
      this.consumed = end;
    }
  }
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Read one member as an array. Its .npy header is inflated and parsed first, and the array it describes (header
 * plus shape × itemsize) must be exactly the declared size and within the memory budget; only then is the member
 * inflated whole. A member whose header describes less data than the directory declares is refused there, after
 * a few KB, rather than after inflating gigabytes into a buffer whose tail readNpy would then reject.
 */
function readMember(bytes: Uint8Array, e: ZipEntry, name: string): NdArray {
  const label = `${name}:${keyOf(e.name)}`;
  const member = new MemberReader(bytes, e, name);
  // The preamble: magic, version, header length (2 bytes in version 1.0, 4 in 2.0/3.0).
  let head = member.prefix(12);
  let need = head.length;
  if (head.length >= 10 && head[6] >= 1 && head[6] <= 3) {
    const preamble = head[6] === 1 ? 10 : 12;
    if (head.length >= preamble) {
      const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
      const headerLen = preamble === 10 ? view.getUint16(8, true) : view.getUint32(8, true);
      // An over-long header is refused by parseNpyHeader from the preamble alone.
      need = preamble + (headerLen > MAX_NPY_HEADER_BYTES ? 0 : headerLen);
    }
  }
  head = member.prefix(need);
  const h = parseNpyHeader(head, label);
  const dtype = numericDType(h.type);
  if (h.type.kind === 'O' || !dtype) {
    // readNpy names the object / unsupported dtype from the header alone.
    readNpy(head.subarray(0, h.dataOffset), label);
  }
  const typeName = h.type.size === 2 && h.type.kind === 'f' ? 'float16' : (dtype ?? h.descr);
  const nbytes = product(h.shape) * h.type.size;
  const array = `${formatShape(h.shape)} ${typeName}`;
  if (h.dataOffset + nbytes < e.size) {
    throw new Error(
      `${name}: member "${e.name}" has a .npy header for a ${array} array (${formatCount(nbytes)} bytes after a ${formatCount(h.dataOffset)}-byte header), but its zip directory declares ${formatCount(e.size)} bytes; the archive is corrupt or a zip bomb — refusing it before inflating`,
    );
  }
  if (h.dataOffset + nbytes > e.size) {
    throw new Error(
      `${label}: truncated: header says ${array} (${formatCount(nbytes)} bytes) but member "${e.name}" holds only ${formatCount(e.size - h.dataOffset)} data bytes by its zip directory; the archive is cut off or corrupt — re-create it with np.savez`,
    );
  }
  checkAllocation(`the ${array} array of member "${e.name}"`, nbytes, name);
  return readNpy(member.all(), label);
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
    try {
      out.set(keyOf(e.name), readMember(bytes, e, name));
    } catch (err) {
      throw err instanceof ZipFormatError ? notAnNpz(name, err) : err;
    }
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
  return fflate().zipSync(files, { level: opts.compress ? 6 : 0, mtime: new Date(2000, 0, 1) });
}
