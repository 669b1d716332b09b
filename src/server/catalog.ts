/**
 * What the data roots hold, for the UI's pickers: feature sets (folders of .npy, .npz, .safetensors), Taskonomy
 * result dicts (.pkl / .json), labelled matrices (.json / .csv / .npy + labels), tournaments (wins JSON, losses
 * CSV). JSON and pickle files are recognised by their content, read through the same library readers that
 * will load them later (results cached per file fingerprint, so a second listing is cheap).
 *
 * The walk is bounded (depth, entry count, file size) and never leaves a root: symlinks are followed only when
 * their target lies inside the same root.
 */
import { open, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, extname, join, relative, sep } from 'node:path';
import { labelledMatrixFromJson } from '../io/labelledMatrix.js';
import { MAX_NPY_HEADER_BYTES, parseNpyHeader } from '../io/npy.js';
import { readResultDict, validateResultDict } from '../io/resultDict.js';
import { resultDictSummary } from '../ops/results.js';
import { parseTournamentsJson } from '../taskonomy/winrates.js';
import { isHidden, type DataRoot, type Sandbox } from './sandbox.js';
import { Lru } from './store.js';

export type FeatureSetFormat = 'dir' | 'npz' | 'safetensors';
export type ResultKind = 'resultDict' | 'matrix' | 'tournaments' | 'losses';

export interface FeatureSetEntry {
  path: string;
  format: FeatureSetFormat;
  /** .npy files directly in the folder (dir format). */
  files?: number;
  bytes: number;
}

export interface ResultEntry {
  path: string;
  kind: ResultKind;
  format: string;
  bytes: number;
  /** Result dicts: number of transfers (keys) and targets. */
  transfers?: number;
  targets?: number;
  /**
   * What the file name says it holds (Taskonomy's naming): affinities, gain (wins_vs_pixels) or quality
   * (wins_vs_task). Only a default for the UI's pickers.
   */
  role?: 'affinities' | 'gain' | 'quality';
}

export interface Catalog {
  roots: { name: string; writable: boolean }[];
  featureSets: FeatureSetEntry[];
  results: ResultEntry[];
  /** Set when a limit stopped the walk early. */
  truncated?: string;
}

const MAX_DEPTH = 6;
const MAX_ENTRIES = 20_000;
/** Larger JSON / pickle files are listed only by extension, never parsed during a listing. */
export const MAX_SNIFF_BYTES = 32 * 1024 * 1024;
const SKIP_DIRS = new Set(['node_modules']);

function roleOf(name: string): ResultEntry['role'] {
  const n = name.toLowerCase();
  if (n.includes('wins_vs_pixels') || n.includes('gain')) return 'gain';
  if (n.includes('wins_vs_task') || n.includes('quality')) return 'quality';
  if (n.includes('affinit')) return 'affinities';
  return undefined;
}

/** A CSV is per-image losses (the `taskmap ahp --losses` format) when its header says so, else a labelled matrix. */
export function csvKind(head: string): 'losses' | 'matrix' {
  const header = head
    .split(/\r?\n/)[0]
    .replace(/^\uFEFF/, '')
    .toLowerCase()
    .replace(/\s/g, '');
  return header === 'target,source,image,loss' ? 'losses' : 'matrix';
}

/** The API reference of a path reached by walking down from a root (symlinks keep the name they are found under). */
function refIn(root: DataRoot, path: string): string {
  return [root.name, ...relative(root.dir, path).split(sep).filter(Boolean)].join('/');
}

const NOT_AN_INPUT =
  'not a Taskonomy result dict {"source__target": number}, a labelled matrix {"rows","cols","matrix"}, tournaments {"<target>": {"sources","wins"}} or a losses CSV (target,source,image,loss)';

/**
 * What a JSON / pickle / CSV / npy file holds, read by the library reader that will load it. Throws — naming the
 * file and the reason — when such a file is unreadable; null when the name says it is no input, or when it is
 * too large to parse just to list it (`size` over MAX_SNIFF_BYTES: pickles are then listed unparsed).
 */
export async function identifyFile(abs: string, size: number): Promise<Omit<ResultEntry, 'path' | 'bytes'> | null> {
  const ext = extname(abs).toLowerCase();
  const name = basename(abs);
  let entry: Omit<ResultEntry, 'path' | 'bytes'> | null = null;
  if (ext === '.pkl' || ext === '.pickle') {
    entry =
      size > MAX_SNIFF_BYTES ? { kind: 'resultDict', format: 'pkl' } : { kind: 'resultDict', format: 'pkl', ...resultDictSummary(await readResultDict(abs)) };
  } else if (ext === '.json' && name !== 'manifest.json' && !name.endsWith('.labels.json') && !name.endsWith('.families.json')) {
    if (size > MAX_SNIFF_BYTES) return null;
    let json: unknown;
    try {
      json = JSON.parse(await readFile(abs, 'utf8'));
    } catch (e) {
      throw new Error(`${name}: not valid JSON (${(e as Error).message})`, { cause: e });
    }
    if (json && typeof json === 'object' && 'matrix' in json) {
      labelledMatrixFromJson(json, name);
      entry = { kind: 'matrix', format: 'json' };
    } else {
      try {
        entry = { kind: 'resultDict', format: 'json', ...resultDictSummary(validateResultDict(json, name)) };
      } catch {
        try {
          parseTournamentsJson(json, name);
        } catch {
          throw new Error(`${name}: ${NOT_AN_INPUT}`);
        }
        entry = { kind: 'tournaments', format: 'json' };
      }
    }
  } else if (ext === '.csv') {
    const fh = await open(abs, 'r');
    try {
      const buf = Buffer.alloc(256);
      const { bytesRead } = await fh.read(buf, 0, 256, 0);
      entry = { kind: csvKind(buf.subarray(0, bytesRead).toString('utf8')), format: 'csv' };
    } finally {
      await fh.close();
    }
  } else if (ext === '.npy') {
    // A matrix only with its labels sidecar; other .npy files are feature-set members.
    const side = await stat(`${abs}.labels.json`).catch(() => undefined);
    if (side?.isFile()) entry = { kind: 'matrix', format: 'npy' };
  }
  if (entry && entry.kind === 'resultDict') {
    const role = roleOf(name);
    if (role) entry.role = role;
  }
  return entry;
}

/**
 * Whether a .npy file (not a labelled matrix with a sidecar) can be a feature-set member: its header must parse
 * and say float (what the feature loader reads) with shape (n_images, n_features, ...). A square 2-d array with a
 * JSON twin of the same name (`rdms.npy` beside `rdms.json`: a matrix saved both ways) is a result, not features,
 * and so are pickled object arrays (the DDS paper's `rdms.npy` / `kernels.npy` dicts). Reads the header only.
 */
export async function isFeatureMember(abs: string, hasJsonTwin: boolean): Promise<boolean> {
  let header;
  try {
    const fh = await open(abs, 'r');
    try {
      const buf = Buffer.alloc(MAX_NPY_HEADER_BYTES + 16);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      header = parseNpyHeader(buf.subarray(0, bytesRead), basename(abs));
    } finally {
      await fh.close();
    }
  } catch {
    return false;
  }
  if (header.type.kind !== 'f' || header.shape.length < 2) return false;
  return !(hasJsonTwin && header.shape.length === 2 && header.shape[0] === header.shape[1]);
}

export class Cataloguer {
  private members = new Lru<string, { fp: string; member: boolean }>(4000);
  private sniffed = new Lru<string, { fp: string; entry: Omit<ResultEntry, 'path' | 'bytes'> | null }>(2000);

  /**
   * `sniff` reads one file to recognise it (default: identifyFile in this thread; the server passes one that
   * reads in a worker, so a hostile file in a data root cannot stall or crash a listing).
   */
  constructor(
    private readonly sandbox: Sandbox,
    private readonly sniff: (abs: string, size: number) => Promise<Omit<ResultEntry, 'path' | 'bytes'> | null> = identifyFile,
  ) {}

  /** Recognise a JSON / pickle / CSV / npy file, or null when it is none of the inputs the API takes. */
  async classify(abs: string, size: number, mtime: number): Promise<Omit<ResultEntry, 'path' | 'bytes'> | null> {
    const fp = `${size}:${mtime}`;
    const hit = this.sniffed.get(abs);
    if (hit && hit.fp === fp) return hit.entry;
    let entry: Omit<ResultEntry, 'path' | 'bytes'> | null;
    try {
      entry = await this.sniff(abs, size);
    } catch {
      entry = null; // not something the API can load: leave it out of the listing
    }
    this.sniffed.set(abs, { fp, entry });
    return entry;
  }

  /** isFeatureMember, remembered per file fingerprint. */
  private async member(abs: string, size: number, mtime: number, hasJsonTwin: boolean): Promise<boolean> {
    const fp = `${size}:${mtime}:${hasJsonTwin}`;
    const hit = this.members.get(abs);
    if (hit && hit.fp === fp) return hit.member;
    const member = await isFeatureMember(abs, hasJsonTwin);
    this.members.set(abs, { fp, member });
    return member;
  }

  async list(): Promise<Catalog> {
    const featureSets: FeatureSetEntry[] = [];
    const results: ResultEntry[] = [];
    let entries = 0;
    let truncated: string | undefined;
    const walk = async (root: DataRoot, dir: string, depth: number, visited: Set<string>): Promise<void> => {
      const real = await realpath(dir).catch(() => undefined);
      if (!real || visited.has(real)) return;
      visited.add(real);
      let items;
      try {
        items = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const names = new Set(items.map((e) => e.name));
      let npyFiles = 0;
      let npyBytes = 0;
      for (const e of items) {
        if (isHidden(e.name)) continue;
        if (++entries > MAX_ENTRIES) {
          truncated = `stopped after ${MAX_ENTRIES} entries`;
          return;
        }
        const path = join(dir, e.name);
        let target = path;
        if (e.isSymbolicLink()) {
          const t = await realpath(path).catch(() => undefined);
          // Symlinks that leave the root are not listed (and would be refused when loaded).
          if (!t || !(t === root.dir || t.startsWith(root.dir + sep))) continue;
          target = t;
        }
        const st = await stat(target).catch(() => undefined);
        if (!st) continue;
        const ref = refIn(root, path);
        if (st.isDirectory()) {
          if (SKIP_DIRS.has(e.name)) continue;
          if (depth < MAX_DEPTH) await walk(root, path, depth + 1, visited);
          else truncated ??= `folders deeper than ${MAX_DEPTH} levels are not listed`;
          continue;
        }
        const ext = extname(e.name).toLowerCase();
        if (ext === '.npz' || ext === '.safetensors') {
          featureSets.push({ path: ref, format: ext === '.npz' ? 'npz' : 'safetensors', bytes: st.size });
          continue;
        }
        const sniffed = await this.classify(target, st.size, st.mtimeMs);
        if (sniffed) results.push({ path: ref, bytes: st.size, ...sniffed });
        else if (ext === '.npy' && (await this.member(target, st.size, st.mtimeMs, names.has(`${e.name.slice(0, -ext.length)}.json`)))) {
          // Folders of matrices (a square .npy with its JSON twin, pickled object arrays) are not feature sets.
          npyFiles++;
          npyBytes += st.size;
        }
      }
      if (npyFiles > 0) featureSets.push({ path: refIn(root, dir), format: 'dir', files: npyFiles, bytes: npyBytes });
    };
    for (const root of this.sandbox.roots) await walk(root, root.dir, 0, new Set());
    featureSets.sort((a, b) => (a.path < b.path ? -1 : 1));
    results.sort((a, b) => (a.path < b.path ? -1 : 1));
    const out: Catalog = { roots: this.sandbox.roots.map((r) => ({ name: r.name, writable: r.writable })), featureSets, results };
    if (truncated) out.truncated = truncated;
    return out;
  }
}
