/**
 * Reading input files safely: only regular files (a FIFO would block forever and /dev/zero never ends), never
 * more than the memory budget, and every error naming the file in a form that survives non-UTF-8 names.
 */
import { open, readFile, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { checkAllocation } from './limits.js';
import { formatCount } from './npy.js';

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A path as it appears in messages. Names that are valid UTF-8 without control characters are shown as they are;
 * anything else is shown in shell ANSI-C quoting, $'…' with \xNN for each bad byte, which is unambiguous and can
 * be pasted into a shell. A string path containing U+FFFD was already decoded lossily (e.g. from argv), so it
 * is quoted too rather than shown as if it were the real name.
 */
export function displayPath(path: string | Buffer): string {
  let text: string | undefined;
  if (typeof path === 'string') text = path;
  else {
    try {
      text = STRICT_UTF8.decode(path);
    } catch {
      text = undefined;
    }
  }
  // eslint-disable-next-line no-control-regex
  if (text !== undefined && !/[\x00-\x1f\x7f\ufffd]/.test(text)) return text;
  const bytes = typeof path === 'string' ? new TextEncoder().encode(path) : path;
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    const len = b < 0x80 ? 1 : b >= 0xf0 && b < 0xf5 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b < 0xe0 ? 2 : 0;
    let ch: string | undefined;
    if (len > 1 && i + len <= bytes.length) {
      try {
        ch = STRICT_UTF8.decode(bytes.subarray(i, i + len));
      } catch {
        ch = undefined;
      }
      if (ch === '\ufffd') ch = undefined;
    }
    if (len === 1 && b >= 0x20 && b < 0x7f) ch = b === 0x27 ? "\\'" : b === 0x5c ? '\\\\' : String.fromCharCode(b);
    if (ch !== undefined) {
      out += ch;
      i += len > 1 ? len : 1;
    } else {
      out += `\\x${b.toString(16).padStart(2, '0')}`;
      i++;
    }
  }
  return `$'${out}'`;
}

/**
 * Check that `path` names a regular file (a symlink to one is fine) and return its stats; errors name it.
 * `what` says what the file was expected to be, for the "no such file" message.
 */
export async function statInputFile(path: string | Buffer, what = 'an input file'): Promise<Stats> {
  const name = displayPath(path);
  let st: Stats;
  try {
    st = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${name}: no such file (expected ${what})`, { cause: e });
    if (code === 'EACCES' || code === 'EPERM') throw new Error(`${name}: permission denied`, { cause: e });
    if (code === 'ELOOP') throw new Error(`${name}: too many levels of symbolic links`, { cause: e });
    throw new Error(`${name}: cannot read it (${(e as Error).message})`, { cause: e });
  }
  if (st.isDirectory()) throw new Error(`${name}: is a directory, not a file (expected ${what})`);
  if (!st.isFile()) {
    const kind = st.isFIFO()
      ? 'a named pipe (FIFO)'
      : st.isCharacterDevice() || st.isBlockDevice()
        ? 'a device'
        : st.isSocket()
          ? 'a socket'
          : 'not a regular file';
    throw new Error(`${name}: is ${kind}, not a regular file; only regular files are read (copy the data to a file first)`);
  }
  return st;
}

/** The bytes of a regular file, refused (before reading) when it is larger than the memory budget. */
export async function readInputFile(path: string | Buffer, what?: string): Promise<Buffer> {
  const name = displayPath(path);
  const st = await statInputFile(path, what);
  checkAllocation(`reading this ${formatCount(st.size)}-byte file`, st.size, name);
  try {
    return await readFile(path);
  } catch (e) {
    throw new Error(`${name}: cannot read it (${(e as Error).message})`, { cause: e });
  }
}

/**
 * A read buffer that serves many files one after the other (readInputFileInto). Fresh memory costs a page fault per
 * 4 KiB on first touch (on a virtual machine about as much as reading the bytes), so a loop over many similar files
 * reads them all into one allocation instead of one each.
 */
export interface ReadBuffer {
  bytes?: Buffer;
}

/**
 * readInputFile into `buffer`, grown when a file needs more. The result is a view on the buffer: it is valid until the
 * next read into the same buffer, so the caller must be done with a file's bytes (and anything viewing them) first.
 */
export async function readInputFileInto(path: string | Buffer, buffer: ReadBuffer, what?: string): Promise<Buffer> {
  const name = displayPath(path);
  const st = await statInputFile(path, what);
  checkAllocation(`reading this ${formatCount(st.size)}-byte file`, st.size, name);
  if (!buffer.bytes || buffer.bytes.length < st.size) {
    buffer.bytes = undefined; // let the old one go before the new one is allocated
    buffer.bytes = Buffer.allocUnsafeSlow(st.size);
  }
  const out = buffer.bytes.subarray(0, st.size);
  try {
    const got = await readFully(path, out);
    if (got < st.size) throw new Error(`it shrank from ${formatCount(st.size)} to ${formatCount(got)} bytes while being read`);
  } catch (e) {
    throw new Error(`${name}: cannot read it (${(e as Error).message})`, { cause: e });
  }
  return out;
}

/** Fill `out` from the start of the file; a file that shrank meanwhile is an error (its size was checked before). */
async function readFully(path: string | Buffer, out: Uint8Array): Promise<number> {
  const fh = await open(path, 'r');
  try {
    let done = 0;
    while (done < out.length) {
      const { bytesRead } = await fh.read(out, done, out.length - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  } finally {
    await fh.close();
  }
}

/**
 * The first `max` bytes of a regular file (or all of a shorter one) — a header, without reading the rest — and the
 * file's size.
 */
export async function readInputHead(path: string | Buffer, max: number, what?: string): Promise<{ head: Buffer; size: number }> {
  const name = displayPath(path);
  const st = await statInputFile(path, what);
  const head = Buffer.alloc(Math.min(max, st.size));
  try {
    return { head: head.subarray(0, await readFully(path, head)), size: st.size };
  } catch (e) {
    throw new Error(`${name}: cannot read it (${(e as Error).message})`, { cause: e });
  }
}

/** readInputFile decoded as UTF-8 text. */
export async function readInputText(path: string | Buffer, what?: string): Promise<string> {
  return (await readInputFile(path, what)).toString('utf8');
}
