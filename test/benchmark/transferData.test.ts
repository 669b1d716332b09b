/**
 * The transfer benchmark's data and sources (src/benchmark/transferData.ts, transferSources.ts) and the Debian
 * unpacking they rely on (src/io/debian.ts): digits.png cut into its grid, the target class maps, stratified pools,
 * the PNG pools written once and read back, .deb unpacking into the cache, and the features of two cheap zoo models
 * extracted on a tiny pool (cached on the second run).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_POOL_SIZES,
  digitsFromGrid,
  loadDigits,
  makeTarget,
  prepareTransferData,
  stratifiedCounts,
  stratifiedDraws,
  TARGET_DEFINITIONS,
  TRANSFER_TARGETS,
  type TransferDataset,
} from '../../src/benchmark/transferData.js';
import {
  ALTERNATE_EXPORTS,
  DEFAULT_COST_LIMIT_MS,
  extractTransferFeatures,
  layerStudySources,
  MEASURED_MS_PER_IMAGE,
  normaliseRows,
  PROBABILITY_OUTPUTS,
  transferSources,
} from '../../src/benchmark/transferSources.js';
import { aptDownload, ensureDebianPackage } from '../../src/io/debian.js';
import { FASHION_MNIST_CLASSES } from '../../src/nsl/data.js';
import { ZOO } from '../../src/models/zoo.js';

let dir: string;
let fashion: string;
let digitsPng: string;

/** Pixel p of image i of a split: a closed form, so a PNG read back can be checked value by value. */
const pixel = (split: number, i: number, p: number) => (i * 31 + p * 7 + split * 101) % 256;

function idx(dims: number[], values: Uint8Array): Uint8Array {
  const buf = new Uint8Array(4 + 4 * dims.length + values.length);
  const view = new DataView(buf.buffer);
  buf.set([0, 0, 0x08, dims.length]);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  buf.set(values, 4 + 4 * dims.length);
  return gzipSync(buf);
}

/** A stand-in for Fashion-MNIST: `perClass` images per class in each split, label i mod 10. */
function writeFakeFashionMnist(to: string, perClass: { train: number; test: number }): void {
  for (const [prefix, split, n] of [
    ['train', 0, perClass.train * 10],
    ['t10k', 1, perClass.test * 10],
  ] as const) {
    const images = new Uint8Array(n * 784).map((_, k) => pixel(split, Math.floor(k / 784), k % 784));
    writeFileSync(join(to, `${prefix}-images-idx3-ubyte.gz`), idx([n, 28, 28], images));
    writeFileSync(
      join(to, `${prefix}-labels-idx1-ubyte.gz`),
      idx(
        [n],
        Uint8Array.from({ length: n }, (_, i) => i % 10),
      ),
    );
  }
}

/** A stand-in for digits.png: cell k (row ⌊k/100⌋, column k mod 100) has pixel (x, y) = (k·3 + x + 20y) mod 256. */
function gridImage(): Uint8Array {
  const g = new Uint8Array(2000 * 1000);
  for (let k = 0; k < 5000; k++) {
    const r0 = Math.floor(k / 100) * 20;
    const c0 = (k % 100) * 20;
    for (let y = 0; y < 20; y++) for (let x = 0; x < 20; x++) g[(r0 + y) * 2000 + c0 + x] = (k * 3 + x + 20 * y) % 256;
  }
  return g;
}
const cellPixel = (k: number, x: number, y: number) => (k * 3 + x + 20 * y) % 256;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'taskmap-transfer-data-'));
  fashion = join(dir, 'fashion');
  mkdirSync(fashion);
  writeFakeFashionMnist(fashion, { train: 6, test: 3 });
  digitsPng = join(dir, 'digits.png');
  await sharp(Buffer.from(gridImage()), { raw: { width: 2000, height: 1000, channels: 1 } })
    .png()
    .toFile(digitsPng);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('digits.png grid', () => {
  it('cuts 5,000 cells of 20×20 row-major, 500 per digit in order', async () => {
    const ds = await loadDigits(digitsPng);
    expect([ds.n, ds.width, ds.height, ds.channels, ds.numClasses]).toEqual([5000, 20, 20, 1, 10]);
    for (const k of [0, 1, 99, 100, 499, 500, 2345, 4999]) {
      for (const [x, y] of [
        [0, 0],
        [19, 0],
        [0, 19],
        [7, 13],
      ]) {
        expect(ds.images[k * 400 + y * 20 + x]).toBe(cellPixel(k, x, y));
      }
      expect(ds.labels[k]).toBe(Math.floor(k / 500));
    }
    // Digit d fills grid rows 5d…5d+4: cell (row 5, column 0) is the first 1, (row 49, column 99) the last 9.
    expect(ds.labels[5 * 100]).toBe(1);
    expect(ds.labels[4 * 100 + 99]).toBe(0);
    expect(ds.labels[49 * 100 + 99]).toBe(9);
  });

  it('refuses an image of another size', () => {
    expect(() => digitsFromGrid(new Uint8Array(1000 * 1000), 1000, 1000)).toThrow(/digits.png is 1000×1000 px; expected 2000×1000/);
    expect(() => digitsFromGrid(new Uint8Array(10), 2000, 1000)).toThrow(/10 pixel values for 2000×1000/);
  });
});

describe('targets', () => {
  it('super-classes: tops, trousers, shoes, bags by Fashion-MNIST class name', () => {
    const def = TARGET_DEFINITIONS['fmnist-super'];
    const members = (name: string) => FASHION_MNIST_CLASSES.filter((_, c) => def.classNames[def.classOf[c]] === name);
    expect(members('tops')).toEqual(['T-shirt/top', 'Pullover', 'Dress', 'Coat', 'Shirt']);
    expect(members('trousers')).toEqual(['Trouser']);
    expect(members('shoes')).toEqual(['Sandal', 'Sneaker', 'Ankle boot']);
    expect(members('bags')).toEqual(['Bag']);
    const shoes = TARGET_DEFINITIONS['fmnist-shoes'];
    expect(FASHION_MNIST_CLASSES.filter((_, c) => shoes.classNames[shoes.classOf[c]] === 'footwear')).toEqual(['Sandal', 'Sneaker', 'Ankle boot']);
    expect(TARGET_DEFINITIONS['digits-parity'].classOf).toEqual([0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    expect(TARGET_DEFINITIONS['digits-parity'].classNames).toEqual(['even', 'odd']);
    for (const t of TRANSFER_TARGETS) {
      const d = TARGET_DEFINITIONS[t];
      expect(d.classOf).toHaveLength(10);
      expect(new Set(d.classOf).size).toBe(d.classNames.length); // every target class is used
    }
  });

  it('makeTarget maps each image label and refuses the other data set', () => {
    const ds = { id: 'fmnist', train: { files: [], labels: Int32Array.from([0, 1, 5, 8, 9, 6]) }, test: { files: [], labels: Int32Array.from([7, 2]) } };
    const t = makeTarget('fmnist-super', ds as unknown as TransferDataset);
    expect(Array.from(t.train)).toEqual([0, 1, 2, 3, 2, 0]);
    expect(Array.from(t.test)).toEqual([2, 0]);
    expect(() => makeTarget('digits', ds as unknown as TransferDataset)).toThrow(/target digits is defined on digits, not fmnist/);
  });
});

describe('stratified pools', () => {
  it('balanced counts, disjoint draws, seeded, the first draw independent of the later ones', () => {
    expect(stratifiedCounts(5000, 10)).toEqual(new Array(10).fill(500));
    expect(stratifiedCounts(23, 4)).toEqual([6, 6, 6, 5]);
    const labels = Int32Array.from({ length: 200 }, (_, i) => (i * 7) % 4);
    const [a, b] = stratifiedDraws(labels, 4, [stratifiedCounts(20, 4), stratifiedCounts(40, 4)], 3);
    expect(a).toHaveLength(20);
    expect(b).toHaveLength(40);
    expect(a.filter((i) => b.includes(i))).toHaveLength(0);
    for (let c = 0; c < 4; c++) {
      expect(Array.from(a).filter((i) => labels[i] === c)).toHaveLength(5);
      expect(Array.from(b).filter((i) => labels[i] === c)).toHaveLength(10);
    }
    expect(Array.from(a)).toEqual([...a].sort((x, y) => x - y));
    const [a2] = stratifiedDraws(labels, 4, [stratifiedCounts(20, 4), stratifiedCounts(8, 4)], 3);
    expect(Array.from(a2)).toEqual(Array.from(a)); // the test pool does not depend on the train size
    const [a3] = stratifiedDraws(labels, 4, [stratifiedCounts(20, 4)], 4);
    expect(Array.from(a3)).not.toEqual(Array.from(a));
    expect(() => stratifiedDraws(labels, 4, [stratifiedCounts(240, 4)], 0, 'pool')).toThrow(/pool: class 0 has 50 images, 60 were asked for/);
  });

  it('default sizes: 5,000/2,000 Fashion-MNIST, 3,000/2,000 of the 5,000 digits', () => {
    expect(DEFAULT_POOL_SIZES).toEqual({ fmnist: { train: 5000, test: 2000 }, digits: { train: 3000, test: 2000 } });
  });
});

describe('prepareTransferData', () => {
  const opts = () => ({
    cacheDir: join(dir, 'cache'),
    fashionMnistDir: fashion,
    digitsPng,
    sizes: { fmnist: { train: 20, test: 10 }, digits: { train: 30, test: 20 } },
    seed: 5,
  });

  it('writes each pool once as PNG files whose pixels are the source images, and the five targets', async () => {
    const { datasets, targets } = await prepareTransferData(opts());
    const fm = datasets.fmnist!;
    const dg = datasets.digits!;
    expect(fm.dir).toBe(join(dir, 'cache', 'transfer', 'fmnist', '20-10-s5'));
    expect(fm.train.files).toHaveLength(20);
    expect(fm.test.files).toHaveLength(10);
    expect(dg.train.files).toHaveLength(30);
    expect(dg.test.files).toHaveLength(20);
    expect(fm.train.files[0]).toBe('train/00000.png');
    expect(targets.map((t) => t.id)).toEqual(['fmnist', 'fmnist-super', 'fmnist-shoes', 'digits', 'digits-parity']);
    for (const c of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]) expect(Array.from(fm.train.labels).filter((l) => l === c)).toHaveLength(2);
    // Each PNG holds the pixels of the image it was drawn from (origin index in dataset.json).
    const meta = JSON.parse(readFileSync(join(fm.dir, 'dataset.json'), 'utf8')) as { train: { origin: number[] }; test: { origin: number[] } };
    for (const k of [0, 7, 19]) {
      const { data, info } = await sharp(join(fm.images, fm.train.files[k])).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([28, 28, 3]); // grey written as RGB, R = G = B
      const o = meta.train.origin[k];
      expect(fm.train.labels[k]).toBe(o % 10);
      for (const p of [0, 100, 783]) for (const ch of [0, 1, 2]) expect(data[3 * p + ch]).toBe(pixel(0, o, p));
    }
    const dmeta = JSON.parse(readFileSync(join(dg.dir, 'dataset.json'), 'utf8')) as { test: { origin: number[] }; train: { origin: number[] } };
    expect(dmeta.test.origin.filter((i) => dmeta.train.origin.includes(i))).toHaveLength(0);
    const { data } = await sharp(join(dg.images, dg.test.files[3])).raw().toBuffer({ resolveWithObject: true });
    expect(data[3 * (5 * 20 + 2)]).toBe(cellPixel(dmeta.test.origin[3], 2, 5));
    expect(dg.test.labels[3]).toBe(Math.floor(dmeta.test.origin[3] / 500));
    const parity = targets.find((t) => t.id === 'digits-parity')!;
    expect(Array.from(parity.train)).toEqual(Array.from(dg.train.labels, (l) => l % 2));
  });

  it('a second call reads dataset.json and writes nothing', async () => {
    const first = await prepareTransferData(opts());
    const file = join(first.datasets.fmnist!.images, first.datasets.fmnist!.train.files[0]);
    const before = statSync(file).mtimeMs;
    const logs: string[] = [];
    const again = await prepareTransferData({ ...opts(), log: (m) => logs.push(m) });
    expect(statSync(file).mtimeMs).toBe(before);
    expect(logs).toEqual([]);
    expect(Array.from(again.datasets.digits!.train.labels)).toEqual(Array.from(first.datasets.digits!.train.labels));
  });

  it('a pool with a missing image is rebuilt; other files in its folder (the features) are kept', async () => {
    const o = { ...opts(), cacheDir: join(dir, 'rebuild'), datasets: ['fmnist' as const] };
    const first = await prepareTransferData(o);
    const fm = first.datasets.fmnist!;
    mkdirSync(join(fm.dir, 'features'));
    writeFileSync(join(fm.dir, 'features', 'keep.txt'), 'x');
    rmSync(join(fm.images, fm.test.files[4]));
    const logs: string[] = [];
    const again = await prepareTransferData({ ...o, log: (m) => logs.push(m) });
    expect(logs.some((m) => /fmnist: writing 20 train and 10 test images/.test(m))).toBe(true);
    expect(existsSync(join(fm.images, fm.test.files[4]))).toBe(true);
    expect(readFileSync(join(fm.dir, 'features', 'keep.txt'), 'utf8')).toBe('x');
    expect(Array.from(again.datasets.fmnist!.train.labels)).toEqual(Array.from(fm.train.labels));
  });

  it('refuses sizes the data cannot give, and missing data', async () => {
    await expect(prepareTransferData({ ...opts(), datasets: ['fmnist'], sizes: { fmnist: { train: 100, test: 10 } } })).rejects.toThrow(
      /Fashion-MNIST train split: class 0 has 6 images, 10 were asked for/,
    );
    await expect(prepareTransferData({ ...opts(), datasets: ['digits'], sizes: { digits: { train: 4000, test: 2000 } } })).rejects.toThrow(
      /digits.png: class 0 has 500 images, 600 were asked for/,
    );
    await expect(prepareTransferData({ ...opts(), datasets: ['fmnist'], sizes: { fmnist: { train: 1, test: 10 } } })).rejects.toThrow(
      /the train pool needs an integer size ≥ 2, got 1/,
    );
    await expect(prepareTransferData({ ...opts(), datasets: ['fmnist'], fashionMnistDir: join(dir, 'nowhere'), cacheDir: join(dir, 'c2') })).rejects.toThrow(
      /Fashion-MNIST not found/,
    );
  });
});

describe('io/debian', () => {
  /** A .deb built here with dpkg-deb, holding two files. */
  function buildDeb(): string {
    const root = join(dir, 'pkgroot');
    mkdirSync(join(root, 'DEBIAN'), { recursive: true });
    mkdirSync(join(root, 'usr/share/taskmap-test'), { recursive: true });
    writeFileSync(
      join(root, 'DEBIAN/control'),
      'Package: taskmap-test-data\nVersion: 1.2-3\nArchitecture: all\nMaintainer: t <t@example.com>\nDescription: test\n',
    );
    writeFileSync(join(root, 'usr/share/taskmap-test/a.txt'), 'alpha');
    writeFileSync(join(root, 'usr/share/taskmap-test/b.txt'), 'beta');
    const debs = join(dir, 'debs');
    mkdirSync(debs, { recursive: true });
    execFileSync('dpkg-deb', ['--build', '--root-owner-group', root, join(debs, 'whatever-name.deb')], { stdio: 'ignore' });
    return debs;
  }

  it('unpacks the wanted members into the cache once, then reuses them; a wider request re-unpacks the union', async () => {
    const debs = buildDeb();
    const cacheDir = join(dir, 'debcache');
    const first = await ensureDebianPackage('taskmap-test-data', { debs, cacheDir, members: ['./usr/share/taskmap-test/a.txt'] });
    expect(first).toEqual({ root: join(cacheDir, 'taskmap-test-data'), version: '1.2-3', fetched: true });
    expect(readFileSync(join(first.root, 'usr/share/taskmap-test/a.txt'), 'utf8')).toBe('alpha');
    expect(existsSync(join(first.root, 'usr/share/taskmap-test/b.txt'))).toBe(false);
    const again = await ensureDebianPackage('taskmap-test-data', { debs: join(dir, 'nowhere'), cacheDir, members: ['./usr/share/taskmap-test/a.txt'] });
    expect(again.fetched).toBe(false);
    const wider = await ensureDebianPackage('taskmap-test-data', { debs, cacheDir, members: ['./usr/share/taskmap-test/b.txt'] });
    expect(wider.fetched).toBe(true);
    expect(readFileSync(join(wider.root, 'usr/share/taskmap-test/a.txt'), 'utf8')).toBe('alpha');
    expect(readFileSync(join(wider.root, 'usr/share/taskmap-test/b.txt'), 'utf8')).toBe('beta');
  });

  it('clear errors: a missing .deb, a bad name, apt unavailable', async () => {
    const empty = join(dir, 'empty-debs');
    mkdirSync(empty, { recursive: true });
    await expect(ensureDebianPackage('taskmap-test-data', { debs: empty, cacheDir: join(dir, 'c3') })).rejects.toThrow(/no .deb for taskmap-test-data in/);
    await expect(ensureDebianPackage('../etc', { debs: empty })).rejects.toThrow(/"..\/etc" is not a Debian package name/);
    const path = process.env.PATH;
    process.env.PATH = join(dir, 'no-bin');
    try {
      await expect(aptDownload(['dataset-fashion-mnist'], dir, { hint: 'or set TASKMAP_FASHION_MNIST' })).rejects.toThrow(
        /apt-get not found: dataset-fashion-mnist comes from Debian\/Ubuntu packages via apt; or set TASKMAP_FASHION_MNIST/,
      );
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('sources', () => {
  it('default: the distinct networks measured at ≤ 25 ms per image plus nsfw-mobilenet-v2', () => {
    const ids = transferSources('default').map((s) => s.model);
    expect(ids).toContain('nsfw-mobilenet-v2');
    for (const id of ids) if (id !== 'nsfw-mobilenet-v2') expect(MEASURED_MS_PER_IMAGE[id]).toBeLessThanOrEqual(DEFAULT_COST_LIMIT_MS);
    for (const a of ALTERNATE_EXPORTS) expect(ids).not.toContain(a);
    expect(ids).toHaveLength(21);
    const all = transferSources('all').map((s) => s.model);
    expect(all).toHaveLength(ZOO.length - ALTERNATE_EXPORTS.length);
    for (const m of ZOO) expect(MEASURED_MS_PER_IMAGE[m.id]).toBeGreaterThan(0); // every zoo network has a measured cost
    expect(transferSources(['gender', 'blazeface-back']).map((s) => s.taps[0].label)).toEqual(['gender', 'blazeface-back']);
    expect(() => transferSources(['nope'])).toThrow(/unknown zoo model "nope"/);
    expect(() => transferSources(['gender', 'gender'])).toThrow(/source gender given twice/);
    expect(() => transferSources([])).toThrow(/no sources given/);
    expect(Object.keys(PROBABILITY_OUTPUTS).every((id) => ZOO.some((m) => m.id === id))).toBe(true);
  });

  it('softmax rows are renormalised; anything else is refused', () => {
    const m = normaliseRows({ rows: 2, cols: 2, data: Float64Array.from([0.25, 0.7500001, 0.5, 0.5]) }, 'p');
    expect(m.data[0] + m.data[1]).toBe(1);
    expect(() => normaliseRows({ rows: 1, cols: 2, data: Float64Array.from([-0.1, 1.1]) }, 'p')).toThrow(/p: image 1 has the value -0.1; not a softmax output/);
    expect(() => normaliseRows({ rows: 1, cols: 2, data: Float64Array.from([2, 3]) }, 'p')).toThrow(/p: image 1 sums to 5; not a softmax output/);
  });

  it('layer study: every spatial feature map of a network, one source per network', async () => {
    const [s] = await layerStudySources(['liveness']);
    expect(s.model).toBe('liveness');
    expect(s.taps.length).toBeGreaterThanOrEqual(10);
    expect(s.taps.every((t) => t.label === `liveness/${t.layer}`)).toBe(true);
    expect(s.taps.map((t) => t.layer)).toContain(ZOO.find((m) => m.id === 'liveness')!.tap);
  });

  it('extracts gap features and classifier probabilities on a tiny pool, train and test rows in pool order; a re-run computes nothing', async () => {
    const { datasets } = await prepareTransferData({
      cacheDir: join(dir, 'cache'),
      fashionMnistDir: fashion,
      datasets: ['fmnist'],
      sizes: { fmnist: { train: 20, test: 10 } },
      seed: 5,
    });
    const ds = datasets.fmnist!;
    const sources = transferSources(['liveness', 'age']);
    const f = await extractTransferFeatures(ds, sources, { workers: 1 });
    expect(f.labels).toEqual(['liveness', 'age']);
    expect(f.failed).toEqual([]);
    expect(f.info.liveness.probabilities?.classes).toBe(2);
    expect(f.info.age.probabilities).toBeUndefined();
    const live = await f.load('liveness');
    expect([live.train.rows, live.test.rows, live.train.cols]).toEqual([20, 10, f.info.liveness.dims]);
    expect(live.probabilities!.train.rows).toBe(20);
    for (let i = 0; i < 20; i++) expect(live.probabilities!.train.data[2 * i] + live.probabilities!.train.data[2 * i + 1]).toBeCloseTo(1, 15);
    // Row i of the train matrix is the image train/<i>.png: duplicate an image's row through a one-image extraction.
    const one = await extractTransferFeatures(
      {
        ...ds,
        dir: join(dir, 'one'),
        images: join(ds.images, 'train'),
        train: { files: ['00007.png'], labels: Int32Array.from([0]) },
        test: { files: ['00003.png'], labels: Int32Array.from([0]) },
      },
      [sources[1]],
      { workers: 1 },
    );
    const single = await one.load('age');
    const full = await f.load('age');
    expect(Array.from(single.train.data)).toEqual(Array.from(full.train.data.subarray(7 * full.train.cols, 8 * full.train.cols)));
    expect(Array.from(single.test.data)).toEqual(Array.from(full.train.data.subarray(3 * full.train.cols, 4 * full.train.cols)));
    const again = await extractTransferFeatures(ds, sources, { workers: 1 });
    expect(again.summary.computed).toEqual([]);
    expect(again.summary.reused.length).toBe(3); // two feature taps and one probability output
    await expect(f.load('nope')).rejects.toThrow(/no features "nope" for fmnist \(known: liveness, age\)/);
  });
});
