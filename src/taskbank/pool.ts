/**
 * The task bank's image pool (docs/taskbank.md): real photographs from Debian packages, cut into seeded square
 * crops at the bank's resolution and split into train / transfer / test / probe parts by source photograph, so no
 * photograph lends crops to two parts.
 *
 * Photographs (gatherPhotos), by preset:
 *   default  the curated probe set (images/probe.ts: the probe photographs without calibration frames, second
 *            stereo views and near-duplicates — about 165 MB of packages, shared with `taskmap demo`) plus the
 *            photographs of WALLPAPER_SOURCES (about 16 MB)
 *   large    the default's plus LARGE_WALLPAPER_SOURCES (10 Plasma photographs, a 94 MB download)
 *   small    WALLPAPER_SOURCES alone (14 photographs, about 16 MB): for CI and quick runs
 * or any folders of images. Each photograph is stored as a JPEG whose longer side is at most 640 px (the probe set's
 * size), near-duplicates across sources are dropped (perceptual hash, images/phash.ts), and each package's Debian
 * copyright file is kept under `licenses/`.
 *
 * Crops (buildCropPool): the photographs are shuffled (seeded) and dealt to the parts by `fractions`; each part's
 * crop count is shared evenly among its photographs; a crop is a square whose side is a seeded fraction of the
 * photograph's shorter side (`scale`, never below the resolution), at a seeded position, area-averaged down to
 * R×R (pixels.ts resizeArea — plain arithmetic, so the same photograph gives the same crops everywhere).
 *
 * Layout under `$TASKMAP_CACHE/taskbank/` (default `./.taskmap-cache/taskbank/`):
 *   photos-<preset>/   <id>.jpg, photos.json (written last), licenses/
 *   crops-<preset>-r<R>-s<seed>-<counts>/   <part>.npy (uint8, n × R × R × 3), crops.json (written last)
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { listImages, hashBytes } from '../images/list.js';
import { imagePerceptualHash, NEAR_DUPLICATE_BITS, nearDuplicateGroups } from '../images/phash.js';
import { ensureCuratedProbeImages, PROBE_MAX_SIDE } from '../images/probe.js';
import { writeFileAtomic } from '../io/atomic.js';
import { ensureDebianPackage, type DebianFetchOptions } from '../io/debian.js';
import { readNpy, writeNpy } from '../io/npy.js';
import { unsafeRelativePath } from '../io/paths.js';
import { mulberry32 } from '../linalg/resample.js';
import { permutation } from '../nsl/data.js';
import { resizeArea } from './pixels.js';

export const POOL_SPLITS = ['train', 'transfer', 'test', 'probe'] as const;
export type PoolSplit = (typeof POOL_SPLITS)[number];

export type PoolPreset = 'default' | 'large' | 'small';
export const POOL_PRESETS: readonly PoolPreset[] = ['default', 'large', 'small'];

/** Photographs from a wallpaper package: the files listed are photographs (its renders are left out). */
export interface WallpaperSource {
  package: string;
  dir: string;
  prefix: string;
  /**
   * Paths under `dir`. A photograph's id is `<prefix>-<name>.jpg`, its name the file's base name — or, for a path in a
   * folder, the first folder (Plasma keeps each wallpaper as `<Name>/contents/images/<width>x<height>.jpg`).
   */
  files: string[];
  /** Download size for the log line. */
  size: string;
}

/**
 * Wallpaper photographs. Checked in Debian 12: gnome-backgrounds (33 MB), sway-backgrounds, ukui-wallpapers, the
 * abstract and desktop folders of mate-backgrounds and lomiri-wallpapers-20.04 hold renders and paintings (or one
 * photograph for 11 MB); plasma-workspace-wallpapers has photographs but is a 94 MB download. Ubuntu's 16.04
 * wallpaper contest set has 14 photographs in 16 MB (CC-BY-4.0, CC-BY-SA-4.0, CC0; umang is a render, left out).
 */
export const WALLPAPER_SOURCES: readonly WallpaperSource[] = [
  {
    package: 'lomiri-wallpapers-16.04',
    dir: 'usr/share/backgrounds',
    prefix: 'lomiri',
    size: 'about 16 MB',
    files: [
      'Bridge_by_Sander_Klootwijk.jpg',
      'Dragonfly_by_Bolly.jpg',
      'Picture_0B_by_freespace.jpg',
      'Picture_1A_by_freespace.jpg',
      'Wine_by_Jakkub_Mede.jpg',
      'aitzgorri_by_Aitzol_Berasategi.jpg',
      'analogpattern_by_Peter_Nerlich.jpg',
      'free_by_Peter_Nerlich.jpg',
      'friends_by_Aitzol_Berasategi.jpg',
      'greentock_by_Peter_Nerlich.jpg',
      'life_by_Aitzol_Berasategi.jpg',
      'picosdeeuropa_by_Aitzol_Berasategi.jpg',
      'seeding_by_Clements_Engelhardt.jpg',
      'sunset_by_Aitzol_Berasategi.jpg',
    ],
  },
];

/**
 * The `large` preset's extra photographs: the 10 photographs among plasma-workspace-wallpapers' 30 wallpapers (Debian
 * 12, 5.27; the others are renders, a painting and a photograph with a drawn kite), each at its 2560×1600 size.
 * Licences LGPL-3 and CC-BY-SA-4.0 (the package's copyright file, kept under licenses/).
 */
export const LARGE_WALLPAPER_SOURCES: readonly WallpaperSource[] = [
  {
    package: 'plasma-workspace-wallpapers',
    dir: 'usr/share/wallpapers',
    prefix: 'plasma',
    size: 'about 94 MB',
    files: ['BytheWater', 'ColdRipple', 'ColorfulCups', 'DarkestHour', 'EveningGlow', 'FallenLeaf', 'Grey', 'OneStandsOut', 'Path', 'summer_1am'].map(
      (name) => `${name}/contents/images/2560x1600.jpg`,
    ),
  },
];

/** A wallpaper file's name in its photograph's id (WallpaperSource.files). */
export function wallpaperName(file: string): string {
  const slash = file.indexOf('/');
  return slash > 0 ? file.slice(0, slash) : basename(file, extname(file));
}

/** Wallpaper packages of a preset (the default and large presets add them to the curated probe set). */
export function wallpaperSources(preset: PoolPreset): readonly WallpaperSource[] {
  return preset === 'large' ? [...WALLPAPER_SOURCES, ...LARGE_WALLPAPER_SOURCES] : WALLPAPER_SOURCES;
}

export interface PoolPhoto {
  /** File name in the photos folder (`<id>`), also the photograph's id. */
  id: string;
  /** Package it came from, or 'folder'. */
  source: string;
  /** Path inside the package (or the folder) it was read from. */
  original: string;
  /** sha256 of the original file's bytes. */
  sha256: string;
  width: number;
  height: number;
  /** Perceptual hash of the stored JPEG. */
  hash: string;
}

export interface PhotoSet {
  version: 1;
  preset: PoolPreset | 'folders';
  created: string;
  maxSide: number;
  packages: { name: string; version: string; copyright?: string }[];
  photos: PoolPhoto[];
  excluded: { id: string; reason: string }[];
}

export interface PhotoOptions {
  /** Which photographs (default 'default'); ignored with `folders`. */
  preset?: PoolPreset;
  /** Use the images of these folders instead of packages (no network). */
  folders?: string[];
  /** Cache root (default `$TASKMAP_CACHE`, else `./.taskmap-cache`). */
  cacheDir?: string;
  /** .deb files to unpack instead of downloading, and whether `apt-get update` may run (io/debian.ts). */
  apt?: Pick<DebianFetchOptions, 'debs' | 'update'>;
  log?: (message: string) => void;
}

const PHOTOS_FILE = 'photos.json';
const CROPS_FILE = 'crops.json';

export function defaultTaskbankCacheDir(): string {
  return resolve(process.env.TASKMAP_CACHE ?? '.taskmap-cache');
}

/** A photo set on disk whose every photograph is there, or undefined. */
async function readPhotoSet(dir: string): Promise<PhotoSet | undefined> {
  try {
    const set = JSON.parse(await readFile(join(dir, PHOTOS_FILE), 'utf8')) as PhotoSet;
    if (set.version !== 1 || !set.photos.every((p) => unsafeRelativePath(p.id) === undefined && existsSync(join(dir, p.id)))) return undefined;
    return set;
  } catch {
    return undefined;
  }
}

/** Store one photograph as a ≤ 640 px JPEG (EXIF-oriented, transparency on black); returns its size. */
async function storePhoto(bytes: Uint8Array, path: string): Promise<{ width: number; height: number }> {
  const info = await sharp(bytes)
    .rotate()
    .flatten({ background: '#000000' })
    .resize(PROBE_MAX_SIDE, PROBE_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 92 })
    .toFile(path);
  return { width: info.width, height: info.height };
}

const slug = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_');

/**
 * The photographs of a preset (or of folders), gathered once into the cache: fetched, downscaled, near-duplicates
 * across sources dropped (the first in id order is kept), licences copied.
 */
export async function gatherPhotos(opts: PhotoOptions = {}): Promise<{ dir: string; set: PhotoSet; built: boolean }> {
  const log = opts.log ?? (() => undefined);
  const root = resolve(opts.cacheDir ?? defaultTaskbankCacheDir());
  const preset = opts.preset ?? 'default';
  if (!POOL_PRESETS.includes(preset)) throw new Error(`unknown image pool preset "${preset}" (use ${POOL_PRESETS.join(' or ')})`);
  const folders = opts.folders?.map((f) => resolve(f));
  const name = folders ? `photos-folders-${hashBytes(Buffer.from(folders.join('\n'))).slice(0, 12)}` : `photos-${preset}`;
  const dir = join(root, 'taskbank', name);
  const existing = await readPhotoSet(dir);
  if (existing) return { dir, set: existing, built: false };

  await mkdir(join(root, 'taskbank'), { recursive: true });
  const tmp = await mkdtemp(join(root, 'taskbank', `.${name}-`));
  try {
    await mkdir(join(tmp, 'licenses'), { recursive: true });
    const set: PhotoSet = {
      version: 1,
      preset: folders ? 'folders' : preset,
      created: new Date().toISOString(),
      maxSide: PROBE_MAX_SIDE,
      packages: [],
      photos: [],
      excluded: [],
    };
    const add = async (id: string, source: string, original: string, bytes: Uint8Array) => {
      const size = await storePhoto(bytes, join(tmp, id));
      set.photos.push({ id, source, original, sha256: hashBytes(bytes), ...size, hash: '' });
    };
    if (folders) {
      for (const f of folders)
        for (const img of await listImages(f))
          await add(`${slug(basename(f))}-${slug(img.path.replace(/\.[^.]+$/, ''))}.jpg`, 'folder', img.abs, await readFile(img.abs));
    } else {
      if (preset !== 'small') {
        const probe = await ensureCuratedProbeImages({ debs: opts.apt?.debs, log });
        for (const p of probe.manifest.packages) {
          if (p.copyright && !set.packages.some((q) => q.name === p.name)) {
            await cp(join(probe.dir, p.copyright), join(tmp, 'licenses', `${p.name}.copyright`));
            set.packages.push({ name: p.name, version: p.version, copyright: `licenses/${p.name}.copyright` });
          }
        }
        for (const i of probe.manifest.images) await add(i.file, i.package, i.original, await readFile(join(probe.dir, i.file)));
      }
      for (const w of wallpaperSources(preset)) {
        const copyright = `usr/share/doc/${w.package}/copyright`;
        const { root: pkgRoot, version } = await ensureDebianPackage(w.package, {
          members: [...w.files.map((f) => `./${w.dir}/${f}`), `./${copyright}`],
          cacheDir: join(root, 'debian'),
          size: w.size,
          hint: 'or pass folders of photographs instead (taskbank images --folders)',
          log,
          ...opts.apt,
        });
        const entry: PhotoSet['packages'][number] = { name: w.package, version };
        if (existsSync(join(pkgRoot, copyright))) {
          await cp(join(pkgRoot, copyright), join(tmp, 'licenses', `${w.package}.copyright`));
          entry.copyright = `licenses/${w.package}.copyright`;
        }
        set.packages.push(entry);
        for (const f of w.files) {
          const path = join(pkgRoot, w.dir, f);
          if (!existsSync(path)) {
            log(`warning: ${w.package} has no ${w.dir}/${f}`);
            continue;
          }
          await add(`${w.prefix}-${wallpaperName(f)}.jpg`, w.package, `/${w.dir}/${f}`, await readFile(path));
        }
      }
    }
    set.photos.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (new Set(set.photos.map((p) => p.id)).size !== set.photos.length) throw new Error('two photographs map to one file name; rename one of the folders');
    for (const p of set.photos) p.hash = await imagePerceptualHash(join(tmp, p.id));
    const groups = nearDuplicateGroups(
      set.photos.map((p) => ({ id: p.id, hash: p.hash })),
      NEAR_DUPLICATE_BITS,
    );
    for (const d of groups.dropped) {
      set.excluded.push({ id: d.id, reason: `near-duplicate of ${d.of} (perceptual hashes ${d.bits} bits apart)` });
      await rm(join(tmp, d.id));
    }
    set.photos = set.photos.filter((p) => !groups.dropped.some((d) => d.id === p.id));
    if (set.photos.length < POOL_SPLITS.length)
      throw new Error(`only ${set.photos.length} distinct photographs; the pool needs at least ${POOL_SPLITS.length} (one per part)`);
    await writeFile(join(tmp, PHOTOS_FILE), `${JSON.stringify(set, null, 1)}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    log(`image pool: ${set.photos.length} photographs in ${dir}${set.excluded.length ? ` (${set.excluded.length} near-duplicates left out)` : ''}`);
    return { dir, set, built: true };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Share of the photographs per part (default 60 / 15 / 15 / 10 %). */
export type SplitFractions = Record<PoolSplit, number>;
export const DEFAULT_FRACTIONS: Readonly<SplitFractions> = { train: 0.6, transfer: 0.15, test: 0.15, probe: 0.1 };
/** The CLIs' help for --split (weights, so a part can be changed alone). */
export const SPLIT_HELP = `weight of a part's share of the photographs (repeatable; shares are weight / sum of weights; default ${POOL_SPLITS.map((p) => `${p}=${DEFAULT_FRACTIONS[p]}`).join(' ')})`;
/** Crops per part (the bank trains on `train`, fits transfer readouts on `transfer`, scores on `test`, compares encoders on `probe`). */
export const DEFAULT_CROP_COUNTS: Readonly<Record<PoolSplit, number>> = { train: 8000, transfer: 1000, test: 1000, probe: 500 };
/** Crop side as a fraction of the photograph's shorter side. */
export const DEFAULT_SCALE: readonly [number, number] = [0.25, 0.6];
export const DEFAULT_RESOLUTION = 64;

/** The sum of the weights, after checking each is a positive finite number. */
function checkFractions(fractions: SplitFractions): number {
  const total = POOL_SPLITS.reduce((s, p) => s + fractions[p], 0);
  if (!POOL_SPLITS.every((p) => fractions[p] > 0) || !Number.isFinite(total))
    throw new Error(`split fractions must be positive numbers, got ${JSON.stringify(fractions)}`);
  return total;
}

/**
 * Photographs per part: each part gets round(f·n) photographs (largest remainders, at least one each), dealt from
 * a seeded permutation of the ids in order probe, test, transfer, train. Returns each id's part.
 */
export function splitPhotos(ids: readonly string[], seed: number, fractions: SplitFractions = DEFAULT_FRACTIONS): Map<string, PoolSplit> {
  const n = ids.length;
  if (n < POOL_SPLITS.length) throw new Error(`${n} photographs cannot be split into ${POOL_SPLITS.length} parts`);
  const total = checkFractions(fractions);
  const exact = POOL_SPLITS.map((p) => (fractions[p] / total) * n);
  const counts = exact.map((x) => Math.max(1, Math.floor(x)));
  let left = n - counts.reduce((a, b) => a + b, 0);
  const byRemainder = POOL_SPLITS.map((_, i) => i).sort((a, b) => exact[b] - Math.floor(exact[b]) - (exact[a] - Math.floor(exact[a])) || a - b);
  for (let i = 0; left > 0; i = (i + 1) % byRemainder.length, left--) counts[byRemainder[i]]++;
  for (let i = POOL_SPLITS.length - 1; left < 0; i = (i + POOL_SPLITS.length - 1) % POOL_SPLITS.length)
    if (counts[i] > 1) {
      counts[i]--;
      left++;
    }
  const order = permutation(n, seed);
  const out = new Map<string, PoolSplit>();
  let at = 0;
  for (const part of ['probe', 'test', 'transfer', 'train'] as const) {
    const k = counts[POOL_SPLITS.indexOf(part)];
    for (let j = 0; j < k; j++) out.set(ids[order[at++]], part);
  }
  return out;
}

/** One crop: which photograph (index into the pool's photo list) and the square cut from it. */
export interface CropBox {
  photo: number;
  x: number;
  y: number;
  side: number;
}

/**
 * `count` seeded squares in a width×height photograph: side = round(short·(lo + u·(hi − lo))), at least
 * `minSide` and at most the shorter side; top-left corner uniform over the positions that fit.
 */
export function sampleCropBoxes(
  photo: number,
  width: number,
  height: number,
  count: number,
  random: () => number,
  scale: readonly [number, number],
  minSide: number,
): CropBox[] {
  const short = Math.min(width, height);
  if (short < minSide) throw new Error(`photograph ${photo} is ${width}×${height}: too small for ${minSide}-pixel crops`);
  return Array.from({ length: count }, () => {
    const side = Math.min(short, Math.max(minSide, Math.round(short * (scale[0] + random() * (scale[1] - scale[0])))));
    const x = Math.floor(random() * (width - side + 1));
    const y = Math.floor(random() * (height - side + 1));
    return { photo, x, y, side };
  });
}

export interface CropPoolOptions extends PhotoOptions {
  /** Crop side in pixels (default 64; the bank also uses 96). */
  resolution?: number;
  seed?: number;
  counts?: Partial<Record<PoolSplit, number>>;
  /** Weights of the parts' shares of the photographs; a part not given keeps its DEFAULT_FRACTIONS weight. */
  fractions?: Partial<SplitFractions>;
  scale?: readonly [number, number];
}

export interface CropPoolManifest {
  version: 1;
  resolution: number;
  seed: number;
  scale: [number, number];
  fractions: SplitFractions;
  photosDir: string;
  /** The photographs (with their part); a box's `photo` indexes this list. */
  photos: { id: string; split: PoolSplit; source: string }[];
  /** Photographs too small for the resolution, left out. */
  skipped: string[];
  /** Per part, the crops in the order of `<part>.npy`. */
  crops: Record<PoolSplit, CropBox[]>;
  packages: PhotoSet['packages'];
}

export interface CropPool {
  dir: string;
  manifest: CropPoolManifest;
  /** Per part, n × R × R × 3 uint8, crop i in row i. */
  crops: Record<PoolSplit, Uint8Array>;
}

async function readCropPool(dir: string): Promise<CropPool | undefined> {
  try {
    const manifest = JSON.parse(await readFile(join(dir, CROPS_FILE), 'utf8')) as CropPoolManifest;
    const r = manifest.resolution;
    const crops = {} as Record<PoolSplit, Uint8Array>;
    for (const part of POOL_SPLITS) {
      const file = join(dir, `${part}.npy`);
      const arr = readNpy(await readFile(file), file);
      if (arr.dtype !== 'uint8' || arr.shape.join() !== [manifest.crops[part].length, r, r, 3].join()) return undefined;
      crops[part] = arr.data as Uint8Array;
    }
    return { dir, manifest, crops };
  } catch {
    return undefined;
  }
}

/**
 * The crop pool for these options: read from the cache, or cut from the photographs (gatherPhotos) and written.
 * Deterministic for a seed: the same photographs give the same crops.
 */
export async function ensureCropPool(opts: CropPoolOptions = {}): Promise<CropPool & { built: boolean }> {
  const log = opts.log ?? (() => undefined);
  const resolution = opts.resolution ?? DEFAULT_RESOLUTION;
  if (!Number.isInteger(resolution) || resolution < 8 || resolution > 512)
    throw new Error(`crop resolution must be an integer from 8 to 512 pixels, got ${resolution}`);
  const seed = opts.seed ?? 0;
  const counts = { ...DEFAULT_CROP_COUNTS, ...opts.counts };
  for (const p of POOL_SPLITS)
    if (!Number.isInteger(counts[p]) || counts[p] < 1) throw new Error(`the ${p} part needs a positive integer number of crops, got ${counts[p]}`);
  const scale = opts.scale ?? DEFAULT_SCALE;
  if (!(scale[0] > 0 && scale[0] <= scale[1] && scale[1] <= 1)) throw new Error(`crop scale must satisfy 0 < min ≤ max ≤ 1, got [${scale.join(', ')}]`);
  // Merged in DEFAULT_FRACTIONS' key order, so the default weights given explicitly key the same pool; checked
  // before any photograph is fetched.
  const fractions: SplitFractions = { ...DEFAULT_FRACTIONS, ...opts.fractions };
  checkFractions(fractions);
  const photos = await gatherPhotos(opts);
  const key = hashBytes(Buffer.from(JSON.stringify({ counts, scale, fractions, photos: photos.set.photos.map((p) => p.sha256) }))).slice(0, 10);
  const dir = join(photos.dir, '..', `crops-${basename(photos.dir).replace(/^photos-/, '')}-r${resolution}-s${seed}-${key}`);
  const cached = await readCropPool(dir);
  if (cached) return { ...cached, built: false };

  // Photographs smaller than the resolution cannot give a crop without up-sampling: left out before splitting.
  const usable = photos.set.photos.filter((p) => Math.min(p.width, p.height) >= resolution);
  const skipped = photos.set.photos.filter((p) => !usable.includes(p)).map((p) => p.id);
  if (skipped.length) log(`${skipped.length} photograph(s) smaller than ${resolution} px left out: ${skipped.join(', ')}`);
  const parts = splitPhotos(
    usable.map((p) => p.id),
    seed,
    fractions,
  );
  const manifest: CropPoolManifest = {
    version: 1,
    resolution,
    seed,
    scale: [scale[0], scale[1]],
    fractions: { ...fractions },
    photosDir: photos.dir,
    photos: usable.map((p) => ({ id: p.id, split: parts.get(p.id)!, source: p.source })),
    skipped,
    crops: { train: [], transfer: [], test: [], probe: [] },
    packages: photos.set.packages,
  };
  const crops = {} as Record<PoolSplit, Uint8Array>;
  const per = resolution * resolution * 3;
  for (const [k, part] of POOL_SPLITS.entries()) {
    // One generator per part (seeded apart), photographs in pool order: a part's crops do not move when another part's count changes.
    const random = mulberry32((seed + 7919 * (k + 1)) >>> 0);
    const members = manifest.photos.map((p, i) => ({ p, i })).filter((x) => x.p.split === part);
    const out = new Uint8Array(counts[part] * per);
    let row = 0;
    for (const [j, { p, i }] of members.entries()) {
      const take = Math.floor(counts[part] / members.length) + (j < counts[part] % members.length ? 1 : 0);
      if (take === 0) continue;
      const { data, info } = await sharp(join(photos.dir, p.id)).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      const rgb =
        info.channels === 3
          ? data
          : Uint8Array.from({ length: info.width * info.height * 3 }, (_, q) => data[Math.floor(q / 3) * info.channels + (info.channels === 1 ? 0 : q % 3)]);
      for (const box of sampleCropBoxes(i, info.width, info.height, take, random, scale, resolution)) {
        out.set(cutCrop(rgb, info.width, box, resolution), row * per);
        manifest.crops[part].push(box);
        row++;
      }
    }
    crops[part] = out;
  }
  await mkdir(dir, { recursive: true });
  await rm(join(dir, CROPS_FILE), { force: true });
  for (const part of POOL_SPLITS)
    await writeFileAtomic(
      join(dir, `${part}.npy`),
      writeNpy({ dtype: 'uint8', shape: [manifest.crops[part].length, resolution, resolution, 3], data: crops[part] }),
    );
  await writeFileAtomic(join(dir, CROPS_FILE), `${JSON.stringify(manifest)}\n`);
  log(`crop pool: ${POOL_SPLITS.map((p) => `${manifest.crops[p].length} ${p}`).join(', ')} crops of ${resolution}×${resolution} in ${dir}`);
  return { dir, manifest, crops, built: true };
}

/** The box of an RGB photograph (width px wide, rows of 3·width bytes) area-averaged to side×side, rounded to uint8. */
export function cutCrop(rgb: Uint8Array, width: number, box: CropBox, side: number): Uint8Array {
  const square = new Uint8Array(box.side * box.side * 3);
  for (let y = 0; y < box.side; y++)
    square.set(rgb.subarray(((box.y + y) * width + box.x) * 3, ((box.y + y) * width + box.x + box.side) * 3), y * box.side * 3);
  const small = resizeArea(square, box.side, box.side, 3, side, side);
  return Uint8Array.from(small, (v) => Math.round(v));
}
