/**
 * The labelled targets of the transfer benchmark (`taskmap benchmark transfer`, docs/transferability.md#benchmark):
 * real data sets that install offline through apt, written once as PNG files so the zoo models can be run on them
 * with the ordinary cached extraction (models/extract.ts).
 *
 *   fmnist   Fashion-MNIST (Debian `dataset-fashion-mnist`; 28×28 grey). Train pool: a stratified seeded draw
 *            from its 60,000-image train split; test: a stratified seeded draw from its 10,000-image t10k split.
 *   digits   the 5,000 handwritten digits of OpenCV's `digits.png` (Debian `opencv-doc`; 20×20 grey, 500 per digit).
 *            All 5,000 are used: 3,000 train / 2,000 test by default, disjoint and stratified. The issue asks for a
 *            training pool of ≥ 5,000 images, which this data set cannot give together with a 2,000-image test set.
 *
 * Targets relabel a data set's classes to change the label structure while keeping the images (so the features of
 * one extraction serve every target of a data set):
 *   fmnist         10 classes
 *   fmnist-super   4 super-classes: tops (T-shirt/top, Pullover, Dress, Coat, Shirt), trousers, shoes (Sandal,
 *                  Sneaker, Ankle boot), bags
 *   fmnist-shoes   2 classes: footwear (Sandal, Sneaker, Ankle boot) vs everything else
 *   digits         10 classes
 *   digits-parity  2 classes: even vs odd
 *
 * Where the data come from: Fashion-MNIST from the installed package (`/usr/share/datasets/fashion-mnist`, or
 * `TASKMAP_FASHION_MNIST`), else unpacked from its .deb into the cache; `digits.png` from the installed
 * `opencv-doc`, else likewise. Nothing is installed; the only network access is `apt-get download` (io/debian.ts).
 *
 * Layout: `<cache>/transfer/<dataset>/<train>-<test>-s<seed>/images/{train,test}/NNNNN.png` (pool order, so the
 * sorted file list is the pool order) plus `dataset.json` (labels, provenance), written last — a folder without it
 * is incomplete and is rebuilt. `<cache>` is `$TASKMAP_CACHE`, default `./.taskmap-cache`.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { writeFileAtomic } from '../io/atomic.js';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { ensureDebianPackage, type DebianFetchOptions } from '../io/debian.js';
import { unsafeRelativePath } from '../io/paths.js';
import { mulberry32 } from '../linalg/resample.js';
import { defaultFashionMnistDir, FASHION_MNIST_CLASSES, loadFashionMnist, subset, type ImageDataset } from '../nsl/data.js';

export type TransferDatasetId = 'fmnist' | 'digits';
export type TransferTargetId = 'fmnist' | 'fmnist-super' | 'fmnist-shoes' | 'digits' | 'digits-parity';

export const TRANSFER_DATASETS: readonly TransferDatasetId[] = ['fmnist', 'digits'];
export const TRANSFER_TARGETS: readonly TransferTargetId[] = ['fmnist', 'fmnist-super', 'fmnist-shoes', 'digits', 'digits-parity'];

/** Pool sizes used by the benchmark (images; split as evenly as possible over the classes). */
export const DEFAULT_POOL_SIZES: Readonly<Record<TransferDatasetId, { train: number; test: number }>> = {
  fmnist: { train: 5000, test: 2000 },
  digits: { train: 3000, test: 2000 },
};

export const DIGITS_PACKAGE = 'opencv-doc';
export const DIGITS_MEMBER = 'usr/share/doc/opencv-doc/examples/data/digits.png';
export const FASHION_MNIST_PACKAGE = 'dataset-fashion-mnist';
const FASHION_MNIST_MEMBER_DIR = 'usr/share/datasets/fashion-mnist';
/** digits.png: 2000×1000 px, 20×20 cells in 50 rows × 100 columns; digit d fills cell rows 5d…5d+4. */
export const DIGITS_CELL = 20;
export const DIGITS_GRID = { rows: 50, cols: 100 } as const;
export const DIGITS_PER_CLASS = 500;
export const DIGIT_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** One split of a data set as files: `files[i]` (relative to `dir`) has base-class label `labels[i]`. */
export interface TransferSplit {
  files: string[];
  labels: Int32Array;
}

/** A data set prepared on disk. */
export interface TransferDataset {
  id: TransferDatasetId;
  /** Folder of this pool configuration (holds `images/` and `dataset.json`; features go to `features/`). */
  dir: string;
  /** The image folder to extract from (train/ and test/ inside). */
  images: string;
  classNames: string[];
  /** Paths relative to `images`. */
  train: TransferSplit;
  test: TransferSplit;
  seed: number;
  /** Where the images came from (package and version, or the installed folder). */
  source: { package: string; version?: string; path: string };
}

/** A target: a data set's images with its classes mapped to the target's classes. */
export interface TransferTarget {
  id: TransferTargetId;
  dataset: TransferDatasetId;
  description: string;
  classNames: string[];
  /** Target class of each base class of the data set. */
  classOf: number[];
  /** Target class per train / test image, in the data set's split order. */
  train: Int32Array;
  test: Int32Array;
}

export interface TransferDataOptions {
  /** Cache root (default `$TASKMAP_CACHE`, else `./.taskmap-cache`); data go to `<cacheDir>/transfer/<dataset>/`. */
  cacheDir?: string;
  /** Which data sets (default both). Targets are those of the chosen data sets. */
  datasets?: readonly TransferDatasetId[];
  /** Pool sizes per data set (default DEFAULT_POOL_SIZES). */
  sizes?: Partial<Record<TransferDatasetId, { train: number; test: number }>>;
  /** Seed of the stratified pool draws (default 0). */
  seed?: number;
  /** Folder with the four Fashion-MNIST IDX files (default: installed package / TASKMAP_FASHION_MNIST, else apt). */
  fashionMnistDir?: string;
  /** digits.png itself (default: installed opencv-doc, else apt). */
  digitsPng?: string;
  /** .deb files to unpack instead of downloading, and whether `apt-get update` may run (io/debian.ts). */
  apt?: Pick<DebianFetchOptions, 'debs' | 'update'>;
  log?: (message: string) => void;
}

export function defaultTransferCacheDir(): string {
  return resolve(process.env.TASKMAP_CACHE ?? '.taskmap-cache');
}

/** The five targets' class structure (base class → target class). */
export const TARGET_DEFINITIONS: Readonly<
  Record<TransferTargetId, { dataset: TransferDatasetId; description: string; classNames: string[]; classOf: number[] }>
> = {
  fmnist: { dataset: 'fmnist', description: 'Fashion-MNIST, 10 classes', classNames: [...FASHION_MNIST_CLASSES], classOf: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
  'fmnist-super': {
    dataset: 'fmnist',
    description: 'Fashion-MNIST super-classes: tops, trousers, shoes, bags',
    classNames: ['tops', 'trousers', 'shoes', 'bags'],
    // T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot
    classOf: [0, 1, 0, 0, 0, 2, 0, 2, 3, 2],
  },
  'fmnist-shoes': {
    dataset: 'fmnist',
    description: 'Fashion-MNIST footwear (sandal, sneaker, ankle boot) vs the rest',
    classNames: ['other', 'footwear'],
    classOf: [0, 0, 0, 0, 0, 1, 0, 1, 0, 1],
  },
  digits: { dataset: 'digits', description: 'OpenCV handwritten digits, 10 classes', classNames: [...DIGIT_CLASSES], classOf: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
  'digits-parity': {
    dataset: 'digits',
    description: 'OpenCV handwritten digits, even vs odd',
    classNames: ['even', 'odd'],
    classOf: [0, 1, 0, 1, 0, 1, 0, 1, 0, 1],
  },
};

/** The target's labels for a prepared data set. */
export function makeTarget(id: TransferTargetId, ds: TransferDataset): TransferTarget {
  const def = TARGET_DEFINITIONS[id];
  if (def.dataset !== ds.id) throw new Error(`target ${id} is defined on ${def.dataset}, not ${ds.id}`);
  const map = (l: Int32Array) => l.map((c) => def.classOf[c]);
  return {
    id,
    dataset: ds.id,
    description: def.description,
    classNames: [...def.classNames],
    classOf: [...def.classOf],
    train: map(ds.train.labels),
    test: map(ds.test.labels),
  };
}

/**
 * Per-class counts for `n` images over `classes` classes: ⌊n/C⌋ each, the remainder to the first classes — so a
 * pool of n is as balanced as it can be.
 */
export function stratifiedCounts(n: number, classes: number): number[] {
  return Array.from({ length: classes }, (_, c) => Math.floor(n / classes) + (c < n % classes ? 1 : 0));
}

/**
 * Disjoint stratified draws from `labels` (0…C−1): for each class in order, a seeded shuffle of its members
 * (Fisher–Yates from the end on mulberry32, one generator for all classes in turn), the first `counts[0][c]` go to draw 0, the next `counts[1][c]` to draw
 * 1, and so on. Each draw is returned in ascending index order. Drawing the test set first keeps it the same whatever
 * the train size.
 */
export function stratifiedDraws(labels: ArrayLike<number>, classes: number, counts: number[][], seed: number, what = 'data set'): Uint32Array[] {
  const members: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < labels.length; i++) members[labels[i]].push(i);
  const random = mulberry32(seed);
  const out: number[][] = counts.map(() => []);
  for (let c = 0; c < classes; c++) {
    const need = counts.reduce((s, k) => s + k[c], 0);
    if (need > members[c].length) throw new Error(`${what}: class ${c} has ${members[c].length} images, ${need} were asked for`);
    const perm = Array.from({ length: members[c].length }, (_, i) => i);
    for (let i = perm.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    let at = 0;
    counts.forEach((k, d) => {
      for (let t = 0; t < k[c]; t++) out[d].push(members[c][perm[at++]]);
    });
  }
  return out.map((o) => Uint32Array.from(o.sort((a, b) => a - b)));
}

/**
 * Cut digits.png (grey, 2000×1000) into its 5,000 cells, row-major (cell k is grid row ⌊k/100⌋, column k mod 100),
 * labelled ⌊k/500⌋ — OpenCV's own `digits.py` reading.
 */
export function digitsFromGrid(grey: Uint8Array, width: number, height: number): ImageDataset {
  const { rows, cols } = DIGITS_GRID;
  if (width !== cols * DIGITS_CELL || height !== rows * DIGITS_CELL) {
    throw new Error(`digits.png is ${width}×${height} px; expected ${cols * DIGITS_CELL}×${rows * DIGITS_CELL} (a grid of ${rows}×${cols} cells of 20×20)`);
  }
  if (grey.length !== width * height) throw new Error(`digits.png: ${grey.length} pixel values for ${width}×${height}`);
  const n = rows * cols;
  const size = DIGITS_CELL * DIGITS_CELL;
  const images = new Uint8Array(n * size);
  const labels = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const r0 = Math.floor(k / cols) * DIGITS_CELL;
    const c0 = (k % cols) * DIGITS_CELL;
    for (let y = 0; y < DIGITS_CELL; y++) images.set(grey.subarray((r0 + y) * width + c0, (r0 + y) * width + c0 + DIGITS_CELL), k * size + y * DIGITS_CELL);
    labels[k] = Math.floor(k / DIGITS_PER_CLASS);
  }
  return { images, labels, n, height: DIGITS_CELL, width: DIGITS_CELL, channels: 1, numClasses: 10, classNames: [...DIGIT_CLASSES] };
}

/** Decode digits.png to one grey channel. */
export async function loadDigits(png: string): Promise<ImageDataset> {
  const { data, info } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
  const grey = info.channels === 1 ? new Uint8Array(data) : new Uint8Array(info.width * info.height).map((_, i) => data[i * info.channels]);
  return digitsFromGrid(grey, info.width, info.height);
}

async function locateFashionMnist(opts: TransferDataOptions, log: (m: string) => void): Promise<TransferDataset['source']> {
  const hasFiles = (dir: string) => existsSync(join(dir, 'train-images-idx3-ubyte.gz')) || existsSync(join(dir, 'train-images-idx3-ubyte'));
  if (opts.fashionMnistDir) return { package: FASHION_MNIST_PACKAGE, path: resolve(opts.fashionMnistDir) };
  const installed = defaultFashionMnistDir();
  if (hasFiles(installed)) return { package: FASHION_MNIST_PACKAGE, path: installed };
  const { root, version } = await ensureDebianPackage(FASHION_MNIST_PACKAGE, {
    members: [`./${FASHION_MNIST_MEMBER_DIR}/*`, `./usr/share/doc/${FASHION_MNIST_PACKAGE}/copyright`],
    cacheDir: join(opts.cacheDir ?? defaultTransferCacheDir(), 'debian'),
    size: 'about 31 MB',
    hint: `or install Fashion-MNIST and point TASKMAP_FASHION_MNIST at the folder of its four IDX files`,
    log,
    ...opts.apt,
  });
  return { package: FASHION_MNIST_PACKAGE, version, path: join(root, FASHION_MNIST_MEMBER_DIR) };
}

async function locateDigits(opts: TransferDataOptions, log: (m: string) => void): Promise<TransferDataset['source']> {
  if (opts.digitsPng) return { package: DIGITS_PACKAGE, path: resolve(opts.digitsPng) };
  const installed = `/${DIGITS_MEMBER}`;
  if (existsSync(installed)) return { package: DIGITS_PACKAGE, path: installed };
  const { root, version } = await ensureDebianPackage(DIGITS_PACKAGE, {
    members: [`./${DIGITS_MEMBER}`, `./usr/share/doc/${DIGITS_PACKAGE}/copyright`],
    cacheDir: join(opts.cacheDir ?? defaultTransferCacheDir(), 'debian'),
    size: 'about 96 MB',
    hint: 'or pass the path of digits.png from an OpenCV source tree (samples/data/digits.png)',
    log,
    ...opts.apt,
  });
  return { package: DIGITS_PACKAGE, version, path: join(root, DIGITS_MEMBER) };
}

interface DatasetFile {
  version: 1;
  id: TransferDatasetId;
  classNames: string[];
  seed: number;
  source: TransferDataset['source'];
  train: { files: string[]; labels: number[]; origin: number[] };
  test: { files: string[]; labels: number[]; origin: number[] };
}

const DATASET_FILE = 'dataset.json';

async function writePngs(ds: ImageDataset, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const size = ds.height * ds.width * ds.channels;
  const digits = Math.max(5, String(ds.n - 1).length);
  const files: string[] = [];
  for (let i = 0; i < ds.n; i++) {
    const name = `${String(i).padStart(digits, '0')}.png`;
    await sharp(Buffer.from(ds.images.subarray(i * size, (i + 1) * size)), { raw: { width: ds.width, height: ds.height, channels: ds.channels as 1 | 3 } })
      .png({ compressionLevel: 6 })
      .toFile(join(dir, name));
    files.push(name);
  }
  return files;
}

/** One data set: read from its completed folder, or drawn, written and recorded. */
export async function prepareTransferDataset(id: TransferDatasetId, opts: TransferDataOptions = {}): Promise<TransferDataset> {
  const log = opts.log ?? (() => undefined);
  const seed = opts.seed ?? 0;
  const sizes = opts.sizes?.[id] ?? DEFAULT_POOL_SIZES[id];
  for (const [k, v] of Object.entries(sizes)) if (!Number.isInteger(v) || v < 2) throw new Error(`${id}: the ${k} pool needs an integer size ≥ 2, got ${v}`);
  const dir = join(opts.cacheDir ?? defaultTransferCacheDir(), 'transfer', id, `${sizes.train}-${sizes.test}-s${seed}`);
  const images = join(dir, 'images');
  const fromFile = (f: DatasetFile): TransferDataset => ({
    id,
    dir,
    images,
    classNames: f.classNames,
    seed: f.seed,
    source: f.source,
    train: { files: f.train.files.map((x) => `train/${x}`), labels: Int32Array.from(f.train.labels) },
    test: { files: f.test.files.map((x) => `test/${x}`), labels: Int32Array.from(f.test.labels) },
  });
  try {
    const f = JSON.parse(await readFile(join(dir, DATASET_FILE), 'utf8')) as DatasetFile;
    const ds = fromFile(f);
    const complete = [...ds.train.files, ...ds.test.files].every((x) => unsafeRelativePath(x) === undefined && existsSync(join(images, x)));
    if (f.version === 1 && f.id === id && f.train.files.length === sizes.train && f.test.files.length === sizes.test && complete) return ds;
  } catch {
    /* not prepared yet */
  }
  let train: ImageDataset;
  let test: ImageDataset;
  let origin: { train: Uint32Array; test: Uint32Array };
  let source: TransferDataset['source'];
  if (id === 'fmnist') {
    source = await locateFashionMnist(opts, log);
    const all = await loadFashionMnist(source.path);
    const [tr] = stratifiedDraws(all.train.labels, 10, [stratifiedCounts(sizes.train, 10)], seed, 'Fashion-MNIST train split');
    const [te] = stratifiedDraws(all.test.labels, 10, [stratifiedCounts(sizes.test, 10)], seed + 1, 'Fashion-MNIST t10k split');
    train = subset(all.train, tr);
    test = subset(all.test, te);
    origin = { train: tr, test: te };
  } else {
    source = await locateDigits(opts, log);
    const all = await loadDigits(source.path);
    const [te, tr] = stratifiedDraws(all.labels, 10, [stratifiedCounts(sizes.test, 10), stratifiedCounts(sizes.train, 10)], seed, 'digits.png');
    train = subset(all, tr);
    test = subset(all, te);
    origin = { train: tr, test: te };
  }
  log(`${id}: writing ${train.n} train and ${test.n} test images to ${images}`);
  // Only the images are rebuilt: features extracted from them (keyed by image content) stay valid.
  await rm(join(dir, DATASET_FILE), { force: true });
  await rm(images, { recursive: true, force: true });
  const trainFiles = await writePngs(train, join(images, 'train'));
  const testFiles = await writePngs(test, join(images, 'test'));
  const file: DatasetFile = {
    version: 1,
    id,
    classNames: train.classNames,
    seed,
    source,
    train: { files: trainFiles, labels: Array.from(train.labels), origin: Array.from(origin.train) },
    test: { files: testFiles, labels: Array.from(test.labels), origin: Array.from(origin.test) },
  };
  await writeFileAtomic(join(dir, DATASET_FILE), JSON.stringify(file));
  return fromFile(file);
}

/**
 * The benchmark's data: each requested data set prepared on disk (once; later calls read `dataset.json`) and the
 * targets defined on them.
 */
export async function prepareTransferData(
  opts: TransferDataOptions = {},
): Promise<{ datasets: Partial<Record<TransferDatasetId, TransferDataset>>; targets: TransferTarget[] }> {
  const datasets: Partial<Record<TransferDatasetId, TransferDataset>> = {};
  for (const id of opts.datasets ?? TRANSFER_DATASETS) datasets[id] = await prepareTransferDataset(id, opts);
  const targets = TRANSFER_TARGETS.filter((t) => datasets[TARGET_DEFINITIONS[t].dataset]).map((t) => makeTarget(t, datasets[TARGET_DEFINITIONS[t].dataset]!));
  return { datasets, targets };
}
