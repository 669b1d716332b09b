import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readNpy, type NdArray } from '../../src/io/npy.js';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/io');

/** A safetensors file with the given header object and data bytes (header padded to 8 like the writers do). */
function st(header: unknown, data: Uint8Array | number = 0): Uint8Array {
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const h = Buffer.from(json);
  const out = new Uint8Array(8 + h.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(body, 8 + h.length);
  return out;
}

describe('readSafetensors', () => {
  it('decodes every dtype of a file written by an independent (Python) encoder', () => {
    const m = readSafetensors(readFileSync(join(FIX, 'safetensors/mixed.safetensors')), 'mixed.safetensors');
    expect([...m.keys()]).toEqual(['f32', 'f64', 'f16', 'bf16', 'i64', 'u8', 'bool']);
    expect(m.get('f32')).toEqual(readNpy(readFileSync(join(FIX, 'npy/f4_3x4.npy')), 'f4'));
    expect(m.get('f64')).toEqual(readNpy(readFileSync(join(FIX, 'npy/f8_3x4.npy')), 'f8'));
    expect(m.get('f16')).toEqual({ dtype: 'float32', shape: [4], data: new Float32Array([1, -2.5, 65504, 0.00010001659393310547]) });
    expect(m.get('bf16')).toEqual({ dtype: 'float32', shape: [4], data: new Float32Array([1, -2, 0.15625, 2 ** 100]) });
    expect(m.get('i64')).toEqual({ dtype: 'int64', shape: [2], data: new BigInt64Array([-5n, 2n ** 40n]) });
    expect(m.get('u8')).toEqual({ dtype: 'uint8', shape: [3], data: new Uint8Array([0, 7, 255]) });
    expect(m.get('bool')).toEqual({ dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) });
  });

  it('validates the header length, JSON, dtypes, shapes and offsets', () => {
    const f32 = (offsets: number[], shape = [2]) => ({ dtype: 'F32', shape, data_offsets: offsets });
    expect(() => readSafetensors(new Uint8Array(5), 's')).toThrow('s: truncated: 5 bytes, too short for a safetensors header; re-create the file');
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
    expect(() => readSafetensors(huge, 's')).toThrow(/s: not a safetensors file \(header length field says 1,099,511,627,776 bytes, over the 100 MB limit\)/);
    const short = st({ a: f32([0, 8]) }, 8).subarray(0, 20);
    expect(() => readSafetensors(short, 's')).toThrow(/^s: truncated: header length field says \d+ bytes but only 12 bytes follow/);
    const notJson = st({}, 0);
    notJson[8] = 0x7b;
    notJson[9] = 0x7b;
    expect(() => readSafetensors(notJson, 's')).toThrow(/^s: not a safetensors file \(the header is not valid JSON/);
    expect(() => readSafetensors(st([1, 2]), 's')).toThrow('s: not a safetensors file (the header is not a JSON object)');
    expect(() => readSafetensors(st({ a: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, 8), 's')).toThrow(
      /s: tensor "a": unsupported dtype C64 \(supported: F64, F32, F16, BF16/,
    );
    expect(() => readSafetensors(st({ a: f32([0, 8], [-2]) }, 8), 's')).toThrow('s: tensor "a": shape is not a list of non-negative integers');
    expect(() => readSafetensors(st({ a: f32([8, 0]) }, 8), 's')).toThrow('s: tensor "a": data_offsets is not [begin, end] with 0 ≤ begin ≤ end');
    expect(() => readSafetensors(st({ a: f32([0, 12]) }, 12), 's')).toThrow('s: tensor "a": shape 2 F32 needs 8 bytes but data_offsets span 12');
    expect(() => readSafetensors(st({ a: f32([0, 8]) }, 4), 's')).toThrow(
      's: tensor "a": truncated: data_offsets end at byte 8 but the data section has only 4 bytes; re-create the file',
    );
  });

  it('offsets must tile the data section: no overlaps, holes or trailing bytes', () => {
    const f32 = (b: number) => ({ dtype: 'F32', shape: [2], data_offsets: [b, b + 8] });
    expect(() => readSafetensors(st({ a: f32(0), b: f32(4) }, 12), 's')).toThrow('s: tensors "a" and "b" overlap (bytes 0–8 and 4–12); the file is corrupt');
    expect(() => readSafetensors(st({ a: f32(0), b: f32(12) }, 20), 's')).toThrow('s: bytes 8–12 of the data section belong to no tensor; the file is corrupt');
    expect(() => readSafetensors(st({ a: f32(0) }, 12), 's')).toThrow('s: 4 bytes after the last tensor belong to no tensor; the file is corrupt');
    expect(readSafetensors(st({ __metadata__: { x: 'y' }, a: f32(0) }, new Uint8Array(new Float32Array([1, 2]).buffer)), 's').get('a')!.data).toEqual(
      new Float32Array([1, 2]),
    );
  });
});

describe('writeSafetensors', () => {
  const tensors = new Map<string, NdArray>([
    ['u8', { dtype: 'uint8', shape: [3], data: new Uint8Array([1, 2, 3]) }],
    ['f64', { dtype: 'float64', shape: [2, 2], data: new Float64Array([0.1, 0.2, 0.3, Number.NaN]) }],
    ['f32', { dtype: 'float32', shape: [1], data: new Float32Array([-1.5]) }],
    ['i16', { dtype: 'int16', shape: [2], data: new Int16Array([-7, 7]) }],
    ['u64', { dtype: 'uint64', shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) }],
    ['empty', { dtype: 'float32', shape: [0, 4], data: new Float32Array(0) }],
  ]);

  it('round-trips, keeping the map order and viewing aligned data in place', () => {
    const bytes = writeSafetensors(tensors, { source: 'test' });
    const back = readSafetensors(bytes, 'w');
    expect(back).toEqual(tensors);
    expect([...back.keys()]).toEqual([...tensors.keys()]);
    expect(back.get('f64')!.data.buffer).toBe(bytes.buffer);
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
  });

  it('refuses the reserved name', () => {
    expect(() => writeSafetensors(new Map([['__metadata__', tensors.get('u8')!]]))).toThrow(/"__metadata__" is reserved/);
  });
});
