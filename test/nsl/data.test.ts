import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FASHION_MNIST_INSTALL, fewShot, loadFashionMnist, makeBatch, parseIdx, permutation, selectClasses } from '../../src/nsl/data.js';
import { prototypeImages } from './synthetic.js';

/** An IDX file written by hand: 0, 0, type, ndim, big-endian dims, big-endian values. */
function idx(type: number, dims: number[], values: number[], bytesPer: number, write: (v: DataView, o: number, x: number) => void): Uint8Array {
  const header = 4 + 4 * dims.length;
  const buf = new Uint8Array(header + values.length * bytesPer);
  const view = new DataView(buf.buffer);
  buf.set([0, 0, type, dims.length]);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  values.forEach((x, i) => write(view, header + i * bytesPer, x));
  return buf;
}
const u8 = (dims: number[], values: number[]) => idx(0x08, dims, values, 1, (v, o, x) => v.setUint8(o, x));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taskmap-nsl-data-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('IDX parser', () => {
  it('reads uint8 images and labels, plain or gzip', () => {
    const raw = u8([2, 2, 3], [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
    for (const bytes of [raw, new Uint8Array(gzipSync(raw))]) {
      const a = parseIdx(bytes);
      expect(a.shape).toEqual([2, 2, 3]);
      expect(a.data).toBeInstanceOf(Uint8Array);
      expect(Array.from(a.data)).toEqual([0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
    }
  });

  it('reads big-endian int32, float32 and float64 values', () => {
    expect(Array.from(parseIdx(idx(0x0c, [3], [-2, 70000, 5], 4, (v, o, x) => v.setInt32(o, x, false))).data)).toEqual([-2, 70000, 5]);
    expect(Array.from(parseIdx(idx(0x0d, [2], [1.5, -0.25], 4, (v, o, x) => v.setFloat32(o, x, false))).data)).toEqual([1.5, -0.25]);
    expect(Array.from(parseIdx(idx(0x0e, [1, 2], [Math.PI, 1e-300], 8, (v, o, x) => v.setFloat64(o, x, false))).data)).toEqual([Math.PI, 1e-300]);
  });

  it('rejects truncated files, bad magic and unknown types with clear messages', () => {
    expect(() => parseIdx(u8([2, 2], [1, 2, 3, 4]).subarray(0, 14), 'x.idx')).toThrow(/x\.idx: 14 bytes, but a uint8 array of shape 2×2 needs 16/);
    expect(() => parseIdx(u8([2, 2], [1, 2, 3, 4]).subarray(0, 9))).toThrow(/truncated IDX header/);
    expect(() => parseIdx(Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 0]))).toThrow(/not an IDX file/);
    expect(() => parseIdx(Uint8Array.from([0, 0, 0x42, 0]))).toThrow(/unknown IDX type code 0x42/);
    expect(() => parseIdx(Uint8Array.from([0x1f, 0x8b, 1, 2, 3]))).toThrow(/corrupt gzip/);
  });
});

describe('Fashion-MNIST loader', () => {
  it('loads the four IDX files of a directory (gzip), with class names', async () => {
    const d = join(dir, 'fm');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(d);
    const img = (n: number) =>
      new Uint8Array(
        gzipSync(
          u8(
            [n, 28, 28],
            Array.from({ length: n * 784 }, (_, i) => i % 256),
          ),
        ),
      );
    await writeFile(join(d, 'train-images-idx3-ubyte.gz'), img(3));
    await writeFile(join(d, 'train-labels-idx1-ubyte.gz'), gzipSync(u8([3], [9, 0, 4])));
    await writeFile(join(d, 't10k-images-idx3-ubyte.gz'), img(2));
    await writeFile(join(d, 't10k-labels-idx1-ubyte'), u8([2], [1, 1])); // uncompressed works too
    const { train, test } = await loadFashionMnist(d);
    expect([train.n, train.height, train.width, train.channels, train.numClasses]).toEqual([3, 28, 28, 1, 10]);
    expect(Array.from(train.labels)).toEqual([9, 0, 4]);
    expect(train.classNames[9]).toBe('Ankle boot');
    expect(train.images[785]).toBe(785 % 256);
    expect(test.n).toBe(2);
  });

  it('names the apt command when the files are missing', async () => {
    await expect(loadFashionMnist(join(dir, 'nowhere'))).rejects.toThrow(FASHION_MNIST_INSTALL);
    expect(FASHION_MNIST_INSTALL).toBe('apt-get update && apt-get install -y dataset-fashion-mnist');
  });

  it('rejects labels outside the class list', async () => {
    const d = join(dir, 'bad');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(d);
    for (const [f, bytes] of [
      ['train-images-idx3-ubyte', u8([1, 2, 2], [0, 0, 0, 0])],
      ['train-labels-idx1-ubyte', u8([1], [10])],
      ['t10k-images-idx3-ubyte', u8([1, 2, 2], [0, 0, 0, 0])],
      ['t10k-labels-idx1-ubyte', u8([1], [0])],
    ] as const)
      await writeFile(join(d, f), bytes);
    await expect(loadFashionMnist(d)).rejects.toThrow(/label 10 outside 0…9/);
  });
});

describe('splits and batches', () => {
  const ds = prototypeImages([0, 1, 2, 3], 10, { size: 4 });

  it('few-shot takes exactly K per class, reproducibly, in data order', () => {
    const a = fewShot(ds, 3, 42);
    expect(a.n).toBe(12);
    expect([0, 1, 2, 3].map((c) => a.labels.filter((l) => l === c).length)).toEqual([3, 3, 3, 3]);
    expect(Array.from(fewShot(ds, 3, 42).images)).toEqual(Array.from(a.images));
    expect(Array.from(fewShot(ds, 3, 43).images)).not.toEqual(Array.from(a.images));
    expect(() => fewShot(ds, 11, 1)).toThrow(/has 10 images, fewer than 11/);
  });

  it('class subsets are relabelled in the order given', () => {
    const s = selectClasses(ds, [3, 1]);
    expect(s.n).toBe(20);
    expect(s.numClasses).toBe(2);
    expect(s.classNames).toEqual(['c3', 'c1']);
    const kept = Array.from(ds.labels).flatMap((l, i) => (l === 3 || l === 1 ? [i] : []));
    expect(Array.from(s.labels)).toEqual(kept.map((i) => (ds.labels[i] === 3 ? 0 : 1)));
    expect(Array.from(s.images)).toEqual(kept.flatMap((i) => Array.from(ds.images.subarray(i * 16, i * 16 + 16))));
    expect(() => selectClasses(ds, [1, 1])).toThrow(/listed twice/);
  });

  it('permutations are seeded permutations', () => {
    const p = permutation(50, 3);
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(permutation(50, 3))).toEqual(Array.from(p));
  });

  it('augmentation is a symmetric-padded shift and an optional mirror', () => {
    // One 3×3 image 1…9; draws: shift rows by (0·5 − 2) = −2 → u = 0; columns by +1 → u = 0.7; flip when u < 0.5.
    const img = { ...ds, images: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), labels: Int32Array.from([0]), n: 1, height: 3, width: 3 };
    const draws = (v: number[]) => {
      let i = 0;
      return () => v[i++];
    };
    const plain = makeBatch(img, [0], { augment: { pad: 2, random: draws([0.5, 0.5, 0.9]) } }); // no shift, no flip
    expect(Array.from(plain.x)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const flipped = makeBatch(img, [0], { augment: { pad: 2, random: draws([0.5, 0.5, 0.1]) } });
    expect(Array.from(flipped.x)).toEqual([3, 2, 1, 6, 5, 4, 9, 8, 7]);
    // Row offset −1: source rows −1, 0, 1 → symmetric −1 ↦ 0 (edge repeated); column offset +1: cols 1, 2, 3 ↦ 1, 2, 2.
    const shifted = makeBatch(img, [0], { augment: { pad: 2, random: draws([0.3, 0.7, 0.9]) } });
    expect(Array.from(shifted.x)).toEqual([2, 3, 3, 2, 3, 3, 5, 6, 6]);
    expect(Array.from(makeBatch(img, [0], { scale: 0.5 }).x)).toEqual([0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5]);
  });
});
