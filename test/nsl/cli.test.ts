import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prototypeImages } from './synthetic.js';
import { lastOutput, runCliCode } from '../helpers/cli.js';

let dir: string;
let data: string;

/** A stand-in for /usr/share/datasets/fashion-mnist: 28×28 prototype images of all 10 classes, IDX + gzip. */
function writeFakeFashionMnist(to: string): void {
  const idx = (dims: number[], values: Uint8Array | Int32Array) => {
    const buf = new Uint8Array(4 + 4 * dims.length + values.length);
    const view = new DataView(buf.buffer);
    buf.set([0, 0, 0x08, dims.length]);
    dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
    buf.set(Uint8Array.from(values), 4 + 4 * dims.length);
    return gzipSync(buf);
  };
  const classes = Array.from({ length: 10 }, (_, i) => i);
  for (const [prefix, perClass, seed] of [
    ['train', 8, 1],
    ['t10k', 4, 2],
  ] as const) {
    const ds = prototypeImages(classes, perClass, { size: 28, sampleSeed: seed });
    writeFileSync(join(to, `${prefix}-images-idx3-ubyte.gz`), idx([ds.n, 28, 28], ds.images));
    writeFileSync(join(to, `${prefix}-labels-idx1-ubyte.gz`), idx([ds.n], ds.labels));
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'taskmap-nsl-cli-'));
  data = join(dir, 'fashion');
  mkdirSync(data);
  writeFakeFashionMnist(data);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const run = runCliCode;
const tiny = ['--width-scale', '0.125', '--layers-per-stage', '1', '--batch', '20', '--lr', '0.02', '--bn-decay', '0.9'];

describe('taskmap nsl train', () => {
  it('trains, checkpoints, saves the model and resumes a finished run', async () => {
    const out = join(dir, 'run');
    expect(await run('nsl', 'train', '--variant', 'static-uns', '--data', data, '--epochs', '2', '--augment-pad', '2', ...tiny, '--out', out)).toBe(0);
    expect(lastOutput.out).toMatch(/static-uns: \d+ parameters, 8 iterations, test accuracy/);
    expect(existsSync(join(out, 'model', 'model.json'))).toBe(true);
    expect(existsSync(join(out, 'checkpoint', 'checkpoint.json'))).toBe(true);
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    expect(result.history).toHaveLength(2);
    expect(result.trainImages).toBe(80);
    expect(await run('nsl', 'train', '--variant', 'static-uns', '--data', data, '--epochs', '2', '--augment-pad', '2', ...tiny, '--out', out)).toBe(1);
    expect(lastOutput.err).toMatch(/--resume/);
    expect(await run('nsl', 'train', '--variant', 'static-uns', '--data', data, '--epochs', '2', '--augment-pad', '2', ...tiny, '--out', out, '--resume')).toBe(
      0,
    );
  });

  it('explains how to install the data set, and rejects unknown variants', async () => {
    expect(await run('nsl', 'train', '--variant', 'conv', '--data', join(dir, 'missing'))).toBe(1);
    expect(lastOutput.err).toContain('apt-get update && apt-get install -y dataset-fashion-mnist');
    expect(await run('nsl', 'train', '--variant', 'sphere', '--data', data)).toBe(1);
    expect(lastOutput.err).toMatch(/--variant must be one of conv/);
  });
});

describe('taskmap nsl fisher', () => {
  it('writes a labelled task-distance matrix (heads of different sizes are zero-padded)', async () => {
    const out = join(dir, 'fisher.json');
    const code = await run(
      'nsl',
      'fisher',
      '--data',
      data,
      '--task',
      'a=0,1',
      '--task',
      'a-again=T-shirt/top+Trouser',
      '--task',
      'b=5,7,9',
      '--per-class',
      '5',
      '--probe-per-class',
      '3',
      '--epochs',
      '1',
      ...tiny,
      '--out',
      out,
    );
    expect(code, lastOutput.err).toBe(0);
    const m = JSON.parse(readFileSync(out, 'utf8'));
    expect(m.rows).toEqual(['a', 'a-again', 'b']);
    expect(m.cols).toEqual(m.rows);
    expect(m.measure).toBe('fisher-logdet');
    expect([0, 1, 2].map((i) => m.matrix[i][i])).toEqual([0, 0, 0]);
    expect(m.matrix.flat().every((v: number) => Number.isFinite(v) && v >= 0)).toBe(true);
    expect(lastOutput.out).toMatch(/floor on one side only/);
    expect(await run('nsl', 'fisher', '--data', data, '--task', 'x=0', '--epochs', '1')).toBe(1);
    expect(lastOutput.err).toMatch(/at least two classes/);
  });
});
