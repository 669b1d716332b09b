/**
 * Loaded inputs kept in memory between requests, keyed by real path and invalidated by a fingerprint (size,
 * mtime, inode of every file involved). The live policy view re-solves on every slider move; re-reading and
 * re-unpickling a 190 KB Taskonomy file each time would cost more than the solve. Feature sets keep their
 * PreparedCache alive with them, so switching back to a measure already computed on a set is free.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { loadFeatureSet } from '../features/featureSet.js';
import type { FeatureSet } from '../features/types.js';
import { readLabelledMatrix } from '../io/labelledMatrix.js';
import { readInputText } from '../io/input.js';
import { readResultDict } from '../io/resultDict.js';
import type { LabelledMatrix } from '../linalg/labelled.js';
import { PreparedCache } from '../measures/similarity.js';
import type { ResultDict } from '../taskonomy/results.js';
import { tournamentsFromText, type Tournament } from '../ops/ahp.js';
import { HttpError } from './errors.js';
import { isHidden, type ResolvedPath, type Sandbox } from './sandbox.js';

/** Bounded map that forgets the least recently used entry. */
export class Lru<K, V> {
  private map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }
  delete(key: K): void {
    this.map.delete(key);
  }
}

/** Size/mtime/inode of a file, or of every file below a folder (dot entries skipped, as the loaders skip them). */
export async function fingerprint(abs: string): Promise<string> {
  const st = await stat(abs);
  if (!st.isDirectory()) return `${st.size}:${st.mtimeMs}:${st.ino}`;
  const parts: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => !isHidden(e.name)).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const path = join(dir, e.name);
      const s = await stat(path).catch(() => undefined);
      if (!s) continue;
      if (s.isDirectory()) {
        if (parts.length < 100_000) await walk(path, `${rel}${e.name}/`);
      } else parts.push(`${rel}${e.name}:${s.size}:${s.mtimeMs}:${s.ino}`);
    }
  };
  await walk(abs, '');
  return parts.join('|');
}

export interface LoadedFeatureSet {
  set: FeatureSet;
  cache: PreparedCache;
  /** Task family per member label, when the set carries them (zoo manifest or families.json). */
  families: Record<string, string> | null;
  fingerprint: string;
}

/**
 * Families of a feature set's members, if it says: the zoo extraction manifest (`manifest.json`, entries with
 * `label` and `model.family`), or a `families.json` {label: family} in the folder, or `<file>.families.json`
 * beside a .npz / .safetensors file. Unreadable or malformed side files are ignored: families only colour plots.
 */
export async function readFamilies(p: ResolvedPath, sandbox: Sandbox): Promise<Record<string, string> | null> {
  const isDir = (await stat(p.abs)).isDirectory();
  const candidates = isDir ? [join(p.abs, 'manifest.json'), join(p.abs, 'families.json')] : [join(dirname(p.abs), `${basename(p.abs)}.families.json`)];
  for (const file of candidates) {
    // The side file must itself be inside the root (it could be a symlink).
    const ref = sandbox.refOf(file);
    if (!ref) continue;
    let resolved: ResolvedPath;
    try {
      resolved = await sandbox.resolveExisting(ref);
    } catch {
      continue;
    }
    let json: unknown;
    try {
      const st = await stat(resolved.abs);
      if (st.size > 16 * 1024 * 1024) continue;
      json = JSON.parse(await readFile(resolved.abs, 'utf8'));
    } catch {
      continue;
    }
    const out: Record<string, string> = {};
    if (basename(file) === 'manifest.json') {
      const entries = (json as { entries?: unknown }).entries;
      if (!Array.isArray(entries)) continue;
      for (const e of entries as { label?: unknown; model?: { family?: unknown } }[]) {
        if (typeof e?.label === 'string' && typeof e.model?.family === 'string') out[e.label] = e.model.family;
      }
    } else if (json && typeof json === 'object' && !Array.isArray(json)) {
      for (const [k, v] of Object.entries(json)) if (typeof v === 'string') out[k] = v;
    }
    if (Object.keys(out).length > 0) return out;
  }
  return null;
}

/** How the store parses files; the server passes readers that run in its reads worker (see app.ts). */
export interface StoreReaders {
  resultDict(abs: string, ref: string): Promise<ResultDict>;
  matrix(abs: string, ref: string): Promise<LabelledMatrix>;
  tournaments(abs: string, ref: string): Promise<Tournament[]>;
}

/** The readers run in this process (the workers' own store, and tests). */
export const IN_PROCESS_READERS: StoreReaders = {
  resultDict: (abs) => readResultDict(abs),
  matrix: (abs) => readLabelledMatrix(abs),
  tournaments: async (abs, ref) =>
    tournamentsFromText(await readInputText(abs, 'a tournaments file'), extname(abs).toLowerCase() === '.csv' ? 'losses' : 'wins', ref),
};

export class Store {
  private featureSets = new Lru<string, { fp: string; value: Promise<LoadedFeatureSet> }>(4);
  private dicts = new Lru<string, { fp: string; value: Promise<ResultDict> }>(48);
  private matrices = new Lru<string, { fp: string; value: Promise<LabelledMatrix> }>(16);
  private tournaments = new Lru<string, { fp: string; value: Promise<Tournament[]> }>(8);

  constructor(
    private readonly sandbox: Sandbox,
    private readonly readers: StoreReaders = IN_PROCESS_READERS,
  ) {}

  private async cached<T>(lru: Lru<string, { fp: string; value: Promise<T> }>, p: ResolvedPath, load: (fp: string) => Promise<T>): Promise<T> {
    const fp = await fingerprint(p.abs);
    const hit = lru.get(p.abs);
    if (hit && hit.fp === fp) return hit.value;
    const value = load(fp);
    lru.set(p.abs, { fp, value });
    // A failed load is not remembered: the user may fix the file and retry.
    value.catch(() => lru.delete(p.abs));
    return value;
  }

  async featureSet(p: ResolvedPath): Promise<LoadedFeatureSet> {
    await this.sandbox.assertTreeInside(p, 'featureSet');
    return this.cached(this.featureSets, p, async (fp) => ({
      set: await loadFeatureSet(p.abs),
      cache: new PreparedCache(),
      families: await readFamilies(p, this.sandbox),
      fingerprint: fp,
    }));
  }

  resultDict(p: ResolvedPath): Promise<ResultDict> {
    return this.cached(this.dicts, p, () => this.readers.resultDict(p.abs, p.ref));
  }

  async matrix(p: ResolvedPath): Promise<LabelledMatrix> {
    if (extname(p.abs).toLowerCase() === '.npy') {
      // The labels live in a sidecar that must not lead outside the root either.
      await this.sandbox.resolveExisting(`${p.ref}.labels.json`, 'labels sidecar').catch((e: HttpError) => {
        if (e.statusCode === 404) throw new HttpError(422, 'unprocessable', `${p.ref}: a .npy matrix needs its labels in ${p.ref}.labels.json`);
        throw e;
      });
    }
    return this.cached(this.matrices, p, () => this.readers.matrix(p.abs, p.ref));
  }

  /** Tournament matrices from a wins JSON ({target: {sources, wins}}) or a per-image losses CSV. */
  tournamentsOf(p: ResolvedPath): Promise<Tournament[]> {
    return this.cached(this.tournaments, p, () => this.readers.tournaments(p.abs, p.ref));
  }
}
