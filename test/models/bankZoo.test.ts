import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bankDir, bankModels, BANK_MANIFEST, ZOO, zooIds, zooModel, zooModelPath } from '../../src/models/zoo.js';

const saved = process.env.TASKMAP_BANK_DIR;
afterEach(() => {
  if (saved === undefined) delete process.env.TASKMAP_BANK_DIR;
  else process.env.TASKMAP_BANK_DIR = saved;
});

function fakeBank(files: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'bank-zoo-'));
  const manifest = {
    resolution: 64,
    encoders: [
      { task: 'edges', family: '2d', description: 'Sobel magnitude', file: 'edges/model.json', tap: 'features', msPerImage: 2 },
      { task: 'rotation', family: 'global', description: 'quarter turns', file: 'rotation/model.json', tap: 'features', msPerImage: 2 },
    ],
  };
  writeFileSync(join(dir, BANK_MANIFEST), JSON.stringify(manifest));
  if (files) {
    mkdirSync(join(dir, 'edges'));
    writeFileSync(join(dir, 'edges', 'model.json'), '{}');
  }
  return dir;
}

describe('the task bank in the zoo', () => {
  it('lists the shipped encoders as bank-<task> with their family and a [0, 1] centre crop at the bank resolution', () => {
    process.env.TASKMAP_BANK_DIR = fakeBank(true);
    expect(bankDir()).toBe(process.env.TASKMAP_BANK_DIR);
    const m = zooModel('bank-edges')!;
    expect(m.family).toBe('2d');
    expect(m.format).toBe('tfjs-layers');
    expect(m.preprocessing).toMatchObject({ width: 64, height: 64, resize: 'crop', range: [0, 1] });
    expect(m.demo).toBe(false);
    expect(zooIds()).toEqual([...ZOO.map((z) => z.id), 'bank-edges', 'bank-rotation']);
    expect(zooModelPath(m).path).toBe(join(process.env.TASKMAP_BANK_DIR, 'edges', 'model.json'));
    // Listed by the manifest but absent on disk: a clear error, not a crash in the loader.
    expect(() => zooModelPath(zooModel('bank-rotation')!)).toThrow(/bank-rotation: .*rotation\/model\.json is missing/);
    // The zoo proper is untouched by the bank.
    expect(ZOO.some((z) => z.id.startsWith('bank-'))).toBe(false);
  });

  it('has no bank models when the folder has no readable manifest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bank-none-'));
    process.env.TASKMAP_BANK_DIR = dir;
    expect(bankModels()).toEqual([]);
    expect(zooModel('bank-edges')).toBeUndefined();
    const corrupt = mkdtempSync(join(tmpdir(), 'bank-corrupt-'));
    writeFileSync(join(corrupt, BANK_MANIFEST), '{not json');
    process.env.TASKMAP_BANK_DIR = corrupt;
    expect(bankModels()).toEqual([]);
  });
});
