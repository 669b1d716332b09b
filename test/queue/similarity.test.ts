/**
 * `taskmap similarity --queue` (issue 18): members prepared and blocks of the M×M matrix multiplied by a worker
 * process give the local matrix to 1e-12, for the RSA, DDS and CKA pipelines and the Kendall comparator (not a
 * GEMM), and for pairwise families (prepared forms serialised, pairs as jobs; symmetric and asymmetric, with and
 * without a fixed diagonal); a second run reuses every prepared vector and block; --order picks and orders members.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeNpy } from '../../src/io/npy.js';
import type { LabelledMatrix } from '../../src/linalg/labelled.js';
import { similarityOfPath } from '../../src/ops/similarity.js';
import { similarityQueued } from '../../src/queue/similarity.js';
import { runCli } from '../helpers/cli.js';
import { gaussian } from '../helpers/random.js';
import { count, skipWithoutRedis, startRedis, startWorkerProcess, type Proc, type RedisServer } from './redis.js';

const skip = skipWithoutRedis();

let root: string;
let features: string;
let redis: RedisServer;
let worker: Proc;
const LABELS = ['a', 'b', 'c', 'd', 'e', 'sub/f', 'sub/g'];
const N = 30;

function maxDiff(a: LabelledMatrix, b: LabelledMatrix): number {
  expect(a.rows).toEqual(b.rows);
  expect(a.cols).toEqual(b.cols);
  let d = 0;
  for (let i = 0; i < a.matrix.data.length; i++) d = Math.max(d, Math.abs(a.matrix.data[i] - b.matrix.data[i]));
  return d;
}

describe.skipIf(skip)('similarity --queue (redis-server + a worker process)', () => {
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'taskmap-queue-sim-'));
    features = join(root, 'features');
    mkdirSync(join(features, 'sub'), { recursive: true });
    // Members sharing a component in different amounts (so the similarities differ), of different widths.
    const g = gaussian(7);
    const base = Float64Array.from({ length: N * 6 }, () => g());
    LABELS.forEach((label, k) => {
      const p = 6 + k;
      const data = Float32Array.from({ length: N * p }, (_, i) => (i % p < 6 ? base[Math.floor(i / p) * 6 + (i % p)] * (1 - k / 8) : 0) + g());
      writeFileSync(join(features, `${label}.npy`), writeNpy({ dtype: 'float32', shape: [N, p], data }));
    });
    redis = await startRedis();
    worker = await startWorkerProcess(redis.url, [root], ['--concurrency', '2']);
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    await redis?.stop();
    await rm(root, { recursive: true, force: true });
  });

  for (const measure of ['rsa', 'dds:norm=znorm,kernel=cosine', 'cka', 'rsa:compare=kendall']) {
    it(`${measure}: the queued matrix equals the local one to 1e-12`, async () => {
      const local = await similarityOfPath(features, measure);
      const queued = await similarityQueued(features, measure, { queue: redis.url, blockSize: 3, sweepMs: 500 });
      expect(queued.members).toBe(LABELS.length);
      expect(queued.images).toBe(N);
      expect(queued.measure.id).toBe(local.measure.id);
      expect(maxDiff(queued.matrix, local.matrix)).toBeLessThanOrEqual(1e-12);
      const t = LABELS.length;
      for (let i = 0; i < t; i++) {
        expect(queued.matrix.matrix.data[i * t + i]).toBe(1);
        for (let j = 0; j < t; j++) expect(queued.matrix.matrix.data[i * t + j]).toBe(queued.matrix.matrix.data[j * t + i]);
      }
    }, 60_000);
  }

  // Pairwise families: a symmetric one with a fixed self value, a symmetric one without (diagonal computed), an
  // asymmetric one with a self value and one without; blocks of 3 members and one pair per job (the default).
  for (const [measure, blockSize] of [
    ['procrustes', 3],
    ['cca:ridge=0.1', 1],
    ['cknna:k=4', 3],
    ['predictivity', undefined],
  ] as const) {
    it(`${measure} (pairwise, blocks of ${blockSize ?? 'one pair'}): the queued matrix equals the local one to 1e-12`, async () => {
      const local = await similarityOfPath(features, measure);
      const before = count(worker, /done similarity-pairs/);
      const queued = await similarityQueued(features, measure, { queue: redis.url, blockSize, sweepMs: 500 });
      expect(queued.measure.id).toBe(local.measure.id);
      expect(maxDiff(queued.matrix, local.matrix)).toBeLessThanOrEqual(1e-12);
      // Off the diagonal the values differ (a constant matrix would pass trivially), and the pairs ran as jobs.
      const t = LABELS.length;
      expect(new Set(Array.from(local.matrix.matrix.data).filter((_, k) => k % (t + 1) !== 0)).size).toBeGreaterThan(t);
      const symmetric = measure === 'procrustes' || measure.startsWith('cca');
      const selfFixed = measure !== 'cca:ridge=0.1' && measure !== 'predictivity';
      const bs: number = blockSize ?? 1;
      const nb = Math.ceil(t / bs);
      // A 1×1 diagonal block is skipped when the family's self value is fixed: every one at bs = 1, the last at bs = 3 (7 = 3 + 3 + 1).
      const blockJobs = (symmetric ? (nb * (nb + 1)) / 2 : nb * nb) - (selfFixed ? (bs === 1 ? nb : 1) : 0);
      // The worker logs a job's "done" line after the result reaches the client: wait for the log to catch up.
      for (const deadline = Date.now() + 5000; count(worker, /done similarity-pairs/) - before < blockJobs && Date.now() < deadline;)
        await new Promise((r) => setTimeout(r, 50));
      expect(count(worker, /done similarity-pairs/) - before).toBe(blockJobs);
    }, 60_000);
  }

  it('the CLI: `similarity --queue` with a pairwise measure prints the local matrix, a second run reuses every form', async () => {
    const work = join(root, 'work-pairwise');
    const a = await runCli('similarity', features, '--measure', 'procrustes', '--queue', redis.url, '--work', work, '--out', join(root, 'pq.json'));
    expect(a.code, a.err).toBe(0);
    const l = await runCli('similarity', features, '--measure', 'procrustes', '--out', join(root, 'pl.json'));
    expect(l.code, l.err).toBe(0);
    const q = JSON.parse(readFileSync(join(root, 'pq.json'), 'utf8')) as { matrix: number[][] };
    const loc = JSON.parse(readFileSync(join(root, 'pl.json'), 'utf8')) as typeof q;
    expect(Math.max(...loc.matrix.flatMap((row, i) => row.map((v, j) => Math.abs(v - q.matrix[i][j]))))).toBeLessThanOrEqual(1e-12);
    const again = await similarityQueued(features, 'procrustes', { queue: redis.url, work });
    expect(again.reused).toEqual({ prepared: 7, blocks: 21 });
  }, 60_000);

  it('a second run reuses every prepared vector and block (no jobs); --order picks and orders members', async () => {
    const jobs = () => count(worker, /done similarity-/);
    const before = jobs();
    const again = await similarityQueued(features, 'rsa', { queue: redis.url, blockSize: 3 });
    // 7 members in blocks of 3: block rows of 3, 3, 1 → 6 blocks in the upper triangle, less the 1×1 diagonal one.
    expect(again.reused).toEqual({ prepared: 7, blocks: 5 });
    expect(jobs()).toBe(before);
    const order = ['sub/g', 'a', 'c'];
    const local = await similarityOfPath(features, 'rsa', { order });
    const queued = await similarityQueued(features, 'rsa', { queue: redis.url, order, blockSize: 2 });
    expect(queued.matrix.rows).toEqual(order);
    expect(queued.reused.prepared).toBe(3);
    expect(maxDiff(queued.matrix, local.matrix)).toBeLessThanOrEqual(1e-12);
  }, 60_000);

  it('the CLI: `similarity --queue --out` writes the matrix the local command writes (to 1e-12)', async () => {
    const localOut = join(root, 'local.json');
    const queuedOut = join(root, 'queued.json');
    const l = await runCli('similarity', features, '--measure', 'cka', '--out', localOut);
    expect(l.code, l.err).toBe(0);
    const q = await runCli('similarity', features, '--measure', 'cka', '--queue', redis.url, '--block', '4', '--work', join(root, 'work'), '--out', queuedOut);
    expect(q.code, q.err).toBe(0);
    expect(q.err).toMatch(/7 models × 30 images .* on the queue/);
    const a = JSON.parse(readFileSync(localOut, 'utf8')) as { rows: string[]; matrix: number[][]; measure: string };
    const b = JSON.parse(readFileSync(queuedOut, 'utf8')) as typeof a;
    expect(b.rows).toEqual(a.rows);
    expect(b.measure).toBe(a.measure);
    expect(Math.max(...a.matrix.flatMap((row, i) => row.map((v, j) => Math.abs(v - b.matrix[i][j]))))).toBeLessThanOrEqual(1e-12);
  }, 60_000);
});
