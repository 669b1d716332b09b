/**
 * One extraction job (runJob): rows come back in image order whatever the batch size (the next batch decodes while
 * one runs), equal to preprocessing and running each image alone, and an image that cannot be read mid-job stops
 * the job with an error naming it, after the batches before it.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashBytes } from '../../src/images/list.js';
import { preprocessImage } from '../../src/images/preprocess.js';
import { runJob, type Job, type JobEvent } from '../../src/models/job.js';
import { OnnxRunner } from '../../src/models/onnx.js';
import type { Preprocessing } from '../../src/models/types.js';
import { writeImages, writeTinyOnnx } from './fixtures.js';

let dir: string;
let model: string;
let images: Job['images'];
const pre: Preprocessing = { width: 4, height: 4, resize: 'stretch', channels: 'rgb', range: [0, 1], layout: 'NCHW', dtype: 'float32' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taskmap-job-'));
  model = join(dir, 'tiny.onnx');
  await writeTinyOnnx(model);
  const written = await writeImages(join(dir, 'img'), 7, 6, 5, 3);
  images = await Promise.all(
    written.map(async (w) => {
      const abs = join(dir, 'img', w.name);
      return { abs, path: w.name, sha256: hashBytes(await readFile(abs)) };
    }),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function job(batchSize: number, list = images): Job {
  return {
    id: 0,
    label: 'tiny',
    file: { path: model, format: 'onnx' },
    preprocessing: pre,
    overrides: {},
    featureLayout: 'channels-first',
    taps: [{ layer: 'y', reduction: { kind: 'none' } }],
    images: list,
    batchSize,
    batchable: true,
    threads: 1,
  };
}

async function run(j: Job): Promise<JobEvent[]> {
  const events: JobEvent[] = [];
  await runJob(j, (e) => events.push(e));
  return events;
}

describe('runJob', () => {
  it('gives each image its own row, in order, at every batch size', async () => {
    const runner = await OnnxRunner.load(await readFile(model), model);
    const expected: number[][] = [];
    for (const img of images) {
      const x = (await preprocessImage(await readFile(img.abs), pre)) as Float32Array;
      expected.push(Array.from((await runner.run({ n: 1, data: x, shape: [1, 3, 4, 4] }, ['y']))[0].data));
    }
    runner.dispose();
    // 1: no batching; 3: a short last batch; 8: one batch for all.
    for (const size of [1, 3, 8]) {
      const events = await run(job(size));
      expect(events[0].type).toBe('ready');
      expect(events.at(-1)!.type).toBe('done');
      const batches = events.filter((e) => e.type === 'batch');
      expect(batches.map((b) => b.hashes.length)).toEqual(size === 1 ? [1, 1, 1, 1, 1, 1, 1] : size === 3 ? [3, 3, 1] : [7]);
      expect(batches.flatMap((b) => b.hashes)).toEqual(images.map((i) => i.sha256));
      const rows = batches.flatMap((b) => Array.from({ length: b.hashes.length }, (_, i) => Array.from(b.outputs[0].rows.subarray(3 * i, 3 * i + 3))));
      rows.forEach((r, i) => r.forEach((v, k) => expect(v).toBeCloseTo(expected[i][k], 5)));
    }
  });

  it('an image that cannot be read stops the job with its name, after the batches before it', async () => {
    const broken = join(dir, 'broken.png');
    await writeFile(broken, Buffer.from('not a png'));
    const list = [...images.slice(0, 4), { abs: broken, path: 'broken.png', sha256: 'x' }, ...images.slice(4)];
    const events = await run(job(2, list));
    // Batches [0,1] and [2,3] ran; [broken, 4] failed while [0,1] or [2,3] was running, and is reported once.
    expect(events.filter((e) => e.type === 'batch').map((e) => e.hashes)).toEqual([images.slice(0, 2).map((i) => i.sha256), images.slice(2, 4).map((i) => i.sha256)]);
    const last = events.at(-1)!;
    expect(last.type).toBe('error');
    expect(last.type === 'error' && last.message).toMatch(/image broken\.png could not be read/);
    expect(events.filter((e) => e.type === 'error')).toHaveLength(1);
  });
});
