/** `taskmap taskbank images` and `taskmap taskbank tasks` on a folder of synthetic photographs. */
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASKS } from '../../src/taskbank/tasks.js';
import { runCli } from '../helpers/cli.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'taskmap-taskbank-cli-'));
  await mkdir(join(root, 'photos'));
  for (let i = 0; i < 5; i++)
    await sharp({ create: { width: 40 + 8 * i, height: 36, channels: 3, background: { r: 50 * i, g: 255 - 40 * i, b: (97 * i) % 256 } } })
      .composite([{ input: { create: { width: 12, height: 12, channels: 3, background: { r: 255 - 50 * i, g: 20 * i, b: 200 } } }, left: 4 * i, top: 3 * i }])
      .png()
      .toFile(join(root, 'photos', `p${i}.png`));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('taskmap taskbank', () => {
  it('tasks: one row per task with family, loss and the target shape at the resolution', async () => {
    const r = await runCli('taskbank', 'tasks', '--resolution', '96');
    expect(r.code).toBe(0);
    for (const t of TASKS) expect(r.out).toContain(t.id);
    expect(r.out).toMatch(/colourisation\s+low-level\s+l2\s+96×96×2\s+pixels/);
    expect(r.out).toMatch(/face-heatmap\s+semantic\s+bce\s+16×16×1\s+teacher blazeface/);
    expect(r.out).toContain('13 tasks; every network sees an RGB crop of 96×96 in [0, 1]');
    const j = JSON.parse((await runCli('taskbank', 'tasks', '--json')).out);
    expect(j.find((t: { id: string }) => t.id === 'jigsaw')).toMatchObject({ family: 'global', loss: 'cross-entropy', target: [24] });
  });

  it('images: gathers the folder, cuts the crops and prints the parts; bad options are usage errors', async () => {
    const env = process.env.TASKMAP_CACHE;
    process.env.TASKMAP_CACHE = join(root, 'cache');
    try {
      const args = [
        'taskbank',
        'images',
        '--folders',
        join(root, 'photos'),
        '--resolution',
        '16',
        '--crops',
        'train=10',
        '--crops',
        'transfer=3',
        '--crops',
        'test=3',
        '--crops',
        'probe=2',
      ];
      const r = await runCli(...args);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^5 photographs, 18 crops of 16×16 \(seed 0\) in /);
      expect(r.out).toMatch(/train\s+2\s+10/);
      expect(r.out).toMatch(/probe\s+1\s+2/);
      const j = JSON.parse((await runCli(...args, '--json')).out);
      expect(j.parts.map((p: { crops: number }) => p.crops)).toEqual([10, 3, 3, 2]);
      const bad = await runCli('taskbank', 'images', '--crops', 'val=3');
      expect(bad.code).not.toBe(0);
      expect(bad.err).toContain('--crops: no part "val" (parts: train, transfer, test, probe)');
      expect((await runCli('taskbank', 'images', '--preset', 'huge')).err).toContain('--preset: use default or large or small, got "huge"');
      // --split: weights per part; the default weights given explicitly are the same pool (same cache folder).
      const same = JSON.parse((await runCli(...args, '--split', 'train=0.6', '--json')).out);
      expect(same.dir).toBe(j.dir);
      const split = JSON.parse((await runCli(...args, '--split', 'train=1', '--split', 'transfer=1', '--split', 'test=1', '--split', 'probe=2', '--json')).out);
      expect(split.dir).not.toBe(j.dir);
      expect(split.parts.map((p: { photos: number }) => p.photos)).toEqual([1, 1, 1, 2]);
      expect(j.parts.map((p: { photos: number }) => p.photos)).toEqual([2, 1, 1, 1]);
      const badSplit = await runCli('taskbank', 'images', '--split', 'val=0.2');
      expect(badSplit.code).not.toBe(0);
      expect(badSplit.err).toContain('--split: no part "val" (parts: train, transfer, test, probe)');
      // A weight that is not positive is refused before any photograph is fetched (no download, nothing cached).
      process.env.TASKMAP_CACHE = join(root, 'cache-untouched');
      const zero = await runCli('taskbank', 'images', '--split', 'probe=0');
      expect(zero.code).not.toBe(0);
      expect(zero.err).toContain('split fractions must be positive numbers');
      expect(existsSync(join(root, 'cache-untouched', 'taskbank', 'photos-default'))).toBe(false);
    } finally {
      if (env === undefined) delete process.env.TASKMAP_CACHE;
      else process.env.TASKMAP_CACHE = env;
    }
  });
});
