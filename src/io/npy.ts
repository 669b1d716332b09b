/**
 * NumPy `.npy` files (format versions 1.0, 2.0 and 3.0), read and written in-house rather than through npyjs:
 * npyjs neither transposes Fortran-order data nor converts big-endian data, and its errors do not say which file
 * or what is wrong. The element decoding here is shared with the npz, safetensors and pickle readers.
 *
 * Reading never runs code: object arrays (dtype `|O`, i.e. pickled Python objects) are refused by `readNpy`;
 * `readNpyPickle` in ./pickle.ts reads them through the restricted unpickler.
 *
 * Nothing is allocated from what a header declares: the data must be present in the file (which the caller read
 * within the memory budget, see input.ts), and copies (byte swaps, Fortran order, float16) are at most twice it.
 */
import { excerpt, LimitError } from './limits.js';

export type DType = 'float32' | 'float64' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'bool';

export type TypedArray =
  Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

/**
 * An n-d array in C (row-major) order. `bool` data is a Uint8Array of 0/1; `int64`/`uint64` data are
 * BigInt64Array/BigUint64Array. float16 data is widened to float32 on read (lossless), so it never appears here.
 */
export interface NdArray {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

type TypedArrayCtor = {
  new (length: number): TypedArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray;
};

interface DTypeInfo {
  dtype: DType;
  /** NumPy type code without byte order, e.g. 'f4'. */
  code: string;
  size: number;
  ctor: TypedArrayCtor;
}

const DTYPES: Record<DType, DTypeInfo> = {
  float32: { dtype: 'float32', code: 'f4', size: 4, ctor: Float32Array },
  float64: { dtype: 'float64', code: 'f8', size: 8, ctor: Float64Array },
  int8: { dtype: 'int8', code: 'i1', size: 1, ctor: Int8Array },
  int16: { dtype: 'int16', code: 'i2', size: 2, ctor: Int16Array },
  int32: { dtype: 'int32', code: 'i4', size: 4, ctor: Int32Array },
  int64: { dtype: 'int64', code: 'i8', size: 8, ctor: BigInt64Array },
  uint8: { dtype: 'uint8', code: 'u1', size: 1, ctor: Uint8Array },
  uint16: { dtype: 'uint16', code: 'u2', size: 2, ctor: Uint16Array },
  uint32: { dtype: 'uint32', code: 'u4', size: 4, ctor: Uint32Array },
  uint64: { dtype: 'uint64', code: 'u8', size: 8, ctor: BigUint64Array },
  bool: { dtype: 'bool', code: 'b1', size: 1, ctor: Uint8Array },
};

const BY_CODE = new Map<string, DTypeInfo>(Object.values(DTYPES).map((d) => [d.code, d]));

export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A NumPy element type: byte order ('<', '>', '|' not applicable, '=' native), kind letter and item size. */
export interface ElementType {
  byteOrder: '<' | '>' | '|' | '=';
  kind: string;
  size: number;
  /** The code as written, e.g. 'f4', 'U28', 'O'. */
  code: string;
}

/** Parse a NumPy type string such as '<f4', '|u1', '>i8', '<U28', '|O', 'f8', 'O8'; undefined if it is not one. */
export function parseTypeString(s: string): ElementType | undefined {
  const m = /^([<>|=]?)([a-zA-Z])(\d*)(\[[^\]]*\])?$/.exec(s);
  if (!m) return undefined;
  const kind = m[2];
  // 'O' with no size is pointer-sized; the number only matters for numeric/string kinds.
  const size = m[3] === '' ? (kind === 'O' ? 8 : 0) : Number(m[3]);
  return { byteOrder: (m[1] || '=') as ElementType['byteOrder'], kind, size, code: `${kind}${m[3]}${m[4] ?? ''}` };
}

/**
 * The NdArray dtype an element type decodes to ('f2' → float32), or undefined for non-numeric types (strings,
 * objects, complex, datetimes, ...).
 */
export function numericDType(t: ElementType): DType | undefined {
  if (t.kind === 'f' && t.size === 2) return 'float32';
  return BY_CODE.get(`${t.kind}${t.size}`)?.dtype;
}

function isLittleEndian(t: ElementType): boolean {
  return t.byteOrder === '<' || (t.byteOrder !== '>' && HOST_LITTLE_ENDIAN);
}

function byteswap(bytes: Uint8Array, size: number): void {
  for (let i = 0; i < bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/**
 * Decode raw element bytes (exactly count × size) of a numeric type. When the bytes are already in host order
 * and aligned the result is a view on `src` (no copy); otherwise a fresh aligned copy, byte-swapped if needed.
 * The caller must have checked `numericDType(t)`.
 */
export function decodeElements(src: Uint8Array, t: ElementType): { dtype: DType; data: TypedArray } {
  const le = isLittleEndian(t);
  if (t.kind === 'f' && t.size === 2) {
    const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
    const out = new Float32Array(src.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = halfToFloat(view.getUint16(2 * i, le));
    return { dtype: 'float32', data: out };
  }
  const info = BY_CODE.get(`${t.kind}${t.size}`);
  if (!info) throw new Error(`decodeElements: ${t.code} is not a numeric type`);
  const count = src.length / info.size;
  if (info.size === 1 || le === HOST_LITTLE_ENDIAN) {
    if (src.byteOffset % info.size === 0) return { dtype: info.dtype, data: new info.ctor(src.buffer, src.byteOffset, count) };
    return { dtype: info.dtype, data: new info.ctor(new Uint8Array(src).buffer, 0, count) };
  }
  // new Uint8Array(src) always copies; src.slice() would not when src is a Node Buffer.
  const copy = new Uint8Array(src);
  byteswap(copy, info.size);
  return { dtype: info.dtype, data: new info.ctor(copy.buffer, 0, count) };
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

export function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** "500×2048", "scalar" for 0-d: the way shapes appear in error messages. */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 0 ? 'scalar' : shape.join('×');
}

export function formatCount(n: number): string {
  // Integers (the counts and byte sizes this formats) without toLocaleString, whose first call loads ICU (~30 ms of
  // every run's start-up when a message is built eagerly); the same text as toLocaleString('en-US').
  if (Number.isSafeInteger(n)) return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return n.toLocaleString('en-US');
}

/** Reorder Fortran-order (column-major) elements into C order; works on typed arrays and plain arrays. */
export function fortranToC<T extends TypedArray | unknown[]>(data: T, shape: readonly number[]): T {
  const n = data.length;
  const nd = shape.length;
  if (nd < 2 || n === 0) return data;
  const out = (Array.isArray(data) ? new Array(n) : new (data.constructor as new (n: number) => TypedArray)(n)) as T;
  const src = data as unknown as { [i: number]: unknown };
  const dst = out as unknown as { [i: number]: unknown };
  const fstride: number[] = [];
  let s = 1;
  for (let k = 0; k < nd; k++) {
    fstride.push(s);
    s *= shape[k];
  }
  const idx = new Array<number>(nd).fill(0);
  let f = 0;
  for (let i = 0; i < n; i++) {
    dst[i] = src[f];
    for (let k = nd - 1; k >= 0; k--) {
      idx[k]++;
      f += fstride[k];
      if (idx[k] < shape[k]) break;
      f -= fstride[k] * shape[k];
      idx[k] = 0;
    }
  }
  return out;
}

/** Nest a flat C-order list by `shape` (a 0-d shape gives the single element itself). */
export function nest(flat: ArrayLike<unknown>, shape: readonly number[]): unknown {
  if (shape.length === 0) return flat[0];
  const build = (dim: number, offset: number, stride: number): unknown[] => {
    const inner = stride / shape[dim];
    const out: unknown[] = [];
    for (let i = 0; i < shape[dim]; i++) {
      out.push(dim === shape.length - 1 ? flat[offset + i] : build(dim + 1, offset + i * inner, inner));
    }
    return out;
  };
  return build(0, 0, product(shape));
}

/** Nested JS arrays of numbers (bigint for int64/uint64, booleans for bool), as numpy's tolist() would give. */
export function ndarrayToNested(arr: NdArray): unknown {
  const flat: unknown[] = arr.dtype === 'bool' ? Array.from(arr.data as Uint8Array, (v) => v !== 0) : Array.from(arr.data as ArrayLike<unknown>);
  return nest(flat, arr.shape);
}

export function isNdArray(x: unknown): x is NdArray {
  if (typeof x !== 'object' || x === null) return false;
  const a = x as Partial<NdArray>;
  return typeof a.dtype === 'string' && a.dtype in DTYPES && Array.isArray(a.shape) && ArrayBuffer.isView(a.data);
}

// ---------------------------------------------------------------------------------------------------------------
// Header

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * Longest .npy header read. numpy itself refuses headers over 10,000 bytes by default (`max_header_size`); a
 * header holds a dict of three short fields, so anything longer is corrupt or hostile, and the literal parser
 * below is not meant for megabytes. The `maxHeaderBytes` option of readNpy / parseNpyHeader raises it.
 */
export const MAX_NPY_HEADER_BYTES = 10_000;

export interface NpyReadOptions {
  /** Longest header accepted (default MAX_NPY_HEADER_BYTES). */
  maxHeaderBytes?: number;
}

export interface NpyHeader {
  version: [number, number];
  /** The raw descr string, e.g. '<f4', '|O'. */
  descr: string;
  type: ElementType;
  fortranOrder: boolean;
  shape: number[];
  /** Offset of the first data byte. */
  dataOffset: number;
}

export function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

function describeStart(bytes: Uint8Array): string {
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return ' — it looks like a zip archive (.npz): read it with readNpz';
  if (bytes[0] === 0x80) return ' — it looks like a Python pickle: convert it to .npy with np.save';
  return '';
}

/** Parse and validate a .npy header; errors name the file (`name`) and the problem. */
export function parseNpyHeader(bytes: Uint8Array, name: string, opts: NpyReadOptions = {}): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    if (bytes.length < 10 && MAGIC.every((b, i) => i >= bytes.length || bytes[i] === b)) {
      throw new Error(`${name}: truncated: only ${bytes.length} bytes, too short for a .npy header; re-create the file`);
    }
    const start = Array.from(bytes.subarray(0, 6), (b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
    throw new Error(`${name}: not a .npy file (expected it to start with \\x93NUMPY, found "${start}")${describeStart(bytes)}`);
  }
  const major = bytes[6];
  const minor = bytes[7];
  if (![1, 2, 3].includes(major) || minor !== 0) {
    throw new Error(`${name}: unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  }
  const lenBytes = major === 1 ? 2 : 4;
  const preamble = 8 + lenBytes;
  if (bytes.length < preamble) throw new Error(`${name}: truncated: only ${bytes.length} bytes, too short for a .npy header; re-create the file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const maxHeader = opts.maxHeaderBytes ?? MAX_NPY_HEADER_BYTES;
  if (headerLen > maxHeader) {
    throw new LimitError(
      `${name}: the .npy header is ${formatCount(headerLen)} bytes long, over the limit of ${formatCount(maxHeader)} (numpy's own default); the file is corrupt, or raise it with the reader option maxHeaderBytes`,
    );
  }
  const dataOffset = preamble + headerLen;
  if (dataOffset > bytes.length) {
    throw new Error(
      `${name}: truncated: the header says it is ${formatCount(headerLen)} bytes long but the file has only ${formatCount(bytes.length - preamble)} bytes after the preamble; re-create the file`,
    );
  }
  const raw = bytes.subarray(preamble, dataOffset);
  // Version 3.0 only differs by allowing utf-8 (field names); 1.0/2.0 headers are latin-1.
  const text = major === 3 ? new TextDecoder('utf-8').decode(raw) : latin1(raw);
  let dict: unknown;
  try {
    dict = parsePythonLiteral(text);
  } catch (e) {
    throw new Error(`${name}: corrupt .npy header ${excerpt(text.trim(), 120)}: ${(e as Error).message}`, { cause: e });
  }
  const bad = (what: string): never => {
    throw new Error(`${name}: corrupt .npy header ${excerpt(text.trim(), 120)}: ${what}`);
  };
  if (!(dict instanceof Map)) return bad('not a dict');
  const keys = [...dict.keys()].sort().join(',');
  if (keys !== 'descr,fortran_order,shape') return bad(`expected the keys descr, fortran_order, shape (found ${keys ? excerpt(keys).slice(1, -1) : 'none'})`);
  const descr = dict.get('descr');
  if (Array.isArray(descr) || descr instanceof PyTuple) {
    throw new Error(`${name}: structured (record) dtypes are not supported; save each field as its own plain numeric array`);
  }
  if (typeof descr !== 'string') return bad('descr is not a string');
  const type = parseTypeString(descr);
  if (!type) return bad(`descr ${excerpt(descr)} is not a NumPy type string`);
  const fortranOrder = dict.get('fortran_order');
  if (typeof fortranOrder !== 'boolean') return bad('fortran_order is not True/False');
  const shape = dict.get('shape');
  if (!(shape instanceof PyTuple) || !shape.items.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    return bad('shape is not a tuple of non-negative integers');
  }
  return { version: [major, minor], descr, type, fortranOrder, shape: shape.items as number[], dataOffset };
}

/**
 * Parse a .npy file. `name` (usually the path) starts every error message. The result's data is a view on
 * `bytes` when the file is little-endian, C order and aligned (the usual np.save output), so large feature files
 * are not copied; don't reuse `bytes` for anything else afterwards.
 */
export function readNpy(bytes: Uint8Array, name: string, opts: NpyReadOptions = {}): NdArray {
  const h = parseNpyHeader(bytes, name, opts);
  if (h.type.kind === 'O') {
    throw new Error(
      `${name}: holds a NumPy object array (dtype |O, pickled Python objects), not numeric data; re-save it as a numeric array, e.g. np.save(path, np.asarray(x, dtype=np.float32))`,
    );
  }
  const dtype = numericDType(h.type);
  if (!dtype) {
    throw new Error(
      `${name}: unsupported dtype ${h.descr.length > 40 ? excerpt(h.descr) : h.descr}; supported: float16/32/64, int8/16/32/64, uint8/16/32/64, bool — convert it with x.astype(np.float32)`,
    );
  }
  const count = product(h.shape);
  const nbytes = count * h.type.size;
  const available = bytes.length - h.dataOffset;
  if (available < nbytes) {
    const typeName = h.type.size === 2 && h.type.kind === 'f' ? 'float16' : dtype;
    throw new Error(
      `${name}: truncated: header says ${formatShape(h.shape)} ${typeName} (${formatCount(nbytes)} bytes) but only ${formatCount(available)} data bytes present; the file was cut off while copying or saving — re-create it`,
    );
  }
  if (available > nbytes) {
    throw new Error(
      `${name}: ${formatCount(available - nbytes)} unexpected bytes after the ${formatShape(h.shape)} array data; the file is corrupt or holds several arrays appended with np.save — save one array per file (or use .npz)`,
    );
  }
  const decoded = decodeElements(bytes.subarray(h.dataOffset, h.dataOffset + nbytes), h.type);
  const data = h.fortranOrder ? fortranToC(decoded.data, h.shape) : decoded.data;
  return { dtype: decoded.dtype, shape: [...h.shape], data };
}

/** Check that `arr` is consistent (data type matches dtype, length matches shape); `what` prefixes the error. */
export function checkNdArray(arr: NdArray, what: string): DTypeInfo {
  const info = DTYPES[arr.dtype];
  if (!info) throw new Error(`${what}: unknown dtype ${String(arr.dtype)}`);
  if (!arr.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`${what}: invalid shape [${arr.shape.join(', ')}]`);
  if (!(arr.data instanceof info.ctor)) {
    throw new Error(`${what}: dtype ${arr.dtype} needs a ${info.ctor.name}, got ${arr.data.constructor.name}`);
  }
  if (arr.data.length !== product(arr.shape)) {
    throw new Error(`${what}: shape ${formatShape(arr.shape)} needs ${product(arr.shape)} elements, data has ${arr.data.length}`);
  }
  return info;
}

/** Little-endian bytes of a typed array (a copy). */
export function littleEndianBytes(data: TypedArray, size: number): Uint8Array {
  const out = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  if (!HOST_LITTLE_ENDIAN && size > 1) byteswap(out, size);
  return out;
}

/** Serialise as a version 1.0 .npy (2.0 when the header needs it), little-endian, C order — what np.save writes. */
export function writeNpy(arr: NdArray): Uint8Array {
  const [header, data] = npyPieces(arr);
  const out = new Uint8Array(header.length + data.length);
  out.set(header, 0);
  out.set(data, header.length);
  return out;
}

/**
 * The same .npy as two pieces for writeFileAtomic: the header, and the values' bytes — on a little-endian host a
 * view of the array itself, not a copy (a 20,000×20,000 RDM is 3.2 GB; writeNpy would double it).
 */
export function npyPieces(arr: NdArray): [Uint8Array, Uint8Array] {
  const info = checkNdArray(arr, 'writeNpy');
  const descr = `${info.size === 1 ? '|' : '<'}${info.code}`;
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // numpy pads the header with spaces so the data starts at a multiple of 64 bytes (aligned for every dtype).
  let preamble = 10;
  let headerLen = Math.ceil((preamble + dict.length + 1) / 64) * 64 - preamble;
  if (headerLen > 0xffff) {
    preamble = 12;
    headerLen = Math.ceil((preamble + dict.length + 1) / 64) * 64 - preamble;
  }
  const head = new Uint8Array(preamble + headerLen);
  head.set(MAGIC, 0);
  head[6] = preamble === 10 ? 1 : 2;
  head[7] = 0;
  const view = new DataView(head.buffer);
  if (preamble === 10) view.setUint16(8, headerLen, true);
  else view.setUint32(8, headerLen, true);
  const header = dict.padEnd(headerLen - 1, ' ') + '\n';
  for (let i = 0; i < header.length; i++) head[preamble + i] = header.charCodeAt(i);
  const bytes = new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
  // A big-endian host swaps a copy, never the caller's array.
  return [head, !HOST_LITTLE_ENDIAN && info.size > 1 ? littleEndianBytes(arr.data, info.size) : bytes];
}

// ---------------------------------------------------------------------------------------------------------------
// The Python literal subset that .npy headers use: dicts, tuples, lists, strings, ints, True/False/None.

class PyTuple {
  constructor(readonly items: unknown[]) {}
}

function parsePythonLiteral(text: string): unknown {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const fail = (what: string): never => {
    throw new Error(`${what} at character ${i}`);
  };
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const m = new Map<string, unknown>();
      for (;;) {
        ws();
        if (text[i] === '}') {
          i++;
          return m;
        }
        const k = value();
        if (typeof k !== 'string') fail('dict key is not a string');
        ws();
        if (text[i++] !== ':') fail('expected ":"');
        m.set(k as string, value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== '}') fail('expected "," or "}"');
      }
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      i++;
      const items: unknown[] = [];
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          return c === '(' ? new PyTuple(items) : items;
        }
        items.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) fail(`expected "," or "${close}"`);
      }
    }
    if (c === "'" || c === '"') {
      i++;
      let s = '';
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\') {
          i++;
          const e = text[i];
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e;
        } else s += text[i];
        i++;
      }
      if (i >= text.length) fail('unterminated string');
      i++;
      return s;
    }
    const m = /^(-?\d+)L?|^(True|False|None)\b/.exec(text.slice(i));
    if (!m) return fail('unexpected input');
    i += m[0].length;
    if (m[1] !== undefined) return Number(m[1]);
    return m[2] === 'True' ? true : m[2] === 'False' ? false : null;
  };
  const v = value();
  ws();
  if (i !== text.length) fail('trailing characters');
  return v;
}
