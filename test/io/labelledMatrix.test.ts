import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromRows } from '../../src/linalg/dense.js';
import type { LabelledMatrix } from '../../src/linalg/labelled.js';
import {
  labelledMatrixFromCsv,
  labelledMatrixFromJson,
  labelledMatrixToJson,
  labelsSidecarPath,
  readLabelledMatrix,
  writeLabelledMatrix,
} from '../../src/io/labelledMatrix.js';
import { readNpy, writeNpy } from '../../src/io/npy.js';
import { sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';

const AFFINITIES = resolve(sharedDataDir, 'taskonomy/results/affinities');

const sim: LabelledMatrix = {
  rows: ['a', 'b, "quoted"', 'c'],
  cols: ['a', 'b, "quoted"', 'c'],
  matrix: fromRows([
    [1, 0.1 + 0.2, Number.NaN],
    [0.30000000000000004, 1, -1e-300],
    [Number.NaN, 5e-324, 1],
  ]),
  measure: 'rsa',
};

describe('labelled matrices on disk', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'taskmap-lm-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('JSON round-trips exactly, NaN as null', async () => {
    const p = join(dir, 'out/sim.json');
    await writeLabelledMatrix(p, sim);
    const text = await readFile(p, 'utf8');
    const raw = JSON.parse(text);
    expect(raw.matrix[0]).toEqual([1, 0.30000000000000004, null]);
    expect(raw.measure).toBe('rsa');
    expect(text.split('\n').length).toBeGreaterThan(6); // one matrix row per line
    expect(await readLabelledMatrix(p)).toEqual(sim);
  });

  it('CSV round-trips exactly, with quoted labels and spelled-out NaN', async () => {
    const p = join(dir, 'sim.csv');
    await writeLabelledMatrix(p, sim);
    const text = await readFile(p, 'utf8');
    expect(text.split('\n')[0]).toBe(',a,"b, ""quoted""",c');
    expect(text.split('\n')[1]).toBe('a,1,0.30000000000000004,NaN');
    expect(await readLabelledMatrix(p)).toEqual({ ...sim, measure: undefined });
  });

  it('npy round-trips with labels in the sidecar; explicit labels work without one', async () => {
    const p = join(dir, 'sim.npy');
    await writeLabelledMatrix(p, sim);
    // The sidecar records the digest of the data it labels (checked on read: a torn pair is refused).
    const sha256 = createHash('sha256')
      .update(await readFile(p))
      .digest('hex');
    expect(JSON.parse(await readFile(labelsSidecarPath(p), 'utf8'))).toEqual({ rows: sim.rows, cols: sim.cols, measure: 'rsa', sha256 });
    expect(readNpy(await readFile(p), p).dtype).toBe('float64');
    expect(await readLabelledMatrix(p)).toEqual(sim);
    const bare = join(dir, 'bare.npy');
    await writeFile(bare, writeNpy({ dtype: 'float32', shape: [2, 2], data: new Float32Array([1, 0.5, 0.5, 1]) }));
    const m = await readLabelledMatrix(bare, { labels: ['x', 'y'] });
    expect(m).toEqual({
      rows: ['x', 'y'],
      cols: ['x', 'y'],
      matrix: fromRows([
        [1, 0.5],
        [0.5, 1],
      ]),
    });
    await expect(readLabelledMatrix(bare)).rejects.toThrow(
      `${bare}: a .npy matrix has no labels of its own; pass the labels, or put {"rows": [...], "cols": [...]} in ${bare}.labels.json`,
    );
    await expect(readLabelledMatrix(bare, { labels: ['x'] })).rejects.toThrow('1 labels given for a 2×2 matrix');
  });

  it('explicit format overrides the extension', async () => {
    const p = join(dir, 'matrix.out');
    await writeLabelledMatrix(p, sim, 'csv');
    expect(labelledMatrixFromCsv(await readFile(p, 'utf8'), p).rows).toEqual(sim.rows);
  });

  it('refuses Infinity in JSON without touching the existing file; CSV keeps it', async () => {
    const p = join(dir, 'inf.json');
    await writeFile(p, 'old');
    const inf: LabelledMatrix = { rows: ['a'], cols: ['b'], matrix: fromRows([[Infinity]]) };
    await expect(writeLabelledMatrix(p, inf)).rejects.toThrow(`${p}: matrix[0][0] (a, b) is Infinity, which JSON cannot hold; write .csv or .npy instead`);
    expect(await readFile(p, 'utf8')).toBe('old');
    expect((await readdir(dir)).filter((f) => f.startsWith('.'))).toEqual([]);
    await writeLabelledMatrix(join(dir, 'inf.csv'), inf);
    expect((await readLabelledMatrix(join(dir, 'inf.csv'))).matrix.data[0]).toBe(Infinity);
  });

  it('rejects labels that do not fit the matrix before writing', async () => {
    const bad: LabelledMatrix = { rows: ['a', 'a'], cols: ['x'], matrix: fromRows([[1], [2]]) };
    await expect(writeLabelledMatrix(join(dir, 'dup.json'), bad)).rejects.toThrow('duplicate row label "a"; labels must be unique');
    const wrong: LabelledMatrix = { rows: ['a'], cols: ['x'], matrix: fromRows([[1], [2]]) };
    await expect(writeLabelledMatrix(join(dir, 'wrong.json'), wrong)).rejects.toThrow('1 row labels and 1 column labels for a 2×1 matrix');
    expect(existsSync(join(dir, 'dup.json')) || existsSync(join(dir, 'wrong.json'))).toBe(false);
  });

  it('reports malformed files with the file and position', async () => {
    const p = join(dir, 'bad.json');
    await writeFile(p, JSON.stringify({ rows: ['a'], cols: ['x', 'y'], matrix: [[1, 'q']] }));
    await expect(readLabelledMatrix(p)).rejects.toThrow(`${p}: matrix[0][1] is "q", not a number or null`);
    await writeFile(p, JSON.stringify({ rows: ['a'], cols: ['x', 'y'], matrix: [[1]] }));
    await expect(readLabelledMatrix(p)).rejects.toThrow('matrix[0] must have 2 values (one per column label)');
    await writeFile(p, JSON.stringify({ something: 'else' }));
    await expect(readLabelledMatrix(p)).rejects.toThrow('neither {"rows","cols","matrix"} nor a result dict');
    expect(() => labelledMatrixFromCsv(',x,y\na,1,2\nb,3\n', 'm.csv')).toThrow(
      'm.csv: record 3 has 2 fields, expected 3 (a label and 2 values, as in the header)',
    );
    expect(() => labelledMatrixFromCsv(',x\na,0x10\n', 'm.csv')).toThrow('m.csv: record 2, column "x": "0x10" is not a number');
    expect(() => labelledMatrixFromCsv(',"x\na,1\n', 'm.csv')).toThrow(/unterminated quoted field/);
    await expect(readLabelledMatrix(join(dir, 'm.txt'))).rejects.toThrow('unsupported matrix format ".txt"');
    await expect(readLabelledMatrix(join(dir, 'sim.json'), { labels: ['a'] })).rejects.toThrow('labels can only be given for a .npy matrix');
  });

  it('CSV reader accepts a BOM, CRLF, blank cells and inf spellings', () => {
    const m = labelledMatrixFromCsv('\ufeff"",x,y\r\na,,inf\r\nb,-Infinity, 2.5e-3 \r\n\r\n', 'm.csv');
    expect(m.rows).toEqual(['a', 'b']);
    expect(Array.from(m.matrix.data)).toEqual([Number.NaN, Infinity, -Infinity, 0.0025]);
  });

  it('JSON helpers mirror each other', () => {
    const j = labelledMatrixToJson(sim);
    expect(j.matrix[2]).toEqual([null, 5e-324, 1]);
    expect(labelledMatrixFromJson(JSON.parse(JSON.stringify(j)), 'x')).toEqual(sim);
  });
});

describe.skipIf(skipWithoutSharedData)('Taskonomy dicts as labelled matrices', () => {
  it('.json and .pkl give the same first-order matrix, G[source][target] = dict["source__target"]', async () => {
    const fromJson = await readLabelledMatrix(join(AFFINITIES, 'all_affinities.json'));
    const fromPkl = await readLabelledMatrix(join(AFFINITIES, 'all_affinities.pkl'));
    expect(fromPkl).toEqual(fromJson);
    const dict = JSON.parse(readFileSync(join(AFFINITIES, 'all_affinities.json'), 'utf8')) as Record<string, number>;
    expect(fromJson.cols.length).toBe(22);
    const i = fromJson.rows.indexOf('autoencoder');
    const j = fromJson.cols.indexOf('curvature');
    expect(fromJson.matrix.data[i * fromJson.matrix.cols + j]).toBe(dict.autoencoder__curvature);
  });
});
