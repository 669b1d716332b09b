import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/io/atomic.js';
import { formatCount, fortranToC, ndarrayToNested, npyPieces, parseNpyHeader, readNpy, writeNpy, type NdArray } from '../../src/io/npy.js';
import { readNpyObject } from '../../src/io/pickle.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/io/npy');
const load = (f: string) => readNpy(readFileSync(join(FIX, f)), f);
const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

/** A .npy with a hand-written header (padded like numpy), for malformed-header cases. */
function npyWithHeader(dict: string, data: Uint8Array = new Uint8Array(0), major = 1): Uint8Array {
  const pre = major === 1 ? 10 : 12;
  const len = Math.ceil((pre + dict.length + 1) / 64) * 64 - pre;
  const out = new Uint8Array(pre + len + data.length);
  out.set([0x93, ...Buffer.from('NUMPY'), major, 0]);
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, len, true);
  else dv.setUint32(8, len, true);
  out.set(Buffer.from(dict.padEnd(len - 1, ' ') + '\n', 'latin1'), pre);
  out.set(data, pre + len);
  return out;
}

describe('readNpy: numpy-written fixtures', () => {
  it('float32 and float64, C order', () => {
    const a = load('f4_3x4.npy');
    expect(a.dtype).toBe('float32');
    expect(a.shape).toEqual([3, 4]);
    expect(a.data).toEqual(new Float32Array(range(12, (i) => i * 0.25 - 1)));
    const b = load('f8_3x4.npy');
    expect(b.dtype).toBe('float64');
    // i / 7 - 0.5 in float64 is what numpy computed: bit-identical doubles.
    expect(Array.from(b.data as Float64Array)).toEqual(range(12, (i) => i / 7 - 0.5));
  });

  it('Fortran-order data is transposed into C order', () => {
    const a = load('f8_fortran_2x3x4.npy');
    expect(a.shape).toEqual([2, 3, 4]);
    expect(Array.from(a.data as Float64Array)).toEqual(range(24, (i) => i / 3));
  });

  it('big-endian data is converted to native order', () => {
    const f = load('f8_big_endian_3x2.npy');
    expect(f.dtype).toBe('float64');
    expect(Array.from(f.data as Float64Array)).toEqual(range(6, (i) => i / 9));
    const i4 = load('i4_big_endian_5.npy');
    expect(i4.dtype).toBe('int32');
    expect(Array.from(i4.data as Int32Array)).toEqual([1, -2, 300000, -400000, 2 ** 31 - 1]);
  });

  it('format versions 2.0 and 3.0 read like 1.0', () => {
    const v1 = load('f4_3x4.npy');
    for (const [f, major] of [
      ['f4_v2_3x4.npy', 2],
      ['f4_v3_3x4.npy', 3],
    ] as const) {
      expect(parseNpyHeader(readFileSync(join(FIX, f)), f).version).toEqual([major, 0]);
      expect(load(f)).toEqual(v1);
    }
  });

  it('integer, bool, float16 and 0-d arrays', () => {
    expect(load('i8_4.npy')).toEqual({ dtype: 'int64', shape: [4], data: new BigInt64Array([0n, -1n, 2n ** 40n, -(2n ** 53n)]) });
    expect(load('u1_2x2.npy')).toEqual({ dtype: 'uint8', shape: [2, 2], data: new Uint8Array([0, 1, 254, 255]) });
    expect(load('b1_3.npy')).toEqual({ dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) });
    expect(ndarrayToNested(load('b1_3.npy'))).toEqual([true, false, true]);
    // float16 is widened to float32; 0.0001 is stored as the nearest half, 0.00010001659393310547 (numpy).
    expect(load('f2_4.npy')).toEqual({ dtype: 'float32', shape: [4], data: new Float32Array([1, -2.5, 65504, 0.00010001659393310547]) });
    expect(load('f8_scalar.npy')).toEqual({ dtype: 'float64', shape: [], data: new Float64Array([2.5]) });
  });

  it('aligned little-endian data is a view on the file bytes (no copy)', () => {
    const bytes = readFileSync(join(FIX, 'f8_3x4.npy'));
    const a = readNpy(bytes, 'f8_3x4.npy');
    expect(a.data.buffer).toBe(bytes.buffer);
    expect(a.data.byteOffset).toBe(bytes.byteOffset + parseNpyHeader(bytes, 'x').dataOffset);
  });

  it('non-numeric dtypes are refused with the file name and a fix', () => {
    expect(() => load('U5_2.npy')).toThrow(
      'U5_2.npy: unsupported dtype <U5; supported: float16/32/64, int8/16/32/64, uint8/16/32/64, bool — convert it with x.astype(np.float32)',
    );
    expect(() => load('object_dict.npy')).toThrow(
      /^object_dict\.npy: holds a NumPy object array \(dtype \|O, pickled Python objects\), not numeric data; re-save it/,
    );
  });

  it('readNpyObject reads object arrays through the restricted unpickler, numeric ones as NdArray', () => {
    const v = readNpyObject(readFileSync(join(FIX, 'object_dict.npy')), 'object_dict.npy') as { a: NdArray; b: unknown };
    expect(v.a).toEqual({ dtype: 'float64', shape: [2, 2], data: new Float64Array([0, 1, 2, 3]) });
    expect(v.b).toEqual([1, 'two', 3.5]);
    expect(readNpyObject(readFileSync(join(FIX, 'f4_3x4.npy')), 'f')).toEqual(load('f4_3x4.npy'));
  });
});

describe('readNpy: corrupt files', () => {
  const good = new Uint8Array(readFileSync(join(FIX, 'f4_3x4.npy')));
  const dataOffset = parseNpyHeader(good, 'f').dataOffset;

  it('every strict prefix is reported as truncated', () => {
    for (let n = 0; n < good.length; n++) {
      expect(() => readNpy(good.subarray(0, n), 'cut.npy')).toThrow(/^cut\.npy: truncated: .*re-create (it|the file)$/);
    }
  });

  it('a cut-off data section says how much is missing', () => {
    expect(() => readNpy(good.subarray(0, dataOffset + 20), 'features/a.npy')).toThrow(
      'features/a.npy: truncated: header says 3×4 float32 (48 bytes) but only 20 data bytes present; the file was cut off while copying or saving — re-create it',
    );
    const big = writeNpy({ dtype: 'float32', shape: [500, 2048], data: new Float32Array(500 * 2048) });
    const off = parseNpyHeader(big, 'x').dataOffset;
    expect(() => readNpy(big.subarray(0, off + 1_000_000), 'features/a.npy')).toThrow(
      'features/a.npy: truncated: header says 500×2048 float32 (4,096,000 bytes) but only 1,000,000 data bytes present',
    );
  });

  it('bad magic, versions, headers and trailing bytes', () => {
    expect(() => readNpy(Buffer.from('hello world, not numpy'), 'x.npy')).toThrow(
      'x.npy: not a .npy file (expected it to start with \\x93NUMPY, found "hello ")',
    );
    expect(() => readNpy(new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0, 0, 0, 0]), 'x.npy')).toThrow(/looks like a zip archive \(\.npz\): read it with readNpz/);
    const v4 = good.slice();
    v4[6] = 4;
    expect(() => readNpy(v4, 'x.npy')).toThrow('x.npy: unsupported .npy format version 4.0 (supported: 1.0, 2.0, 3.0)');
    expect(() => readNpy(npyWithHeader("{'descr': '<f4', 'shape': (3,), }"), 'x.npy')).toThrow(
      /x\.npy: corrupt \.npy header .*expected the keys descr, fortran_order, shape/,
    );
    expect(() => readNpy(npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3,"), 'x.npy')).toThrow(/x\.npy: corrupt \.npy header/);
    expect(() => readNpy(npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }"), 'x.npy')).toThrow(
      /shape is not a tuple of non-negative integers/,
    );
    expect(() => readNpy(npyWithHeader("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }"), 'x.npy')).toThrow(
      /structured \(record\) dtypes are not supported/,
    );
    const extra = new Uint8Array(good.length + 8);
    extra.set(good);
    expect(() => readNpy(extra, 'x.npy')).toThrow(
      'x.npy: 8 unexpected bytes after the 3×4 array data; the file is corrupt or holds several arrays appended with np.save — save one array per file (or use .npz)',
    );
  });

  it('hand-written headers: Python 2 longs, version 2.0, Fortran order of a 2-d array', () => {
    const data = new Uint8Array(new Float64Array([1, 2, 3, 4, 5, 6]).buffer);
    const a = readNpy(npyWithHeader("{'descr': '<f8', 'fortran_order': True, 'shape': (2L, 3L), }", data, 2), 'x.npy');
    // Column-major [[1,3,5],[2,4,6]]
    expect(ndarrayToNested(a)).toEqual([
      [1, 3, 5],
      [2, 4, 6],
    ]);
  });
});

describe('writeNpy', () => {
  const cases: NdArray[] = [
    { dtype: 'float32', shape: [2, 3], data: new Float32Array([0.1, -2, 3.5, 1e-30, -0, Infinity]) },
    { dtype: 'float64', shape: [3], data: new Float64Array([Math.PI, Number.NaN, 5e-324]) },
    { dtype: 'float64', shape: [], data: new Float64Array([7]) },
    { dtype: 'float64', shape: [0, 3], data: new Float64Array(0) },
    { dtype: 'int8', shape: [2], data: new Int8Array([-128, 127]) },
    { dtype: 'int16', shape: [2], data: new Int16Array([-32768, 5]) },
    { dtype: 'int32', shape: [1, 1, 2], data: new Int32Array([-1, 2 ** 31 - 1]) },
    { dtype: 'int64', shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
    { dtype: 'uint8', shape: [2], data: new Uint8Array([0, 255]) },
    { dtype: 'uint16', shape: [1], data: new Uint16Array([65535]) },
    { dtype: 'uint32', shape: [1], data: new Uint32Array([2 ** 32 - 1]) },
    { dtype: 'uint64', shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
    { dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) },
  ];
  for (const arr of cases) {
    it(`round-trips ${arr.dtype} shape [${arr.shape.join(', ')}]`, () => {
      const bytes = writeNpy(arr);
      const h = parseNpyHeader(bytes, 'w');
      expect(h.dataOffset % 64).toBe(0);
      expect(h.version).toEqual([1, 0]);
      expect(readNpy(bytes, 'w')).toEqual(arr);
    });
  }

  it('writes the same header fields numpy does for its own fixture', () => {
    const ours = parseNpyHeader(writeNpy(load('f4_3x4.npy')), 'ours');
    const theirs = parseNpyHeader(readFileSync(join(FIX, 'f4_3x4.npy')), 'numpy');
    expect([ours.descr, ours.fortranOrder, ours.shape]).toEqual([theirs.descr, theirs.fortranOrder, theirs.shape]);
    expect(writeNpy(load('f4_3x4.npy')).subarray(ours.dataOffset)).toEqual(new Uint8Array(readFileSync(join(FIX, 'f4_3x4.npy'))).subarray(theirs.dataOffset));
  });

  it('writes only its own view of a shared buffer', () => {
    const big = new Float64Array([9, 1, 2, 9]);
    expect(readNpy(writeNpy({ dtype: 'float64', shape: [2], data: big.subarray(1, 3) }), 'w').data).toEqual(new Float64Array([1, 2]));
  });

  it('copies the values (the output does not alias its input, and the input is left as it was)', () => {
    const data = new Float64Array([1.5, -2, 3]);
    const bytes = writeNpy({ dtype: 'float64', shape: [3], data });
    data[0] = 99;
    expect(readNpy(bytes, 'w').data).toEqual(new Float64Array([1.5, -2, 3]));
    expect(bytes.buffer).not.toBe(data.buffer);
  });

  it('npyPieces: the header and the values as a view of the array (no copy), together the bytes of writeNpy', async () => {
    const big = new Float64Array([9, 1.5, -2, 3, 9]);
    const arr = { dtype: 'float64' as const, shape: [3], data: big.subarray(1, 4) };
    const [head, values] = npyPieces(arr);
    expect(values.buffer).toBe(big.buffer);
    expect(values.byteOffset).toBe(8);
    expect(values.byteLength).toBe(24);
    const whole = writeNpy(arr);
    expect(Buffer.concat([head, values])).toEqual(Buffer.from(whole));
    // Through writeFileAtomic, pieces follow one another in the file.
    const dir = mkdtempSync(join(tmpdir(), 'taskmap-npy-'));
    try {
      await writeFileAtomic(join(dir, 'a.npy'), [head, values]);
      expect(readNpy(readFileSync(join(dir, 'a.npy')), 'a').data).toEqual(new Float64Array([1.5, -2, 3]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses inconsistent arrays', () => {
    expect(() => writeNpy({ dtype: 'float64', shape: [2, 2], data: new Float64Array(3) })).toThrow('writeNpy: shape 2×2 needs 4 elements, data has 3');
    expect(() => writeNpy({ dtype: 'float64', shape: [2], data: new Float32Array(2) })).toThrow(
      'writeNpy: dtype float64 needs a Float64Array, got Float32Array',
    );
  });

  it('fortranToC transposes plain arrays too', () => {
    expect(fortranToC(['a', 'b', 'c', 'd', 'e', 'f'], [2, 3])).toEqual(['a', 'c', 'e', 'b', 'd', 'f']);
  });
});

describe('formatCount', () => {
  it("writes integers as toLocaleString('en-US') does (without ICU), other numbers through it", () => {
    for (const v of [0, 7, 999, 1000, 12_345, 999_999, 1_000_000, -1_234_567, 2 ** 53 - 1, 1234.5, 0.25])
      expect(formatCount(v)).toBe(v.toLocaleString('en-US'));
  });
});
