/**
 * The probe image set: the image files of a folder (recursively, in a fixed order) with content hashes, so that
 * cached features can be matched to images by content rather than by name or modification time.
 */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { readInputFile } from '../io/input.js';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'];

export interface ImageFile {
  /** Path relative to the image folder, with '/' separators (the image's id in manifests). */
  path: string;
  /** Absolute path. */
  abs: string;
  /** sha256 of the file bytes, hex. */
  sha256: string;
}

export function isImageFile(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((e) => lower.endsWith(e));
}

/**
 * Image files under `dir` (dot entries skipped), sorted by relative path in code-point order so the row order of
 * every feature matrix is the same on every machine. Throws if the folder is missing or holds no images.
 */
export async function listImages(dir: string): Promise<ImageFile[]> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new Error(`${dir}: not a directory; --images needs a folder of JPEG/PNG/WebP images`);
  const paths: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if ((e.isFile() || e.isSymbolicLink()) && isImageFile(e.name)) paths.push(p);
    }
  };
  await walk(dir);
  if (paths.length === 0) throw new Error(`${dir}: no images found (looked for ${IMAGE_EXTENSIONS.join(', ')}, recursively)`);
  const rel = paths.map((p) => ({ abs: p, path: relative(dir, p).split(sep).join('/') }));
  rel.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  // Bounded: a folder of thousands of large photos would otherwise be read into memory all at once.
  const limit = pLimit(16);
  return Promise.all(rel.map((r) => limit(async () => ({ ...r, sha256: hashBytes(await readInputFile(r.abs, 'an image')) }))));
}

export function hashBytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Throws when the bytes are not a decodable image (corrupt, truncated, unsupported); cheap (shrink-on-load). */
export async function checkImage(bytes: Uint8Array): Promise<void> {
  await sharp(bytes).resize(8, 8, { fit: 'fill' }).raw().toBuffer();
}
