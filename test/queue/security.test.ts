/**
 * What a worker accepts (issue 18): only the job kinds it knows, only payloads that pass their schema, only paths
 * inside its --root folders (symbolic links resolved). Each refusal fails the job at once — one attempt, never
 * retried — with the reason, and the worker goes on serving; `taskmap queue status` reports the failed jobs by
 * kind with their errors. Nothing outside the roots is read or written.
 */
import { mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job, Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashBytes } from '../../src/images/list.js';
import { fingerprintModelFile } from '../../src/models/load.js';
import { parseQueueUrl, QUEUE_NAME } from '../../src/queue/connection.js';
import { extractQueued } from '../../src/queue/extract.js';
import { PAYLOAD_VERSION } from '../../src/queue/payloads.js';
import { runCli } from '../helpers/cli.js';
import { writeImages, writeTinyOnnx } from '../models/fixtures.js';
import { skipWithoutRedis, startRedis, startWorkerProcess, type Proc, type RedisServer } from './redis.js';

const skip = skipWithoutRedis();

let base: string;
let root: string;
let outside: string;
let redis: RedisServer;
let worker: Proc;
let queue: Queue;
const KEY = 'a'.repeat(64);

/** A well-formed extract-shard payload for the tiny model and two images in the root. */
async function goodShard(): Promise<Record<string, unknown>> {
  const model = join(root, 'tiny.onnx');
  const img = (name: string) => ({ path: name, sha256: hashBytes(readFileSync(join(root, 'images', name))) });
  return {
    v: PAYLOAD_VERSION,
    title: 'tiny images 1–2 of 2',
    out: join(root, 'out'),
    shard: 'b'.repeat(64),
    model: { file: model, format: 'onnx' },
    fingerprint: await fingerprintModelFile({ path: model, format: 'onnx' }),
    runtime: null,
    overrides: {},
    featureLayout: 'channels-first',
    taps: [{ layer: 'y', reduction: { kind: 'none' }, key: KEY }],
    imagesRoot: join(root, 'images'),
    images: [img('img00.png'), img('img01.png')],
    batchSize: 2,
    batchable: true,
  };
}

let seq = 0;
/** Add a job (3 attempts allowed) and wait until it has settled; its state, attempts and error. */
async function runJob(name: string, data: unknown): Promise<{ state: string; attempts: number; error: string }> {
  const job = await queue.add(name, data, { jobId: `test-${++seq}`, attempts: 3, backoff: { type: 'fixed', delay: 100 } });
  const until = Date.now() + 30_000;
  for (;;) {
    const state = await queue.getJobState(job.id!);
    if (state === 'completed' || state === 'failed') {
      const j = (await Job.fromId(queue, job.id!))!;
      return { state, attempts: j.attemptsMade, error: j.failedReason ?? '' };
    }
    if (Date.now() > until) throw new Error(`job ${name} still ${state} after 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(skip)('worker: job kinds, payload schemas and roots', () => {
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'taskmap-queue-sec-'));
    root = join(base, 'shared');
    outside = join(base, 'outside');
    await writeImages(join(root, 'images'), 2);
    await writeImages(outside, 2);
    await writeTinyOnnx(join(root, 'tiny.onnx'));
    await writeTinyOnnx(join(outside, 'tiny.onnx'));
    mkdirSync(join(root, 'out'));
    mkdirSync(join(root, 'linked'));
    symlinkSync(join(outside, 'img00.png'), join(root, 'linked', 'img00.png'));
    symlinkSync(outside, join(root, 'escape'));
    redis = await startRedis();
    queue = new Queue(QUEUE_NAME, { connection: parseQueueUrl(redis.url).connection });
    worker = await startWorkerProcess(redis.url, [root]);
  }, 120_000);

  afterAll(async () => {
    await queue?.close();
    await worker?.stop();
    await redis?.stop();
    await rm(base, { recursive: true, force: true });
  });

  it('a well-formed shard inside the roots runs and writes its chunk', async () => {
    const r = await runJob('extract-shard', await goodShard());
    expect(r).toMatchObject({ state: 'completed', attempts: 1 });
    expect(readdirSync(join(root, 'out', '.partial', KEY)).sort()).toEqual([`q-${'b'.repeat(64)}.json`, `q-${'b'.repeat(64)}.npy`]);
  });

  it('refuses unknown job kinds, without retrying', async () => {
    const r = await runJob('shell', { cmd: 'rm -rf /' });
    expect(r).toEqual({
      state: 'failed',
      attempts: 1,
      error: expect.stringMatching(/^refused: unknown job kind "shell"; this worker runs extract-shard, similarity-prepare, similarity-block/),
    });
  });

  const cases: [string, string, (p: Record<string, unknown>) => unknown, RegExp][] = [
    ['an unknown field', 'extract-shard', (p) => ({ ...p, exec: 'x' }), /invalid extract-shard payload: .*exec/],
    ['a wrong type', 'extract-shard', (p) => ({ ...p, batchSize: '2' }), /invalid extract-shard payload: batchSize/],
    ['a missing field', 'extract-shard', ({ taps: _taps, ...p }) => p, /invalid extract-shard payload: taps/],
    ['a relative output path', 'extract-shard', (p) => ({ ...p, out: 'out' }), /invalid extract-shard payload: out: an absolute path/],
    ['a key that is not a hash', 'extract-shard', (p) => ({ ...p, taps: [{ layer: 'y', reduction: { kind: 'none' }, key: '../../x' }] }), /taps\.0\.key/],
    ['a payload from another version', 'extract-shard', (p) => ({ ...p, v: 99 }), /invalid extract-shard payload: v/],
    ['an output folder outside the roots', 'extract-shard', (p) => ({ ...p, out: outside }), /output folder .* is outside this worker's roots/],
    [
      'an image path leaving its folder',
      'extract-shard',
      (p) => ({ ...p, images: [{ path: '../../outside/img00.png', sha256: KEY }] }),
      /image path: .*leaves its folder/,
    ],
    [
      'an image behind a symbolic link to outside',
      'extract-shard',
      (p) => ({ ...p, imagesRoot: join(root, 'linked'), images: [{ path: 'img00.png', sha256: KEY }] }),
      /image .* is outside this worker's roots/,
    ],
    [
      'an images folder behind a link to outside',
      'extract-shard',
      (p) => ({ ...p, imagesRoot: join(root, 'escape') }),
      /images folder .* is outside this worker's roots/,
    ],
    [
      'a model file outside the roots',
      'extract-shard',
      (p) => ({ ...p, model: { file: join(outside, 'tiny.onnx'), format: 'onnx' } }),
      /model file .* is outside this worker's roots/,
    ],
    [
      'a model that is not the one planned',
      'extract-shard',
      (p) => ({ ...p, fingerprint: 'f'.repeat(64) }),
      /differs from the one the coordinator planned with/,
    ],
    ['an unknown zoo model', 'extract-shard', (p) => ({ ...p, model: { zoo: 'no-such-model' } }), /unknown zoo model "no-such-model"/],
    [
      'a runtime this worker does not have',
      'extract-shard',
      (p) => ({ ...p, runtime: 'keras-onnx@99' }),
      /computed on keras-onnx@99.*this worker has keras-onnx@1/,
    ],
    [
      'a feature set outside the roots',
      'similarity-prepare',
      () => ({
        v: PAYLOAD_VERSION,
        title: 't',
        featureSet: outside,
        label: 'a',
        measure: 'rsa',
        precision: 'float64',
        engine: 'js',
        work: join(root, 'w'),
        key: KEY,
      }),
      /feature set .* is outside this worker's roots/,
    ],
    [
      'an unknown measure',
      'similarity-prepare',
      () => ({
        v: PAYLOAD_VERSION,
        title: 't',
        featureSet: root,
        label: 'a',
        measure: 'nope',
        precision: 'float64',
        engine: 'js',
        work: join(root, 'w'),
        key: KEY,
      }),
      /unknown measure "nope"/,
    ],
    [
      'a work folder outside the roots',
      'similarity-block',
      () => ({ v: PAYLOAD_VERSION, title: 't', work: join(root, 'escape'), run: KEY, block: '0-1', kind: 'unit', rows: [KEY], cols: [KEY], engine: 'js' }),
      /block output .* is outside this worker's roots/,
    ],
    [
      'pairs of a measure that is not pairwise',
      'similarity-pairs',
      () => ({
        v: PAYLOAD_VERSION,
        title: 't',
        work: join(root, 'w'),
        run: KEY,
        block: '0-1',
        measure: 'rsa',
        precision: 'float64',
        rows: [KEY],
        cols: [KEY],
        engine: 'js',
      }),
      /rsa is not a pairwise measure; its blocks are similarity-block jobs/,
    ],
    [
      'pairs whose prepared forms are outside the roots',
      'similarity-pairs',
      () => ({
        v: PAYLOAD_VERSION,
        title: 't',
        work: join(root, 'escape'),
        run: KEY,
        block: '0-1',
        measure: 'procrustes',
        precision: 'float64',
        rows: [KEY],
        cols: [KEY],
        engine: 'js',
      }),
      /outside this worker's roots/,
    ],
  ];
  for (const [what, kind, make, message] of cases) {
    it(`refuses ${what} (${kind}), without retrying`, async () => {
      const r = await runJob(kind, make(await goodShard()));
      expect(r.state).toBe('failed');
      expect(r.attempts).toBe(1);
      expect(r.error).toMatch(/^refused: /);
      expect(r.error).toMatch(message);
    });
  }

  it('nothing was written outside the roots, the worker still serves, and `queue status` lists the failures by kind', async () => {
    expect(readdirSync(outside).sort()).toEqual(['img00.png', 'img01.png', 'tiny.onnx']);
    expect(worker.child.exitCode).toBe(null);
    const s = await extractQueued({
      images: join(root, 'images'),
      out: join(root, 'features'),
      models: [{ ref: join(root, 'tiny.onnx'), taps: ['y'] }],
      queue: redis.url,
    });
    expect(s.failed).toEqual([]);
    const st = await runCli('queue', 'status', '--queue', redis.url);
    expect(st.code, st.err).toBe(0);
    expect(st.out).toMatch(/1 worker connected/);
    expect(st.out).toMatch(/failed 20\b/);
    expect(st.out).toMatch(/extract-shard +waiting 0, active 0, delayed 0, failed 14/);
    expect(st.out).toMatch(/shell test-2 \(1 attempt\): refused: unknown job kind "shell"/);
    const json = await runCli('worker', '--queue', redis.url, '--status', '--json');
    expect(json.code, json.err).toBe(0);
    const parsed = JSON.parse(json.out) as { counts: { failed: number }; failed: { kind: string; error: string }[] };
    expect(parsed.counts.failed).toBe(20);
    expect(parsed.failed.every((f) => f.error.startsWith('refused: '))).toBe(true);
  }, 60_000);
});
