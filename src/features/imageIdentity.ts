/**
 * Image identity: which probe image each row of a representation is, so that representations computed on
 * different images are refused instead of compared (docs/formats.md#image-identity).
 *
 * Ids are strings, one per row, in row order:
 *   - the image's SHA-256 (64 lowercase hex digits) — from an extraction's `manifest.json`, or from an images list
 *     that names image files or gives hashes. Content hashes are the robust identity: the same photo under another
 *     name or folder is the same image;
 *   - otherwise the names an images list gives (compared as they are).
 * Two id lists of the same kind must be equal, position by position; lists of different kinds (hashes against
 * names) cannot be compared and count as unknown.
 *
 * Unknown identity (no ids on one side or both) keeps today's behaviour — the representations are compared by
 * position — but when the two sides come from different feature sets (their `origin`) a warning says so, once
 * per pair of origins, through `process.emitWarning` (type `TaskmapWarning`, code `TASKMAP_IMAGE_IDS`), which
 * the CLI prints to stderr. Representations of one feature set without ids are trusted to share their images,
 * as before.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { displayPath, readInputFile, readInputText } from '../io/input.js';
import { imagesDigest, readManifest, MANIFEST_FILE, type Manifest, type ManifestImage } from '../models/manifest.js';
import type { FeatureLayout } from '../models/types.js';
import type { Representation, RepresentationInfo } from './types.js';

/** Image ids and where they came from (for messages). */
export interface ImageList {
  ids: string[];
  /** The manifest or list file the ids were read from. */
  from: string;
}

export const IMAGE_WARNING_TYPE = 'TaskmapWarning';
export const IMAGE_WARNING_CODE = 'TASKMAP_IMAGE_IDS';

const SHA256 = /^[0-9a-f]{64}$/;

/** True when every id is a content hash (SHA-256 hex). */
function isContentList(ids: readonly string[]): boolean {
  return ids.every((id) => SHA256.test(id));
}

/** An id as it appears in messages: hashes shortened to 12 digits, long names cut. */
export function shortId(id: string): string {
  if (SHA256.test(id)) return `${id.slice(0, 12)}…`;
  const shown = displayPath(id);
  return shown.length > 48 ? `"${shown.slice(0, 47)}…"` : `"${shown}"`;
}

const warned = new Set<string>();

/** Emit an image-identity warning, once per key per process (bootstrap draws and server calls repeat checks). */
export function warnImageIdentity(message: string, key = message): void {
  if (warned.has(key)) return;
  if (warned.size > 10_000) warned.clear();
  warned.add(key);
  process.emitWarning(message, { type: IMAGE_WARNING_TYPE, code: IMAGE_WARNING_CODE });
}

/** How a representation is named in identity messages: its source, and where its ids came from. */
function describe(r: RepresentationInfo): string {
  return r.images ? `${r.source} (images from ${r.imagesFrom ?? 'its image list'})` : r.source;
}

/** Short names that tell two representations apart: their labels, else their sources, else their id lists' files. */
function distinctNames(a: RepresentationInfo, b: RepresentationInfo): [string, string] {
  if (a.label !== b.label) return [a.label, b.label];
  if (a.source !== b.source) return [a.source, b.source];
  return [a.imagesFrom ?? a.label, b.imagesFrom ?? b.label];
}

/**
 * Why two id lists are not the same images, or undefined when they are: the counts, the same images in another
 * order, or the first differing row with both ids.
 */
function idDifference(a: readonly string[], b: readonly string[], nameA: string, nameB: string): string | undefined {
  if (a.length !== b.length) return `${nameA} has ${a.length} images but ${nameB} has ${b.length}`;
  const k = a.findIndex((id, i) => id !== b[i]);
  if (k < 0) return undefined;
  const sa = [...a].sort();
  const sb = [...b].sort();
  const reordered = sa.every((id, i) => id === sb[i]);
  const what = reordered ? 'the same images in a different order' : 'different images';
  return `${what}: row ${k} is ${shortId(a[k])} in ${nameA} but ${shortId(b[k])} in ${nameB}`;
}

/**
 * Check that two representations are computed on the same images in the same order, as far as their ids tell.
 * Ids of the same kind that differ → an error naming both sides, the counts or the first differing row.
 * Returns 'same' when the ids prove it, 'unknown' otherwise (missing ids, or ids of different kinds). Warns
 * (once per pair of origins) when identity is unknown and the two come from different feature sets.
 */
export function checkSameImages(a: RepresentationInfo, b: RepresentationInfo, context = 'compared'): 'same' | 'unknown' {
  if (a.images && b.images) {
    if (isContentList(a.images) === isContentList(b.images)) {
      const [nameA, nameB] = distinctNames(a, b);
      const diff = idDifference(a.images, b.images, nameA, nameB);
      if (diff) {
        throw new Error(
          `${context}: ${describe(a)} and ${describe(b)} are not computed on the same images — ${diff}; ` +
            "every representation compared must be computed on the same probe images in the same order (re-extract one of them on the other's images)",
        );
      }
      return 'same';
    }
    if (a.origin !== undefined && b.origin !== undefined && a.origin !== b.origin) {
      const [x, y] = isContentList(a.images) ? [a, b] : [b, a];
      warnImageIdentity(
        `${context}: image identity of ${y.source} cannot be checked against ${x.source}: ${x.label} names its images by content hash (${x.imagesFrom}), ` +
          `${y.label} by name (${y.imagesFrom}); list image files or their SHA-256 in --images-list to compare by content`,
        `kinds|${[a.origin, b.origin].sort().join('|')}`,
      );
    }
    return 'unknown';
  }
  if (a.origin !== undefined && b.origin !== undefined && a.origin !== b.origin) {
    const unknown = [a, b].filter((r) => !r.images);
    warnImageIdentity(
      `${context}: ${a.origin} and ${b.origin} are different feature sets of ${a.n} images, and ` +
        `${unknown.length > 1 ? `neither ${a.label} nor ${b.label} carries image ids` : `${unknown[0].label} carries no image ids`}, so taskmap cannot check that their rows are the same images in the same order; ` +
        'extract with `taskmap extract` (manifest.json) or pass --images-list to check it',
      `unknown|${[a.origin, b.origin].sort().join('|')}`,
    );
  }
  return 'unknown';
}

/**
 * Check a list of representations that meet in one computation (a similarity matrix, candidates and a target):
 * each against the first of its origin and kind that carries ids, and against every other origin.
 */
export function checkImageIds(reps: readonly RepresentationInfo[], context = 'compared'): void {
  const firstKnown: RepresentationInfo[] = [];
  const firstOfOrigin = new Map<string | undefined, RepresentationInfo>();
  for (const r of reps) {
    if (r.images) {
      const kind = isContentList(r.images);
      const ref = firstKnown.find((k) => isContentList(k.images!) === kind);
      if (ref) checkSameImages(ref, r, context);
      else {
        for (const k of firstKnown) checkSameImages(k, r, context); // ids of different kinds: warns
        firstKnown.push(r);
      }
    }
    if (!firstOfOrigin.has(r.origin)) firstOfOrigin.set(r.origin, r);
  }
  // Unknown identity across origins: one warning per pair of origins.
  const origins = [...firstOfOrigin.values()];
  for (let i = 0; i < origins.length; i++) {
    for (let j = i + 1; j < origins.length; j++) {
      const a = reps.find((r) => r.origin === origins[i].origin && !r.images) ?? origins[i];
      const b = reps.find((r) => r.origin === origins[j].origin && !r.images) ?? origins[j];
      if (!a.images || !b.images) checkSameImages(a, b, context);
    }
  }
}

/**
 * Record the feature set `rep` was loaded from. Non-enumerable, like a tag rather than data: equality checks and
 * JSON of representations are as before, and a spread copy (`{...rep, data}`) is a new, anonymous representation.
 */
export function setOrigin(rep: RepresentationInfo, origin: string): void {
  Object.defineProperty(rep, 'origin', { value: origin, enumerable: false, writable: true, configurable: true });
}

/** The ids of rows `indices` (a row subset or reordering), or undefined without ids. */
export function subsetImageIds(ids: readonly string[] | undefined, indices: ArrayLike<number>): string[] | undefined {
  return ids ? Array.from(indices as ArrayLike<number>, (i) => ids[i]) : undefined;
}

/**
 * The identity fields of `rep` (and its recorded feature layout, which a row subset keeps) for a representation
 * of its rows `indices` (spread it into the new object).
 */
export function subsetIdentity(rep: Representation, indices: ArrayLike<number>): Pick<Representation, 'images' | 'imagesFrom' | 'origin' | 'featureLayout'> {
  const out: Pick<Representation, 'images' | 'imagesFrom' | 'origin' | 'featureLayout'> = {};
  if (rep.featureLayout) out.featureLayout = rep.featureLayout;
  if (rep.images) out.images = subsetImageIds(rep.images, indices);
  if (rep.imagesFrom !== undefined) out.imagesFrom = rep.imagesFrom;
  if (rep.origin !== undefined) out.origin = rep.origin;
  return out;
}

/**
 * Give `rep` the ids of `list`: a representation without ids takes them (its row count must match); one with ids
 * is checked against them. Mutates `rep`.
 */
export function applyImageList(rep: RepresentationInfo, list: ImageList | undefined): void {
  if (!list) return;
  if (rep.images) {
    if (isContentList(rep.images) !== isContentList(list.ids)) {
      warnImageIdentity(
        `${list.from}: names images, but ${rep.source} has content hashes from ${rep.imagesFrom}; the list is not used for it (list the image files or their SHA-256 to check them)`,
        `list|${list.from}|${rep.imagesFrom}`,
      );
      return;
    }
    const diff = idDifference(rep.images, list.ids, rep.imagesFrom ?? rep.label, list.from);
    if (diff) throw new Error(`${rep.source}: its images are not those of the images list — ${diff}`);
    return;
  }
  if (list.ids.length !== rep.n) {
    throw new Error(`${list.from}: lists ${list.ids.length} images, but ${rep.source} has ${rep.n} rows (one entry per image, in row order)`);
  }
  rep.images = list.ids;
  rep.imagesFrom = list.from;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/**
 * Read an images list: a text file with one image per line (blank lines skipped), or JSON — a list of strings,
 * a list of `{sha256}` / `{path}` objects, or an extraction manifest (its `images.files`). Each entry becomes an
 * id: a SHA-256 (64 hex digits) as it is; a path to an existing image file (relative to the list's folder, or
 * absolute) the SHA-256 of its bytes, so it matches an extraction of the same photos; anything else the name
 * itself. Undefined in, undefined out (for optional CLI flags).
 */
export async function readImagesList(path: string | undefined): Promise<ImageList | undefined> {
  if (path === undefined) return undefined;
  const text = (await readInputText(path, 'an images list')).replace(/^\uFEFF/, '');
  const base = dirname(path);
  let entries: unknown[];
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`${path}: not valid JSON (${(e as Error).message}); an images list is one image per line, or a JSON list`, { cause: e });
    }
    const files = (json as Partial<Manifest> | null)?.images?.files;
    entries = Array.isArray(json) ? json : Array.isArray(files) ? files : [];
    if (!Array.isArray(json) && !Array.isArray(files)) throw new Error(`${path}: expected a JSON list of images (or an extraction manifest)`);
  } else {
    entries = text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l.length > 0);
  }
  if (entries.length === 0) throw new Error(`${path}: lists no images`);
  const ids: string[] = [];
  for (const [i, e] of entries.entries()) {
    const obj = e as Partial<ManifestImage> | null;
    if (obj && typeof obj === 'object' && typeof obj.sha256 === 'string' && SHA256.test(obj.sha256.toLowerCase())) {
      ids.push(obj.sha256.toLowerCase());
      continue;
    }
    const name = typeof e === 'string' ? e : obj && typeof obj === 'object' && typeof obj.path === 'string' ? obj.path : undefined;
    if (name === undefined || name.length === 0) throw new Error(`${path}: entry ${i + 1} is not an image name, path or {sha256}`);
    if (SHA256.test(name.toLowerCase())) ids.push(name.toLowerCase());
    else {
      const file = isAbsolute(name) ? name : join(base, name);
      ids.push((await isFile(file)) ? sha256Hex(await readInputFile(file, 'an image')) : name);
    }
  }
  return { ids, from: path };
}

/**
 * The image ids of the members of an extracted folder, from its `manifest.json`: label → ids. An entry's rows
 * follow `images.files` when its `imagesDigest` is that list's digest, else the list of that digest under
 * `previousImages`; an entry with neither, and a member without an entry, get no ids. `layoutByFile` is every
 * entry's recorded feature layout, whatever its images. No manifest (or one of another format) → empty maps; an
 * unreadable one → a warning and empty maps (the features still load).
 */
export async function manifestImageIds(dir: string): Promise<{ byFile: Map<string, string[]>; layoutByFile: Map<string, FeatureLayout>; from: string }> {
  const from = join(dir, MANIFEST_FILE);
  const byFile = new Map<string, string[]>();
  const layoutByFile = new Map<string, FeatureLayout>();
  let m: Manifest | undefined;
  try {
    m = await readManifest(dir);
  } catch (e) {
    warnImageIdentity(`${from}: cannot be read for image identity (${(e as Error).message.split('; delete it')[0]}); the features load without image ids`);
    return { byFile, layoutByFile, from };
  }
  if (!m) return { byFile, layoutByFile, from };
  const current = imagesDigest(m.images.files);
  for (const e of m.entries) {
    layoutByFile.set(e.file, e.featureLayout);
    const list = e.imagesDigest === current ? m.images.files : m.previousImages?.[e.imagesDigest];
    if (list)
      byFile.set(
        e.file,
        list.map((f) => f.sha256),
      );
  }
  return { byFile, layoutByFile, from };
}

/**
 * Give the members of an extracted folder their ids from its manifest. `fileOf(label)` is the member's file
 * relative to `dir`. A manifest that lists a different number of images than the file has rows is an error
 * (the folder is mid-update: re-run the extraction). When some members have ids and others not, a warning
 * names the ones that cannot be checked.
 */
export async function attachManifestImages(dir: string, members: RepresentationInfo[], fileOf: (label: string) => string): Promise<void> {
  const { byFile, layoutByFile, from } = await manifestImageIds(dir);
  for (const m of members) {
    const layout = layoutByFile.get(fileOf(m.label));
    if (layout) m.featureLayout = layout;
  }
  if (byFile.size === 0) return;
  for (const m of members) {
    const ids = byFile.get(fileOf(m.label));
    if (!ids) continue;
    if (ids.length !== m.n) {
      throw new Error(
        `${m.source}: has ${m.n} rows but ${from} lists ${ids.length} images for it; the folder is out of date (an interrupted extraction?) — re-run \`taskmap extract\` on it`,
      );
    }
    m.images = ids;
    m.imagesFrom = from;
  }
  const without = members.filter((m) => !m.images);
  if (without.length > 0 && without.length < members.length) {
    const names =
      without
        .slice(0, 5)
        .map((m) => m.label)
        .join(', ') + (without.length > 5 ? ` (+${without.length - 5} more)` : '');
    warnImageIdentity(
      `${dir}: ${names} ${without.length === 1 ? 'is' : 'are'} not recorded in ${MANIFEST_FILE} for its current images, so ${without.length === 1 ? 'its' : 'their'} image order cannot be checked against the other members`,
    );
  }
}

/**
 * What the extraction manifest records for a single `.npy` file that lies in an extracted folder (the folder of its
 * manifest may be a few levels up when its label has '/'): its image ids and its feature layout, each when known.
 */
export async function manifestOfFile(path: string): Promise<{ images?: ImageList; featureLayout?: FeatureLayout }> {
  const abs = resolve(path);
  let dir = dirname(abs);
  for (let up = 0; up < 4; up++) {
    if (await isFile(join(dir, MANIFEST_FILE))) {
      const { byFile, layoutByFile, from } = await manifestImageIds(dir);
      const rel = relative(dir, abs).split('\\').join('/');
      const ids = byFile.get(rel);
      const featureLayout = layoutByFile.get(rel);
      return { ...(ids ? { images: { ids, from: displayPath(relative(process.cwd(), from) || from) } } : {}), ...(featureLayout ? { featureLayout } : {}) };
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return {};
}
