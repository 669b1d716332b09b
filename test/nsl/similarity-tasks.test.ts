/** `taskmap similarity <dir> --measure fisher-…`: Fisher task distances between labelled .npz data sets. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeNpz } from '../../src/io/npz.js';
import type { NdArray } from '../../src/io/npy.js';
import { prototypeImages } from './synthetic.js';
import { runCli } from '../helpers/cli.js';

let dir: string;

function task(to: string, name: string, arrays: Record<string, NdArray>): void {
  writeFileSync(join(to, `${name}.npz`), writeNpz(new Map(Object.entries(arrays))));
}

/** 8×8 prototype images as x (uint8, N×8×8) and y (int64 labels offset by `labelOffset`, like raw class ids). */
function synthetic(classes: number[], seed: number, labelOffset = 0): Record<string, NdArray> {
  const ds = prototypeImages(classes, 16, { sampleSeed: seed });
  return {
    x: { dtype: 'uint8', shape: [ds.n, 8, 8], data: ds.images },
    y: { dtype: 'int64', shape: [ds.n], data: BigInt64Array.from(ds.labels, (l) => BigInt(l + labelOffset)) },
  };
}

const probe = ['--widths', '4,4,4,4', '--layers-per-stage', '1', '--epochs', '4', '--batch', '16', '--lr', '0.05', '--bn-decay', '0.9', '--seed', '5'];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'taskmap-sim-tasks-'));
  const tasks = join(dir, 'tasks');
  mkdirSync(tasks);
  task(tasks, 'A', synthetic([0, 1, 2], 1));
  // The same task sampled again, its labels stored as other ids (relabelled 0…k−1) and x as float in [0, 1].
  const again = synthetic([0, 1, 2], 2, 10);
  const x = again.x.data as Uint8Array;
  task(tasks, 'A-again', { x: { dtype: 'float32', shape: [x.length / 64, 8, 8, 1], data: Float32Array.from(x, (v) => v / 255) }, y: again.y });
  task(tasks, 'B', synthetic([3, 4, 5], 3));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('taskmap similarity with a task measure', () => {
  it('writes Fisher distances: two samples of one task are nearer than a task of other classes', async () => {
    const cases = [
      ['fisher-logdet', 'fisher-logdet'],
      ['fisher-logdet:floor=1e-6', 'fisher-logdet:floor=0.000001'],
      ['fisher-frechet', 'fisher-frechet'],
    ];
    for (const [measure, id] of cases) {
      const out = join(dir, 'm.json');
      const r = await runCli('similarity', join(dir, 'tasks'), '--measure', measure, ...probe, '--out', out);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(/smaller = more similar/);
      const m = JSON.parse(readFileSync(out, 'utf8'));
      expect(m.measure).toBe(id);
      expect(m.rows).toEqual(['A', 'A-again', 'B']);
      expect(m.cols).toEqual(m.rows);
      expect([0, 1, 2].map((i) => m.matrix[i][i])).toEqual([0, 0, 0]);
      expect(m.matrix[0][1], `${measure}: ${JSON.stringify(m.matrix)}`).toBeLessThan(m.matrix[0][2]);
      expect(m.matrix[1][0], `${measure}: ${JSON.stringify(m.matrix)}`).toBeLessThan(m.matrix[1][2]);

      // The taxonomy refuses a distance matrix passed as a similarity, and takes it as a dissimilarity.
      const t = await runCli('taxonomy', '--similarity', out);
      expect(t.code).toBe(1);
      expect(t.err).toContain(`measure ${id} is a distance (smaller = more similar); pass it with --dissimilarity`);
      expect((await runCli('taxonomy', '--dissimilarity', out)).code).toBe(0);
    }
  }, 30_000);

  it('documents task measures in --help', async () => {
    const r = await runCli('similarity', '--help');
    expect(r.out).toMatch(/fisher-logdet/);
    expect(r.out).toMatch(/smaller = more similar/);
    expect(r.out).toMatch(/--epochs/);
  });

  it('names the file and the problem for bad labelled data sets', async () => {
    const bad = async (name: string, arrays: Record<string, NdArray>, others: Record<string, Record<string, NdArray>> = { ok: synthetic([0, 1], 1) }) => {
      const d = join(dir, name);
      mkdirSync(d);
      for (const [n, a] of Object.entries(others)) task(d, n, a);
      task(d, name, arrays);
      const r = await runCli('similarity', d, '--measure', 'fisher-frechet', ...probe);
      expect(r.code).toBe(1);
      expect(r.err).toContain(join(d, `${name}.npz`));
      return r.err;
    };
    const good = synthetic([0, 1], 4);
    expect(await bad('no-y', { x: good.x })).toMatch(/no array named "y"/);
    expect(await bad('count', { x: good.x, y: { dtype: 'int32', shape: [5], data: new Int32Array(5) } })).toMatch(/5 labels in y for 32 images in x/);
    expect(await bad('fractional', { x: good.x, y: { dtype: 'float64', shape: [32], data: Float64Array.from({ length: 32 }, (_, i) => i / 2) } })).toMatch(
      /integer labels, found 0.5/,
    );
    expect(await bad('one-class', { x: good.x, y: { dtype: 'int32', shape: [32], data: new Int32Array(32) } })).toMatch(/at least two classes/);
    expect(await bad('shape', { x: { dtype: 'uint8', shape: [32, 4, 4], data: new Uint8Array(32 * 16) }, y: good.y })).toMatch(/4×4×1, but ok\.npz has 8×8×1/);
    expect(await bad('float-range', { x: { dtype: 'float32', shape: [32, 8, 8], data: new Float32Array(32 * 64).fill(3) }, y: good.y })).toMatch(/\[0, 1\]/);

    const r = await runCli('similarity', join(dir, 'tasks'), '--measure', 'fisher-logdet', '--kernel', 'rbf');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--kernel: representation-measure options/);
    const p = await runCli('similarity', join(dir, 'tasks'), '--measure', 'fisher-frechet:floor=1');
    expect(p.code).toBe(1);
    expect(p.err).toMatch(/unknown parameter "floor"/);
    const missing = await runCli('similarity', join(dir, 'nowhere'), '--measure', 'fisher-logdet');
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/no such directory/);
  });
});
