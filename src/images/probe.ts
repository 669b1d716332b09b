/**
 * The default probe set: ~100 real photographs that a fresh Debian/Ubuntu machine can get offline-from-the-
 * internet, through apt only (the project's allowed network): the sample images of scikit-image, OpenCV's
 * documentation, scikit-learn and the MATE desktop's nature backgrounds. Packages are fetched with
 * `apt-get download` and unpacked with `dpkg-deb --fsys-tarfile | tar x` — nothing is installed. Only
 * photographs are kept (no logos, renders, charts or synthetic patterns), each downscaled so its longer side is at
 * most 640 px (models use 32–512 px inputs; this keeps decoding cheap) and saved as JPEG (quality 92).
 *
 * The images keep their upstream licences (mostly public domain / CC0 for scikit-image, BSD/Apache for OpenCV's
 * samples, GPL/CC for MATE artwork); the Debian copyright files are copied next to them. They are used locally as
 * probe inputs and never redistributed by taskmap.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { unpackDebianPackages } from '../io/debian.js';
import { unsafeRelativePath } from '../io/paths.js';
import { hashBytes, listImages } from './list.js';
import { imagePerceptualHash, NEAR_DUPLICATE_BITS, nearDuplicateGroups } from './phash.js';

export interface ProbeSource {
  package: string;
  /** Folder inside the package. */
  dir: string;
  files: string[];
  /** File-name prefix in the probe set. */
  prefix: string;
}

const OPENCV = 'usr/share/doc/opencv-doc/examples';
const range = (a: number, b: number, skip: number[] = []) => Array.from({ length: b - a + 1 }, (_, i) => a + i).filter((i) => !skip.includes(i));
const two = (i: number) => String(i).padStart(2, '0');

export const PROBE_SOURCES: ProbeSource[] = [
  {
    package: 'python3-skimage',
    dir: 'usr/lib/python3/dist-packages/skimage/data',
    prefix: 'skimage',
    files: [
      'astronaut.png',
      'brick.png',
      'camera.png',
      'cell.png',
      'chelsea.png',
      'coffee.png',
      'coins.png',
      'grass.png',
      'gravel.png',
      'hubble_deep_field.jpg',
      'ihc.png',
      'microaneurysms.png',
      'moon.png',
      'motorcycle_left.png',
      'motorcycle_right.png',
      'page.png',
      'retina.jpg',
      'rocket.jpg',
      'text.png',
    ],
  },
  {
    package: 'opencv-doc',
    dir: `${OPENCV}/data`,
    prefix: 'opencv',
    files: [
      'aero1.jpg',
      'aero3.jpg',
      'aloeL.jpg',
      'aloeR.jpg',
      'apple.jpg',
      'baboon.jpg',
      'basketball1.png',
      'basketball2.png',
      'board.jpg',
      'box.png',
      'box_in_scene.png',
      'building.jpg',
      'butterfly.jpg',
      'chicky_512.png',
      'ela_original.jpg',
      'fruits.jpg',
      'graf1.png',
      'graf3.png',
      'home.jpg',
      'leuvenA.jpg',
      'leuvenB.jpg',
      'licenseplate_motion.jpg',
      'messi5.jpg',
      'orange.jpg',
      'rubberwhale1.png',
      'rubberwhale2.png',
      'squirrel_cls.jpg',
      'starry_night.jpg',
      'stuff.jpg',
      'sudoku.png',
      'text_defocus.jpg',
      'text_motion.jpg',
      'left.jpg',
      'right.jpg',
      // Stereo-calibration photographs: a person holding a chessboard, from two cameras (left out of the curated set).
      ...range(1, 14, [10]).map((i) => `left${two(i)}.jpg`),
      ...range(1, 14, [10]).map((i) => `right${two(i)}.jpg`),
    ],
  },
  {
    package: 'opencv-doc',
    dir: `${OPENCV}/text`,
    prefix: 'opencv-text',
    files: [...range(1, 6).map((i) => `scenetext${two(i)}.jpg`), ...range(1, 4).map((i) => `scenetext_word${two(i)}.jpg`)],
  },
  { package: 'opencv-doc', dir: `${OPENCV}/hfs/data`, prefix: 'opencv-bsds', files: ['000.jpg', '001.jpg', '002.jpg'] },
  { package: 'python3-sklearn', dir: 'usr/lib/python3/dist-packages/sklearn/datasets/images', prefix: 'sklearn', files: ['china.jpg', 'flower.jpg'] },
  {
    package: 'mate-backgrounds',
    dir: 'usr/share/backgrounds/mate/nature',
    prefix: 'mate',
    files: [
      'Aqua.jpg',
      'Blinds.jpg',
      'Dune.jpg',
      'FreshFlower.jpg',
      'Garden.jpg',
      'GreenMeadow.jpg',
      'LadyBird.jpg',
      'RainDrops.jpg',
      'Storm.jpg',
      'TwoWings.jpg',
      'Wood.jpg',
      'YellowFlower.jpg',
    ],
  },
];

export const PROBE_MAX_SIDE = 640;
export const SOURCES_FILE = 'SOURCES.json';
/** Fewer usable photographs than this means the package contents changed: fail rather than probe with a handful. */
const MIN_PROBE_IMAGES = 50;

export function probePackages(): string[] {
  return [...new Set(PROBE_SOURCES.map((s) => s.package))];
}

export function expectedProbeCount(): number {
  return PROBE_SOURCES.reduce((s, p) => s + p.files.length, 0);
}

/** `$TASKMAP_CACHE/probe`, default `./.taskmap-cache/probe`. */
export function defaultProbeDir(): string {
  return resolve(process.env.TASKMAP_CACHE ?? '.taskmap-cache', 'probe');
}

export interface ProbeManifest {
  created: string;
  maxSide: number;
  packages: { name: string; version: string; copyright?: string }[];
  images: { file: string; package: string; original: string; sha256Original: string }[];
}

/** The probe set at `dir` if it is complete (its SOURCES.json lists files that are all there). */
export async function readProbeSet(dir: string): Promise<ProbeManifest | undefined> {
  try {
    const m = JSON.parse(await readFile(join(dir, SOURCES_FILE), 'utf8')) as ProbeManifest;
    // A SOURCES.json naming files outside the folder is not a probe set (and is not followed).
    if (!m.images.every((i) => unsafeRelativePath(i.file) === undefined && existsSync(join(dir, i.file)))) return undefined;
    return m;
  } catch {
    return undefined;
  }
}

export interface FetchProbeOptions {
  dir?: string;
  /** Use .deb files from this folder instead of downloading (offline mirrors, CI caches). */
  debs?: string;
  log?: (message: string) => void;
}

/** Build the probe set in `dir` (replacing an incomplete one). Returns its manifest. */
export async function fetchProbeImages(opts: FetchProbeOptions = {}): Promise<ProbeManifest> {
  const dir = resolve(opts.dir ?? defaultProbeDir());
  const log = opts.log ?? (() => undefined);
  const work = await mkdtemp(join(tmpdir(), 'taskmap-probe-'));
  try {
    const packages = probePackages();
    const root = join(work, 'root');
    const unpacked = await unpackDebianPackages(
      packages.map((pkg) => ({
        name: pkg,
        members: [...PROBE_SOURCES.filter((s) => s.package === pkg).map((s) => `./${s.dir}/*`), `./usr/share/doc/${pkg}/copyright`],
      })),
      root,
      {
        debs: opts.debs,
        log,
        size: 'about 165 MB',
        hint: `the default probe set comes from them; on other systems pass --images <your photo folder> (or --debs with the .deb files of ${packages.join(', ')})`,
      },
    );
    const debs = new Map(unpacked.map((p) => [p.name, p]));
    const out = join(work, 'probe');
    await mkdir(join(out, 'licenses'), { recursive: true });
    const manifest: ProbeManifest = { created: new Date().toISOString(), maxSide: PROBE_MAX_SIDE, packages: [], images: [] };
    for (const pkg of packages) {
      const copyright = join(root, 'usr/share/doc', pkg, 'copyright');
      const entry: ProbeManifest['packages'][number] = { name: pkg, version: debs.get(pkg)!.version };
      if (existsSync(copyright)) {
        await writeFile(join(out, 'licenses', `${pkg}.copyright`), await readFile(copyright));
        entry.copyright = `licenses/${pkg}.copyright`;
      }
      manifest.packages.push(entry);
    }
    const absent: string[] = [];
    for (const src of PROBE_SOURCES) {
      for (const name of src.files) {
        const path = join(root, src.dir, name);
        if (!existsSync(path)) {
          absent.push(`${src.package}:${name}`);
          continue;
        }
        const bytes = await readFile(path);
        const file = probeFileName(src, name);
        await sharp(bytes)
          .rotate()
          .flatten({ background: '#000000' })
          .resize(PROBE_MAX_SIDE, PROBE_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
          .jpeg({ quality: 92 })
          .toFile(join(out, file));
        manifest.images.push({ file, package: src.package, original: `/${src.dir}/${name}`, sha256Original: hashBytes(bytes) });
      }
    }
    if (absent.length) log(`warning: ${absent.length} expected image(s) not found in the packages: ${absent.join(', ')}`);
    if (manifest.images.length < MIN_PROBE_IMAGES) {
      throw new Error(
        `only ${manifest.images.length} probe images could be unpacked (expected ${expectedProbeCount()}); the Debian packages changed — pass --images <folder>`,
      );
    }
    await writeFile(join(out, SOURCES_FILE), `${JSON.stringify(manifest, null, 1)}\n`);
    await listImages(out); // sanity: the folder reads as an image set
    await mkdir(resolve(dir, '..'), { recursive: true });
    await rm(dir, { recursive: true, force: true });
    await rename(out, dir).catch(async (e: NodeJS.ErrnoException) => {
      // Across filesystems (tmp on another mount): copy instead.
      if (e.code !== 'EXDEV') throw e;
      const { cp } = await import('node:fs/promises');
      await cp(out, `${dir}.tmp`, { recursive: true });
      await rename(`${dir}.tmp`, dir);
    });
    log(`probe set ready: ${manifest.images.length} photographs in ${dir}`);
    return manifest;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The probe set, fetched first if it is not there yet. */
export async function ensureProbeImages(opts: FetchProbeOptions = {}): Promise<{ dir: string; manifest: ProbeManifest; fetched: boolean }> {
  const dir = resolve(opts.dir ?? defaultProbeDir());
  const existing = await readProbeSet(dir);
  if (existing) return { dir, manifest: existing, fetched: false };
  return { dir, manifest: await fetchProbeImages({ ...opts, dir }), fetched: true };
}

/** The probe folder's file name of a source image. */
export function probeFileName(src: Pick<ProbeSource, 'prefix'>, name: string): string {
  return `${src.prefix}-${basename(name, extname(name))}.jpg`;
}

const CHESSBOARD = 'stereo-calibration frame (a person holding a chessboard in one room)';

/**
 * Probe photographs the curated set leaves out, by file name, with the reason: OpenCV's 26 stereo-calibration
 * frames (one scene, so 26 near-copies that crowd every neighbourhood) and the second view of each stereo pair.
 * Near-duplicates the hash finds (consecutive video frames) are left out on top of these (curateProbeSet).
 */
export const PROBE_EXCLUDED: Readonly<Record<string, string>> = {
  ...Object.fromEntries(
    PROBE_SOURCES.filter((s) => s.prefix === 'opencv')
      .flatMap((s) => s.files.filter((f) => /^(left|right)\d\d\.jpg$/.test(f)).map((f) => probeFileName(s, f)))
      .map((f) => [f, CHESSBOARD]),
  ),
  'opencv-right.jpg': 'second view of a stereo pair (opencv-left.jpg)',
  'opencv-aloeR.jpg': 'second view of a stereo pair (opencv-aloeL.jpg)',
  'skimage-motorcycle_right.jpg': 'second view of a stereo pair (skimage-motorcycle_left.jpg)',
};

/** `$TASKMAP_CACHE/probe-curated`, default `./.taskmap-cache/probe-curated`. */
export function defaultCuratedProbeDir(): string {
  return resolve(process.env.TASKMAP_CACHE ?? '.taskmap-cache', 'probe-curated');
}

/** A probe set's SOURCES.json after curation: the kept images, and what was left out of which set. */
export interface CuratedProbeManifest extends ProbeManifest {
  curated: {
    /** The full probe set it was made from, and that set's creation time (a rebuilt set is curated again). */
    from: string;
    fromCreated: string;
    total: number;
    nearDuplicateBits: number;
    excluded: { file: string; reason: string }[];
  };
}

/**
 * Which images of a probe set the curated set keeps: all but PROBE_EXCLUDED, then all but the later copy of each
 * group of near-duplicates (perceptual hashes within NEAR_DUPLICATE_BITS, in file-name order). Pure apart from
 * reading the images.
 */
export async function curateProbeSet(
  dir: string,
  manifest: ProbeManifest,
): Promise<{ kept: ProbeManifest['images']; excluded: { file: string; reason: string }[] }> {
  const images = [...manifest.images].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const excluded: { file: string; reason: string }[] = [];
  const candidates = images.filter((i) => {
    const reason = PROBE_EXCLUDED[i.file];
    if (reason) excluded.push({ file: i.file, reason });
    return !reason;
  });
  const hashes = await Promise.all(candidates.map(async (i) => ({ id: i.file, hash: await imagePerceptualHash(join(dir, i.file)) })));
  const groups = nearDuplicateGroups(hashes, NEAR_DUPLICATE_BITS);
  for (const d of groups.dropped) excluded.push({ file: d.id, reason: `near-duplicate of ${d.of} (perceptual hashes ${d.bits} bits apart)` });
  const kept = new Set(groups.kept);
  return { kept: candidates.filter((i) => kept.has(i.file)), excluded };
}

/**
 * The curated probe set the demo uses: the probe set (fetched first when missing) without calibration frames,
 * second stereo views and near-duplicates, as hard links (copies across file systems) in its own folder, so the
 * feature cache keys — image content hashes — are shared with the full set. Rebuilt when the full set was.
 */
export async function ensureCuratedProbeImages(
  opts: FetchProbeOptions & { curatedDir?: string } = {},
): Promise<{ dir: string; manifest: CuratedProbeManifest; fetched: boolean; full: { dir: string; count: number } }> {
  const full = await ensureProbeImages(opts);
  const dir = resolve(opts.curatedDir ?? defaultCuratedProbeDir());
  const existing = (await readProbeSet(dir)) as CuratedProbeManifest | undefined;
  if (existing?.curated && existing.curated.fromCreated === full.manifest.created && existing.curated.from === full.dir)
    return { dir, manifest: existing, fetched: full.fetched, full: { dir: full.dir, count: full.manifest.images.length } };
  const { kept, excluded } = await curateProbeSet(full.dir, full.manifest);
  const { cp, link } = await import('node:fs/promises');
  await mkdir(resolve(dir, '..'), { recursive: true });
  const tmp = await mkdtemp(`${dir}.tmp-`);
  try {
    for (const i of kept) await link(join(full.dir, i.file), join(tmp, i.file)).catch(() => cp(join(full.dir, i.file), join(tmp, i.file)));
    if (existsSync(join(full.dir, 'licenses'))) await cp(join(full.dir, 'licenses'), join(tmp, 'licenses'), { recursive: true });
    const manifest: CuratedProbeManifest = {
      ...full.manifest,
      images: kept,
      curated: { from: full.dir, fromCreated: full.manifest.created, total: full.manifest.images.length, nearDuplicateBits: NEAR_DUPLICATE_BITS, excluded },
    };
    await writeFile(join(tmp, SOURCES_FILE), `${JSON.stringify(manifest, null, 1)}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    opts.log?.(
      `curated probe set: ${kept.length} of ${full.manifest.images.length} photographs in ${dir} (${excluded.length} left out: calibration frames, second stereo views, near-duplicates)`,
    );
    return { dir, manifest, fetched: full.fetched, full: { dir: full.dir, count: full.manifest.images.length } };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
