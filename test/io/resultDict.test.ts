import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readResultDict, renameTasks, validateResultDict } from '../../src/io/resultDict.js';
import { sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';

const RESULTS = resolve(sharedDataDir, 'taskonomy/results');

describe.skipIf(skipWithoutSharedData)('readResultDict on the published files', () => {
  it('all_affinities: .pkl and .json give the same 814 entries', async () => {
    const pkl = await readResultDict(join(RESULTS, 'affinities/all_affinities.pkl'));
    const json = await readResultDict(join(RESULTS, 'affinities/all_affinities.json'));
    expect(Object.keys(pkl).length).toBe(814);
    expect(pkl).toEqual(json);
    expect(pkl).toEqual(JSON.parse(readFileSync(join(RESULTS, 'affinities/all_affinities.json'), 'utf8')));
  });

  it('wins_vs_pixels: pixels__t is exactly 0.5 (documented invariant)', async () => {
    const d = await readResultDict(join(RESULTS, 'winrates/wins_vs_pixels.pkl'));
    expect(Object.keys(d).length).toBe(836);
    expect(d.pixels__rgb2sfnorm).toBe(0.5);
  });
});

describe('validateResultDict / readResultDict errors', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'taskmap-rd-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts a well-formed dict', () => {
    expect(validateResultDict({ a__b: 0.25, c__d__b: 1 }, 'x')).toEqual({ a__b: 0.25, c__d__b: 1 });
  });

  it('names the file, the key and the expected shape', () => {
    expect(() => validateResultDict([1, 2], 'r.json')).toThrow(
      'r.json: expected an object, found a list; a Taskonomy result dict maps "source__target" keys to finite numbers',
    );
    expect(() => validateResultDict({}, 'r.json')).toThrow('r.json: the result dict is empty');
    expect(() => validateResultDict({ a__b: 'x' }, 'r.json')).toThrow('r.json: value of "a__b" is "x" (string); a Taskonomy result dict');
    expect(() => validateResultDict({ a__b: null }, 'r.json')).toThrow('r.json: value of "a__b" is null (object)');
    expect(() => validateResultDict({ a__b: Number.NaN }, 'r.pkl')).toThrow('r.pkl: value of "a__b" is NaN (number)');
    expect(() => validateResultDict({ ab: 1 }, 'r.json')).toThrow('r.json: "ab" is not a Taskonomy transfer key');
  });

  it('reports bad files and formats', async () => {
    await writeFile(join(dir, 'bad.json'), '{"a__b": 1,');
    await expect(readResultDict(join(dir, 'bad.json'))).rejects.toThrow(`${join(dir, 'bad.json')}: not valid JSON`);
    await writeFile(join(dir, 'r.txt'), '{}');
    await expect(readResultDict(join(dir, 'r.txt'))).rejects.toThrow('unsupported result-dict format ".txt"; use .json or .pkl');
    // A pickled list, protocol 2: refused as not a dict.
    await writeFile(join(dir, 'list.pkl'), new Uint8Array([0x80, 2, 0x5d, 0x4b, 1, 0x61, 0x2e]));
    await expect(readResultDict(join(dir, 'list.pkl'))).rejects.toThrow('list.pkl: expected an object, found a list');
    await writeFile(join(dir, 'evil.pkl'), Buffer.from("cos\nsystem\n(S'true'\ntR.", 'latin1'));
    await expect(readResultDict(join(dir, 'evil.pkl'))).rejects.toThrow('evil.pkl: refusing to unpickle global os.system');
  });
});

describe('renameTasks', () => {
  it('renames every token by the aliases’ own entries only: tasks named like Object.prototype members stay as they are', () => {
    const dict = { constructor__toString: 0.5, a__constructor: 0.25, a__b: 0.125 };
    expect(renameTasks(dict, {})).toEqual(dict);
    expect(renameTasks(dict, { a: 'x', constructor: 'c' })).toEqual({ c__toString: 0.5, x__c: 0.25, x__b: 0.125 });
    expect(() => renameTasks({ a__t: 1, b__t: 2 }, { a: 'b' })).toThrow('renaming makes two keys collide at "b__t"');
  });
});
