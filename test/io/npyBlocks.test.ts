import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openNpyColumns } from '../../src/io/npyBlocks.js';
import { writeNpy } from '../../src/io/npy.js';
import { npyHeader } from '../helpers/npyBytes.js';
import { gaussian } from '../helpers/random.js';

const dir = mkdtempSync(join(tmpdir(), 'npyblocks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** np.save's header for `descr` and `shape`, marked Fortran-order when asked ("True " fills the place of "False"). */
function header(descr: string, fortran: boolean, shape: number[]): Buffer {
  const h = npyHeader(descr, shape);
  return fortran ? Buffer.from(h.toString('latin1').replace("'fortran_order': False", "'fortran_order': True "), 'latin1') : h;
}

/**
 * x (C-order, n × product(shape)) written with the given element type, byte order and storage order. Fortran order
 * puts element (i, a, b, …) at i + n·(a + A·(b + …)): the image index fastest, then the per-image axes in order.
 */
function writeFile(name: string, x: Float64Array, n: number, shape: number[], opts: { type?: 'f4' | 'f8'; big?: boolean; fortran?: boolean } = {}): string {
  const type = opts.type ?? 'f4';
  const size = type === 'f4' ? 4 : 8;
  const p = shape.reduce((a, b) => a * b, 1);
  const data = Buffer.alloc(n * p * size);
  const put = (pos: number, v: number) => {
    if (type === 'f4') opts.big ? data.writeFloatBE(v, pos * 4) : data.writeFloatLE(v, pos * 4);
    else opts.big ? data.writeDoubleBE(v, pos * 8) : data.writeDoubleLE(v, pos * 8);
  };
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < p; f++) {
      if (!opts.fortran) {
        put(i * p + f, x[i * p + f]);
        continue;
      }
      // C-order per-image index f → axes (a, b, …), then the Fortran position.
      const idx: number[] = [];
      let rest = f;
      for (let k = shape.length - 1; k >= 0; k--) {
        idx[k] = rest % shape[k];
        rest = Math.floor(rest / shape[k]);
      }
      let pos = 0;
      for (let k = shape.length - 1; k >= 0; k--) pos = pos * shape[k] + idx[k];
      put(i + n * pos, x[i * p + f]);
    }
  }
  const file = join(dir, name);
  writeFileSync(file, Buffer.concat([header(`${opts.big ? '>' : '<'}${type}`, Boolean(opts.fortran), [n, ...shape]), data]));
  return file;
}

function randomData(n: number, p: number, seed: number, f32: boolean): Float64Array {
  const g = gaussian(seed);
  const x = new Float64Array(n * p);
  for (let k = 0; k < x.length; k++) x[k] = f32 ? Math.fround(g()) : g();
  return x;
}

/** Every block of `cb` columns, checked against the columns of x it names (through featureIndex). */
function checkBlocks(file: string, x: Float64Array, n: number, p: number, cb: number): number {
  const r = openNpyColumns(file);
  try {
    expect([r.n, r.p]).toEqual([n, p]);
    const out = new Float64Array(n * cb);
    const seen = new Set<number>();
    let compared = 0;
    for (let c0 = 0; c0 < p; c0 += cb) {
      const w = Math.min(cb, p - c0);
      const b = r.readBlock(c0, w, out);
      expect(b.length).toBe(n * w);
      for (let c = 0; c < w; c++) {
        const f = r.featureIndex(c0 + c);
        seen.add(f);
        for (let i = 0; i < n; i++) {
          expect(b[i * w + c]).toBe(x[i * p + f]);
          compared++;
        }
      }
    }
    expect(seen.size).toBe(p);
    return compared;
  } finally {
    r.close();
  }
}

describe('openNpyColumns', () => {
  it.each([
    ['float32 C order', { type: 'f4' as const }],
    ['float64 C order', { type: 'f8' as const }],
    ['big-endian float32', { type: 'f4' as const, big: true }],
    ['big-endian float64', { type: 'f8' as const, big: true }],
    ['Fortran float32', { type: 'f4' as const, fortran: true }],
    ['Fortran big-endian float64', { type: 'f8' as const, fortran: true, big: true }],
  ])('reads every column block of a 2-d %s file as the values stored', (name, opts) => {
    for (const seed of [1, 2, 3]) {
      const n = 7;
      const p = 13;
      const x = randomData(n, p, seed, opts.type === 'f4');
      const file = writeFile(`${name.replace(/ /g, '_')}-${seed}.npy`, x, n, [p], opts);
      for (const cb of [1, 4, 13]) expect(checkBlocks(file, x, n, p, cb)).toBe(n * p);
    }
  });

  it('reads a 4-d file as n × (product of the rest); a Fortran one in storage order, named by C-order feature index', () => {
    const n = 5;
    const shape = [2, 3, 4];
    const x = randomData(n, 24, 7, true);
    const c = writeFile('c4d.npy', x, n, shape);
    const f = writeFile('f4d.npy', x, n, shape, { fortran: true });
    expect(checkBlocks(c, x, n, 24, 5)).toBe(n * 24);
    expect(checkBlocks(f, x, n, 24, 5)).toBe(n * 24);
    const r = openNpyColumns(f);
    // Stored column 1 is axis-1 index 1 (first axis fastest): (1, 0, 0) → C index 12.
    expect([r.featureIndex(0), r.featureIndex(1), r.featureIndex(2)]).toEqual([0, 12, 4]);
    expect(r.shape).toEqual(shape);
    r.close();
  });

  it('reads what writeNpy writes', () => {
    const x = randomData(6, 10, 4, false);
    const file = join(dir, 'written.npy');
    writeFileSync(file, writeNpy({ dtype: 'float64', shape: [6, 10], data: x }));
    expect(checkBlocks(file, x, 6, 10, 3)).toBe(60);
  });

  it.each([
    ['C order', false, 3, 5, 3, 5],
    ['Fortran order', true, 3, 5, 3, 5],
  ])('names the file, image and feature of a non-finite value (%s)', (_name, fortran, i, f) => {
    for (const bad of [Number.NaN, Infinity, -Infinity]) {
      const x = randomData(6, 9, 5, true);
      x[i * 9 + f] = bad;
      const file = writeFile(`bad-${String(fortran)}-${bad}.npy`, x, 6, [9], { fortran });
      const r = openNpyColumns(file);
      const out = new Float64Array(6 * 9);
      expect(() => r.readBlock(0, 4, out)).not.toThrow();
      expect(() => r.readBlock(4, 4, out)).toThrow(`${file}: ${bad} at image ${i}, feature ${f} (the first non-finite value`);
      r.close();
    }
  });

  it('refuses other types, 1-d arrays, truncated files, extra bytes and blocks outside the file', () => {
    const ints = join(dir, 'ints.npy');
    writeFileSync(ints, Buffer.concat([header('<i4', false, [3, 2]), Buffer.alloc(24)]));
    expect(() => openNpyColumns(ints)).toThrow(`${ints}: dtype <i4 cannot be read in column blocks (float32 or float64 only)`);
    const half = join(dir, 'half.npy');
    writeFileSync(half, Buffer.concat([header('<f2', false, [3, 2]), Buffer.alloc(12)]));
    expect(() => openNpyColumns(half)).toThrow('dtype <f2 cannot be read in column blocks');
    const flat = join(dir, 'flat.npy');
    writeFileSync(flat, Buffer.concat([header('<f4', false, [6]), Buffer.alloc(24)]));
    expect(() => openNpyColumns(flat)).toThrow(`${flat}: features need shape (n_images, n_features, ...), got (6)`);
    const short = join(dir, 'short.npy');
    writeFileSync(short, Buffer.concat([header('<f4', false, [3, 2]), Buffer.alloc(20)]));
    expect(() => openNpyColumns(short)).toThrow(`${short}: truncated: the header says 3×2 float32`);
    const long = join(dir, 'long.npy');
    writeFileSync(long, Buffer.concat([header('<f8', false, [3, 2]), Buffer.alloc(49)]));
    expect(() => openNpyColumns(long)).toThrow(`${long}: has extra bytes`);
    const ok = writeFile('ok.npy', randomData(3, 4, 1, true), 3, [4]);
    const r = openNpyColumns(ok);
    expect(() => r.readBlock(2, 3, new Float64Array(9))).toThrow('columns 2..5 are outside its 4 features');
    expect(() => r.readBlock(0, 2, new Float64Array(5))).toThrow('the block array holds 5 values, not 3×2');
    r.close();
    expect(() => r.readBlock(0, 1, new Float64Array(3))).toThrow('read after close');
  });
});
