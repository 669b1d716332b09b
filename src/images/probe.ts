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
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { unsafeRelativePath } from '../io/paths.js';
import { hashBytes, listImages } from './list.js';

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
      // Stereo-calibration photographs: a person holding a chessboard, from two cameras.
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

function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; stdin?: NodeJS.ReadableStream } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    if (opts.stdin) opts.stdin.pipe(child.stdin!);
    child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new Error(`${cmd} not found`) : e));
    child.on('close', (code) => resolvePromise({ code: code ?? 1, stdout, stderr }));
  });
}

/** Unpack only `members` (tar wildcards) of a .deb into `dest`, without installing it. */
async function unpackDeb(deb: string, dest: string, members: string[]): Promise<void> {
  const dpkg = spawn('dpkg-deb', ['--fsys-tarfile', deb], { stdio: ['ignore', 'pipe', 'pipe'] });
  let dpkgErr = '';
  dpkg.stderr.on('data', (d: Buffer) => (dpkgErr += d.toString()));
  const dpkgDone = new Promise<number>((r, j) => {
    dpkg.on('error', j);
    dpkg.on('close', (c) => r(c ?? 1));
  });
  const tar = await run('tar', ['-x', '-C', dest, '--wildcards', ...members], { stdin: dpkg.stdout });
  const dcode = await dpkgDone;
  // tar stops reading once it has what it needs only with explicit names; a broken pipe from dpkg-deb is harmless.
  if (tar.code !== 0) throw new Error(`unpacking ${basename(deb)} failed: ${tar.stderr.trim() || `tar exit ${tar.code}`}`);
  if (dcode !== 0 && !/Broken pipe|signal/.test(dpkgErr)) throw new Error(`dpkg-deb --fsys-tarfile ${basename(deb)} failed: ${dpkgErr.trim()}`);
}

/** Download the packages' .deb files into `dir` with apt-get (running `apt-get update` once if root and needed). */
async function aptDownload(packages: string[], dir: string, log: (m: string) => void): Promise<void> {
  const attempt = () => run('apt-get', ['download', ...packages], { cwd: dir });
  let r = await attempt().catch((e: Error) => {
    throw new Error(
      `${e.message}: the default probe set comes from Debian/Ubuntu packages via apt; on other systems pass --images <your photo folder> (or --debs with the .deb files of ${packages.join(', ')})`,
    );
  });
  if (r.code !== 0 && /Unable to locate|no installation candidate|Couldn't find/i.test(r.stderr)) {
    if (process.getuid?.() === 0) {
      log('apt package lists are missing or stale: running apt-get update');
      const u = await run('apt-get', ['update']);
      if (u.code !== 0) throw new Error(`apt-get update failed: ${u.stderr.trim().split('\n').slice(-3).join(' ')}`);
      r = await attempt();
    } else {
      throw new Error(`apt-get cannot find ${packages.join(', ')}: run \`sudo apt-get update\` first, then retry`);
    }
  }
  if (r.code !== 0)
    throw new Error(
      `apt-get download ${packages.join(' ')} failed: ${r.stderr
        .trim()
        .split('\n')
        .filter((l) => !/^W:/.test(l))
        .slice(-3)
        .join(' ')}`,
    );
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
    const debDir = opts.debs ? resolve(opts.debs) : join(work, 'debs');
    if (!opts.debs) {
      await mkdir(debDir);
      log(`downloading ${packages.join(', ')} with apt-get (about 165 MB; nothing is installed)`);
      await aptDownload(packages, debDir, log);
    }
    const debs = new Map<string, { file: string; version: string }>();
    for (const f of (await readdir(debDir)).filter((n) => n.endsWith('.deb'))) {
      const info = await run('dpkg-deb', ['-f', join(debDir, f), 'Package', 'Version']);
      const name = /Package:\s*(\S+)/.exec(info.stdout)?.[1];
      const version = /Version:\s*(\S+)/.exec(info.stdout)?.[1] ?? '?';
      if (name && packages.includes(name)) debs.set(name, { file: join(debDir, f), version });
    }
    const missing = packages.filter((p) => !debs.has(p));
    if (missing.length) throw new Error(`no .deb for ${missing.join(', ')} in ${debDir}`);
    const root = join(work, 'root');
    await mkdir(root);
    for (const pkg of packages) {
      const dirs = PROBE_SOURCES.filter((s) => s.package === pkg).map((s) => `./${s.dir}/*`);
      log(`unpacking ${pkg}`);
      await unpackDeb(debs.get(pkg)!.file, root, [...dirs, `./usr/share/doc/${pkg}/copyright`]);
    }
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
        const file = `${src.prefix}-${basename(name, extname(name))}.jpg`;
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
