/**
 * `manifest.json` of an extracted feature set: which model, layer, reduction and preprocessing produced each
 * `.npy`, and the ordered image list (with content hashes) its rows follow. It doubles as the cache index: an
 * entry's `key` hashes everything that determines its values except the images, so a later run can reuse rows
 * image by image.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { pathInside } from '../io/paths.js';
import type { FeatureLayout, ModelFormat, Preprocessing } from './types.js';
import { readInputText } from '../io/input.js';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'taskmap-features';
export const MANIFEST_VERSION = 1;

export interface ManifestImage {
  path: string;
  sha256: string;
}

export interface ManifestEntry {
  /** Feature-set label: the file is `<label>.npy` (labels with '/' live in subfolders). */
  label: string;
  file: string;
  model: {
    id: string;
    ref: string;
    source: string;
    format: ModelFormat;
    fingerprint: string;
    /** Zoo task family, for zoo models. */
    family?: string;
  };
  layer: string;
  /** The --tap text (name or pattern) that selected this layer. */
  request: string;
  reduce: string;
  featureLayout: FeatureLayout;
  preprocessing: Preprocessing;
  /** Array shape, images first. */
  shape: number[];
  /** Digest of the image list its rows follow (= imagesDigest(manifest.images.files) once up to date). */
  imagesDigest: string;
  key: string;
  /** Mean inference time per image when computed (ms, single thread). */
  msPerImage?: number;
  updated: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  tool: string;
  updated: string;
  images: {
    /** The folder as given (absolute). */
    root: string;
    files: ManifestImage[];
    skipped: { path: string; reason: string }[];
  };
  entries: ManifestEntry[];
  /**
   * Image lists of entries not yet recomputed for the current images (only after an interrupted run on a changed
   * image set): digest → list. Their rows are still reused by hash.
   */
  previousImages?: Record<string, ManifestImage[]>;
}

export function imagesDigest(files: ManifestImage[]): string {
  const h = createHash('sha256');
  for (const f of files) h.update(`${f.sha256}\n`);
  return h.digest('hex');
}

/** The cache key of one entry: everything that fixes its values except the images. */
export function entryKey(parts: {
  fingerprint: string;
  preprocessing: Preprocessing | { inferredWith: Partial<Preprocessing> };
  layer: string;
  reduce: string;
  featureLayout: FeatureLayout;
  extraInputs?: Record<string, number>;
  runtime?: string;
}): string {
  const canonical = JSON.stringify(parts, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
  return createHash('sha256').update(canonical).digest('hex');
}

/** The previous manifest, or undefined when there is none (or it is from an incompatible version). */
export async function readManifest(dir: string): Promise<Manifest | undefined> {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) return undefined;
  const text = await readInputText(path, 'the extraction manifest');
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch (e) {
    throw new Error(`${join(dir, MANIFEST_FILE)}: corrupt (${(e as Error).message}); delete it to recompute the features from scratch`, { cause: e });
  }
  if (!m || typeof m !== 'object' || m.format !== MANIFEST_FORMAT || m.version !== MANIFEST_VERSION) return undefined;
  checkManifest(m, join(dir, MANIFEST_FILE));
  return m;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * The manifest is an index that extraction acts on (it reads, rewrites and deletes the files it names), so its
 * shape is checked before any of it is used: every file it names must lie inside its folder, and every field
 * the cache logic relies on must have its type. A hand-edited or crafted manifest is refused, never followed.
 */
function checkManifest(m: Manifest, where: string): void {
  const fail = (what: string): never => {
    throw new Error(`${where}: ${what}; delete it to recompute the features from scratch`);
  };
  const checkImages = (list: unknown, what: string) => {
    if (!Array.isArray(list)) fail(`${what} is not a list`);
    (list as unknown[]).forEach((f, i) => {
      const img = f as Partial<ManifestImage> | null;
      if (!img || typeof img.path !== 'string' || typeof img.sha256 !== 'string' || !HEX64.test(img.sha256)) fail(`${what}[${i}] is not {path, sha256}`);
    });
  };
  if (!m.images || typeof m.images !== 'object') fail('no "images" record');
  checkImages(m.images.files, 'images.files');
  if (!Array.isArray(m.entries)) fail('"entries" is missing or not a list');
  m.entries.forEach((e, i) => {
    const what = `entries[${i}]`;
    if (!e || typeof e !== 'object') fail(`${what} is not an object`);
    if (typeof e.label !== 'string' || e.label.length === 0) fail(`${what}.label is not a non-empty string`);
    try {
      pathInside('.', e.file, `${what}.file`);
    } catch (err) {
      fail((err as Error).message.replace(/; refusing.*$/, ''));
    }
    if (!e.file.endsWith('.npy')) fail(`${what}.file "${e.file.slice(0, 200)}" is not a .npy file`);
    if (typeof e.key !== 'string' || !HEX64.test(e.key)) fail(`${what}.key is not a sha256 hex digest`);
    if (typeof e.imagesDigest !== 'string' || !HEX64.test(e.imagesDigest)) fail(`${what}.imagesDigest is not a sha256 hex digest`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`${what}.shape is not a list of sizes`);
  });
  if (m.previousImages !== undefined) {
    if (!m.previousImages || typeof m.previousImages !== 'object') fail('"previousImages" is not a record');
    for (const [digest, list] of Object.entries(m.previousImages)) {
      if (!HEX64.test(digest)) fail(`previousImages key "${digest.slice(0, 80)}" is not a sha256 hex digest`);
      checkImages(list, `previousImages.${digest.slice(0, 12)}…`);
    }
  }
}

export async function writeManifest(dir: string, m: Manifest): Promise<void> {
  await writeFileAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify(m, null, 1)}\n`);
}
