import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/io/atomic.js';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'taskmap-atomic-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes strings and bytes, replacing an existing file, creating parents, leaving no temp files', async () => {
    const p = join(dir, 'a/b/c.txt');
    await writeFileAtomic(p, 'first');
    expect(await readFile(p, 'utf8')).toBe('first');
    await writeFileAtomic(p, new Uint8Array([104, 105]));
    expect(await readFile(p, 'utf8')).toBe('hi');
    expect(await readdir(join(dir, 'a/b'))).toEqual(['c.txt']);
  });

  it('on failure keeps the old content and removes its temp file', async () => {
    // A non-empty directory at the target path makes the final rename fail after the temp file was written.
    const target = join(dir, 'target');
    await mkdir(target);
    await writeFile(join(target, 'keep.txt'), 'old');
    await expect(writeFileAtomic(target, 'new')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['target']);
    expect(await readFile(join(target, 'keep.txt'), 'utf8')).toBe('old');
  });

  it('concurrent writers to one path each leave a complete file', async () => {
    const p = join(dir, 'x.txt');
    const payloads = Array.from({ length: 8 }, (_, i) => String(i).repeat(100_000));
    await Promise.all(payloads.map((s) => writeFileAtomic(p, s)));
    expect(payloads).toContain(await readFile(p, 'utf8'));
    expect(await readdir(dir)).toEqual(['x.txt']);
  });
});
