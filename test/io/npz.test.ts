import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';
import { afterEach, describe, expect, it } from 'vitest';
import { setMaxMemory } from '../../src/io/limits.js';
import { readNpy, writeNpy, type NdArray } from '../../src/io/npy.js';
import { npzKeys, readNpz, writeNpz } from '../../src/io/npz.js';
import { deflatedZeros, npyHeader, oneMemberZip } from '../helpers/npyBytes.js';

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

describe('readNpz: zip bombs and lying members', () => {
  afterEach(() => setMaxMemory(undefined));

  it("refuses the review's bomb (a (100000, 4800) float64 header, 3.9 GB declared) from its header, before inflating it", () => {
    // The repro as reported: a 3.9 MB zip64 member whose header claims 3.84 GB of float64 and whose deflate
    // stream inflates to 3.9 GB. Under a budget that allows the declared size, it used to inflate (8 GB peak).
    setMaxMemory('16G');
    const head = npyHeader('<f8', [100_000, 4800]);
    const declared = head.length + 3_900_000_000;
    const zip = oneMemberZip('a.npy', deflatedZeros(head, 3_900_000_000), declared);
    expect(zip.length).toBeLessThan(5_000_000);
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    expect(() => readNpz(zip, 'bomb2.npz')).toThrow(
      'bomb2.npz: member "a.npy" has a .npy header for a 100000×4800 float64 array (3,840,000,000 bytes after a 128-byte header), but its zip directory declares 3,900,000,128 bytes; the archive is corrupt or a zip bomb — refusing it before inflating',
    );
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(64 * 1024 * 1024);
  });

  it('refuses a member whose header and declared size agree but exceed the budget, before inflating', () => {
    setMaxMemory('32M');
    const head = npyHeader('<f8', [8 * 1024 * 1024]);
    const zip = oneMemberZip('a.npy', deflatedZeros(head, 64 * 1024 * 1024), head.length + 64 * 1024 * 1024);
    expect(() => readNpz(zip, 'big.npz')).toThrow(/^big\.npz: inflating member "a\.npy" to the 67,108,992 bytes .* over the memory limit of 32\.0 MiB/);
  });

  it('inflates a member whose header and declared size agree into one buffer of that size', () => {
    const head = npyHeader('<f4', [1024, 1024]);
    const zip = oneMemberZip('a.npy', deflatedZeros(head, 4 * 1024 * 1024), head.length + 4 * 1024 * 1024);
    const a = readNpz(zip, 'ok.npz').get('a')!;
    expect(a.shape).toEqual([1024, 1024]);
    expect(a.data.length).toBe(1024 * 1024);
    expect((a.data as Float32Array).buffer.byteLength).toBe(head.length + 4 * 1024 * 1024);
  });

  it('stops at the first output past the declared size, and refuses a member that ends short', () => {
    const head = npyHeader('<f4', [3]);
    const over = oneMemberZip('a.npy', deflatedZeros(head, 64 * 1024 * 1024), head.length + 12);
    expect(() => readNpz(over, 'over.npz')).toThrow(
      'over.npz: member "a.npy" inflates to more than the 140 bytes its zip directory declares (it inflates past its declared size); the archive is corrupt or a zip bomb — refusing it',
    );
    const short = oneMemberZip('a.npy', deflatedZeros(npyHeader('<f4', [3]), 8), head.length + 12);
    expect(() => readNpz(short, 'short.npz')).toThrow(
      /^short\.npz: not a readable \.npz .*member "a\.npy" inflates to only 136 bytes but its zip directory declares 140/,
    );
  });

  it('checks the header of stored members against their size too', () => {
    const head = npyHeader('<f4', [3]);
    const stored = Buffer.concat([head, Buffer.alloc(12 + 100)]);
    expect(() => readNpz(oneMemberZip('a.npy', stored, stored.length, 0), 's.npz')).toThrow(
      's.npz: member "a.npy" has a .npy header for a 3 float32 array (12 bytes after a 128-byte header), but its zip directory declares 240 bytes',
    );
    const cut = head.subarray(0, 100);
    expect(() => readNpz(oneMemberZip('a.npy', cut, cut.length, 0), 'c.npz')).toThrow(/^c\.npz:a: truncated: the header says it is 118 bytes long/);
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
