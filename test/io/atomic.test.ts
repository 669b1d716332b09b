import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic, writeFilesAtomic } from '../../src/io/atomic.js';

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

  it('a group whose files stage side by side: one that cannot be staged leaves every target as it was and no temp file', async () => {
    await writeFile(join(dir, 'a.txt'), 'old a');
    await writeFile(join(dir, 'blocker'), 'a file where a folder is wanted');
    const group = (second: string) => [
      { path: join(dir, 'a.txt'), data: 'new a' },
      { path: second, data: 'b' },
      { path: join(dir, 'c.txt'), data: 'c' },
    ];
    await expect(writeFilesAtomic(group(join(dir, 'blocker', 'b.txt')))).rejects.toThrow(/blocker is a file, not a folder; no output was written/);
    expect((await readdir(dir)).sort()).toEqual(['a.txt', 'blocker']);
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('old a');
    await writeFilesAtomic(group(join(dir, 'b.txt')));
    expect((await readdir(dir)).sort()).toEqual(['a.txt', 'b.txt', 'blocker', 'c.txt']);
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('new a');
  });

  it('concurrent writers to one path each leave a complete file', async () => {
    const p = join(dir, 'x.txt');
    const payloads = Array.from({ length: 8 }, (_, i) => String(i).repeat(100_000));
    await Promise.all(payloads.map((s) => writeFileAtomic(p, s)));
    expect(payloads).toContain(await readFile(p, 'utf8'));
    expect(await readdir(dir)).toEqual(['x.txt']);
  });
});
