/**
 * Crash-safe file writes: readers see either the old file or the complete new one, never a prefix; a command with
 * several outputs writes all of them or none.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface OutputFile {
  path: string;
  /** The bytes, or several pieces written one after the other (a header and a large array's own bytes, uncopied). */
  data: string | Uint8Array | readonly Uint8Array[];
}

// Dot-prefixed so directory scans that skip hidden files (loadFeatureSet) never pick up a half-written temp; the
// pid lets a later run tell a temp left by a killed writer from one a live writer is still filling.
const TEMP = /^\.(.+)\.(\d+)\.[0-9a-f]{12}\.tmp$/;

function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove temp files of `path` left behind by writers that were killed between writing and renaming. */
async function removeStaleTemps(path: string): Promise<void> {
  const name = basename(path);
  for (const f of await readdir(dirname(path)).catch(() => [] as string[])) {
    const m = TEMP.exec(f);
    if (m && m[1] === name && !alive(Number(m[2]))) await unlink(join(dirname(path), f)).catch(() => undefined);
  }
}

/** Write `data` to a fresh temp file beside `path` and fsync it, so that a later rename publishes complete bytes. */
async function stage(file: OutputFile): Promise<string> {
  try {
    await mkdir(dirname(file.path), { recursive: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'EEXIST' || err.code === 'ENOTDIR' ? `${err.path ?? dirname(file.path)} is a file, not a folder` : err.message;
    throw new Error(`${file.path}: cannot write it: ${why}`, { cause: e });
  }
  await removeStaleTemps(file.path);
  const tmp = tempPath(file.path);
  let handle;
  try {
    handle = await open(tmp, 'wx');
    // writeFile on a handle writes from its current position, so pieces follow one another.
    for (const piece of Array.isArray(file.data) ? file.data : [file.data]) await handle.writeFile(piece);
    await handle.sync();
    await handle.close();
    return tmp;
  } catch (err) {
    if (handle) await handle.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/**
 * Write `data` to `path` through a temp file in the same directory, then rename it over `path`.
 * Same directory because rename is atomic only within one filesystem. The temp file is fsynced before the
 * rename so a crash cannot leave a renamed-but-empty file, and removed if anything fails. Parent directories are
 * created as needed.
 */
export async function writeFileAtomic(path: string, data: OutputFile['data']): Promise<void> {
  await writeFilesAtomic([{ path, data }]);
}

/**
 * Write several files as one commit: every file is staged (written and fsynced to a temp beside it) before the
 * first rename, so a failure while staging — a full disk, a missing permission, a bad folder — leaves every target
 * as it was. The renames then run in the given order; callers that pair files (a matrix and its labels) put the
 * file that is checked on read last.
 */
export async function writeFilesAtomic(files: OutputFile[]): Promise<void> {
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.path)) throw new Error(`${f.path}: named twice as an output`);
    seen.add(f.path);
  }
  // Staged side by side: each fsync waits on the disk, not the CPU, so a report of many files costs about one.
  const staged = await Promise.allSettled(files.map(stage));
  const temps = staged.map((r) => (r.status === 'fulfilled' ? r.value : ''));
  const failed = staged.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  try {
    if (failed) throw failed.reason;
    for (let i = 0; i < files.length; i++) {
      await rename(temps[i], files[i].path);
      temps[i] = '';
    }
  } catch (err) {
    await Promise.all(temps.filter(Boolean).map((t) => unlink(t).catch(() => undefined)));
    if (files.length > 1 && failed) (err as Error).message += '; no output was written';
    throw err;
  }
}
