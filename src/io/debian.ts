/**
 * Files from Debian/Ubuntu packages without installing them: `apt-get download` fetches the .deb (the project's one
 * allowed network path, and the only one a user's package manager already trusts), `dpkg-deb --fsys-tarfile | tar x`
 * unpacks the wanted members into a folder. Nothing is installed, no maintainer script runs, no root is needed
 * unless apt's package lists are missing (then `apt-get update` runs once, and only as root — elsewhere the error
 * says which command to run).
 *
 * `ensureDebianPackage` keeps the unpacked members in a cache (`$TASKMAP_CACHE/debian/<package>/`, default
 * `./.taskmap-cache/debian`) so a second run touches neither apt nor the network; the .deb itself is deleted.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

/** Name and version of a .deb that was unpacked. */
export interface DebianPackageInfo {
  name: string;
  version: string;
}

export interface DebianFetchOptions {
  /** Use the .deb files in this folder instead of downloading (offline mirrors, CI caches). */
  debs?: string;
  /**
   * Run `apt-get update` once when apt cannot locate a package (default: only when running as root, the one case
   * where it can succeed; false never touches the package lists).
   */
  update?: boolean;
  log?: (message: string) => void;
  /** Download size for the log line (e.g. "about 165 MB"). */
  size?: string;
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

/** Unpack `members` (tar wildcards such as `./usr/share/doc/x/*`; none = everything) of a .deb into `dest`. */
export async function unpackDeb(deb: string, dest: string, members: string[] = []): Promise<void> {
  const dpkg = spawn('dpkg-deb', ['--fsys-tarfile', deb], { stdio: ['ignore', 'pipe', 'pipe'] });
  let dpkgErr = '';
  dpkg.stderr.on('data', (d: Buffer) => (dpkgErr += d.toString()));
  const dpkgDone = new Promise<number>((r, j) => {
    dpkg.on('error', (e: NodeJS.ErrnoException) =>
      j(e.code === 'ENOENT' ? new Error('dpkg-deb not found: unpacking .deb files needs dpkg (Debian/Ubuntu)') : e),
    );
    dpkg.on('close', (c) => r(c ?? 1));
  });
  const tar = await run('tar', ['-x', '-C', dest, ...(members.length ? ['--wildcards', ...members] : [])], { stdin: dpkg.stdout });
  const dcode = await dpkgDone;
  // tar may stop reading once it has what it needs; a broken pipe from dpkg-deb is then harmless.
  if (tar.code !== 0) throw new Error(`unpacking ${basename(deb)} failed: ${tar.stderr.trim() || `tar exit ${tar.code}`}`);
  if (dcode !== 0 && !/Broken pipe|signal/.test(dpkgErr)) throw new Error(`dpkg-deb --fsys-tarfile ${basename(deb)} failed: ${dpkgErr.trim()}`);
}

/**
 * Download the packages' .deb files into `dir` with `apt-get download` (running `apt-get update` once when the
 * lists are missing or stale and `update` allows it). `hint` ends the error when apt itself is missing.
 */
export async function aptDownload(packages: string[], dir: string, opts: DebianFetchOptions & { hint?: string } = {}): Promise<void> {
  const log = opts.log ?? (() => undefined);
  const attempt = () => run('apt-get', ['download', ...packages], { cwd: dir });
  let r = await attempt().catch((e: Error) => {
    throw new Error(
      `${e.message}: ${packages.join(', ')} come${packages.length === 1 ? 's' : ''} from Debian/Ubuntu packages via apt` +
        (opts.hint ? `; ${opts.hint}` : `; on other systems download the .deb file${packages.length === 1 ? '' : 's'} yourself and pass their folder`),
    );
  });
  if (r.code !== 0 && /Unable to locate|no installation candidate|Couldn't find/i.test(r.stderr)) {
    const mayUpdate = opts.update ?? process.getuid?.() === 0;
    if (mayUpdate) {
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

/** The .deb files in `dir` by package name (read from their control fields, not their file names). */
export async function debsIn(dir: string): Promise<Map<string, { file: string; version: string }>> {
  const debs = new Map<string, { file: string; version: string }>();
  for (const f of (await readdir(dir)).filter((n) => n.endsWith('.deb'))) {
    const info = await run('dpkg-deb', ['-f', join(dir, f), 'Package', 'Version']);
    const name = /Package:\s*(\S+)/.exec(info.stdout)?.[1];
    const version = /Version:\s*(\S+)/.exec(info.stdout)?.[1] ?? '?';
    if (name) debs.set(name, { file: join(dir, f), version });
  }
  return debs;
}

/**
 * Fetch the packages (or take them from `opts.debs`) and unpack each one's `members` into `dest` (the package
 * root: a member `./usr/share/x` lands in `dest/usr/share/x`). Returns what was unpacked, in the order given.
 */
export async function unpackDebianPackages(
  packages: { name: string; members?: string[] }[],
  dest: string,
  opts: DebianFetchOptions & { hint?: string } = {},
): Promise<DebianPackageInfo[]> {
  const log = opts.log ?? (() => undefined);
  const names = packages.map((p) => p.name);
  const work = opts.debs ? undefined : await mkdtemp(join(tmpdir(), 'taskmap-debs-'));
  try {
    const debDir = opts.debs ? resolve(opts.debs) : work!;
    if (!opts.debs) {
      log(`downloading ${names.join(', ')} with apt-get download (${opts.size ? `${opts.size}; ` : ''}nothing is installed)`);
      await aptDownload(names, debDir, opts);
    }
    const debs = await debsIn(debDir);
    const missing = names.filter((p) => !debs.has(p));
    if (missing.length) throw new Error(`no .deb for ${missing.join(', ')} in ${debDir}`);
    await mkdir(dest, { recursive: true });
    const out: DebianPackageInfo[] = [];
    for (const p of packages) {
      log(`unpacking ${p.name}`);
      await unpackDeb(debs.get(p.name)!.file, dest, p.members ?? []);
      out.push({ name: p.name, version: debs.get(p.name)!.version });
    }
    return out;
  } finally {
    if (work) await rm(work, { recursive: true, force: true });
  }
}

/** `$TASKMAP_CACHE/debian`, default `./.taskmap-cache/debian`. */
export function defaultDebianCacheDir(): string {
  return resolve(process.env.TASKMAP_CACHE ?? '.taskmap-cache', 'debian');
}

const MARKER = '.unpacked.json';

interface Marker {
  package: string;
  version: string;
  /** Members unpacked (empty: the whole package). */
  members: string[];
  unpacked: string;
}

export interface EnsureDebianOptions extends DebianFetchOptions {
  /** Tar wildcards of the members needed (default: the whole package). */
  members?: string[];
  /** Cache root (default `defaultDebianCacheDir()`). */
  cacheDir?: string;
  hint?: string;
}

/**
 * The unpacked package root in the cache, fetched and unpacked first when the cache lacks it or lacks some of
 * `members`. The cache entry is replaced as a whole (unpacked next to it, then renamed), so an interrupted run
 * leaves either the old entry or none.
 */
export async function ensureDebianPackage(name: string, opts: EnsureDebianOptions = {}): Promise<{ root: string; version: string; fetched: boolean }> {
  if (!/^[a-z0-9][a-z0-9+.-]+$/.test(name)) throw new Error(`"${name}" is not a Debian package name`);
  const cache = resolve(opts.cacheDir ?? defaultDebianCacheDir());
  const root = join(cache, name);
  const wanted = opts.members ?? [];
  let old: Marker | undefined;
  try {
    old = JSON.parse(await readFile(join(root, MARKER), 'utf8')) as Marker;
  } catch {
    old = undefined;
  }
  if (
    old &&
    old.package === name &&
    (old.members.length === 0 || wanted.every((m) => old.members.includes(m))) &&
    (wanted.length > 0 || old.members.length === 0)
  ) {
    return { root, version: old.version, fetched: false };
  }
  // Keep what an earlier run unpacked: the new entry holds the union of both member lists.
  const members = old && old.members.length && wanted.length ? [...new Set([...old.members, ...wanted])] : wanted;
  await mkdir(cache, { recursive: true });
  const tmp = await mkdtemp(join(cache, `.${name}-`));
  try {
    const [info] = await unpackDebianPackages([{ name, members }], tmp, opts);
    const marker: Marker = { package: name, version: info.version, members, unpacked: new Date().toISOString() };
    await writeFile(join(tmp, MARKER), `${JSON.stringify(marker, null, 1)}\n`);
    await rm(root, { recursive: true, force: true });
    await rename(tmp, root);
    return { root, version: info.version, fetched: true };
  } finally {
    if (existsSync(tmp)) await rm(tmp, { recursive: true, force: true });
  }
}
