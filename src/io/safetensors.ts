/**
 * safetensors files: an 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}, then the raw
 * little-endian tensor bytes. Written in-house (no maintained npm reader exists); validation follows the
 * reference implementation: offsets must tile the byte buffer exactly, with no overlaps and no holes.
 */
import { checkAllocation } from './limits.js';
import { checkNdArray, decodeElements, formatCount, formatShape, littleEndianBytes, product, type DType, type ElementType, type NdArray } from './npy.js';

/** Reference-implementation limit; a larger value means a corrupt or hostile length field. */
const MAX_HEADER_BYTES = 100_000_000;

/** safetensors dtype → how it decodes. F16/BF16 are widened to float32 (lossless). */
const READ_TYPES: Record<string, { size: number; type?: ElementType; bf16?: true }> = {
  F64: { size: 8, type: { byteOrder: '<', kind: 'f', size: 8, code: 'f8' } },
  F32: { size: 4, type: { byteOrder: '<', kind: 'f', size: 4, code: 'f4' } },
  F16: { size: 2, type: { byteOrder: '<', kind: 'f', size: 2, code: 'f2' } },
  BF16: { size: 2, bf16: true },
  I64: { size: 8, type: { byteOrder: '<', kind: 'i', size: 8, code: 'i8' } },
  I32: { size: 4, type: { byteOrder: '<', kind: 'i', size: 4, code: 'i4' } },
  I16: { size: 2, type: { byteOrder: '<', kind: 'i', size: 2, code: 'i2' } },
  I8: { size: 1, type: { byteOrder: '<', kind: 'i', size: 1, code: 'i1' } },
  U64: { size: 8, type: { byteOrder: '<', kind: 'u', size: 8, code: 'u8' } },
  U32: { size: 4, type: { byteOrder: '<', kind: 'u', size: 4, code: 'u4' } },
  U16: { size: 2, type: { byteOrder: '<', kind: 'u', size: 2, code: 'u2' } },
  U8: { size: 1, type: { byteOrder: '<', kind: 'u', size: 1, code: 'u1' } },
  BOOL: { size: 1, type: { byteOrder: '<', kind: 'b', size: 1, code: 'b1' } },
};

const WRITE_TYPES: Record<DType, string> = {
  float64: 'F64',
  float32: 'F32',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint64: 'U64',
  uint32: 'U32',
  uint16: 'U16',
  uint8: 'U8',
  bool: 'BOOL',
};

interface Entry {
  key: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

export function readSafetensors(bytes: Uint8Array, name: string): Map<string, NdArray> {
  if (bytes.length < 8) throw new Error(`${name}: truncated: ${bytes.length} bytes, too short for a safetensors header; re-create the file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES) {
    throw new Error(`${name}: not a safetensors file (header length field says ${formatCount(headerLen)} bytes, over the 100 MB limit)`);
  }
  if (8 + headerLen > bytes.length) {
    throw new Error(
      `${name}: truncated: header length field says ${formatCount(headerLen)} bytes but only ${formatCount(bytes.length - 8)} bytes follow; re-create the file`,
    );
  }
  // A parsed JSON header costs several times its text on the JS heap (the file itself was read within budget).
  checkAllocation(`parsing its ${formatCount(headerLen)}-byte JSON header`, headerLen * 8, name, true);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new Error(`${name}: not a safetensors file (the header is not valid JSON: ${(e as Error).message})`, { cause: e });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new Error(`${name}: not a safetensors file (the header is not a JSON object)`);
  }
  const buffer = bytes.subarray(8 + headerLen);
  const entries: Entry[] = [];
  for (const [key, raw] of Object.entries(header as Record<string, unknown>)) {
    if (key === '__metadata__') continue;
    const bad = (what: string): never => {
      throw new Error(`${name}: tensor "${key}": ${what}`);
    };
    if (typeof raw !== 'object' || raw === null) return bad('header entry is not an object');
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (typeof dtype !== 'string') return bad('missing dtype');
    const t = READ_TYPES[dtype];
    if (!t) return bad(`unsupported dtype ${dtype} (supported: ${Object.keys(READ_TYPES).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return bad('shape is not a list of non-negative integers');
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && d >= 0) || offsets[0] > offsets[1]) {
      return bad('data_offsets is not [begin, end] with 0 ≤ begin ≤ end');
    }
    const [begin, end] = offsets as number[];
    const expected = product(shape) * t.size;
    if (end - begin !== expected) {
      return bad(`shape ${formatShape(shape)} ${dtype} needs ${formatCount(expected)} bytes but data_offsets span ${formatCount(end - begin)}`);
    }
    if (end > buffer.length) {
      return bad(
        `truncated: data_offsets end at byte ${formatCount(end)} but the data section has only ${formatCount(buffer.length)} bytes; re-create the file`,
      );
    }
    entries.push({ key, dtype, shape: shape as number[], begin, end });
  }
  // Tensors must tile the data section exactly, so no byte is read twice or left unaccounted for.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin < at) {
      const prev = sorted[sorted.indexOf(e) - 1];
      throw new Error(`${name}: tensors "${prev.key}" and "${e.key}" overlap (bytes ${prev.begin}–${prev.end} and ${e.begin}–${e.end}); the file is corrupt`);
    }
    if (e.begin > at) throw new Error(`${name}: bytes ${at}–${e.begin} of the data section belong to no tensor; the file is corrupt`);
    at = e.end;
  }
  if (at !== buffer.length) throw new Error(`${name}: ${formatCount(buffer.length - at)} bytes after the last tensor belong to no tensor; the file is corrupt`);

  const out = new Map<string, NdArray>();
  for (const e of entries) {
    const t = READ_TYPES[e.dtype];
    const src = buffer.subarray(e.begin, e.end);
    if (t.bf16) {
      // bfloat16 is the top half of a float32.
      const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
      const bits = new Uint32Array(src.length / 2);
      for (let i = 0; i < bits.length; i++) bits[i] = dv.getUint16(2 * i, true) << 16;
      out.set(e.key, { dtype: 'float32', shape: e.shape, data: new Float32Array(bits.buffer) });
    } else {
      const d = decodeElements(src, t.type!);
      out.set(e.key, { dtype: d.dtype, shape: e.shape, data: d.data });
    }
  }
  return out;
}

/**
 * Serialise with the header in the map's order. Data is laid out largest item size first and the header is
 * space-padded to a multiple of 8, so every tensor is aligned to its item size and readers can view it in place.
 */
export function writeSafetensors(tensors: Map<string, NdArray>, metadata?: Record<string, string>): Uint8Array {
  const items = [...tensors].map(([key, arr]) => {
    if (key === '__metadata__') throw new Error('writeSafetensors: "__metadata__" is reserved and cannot name a tensor');
    const info = checkNdArray(arr, `writeSafetensors: "${key}"`);
    return { key, arr, size: info.size, bytes: littleEndianBytes(arr.data, info.size), begin: 0 };
  });
  let offset = 0;
  for (const it of [...items].sort((a, b) => b.size - a.size)) {
    it.begin = offset;
    offset += it.bytes.length;
  }
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  for (const it of items) {
    header[it.key] = { dtype: WRITE_TYPES[it.arr.dtype], shape: it.arr.shape, data_offsets: [it.begin, it.begin + it.bytes.length] };
  }
  const encoder = new TextEncoder();
  const json = JSON.stringify(header);
  const unpadded = encoder.encode(json).length;
  const headerBytes = encoder.encode(json + ' '.repeat((8 - (unpadded % 8)) % 8));
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  for (const it of items) out.set(it.bytes, 8 + headerBytes.length + it.begin);
  return out;
}
