/**
 * The data roots: the only folders the server reads or writes. Clients name files as `<root>/<relative path>`
 * (e.g. `taskmap-demo/features`); nothing else is accepted.
 *
 * A reference is refused before it touches the disk when it is absolute, has `..`, `.` or empty segments, a
 * backslash or a NUL byte, or names no root. After that, the real path (symlinks resolved) must still lie inside
 * the root's real path — a symlink inside a root that points elsewhere is refused, for reading and for writing.
 * Directories handed to the library (feature-set folders, which it walks and whose symlinked subfolders it
 * follows) are checked entry by entry first, so no file outside the root is opened through them either.
 */
import { lstat, mkdir, readdir, realpath, stat } from 'node:fs/promises';
import { basename, join, resolve, sep } from 'node:path';
import { badRequest, forbidden, HttpError, notFound } from './errors.js';

export interface DataRoot {
  /** The first segment of every reference into this root. */
  name: string;
  /** Real (symlink-free) absolute path. */
  dir: string;
  /** Uploads and generated files (AHP affinities) are written only to writable roots. */
  writable: boolean;
}

export interface ResolvedPath {
  root: DataRoot;
  /** Path below the root, '/'-separated ('' for the root itself). */
  rel: string;
  /** Real absolute path. */
  abs: string;
  /** `<root>/<rel>`: how the API names it. */
  ref: string;
}

const MAX_REF_LENGTH = 1024;
const ROOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Entries the walkers skip, as the feature-set loader does: dot files and folders (temp files, .git). */
export function isHidden(name: string): boolean {
  return name.startsWith('.');
}

function inside(dir: string, path: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

export class Sandbox {
  private constructor(readonly roots: DataRoot[]) {}

  /**
   * Roots from folders; names default to the folder's base name, made unique with a suffix. Missing folders are
   * created only when writable (the upload folder); a missing read-only root is an error naming it.
   */
  static async create(specs: { dir: string; name?: string; writable?: boolean }[]): Promise<Sandbox> {
    const roots: DataRoot[] = [];
    for (const spec of specs) {
      const wanted = resolve(spec.dir);
      if (spec.writable) await mkdir(wanted, { recursive: true });
      let dir: string;
      try {
        dir = await realpath(wanted);
      } catch {
        throw new Error(`data root ${wanted} does not exist`);
      }
      if (!(await stat(dir)).isDirectory()) throw new Error(`data root ${wanted} is not a folder`);
      if (roots.some((r) => r.dir === dir)) continue;
      let base = (spec.name ?? basename(dir)).replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[.-]+/, '') || 'root';
      if (!ROOT_NAME.test(base)) base = 'root';
      let name = base;
      for (let k = 2; roots.some((r) => r.name === name); k++) name = `${base}-${k}`;
      roots.push({ name, dir, writable: Boolean(spec.writable) });
    }
    return new Sandbox(roots);
  }

  root(name: string): DataRoot | undefined {
    return this.roots.find((r) => r.name === name);
  }

  /** Split and check a reference without touching the disk. */
  parse(ref: unknown, what = 'path'): { root: DataRoot; segments: string[] } {
    if (typeof ref !== 'string' || ref.length === 0) throw badRequest(`${what}: expected "<root>/<path>", got ${JSON.stringify(ref)}`);
    if (ref.length > MAX_REF_LENGTH) throw badRequest(`${what}: longer than ${MAX_REF_LENGTH} characters`);
    if (ref.includes('\0')) throw badRequest(`${what}: contains a NUL byte`);
    if (ref.includes('\\')) throw badRequest(`${what}: "${ref}" contains a backslash; separate folders with "/"`);
    if (ref.startsWith('/') || /^[A-Za-z]:/.test(ref)) {
      throw forbidden(`${what}: "${ref}" is an absolute path; name files as "<root>/<path>" inside a data root (${this.names()})`);
    }
    const segments = ref.replace(/\/+$/, '').split('/');
    if (segments.some((s) => s === '..')) throw forbidden(`${what}: "${ref}" contains "..": paths may not leave their data root`);
    if (segments.some((s) => s === '' || s === '.')) throw badRequest(`${what}: "${ref}" has an empty or "." segment`);
    const root = this.root(segments[0]);
    if (!root) throw notFound(`${what}: no data root "${segments[0]}" (roots: ${this.names()})`);
    return { root, segments: segments.slice(1) };
  }

  /** Resolve an existing file or folder; its real path must stay inside its root. */
  async resolveExisting(ref: unknown, what = 'path'): Promise<ResolvedPath> {
    const { root, segments } = this.parse(ref, what);
    const joined = join(root.dir, ...segments);
    let abs: string;
    try {
      abs = await realpath(joined);
    } catch {
      throw notFound(`${what}: "${String(ref)}" does not exist`);
    }
    if (!inside(root.dir, abs)) throw forbidden(`${what}: "${String(ref)}" leads outside its data root (a symlink to another place)`);
    return { root, rel: segments.join('/'), abs, ref: [root.name, ...segments].join('/') };
  }

  /**
   * A path to create in a writable root: its parent must exist inside the root (after symlinks) and the path
   * itself must not be a symlink.
   */
  async resolveForWrite(ref: unknown, what = 'path'): Promise<ResolvedPath> {
    const { root, segments } = this.parse(ref, what);
    if (!root.writable) throw forbidden(`${what}: data root "${root.name}" is read-only`);
    if (segments.length === 0) throw badRequest(`${what}: name a file inside the root`);
    const parent = await realpath(join(root.dir, ...segments.slice(0, -1))).catch(() => {
      throw notFound(`${what}: the folder of "${String(ref)}" does not exist`);
    });
    if (!inside(root.dir, parent)) throw forbidden(`${what}: "${String(ref)}" leads outside its data root`);
    const abs = join(parent, segments[segments.length - 1]);
    const existing = await lstat(abs).catch(() => undefined);
    if (existing?.isSymbolicLink()) throw forbidden(`${what}: "${String(ref)}" is a symlink; refusing to write through it`);
    return { root, rel: segments.join('/'), abs, ref: [root.name, ...segments].join('/') };
  }

  /**
   * Check every entry below a folder the library will walk: any symlink whose target lies outside the root is
   * refused. Dot entries are skipped, as the library skips them.
   */
  async assertTreeInside(p: ResolvedPath, what = 'path', maxEntries = 100_000): Promise<void> {
    let seen = 0;
    const visited = new Set<string>();
    const walk = async (dir: string): Promise<void> => {
      const real = await realpath(dir);
      if (!inside(p.root.dir, real)) throw forbidden(`${what}: "${p.ref}" holds a symlink to a folder outside its data root`);
      if (visited.has(real)) return;
      visited.add(real);
      for (const e of await readdir(dir, { withFileTypes: true })) {
        if (isHidden(e.name)) continue;
        if (++seen > maxEntries) throw new HttpError(413, 'too_large', `${what}: "${p.ref}" has more than ${maxEntries} entries`);
        const path = join(dir, e.name);
        if (e.isSymbolicLink()) {
          const target = await realpath(path).catch(() => undefined);
          if (target === undefined) continue; // dangling: the library cannot open it either
          if (!inside(p.root.dir, target)) throw forbidden(`${what}: "${p.ref}" holds a symlink (${e.name}) to a file outside its data root`);
          if ((await stat(target)).isDirectory()) await walk(path);
        } else if (e.isDirectory()) await walk(path);
      }
    };
    if ((await stat(p.abs)).isDirectory()) await walk(p.abs);
  }

  /** The reference of an absolute path inside a root (for listings), or undefined. */
  refOf(abs: string): string | undefined {
    for (const r of this.roots) {
      if (inside(r.dir, abs)) {
        const rel = abs.slice(r.dir.length).split(sep).filter(Boolean);
        return [r.name, ...rel].join('/');
      }
    }
    return undefined;
  }

  /** Replace absolute root paths in a message by root names, so errors do not reveal the server's layout. */
  redact(message: string): string {
    let out = message;
    for (const r of [...this.roots].sort((a, b) => b.dir.length - a.dir.length)) out = out.split(r.dir).join(r.name);
    return out;
  }

  names(): string {
    return this.roots.map((r) => r.name).join(', ') || 'none';
  }
}
