import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { readNpy, writeNpy, type NdArray } from '../../src/io/npy.js';
import { npzKeys, readNpz, writeNpz } from '../../src/io/npz.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/io');
const f4 = readNpy(readFileSync(join(FIX, 'npy/f4_3x4.npy')), 'f4');
const f8 = readNpy(readFileSync(join(FIX, 'npy/f8_3x4.npy')), 'f8');

describe('readNpz', () => {
  for (const f of ['stored.npz', 'deflated.npz']) {
    it(`${f} (np.savez${f === 'deflated.npz' ? '_compressed' : ''}) holds the arrays numpy wrote`, () => {
      const m = readNpz(readFileSync(join(FIX, 'npz', f)), f);
      expect([...m.keys()].sort()).toEqual(['a', 'b', 'c']);
      expect(m.get('a')).toEqual(f4);
      expect(m.get('b')).toEqual(f8);
      expect(m.get('c')).toEqual({ dtype: 'int64', shape: [3], data: new BigInt64Array([1n, 2n, 3n]) });
    });
  }

  it('reads only the requested keys, and lists the available ones when one is missing', () => {
    const bytes = readFileSync(join(FIX, 'npz/deflated.npz'));
    expect([...readNpz(bytes, 'd.npz', { keys: ['b'] }).keys()]).toEqual(['b']);
    expect(npzKeys(bytes, 'd.npz').sort()).toEqual(['a', 'b', 'c']);
    expect(() => readNpz(bytes, 'd.npz', { keys: ['b', 'zz'] })).toThrow('d.npz: no array named "zz"; available: a, b, c');
  });

  it('member errors name file.npz:key', () => {
    const bad = writeNpy(f4).subarray(0, 140);
    const zip = zipSync({ 'good.npy': writeNpy(f8), 'bad.npy': bad });
    expect(() => readNpz(zip, 'x.npz')).toThrow(/^x\.npz:bad: truncated: header says 3×4 float32/);
  });

  it('corrupt archives and non-npy members are reported', () => {
    const bytes = new Uint8Array(readFileSync(join(FIX, 'npz/stored.npz')));
    expect(() => readNpz(bytes.subarray(0, bytes.length - 30), 'cut.npz')).toThrow(
      /^cut\.npz: not a readable \.npz \(zip\) archive \(.*\); the file is truncated or corrupt/,
    );
    expect(() => readNpz(new Uint8Array(100), 'zero.npz')).toThrow(/^zero\.npz: not a readable \.npz/);
    const zip = zipSync({ 'a.npy': writeNpy(f4), 'notes.txt': new Uint8Array([104, 105]) });
    expect(() => readNpz(zip, 'z.npz')).toThrow('z.npz: member "notes.txt" is not a .npy array; an .npz holds only .npy members (write it with np.savez)');
  });
});

describe('writeNpz', () => {
  const arrays = new Map<string, NdArray>([
    ['a', f4],
    ['layer/b', f8],
    ['flags', { dtype: 'bool', shape: [2], data: new Uint8Array([0, 1]) }],
  ]);
  for (const compress of [false, true]) {
    it(`round-trips (${compress ? 'deflated' : 'stored'}), keeping names with "/"`, () => {
      const bytes = writeNpz(arrays, { compress });
      const back = readNpz(bytes, 'w.npz');
      expect(back).toEqual(arrays);
      expect([...back.keys()]).toEqual(['a', 'layer/b', 'flags']);
    });
  }

  it('is reproducible (fixed timestamps) and deflate actually compresses', () => {
    const zeros = new Map<string, NdArray>([['z', { dtype: 'float64', shape: [1000], data: new Float64Array(1000) }]]);
    expect(writeNpz(zeros)).toEqual(writeNpz(zeros));
    expect(writeNpz(zeros, { compress: true }).length).toBeLessThan(writeNpz(zeros).length / 10);
  });
});
