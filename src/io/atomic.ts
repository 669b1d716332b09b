/**
 * Crash-safe file writes: readers see either the old file or the complete new one, never a prefix.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Write `data` to `path` through a temp file in the same directory, then rename it over `path`.
 * Same directory because rename is atomic only within one filesystem. The temp file is fsynced before the
 * rename so a crash cannot leave a renamed-but-empty file, and removed if anything fails. Parent directories are
 * created as needed.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  // Dot-prefixed so directory scans that skip hidden files (loadFeatureSet) never pick up a half-written temp.
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle;
  try {
    handle = await open(tmp, 'wx');
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tmp, path);
  } catch (err) {
    if (handle) await handle.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
