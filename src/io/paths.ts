/**
 * Paths that come from inside files (manifests, sidecars, labels) are data, not trust: a crafted manifest must not
 * make taskmap read, overwrite or delete anything outside the folder that holds it.
 */
import { isAbsolute, join, relative, resolve } from 'node:path';

/**
 * Why `rel` cannot name a file inside its folder, or undefined when it can: a non-empty relative path of
 * '/'-separated parts, none empty, '.', '..' or hidden, with no backslash or NUL (so it means the same on every
 * platform and never reaches a temp file or the parent folder).
 */
export function unsafeRelativePath(rel: unknown): string | undefined {
  if (typeof rel !== 'string' || rel.length === 0) return 'not a non-empty string';
  if (rel.includes('\0')) return 'contains a NUL byte';
  if (rel.includes('\\')) return 'contains a backslash';
  if (isAbsolute(rel) || /^[A-Za-z]:/.test(rel)) return 'is an absolute path';
  const parts = rel.split('/');
  if (parts.some((p) => p === '..')) return 'leaves its folder ("..")';
  if (parts.some((p) => p === '' || p === '.')) return 'has an empty or "." part';
  if (parts.some((p) => p.startsWith('.'))) return 'names a hidden file or folder';
  return undefined;
}

/**
 * `dir/rel` after checking that `rel` stays inside `dir`; `what` says where the path came from, for the error.
 * The final check on the resolved path guards against anything the syntactic rules above missed.
 */
export function pathInside(dir: string, rel: unknown, what: string): string {
  const why = unsafeRelativePath(rel);
  if (why) throw new Error(`${what}: ${JSON.stringify(String(rel)).slice(0, 200)} ${why}; refusing to use it as a file under ${dir}`);
  const abs = resolve(join(dir, rel as string));
  const r = relative(resolve(dir), abs);
  if (r === '' || r.startsWith('..') || isAbsolute(r)) throw new Error(`${what}: "${String(rel)}" resolves outside ${dir}`);
  return abs;
}
