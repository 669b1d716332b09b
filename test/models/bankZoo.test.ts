import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { bankDir, bankModels, BANK_MANIFEST, parseBankManifest, ZOO, zooIds, zooModel, zooModelPath } from '../../src/models/zoo.js';

// Every folder a test makes is removed at the end (they used to pile up in the system's temp folder).
const made: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

const saved = process.env.TASKMAP_BANK_DIR;
afterEach(() => {
  if (saved === undefined) delete process.env.TASKMAP_BANK_DIR;
  else process.env.TASKMAP_BANK_DIR = saved;
});

function fakeBank(files: boolean): string {
  const dir = tempDir('bank-zoo-');
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
    const dir = tempDir('bank-none-');
    process.env.TASKMAP_BANK_DIR = dir;
    expect(bankModels()).toEqual([]);
    expect(zooModel('bank-edges')).toBeUndefined();
    const corrupt = tempDir('bank-corrupt-');
    writeFileSync(join(corrupt, BANK_MANIFEST), '{not json');
    process.env.TASKMAP_BANK_DIR = corrupt;
    expect(bankModels()).toEqual([]);
  });

  it('checks a manifest before opening anything it names: a file outside the folder, an unknown family, a duplicate', () => {
    const good = { task: 'edges', family: '2d', description: 'd', file: 'edges/model.json', tap: 'relu4', msPerImage: 2 };
    const manifest = (e: object[], resolution = 64) => JSON.stringify({ resolution, encoders: e, trainedWith: { seed: 1 } });
    expect(parseBankManifest(manifest([good])).encoders[0].task).toBe('edges');
    const cases: [object[], RegExp, number?][] = [
      [[{ ...good, file: '../../etc/model.json' }], /encoders\.0\.file: a model file is a relative path inside the bank folder/],
      [[{ ...good, file: '/abs/model.json' }], /encoders\.0\.file: a model file is a relative path inside the bank folder/],
      [[{ ...good, file: 'edges/weights.bin' }], /encoders\.0\.file: a model file is a model\.json/],
      [[{ ...good, family: 'semantics' }], /encoders\.0\.family/],
      [[{ ...good, task: 'Edges!' }], /encoders\.0\.task: a task id is lower-case/],
      [[good, { ...good, file: 'e2/model.json' }], /task "edges" is listed twice/],
      [[{ ...good, msPerImage: -1 }], /encoders\.0\.msPerImage/],
      [[good], /resolution/, 3],
    ];
    for (const [encoders, message, resolution] of cases) expect(() => parseBankManifest(manifest(encoders, resolution)), String(message)).toThrow(message);
    expect(() => parseBankManifest('{not json')).toThrow(/not valid JSON/);

    // In the zoo: a warning naming the manifest and the problem, and no bank models (nothing is opened).
    const dir = tempDir('bank-hostile-');
    writeFileSync(join(dir, BANK_MANIFEST), manifest([{ ...good, file: '../outside/model.json' }]));
    process.env.TASKMAP_BANK_DIR = dir;
    const warnings: string[] = [];
    const spy = vi.spyOn(process, 'emitWarning').mockImplementation((w: string | Error) => void warnings.push(String(w)));
    try {
      expect(bankModels()).toEqual([]);
    } finally {
      spy.mockRestore();
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/bank\.json: encoders\.0\.file: a model file is a relative path inside the bank folder.*left out of the zoo/);
  });
});
