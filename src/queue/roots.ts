/**
 * A worker's roots (`taskmap worker --root DIR`, repeatable): the only folders it reads from or writes to. Every
 * path a job names is resolved through symbolic links and must lie inside one of them; anything else is refused
 * (the job fails without a retry), so a forged job cannot make a worker read or overwrite files elsewhere.
 */
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';

export class Roots {
  private constructor(readonly dirs: string[]) {}

  /** The roots as real paths; each must be an existing folder. */
  static async of(dirs: string[]): Promise<Roots> {
    if (dirs.length === 0) throw new Error('give at least one --root: the shared folder(s) jobs may read and write');
    const real: string[] = [];
    for (const d of dirs) {
      const st = await stat(d).catch(() => undefined);
      if (!st?.isDirectory()) throw new Error(`--root ${d}: not an existing folder`);
      real.push(await realpath(d));
    }
    return new Roots(real);
  }

  private inside(real: string): boolean {
    return this.dirs.some((root) => {
      const r = relative(root, real);
      return r === '' || (!r.startsWith('..') && !isAbsolute(r));
    });
  }

  private refuse(what: string, p: string): Error {
    return new Error(`${what} ${p} is outside this worker's roots (${this.dirs.join(', ')}); refusing it (start the worker with a --root that holds it)`);
  }

  /** The real path of an existing file or folder, which must be inside a root. */
  async existing(p: string, what: string): Promise<string> {
    if (!isAbsolute(p)) throw new Error(`${what} ${p}: not an absolute path`);
    let real: string;
    try {
      real = await realpath(p);
    } catch (e) {
      if (!this.inside(resolve(p))) throw this.refuse(what, p);
      throw new Error(
        `${what} ${p}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist on this worker (is the shared folder mounted at the same path?)' : (e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    if (!this.inside(real)) throw this.refuse(what, p);
    return real;
  }

  /** A path to write: its deepest existing ancestor is resolved through links and must be inside a root. */
  async writable(p: string, what: string): Promise<string> {
    if (!isAbsolute(p)) throw new Error(`${what} ${p}: not an absolute path`);
    const rest: string[] = [];
    let cur = resolve(p);
    for (;;) {
      const real = await realpath(cur).catch(() => undefined);
      if (real !== undefined) {
        const full = join(real, ...rest.reverse());
        if (!this.inside(full)) throw this.refuse(what, p);
        return full;
      }
      const up = dirname(cur);
      if (up === cur) throw this.refuse(what, p);
      rest.push(basename(cur));
      cur = up;
    }
  }
}
