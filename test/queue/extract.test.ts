/**
 * `taskmap extract --queue` against real worker processes on a private redis-server (issue 18): the output is
 * byte-identical to a local run; a worker killed with SIGKILL between two of a shard's output files loses
 * nothing (another worker takes the shard over); a coordinator killed mid-run resumes from the shards already
 * done when run again, with no shard computed twice.
 */
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { extractQueued } from '../../src/queue/extract.js';
import { queueStatus } from '../../src/queue/status.js';
import { runCli } from '../helpers/cli.js';
import { writeImages, writeTinyOnnx } from '../models/fixtures.js';
import { count, skipWithoutRedis, startRedis, startWorkerProcess, taskmapProcess, type Proc, type RedisServer } from './redis.js';

const skip = skipWithoutRedis();

let root: string;
let images: string;
let model: string;
let redis: RedisServer;
const procs: Proc[] = [];
const N = 24;

/**
 * Every file under `dir` (relative path → bytes), hidden ones included, so leftovers are seen too. The tests also poll
 * folders a worker is writing into: a temporary file listed and then renamed before it is read is skipped.
 */
function files(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const gone = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT';
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      try {
        if (statSync(p).isDirectory()) walk(p);
        else out.set(relative(dir, p), readFileSync(p));
      } catch (e) {
        if (!gone(e)) throw e;
      }
    }
  };
  walk(dir);
  return out;
}

/** The manifest without what differs between any two runs (times, measured speed, the caller's name). */
function manifestValue(bytes: Buffer): unknown {
  const m = JSON.parse(bytes.toString()) as { updated?: string; tool?: string; entries: { updated?: string; msPerImage?: number }[] };
  delete m.updated;
  delete m.tool;
  for (const e of m.entries) {
    delete e.updated;
    delete e.msPerImage;
  }
  return m;
}

/** `got` holds exactly the files of `want`, each .npy byte for byte, the manifest equal but for times. */
function expectSameOutput(got: string, want: string): void {
  const a = files(got);
  const b = files(want);
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [name, bytes] of b) {
    if (name === 'manifest.json') expect(manifestValue(a.get(name)!)).toEqual(manifestValue(bytes));
    else expect(a.get(name)!.equals(bytes), `${name} differs`).toBe(true);
  }
}

const extractArgs = (out: string) => ['extract', '--images', images, '--model', model, '--tap', 'r', '--tap', 'y', '--batch', '4', '--out', out];

describe.skipIf(skip)('extract --queue (redis-server + worker processes)', () => {
  let local: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'taskmap-queue-extract-'));
    images = join(root, 'images');
    await writeImages(images, N);
    model = join(root, 'tiny.onnx');
    await writeTinyOnnx(model);
    redis = await startRedis();
    local = join(root, 'local');
    const r = await runCli(...extractArgs(local));
    expect(r.code, r.err).toBe(0);
  }, 120_000);

  afterAll(async () => {
    for (const p of procs) await p.stop('SIGKILL');
    await redis?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('two workers: the queued run writes the same bytes as a local run, and leaves nothing else', async () => {
    const workers = await Promise.all([startWorkerProcess(redis.url, [root]), startWorkerProcess(redis.url, [root])]);
    procs.push(...workers);
    onTestFinished(() => Promise.all(workers.map((w) => w.stop())).then(() => undefined));
    const out = join(root, 'queued');
    const r = await runCli(...extractArgs(out), '--queue', redis.url, '--shard', '4');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/2 feature files × 24 images/);
    expectSameOutput(out, local);
    // Six shards, each run once, shared by the two workers.
    const done = workers.map((w) => count(w, /done extract-shard tiny images/));
    expect(done[0] + done[1]).toBe(6);
    // A second run finds everything up to date and enqueues nothing.
    const again = await runCli(...extractArgs(out), '--queue', redis.url, '--shard', '4');
    expect(again.code, again.err).toBe(0);
    expect(workers.map((w) => count(w, /done extract-shard/)).reduce((x, y) => x + y)).toBe(6);
    expectSameOutput(out, local);
    await Promise.all(workers.map((w) => w.stop()));
    expect(workers.map((w) => w.child.exitCode)).toEqual([0, 0]);
  }, 120_000);

  it('a worker killed with SIGKILL mid-shard loses nothing: another worker runs the shard, and the output is the same', async () => {
    // Worker A pauses 1.5 s before each of a shard's two output files: killed after the first, it has written one.
    const a = await startWorkerProcess(redis.url, [root], ['--lock', '2', '--test-pause', '1500']);
    procs.push(a);
    const out = join(root, 'killed');
    const run = extractQueued({ images, out, models: [{ ref: model, taps: ['r', 'y'] }], batchSize: 4, queue: redis.url, shardSize: 12, sweepMs: 500 });
    await a.waitFor(/started extract-shard tiny images 1–12/);
    // Kill it once the shard's first chunk is on disk (it then pauses 1.5 s before the second).
    const until = Date.now() + 60_000;
    while (!(existsSync(join(out, '.partial')) && [...files(join(out, '.partial')).keys()].some((f) => f.endsWith('.json')))) {
      if (Date.now() > until) throw new Error(`no chunk written:\n${a.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    a.child.kill('SIGKILL');
    await a.exited;
    expect(a.child.signalCode).toBe('SIGKILL');
    expect(count(a, /done extract-shard/)).toBe(0);
    // Killed between the shard's two chunks: one tap's chunk is complete, the other's was never written — so
    // the shard is not done, and no half-written file is there.
    const partial = [...files(join(out, '.partial')).keys()];
    expect(partial.filter((f) => f.endsWith('.json'))).toHaveLength(1);
    expect(partial.filter((f) => f.endsWith('.npy'))).toHaveLength(1);
    expect(partial.filter((f) => f.includes('.tmp'))).toEqual([]);
    const b = await startWorkerProcess(redis.url, [root], ['--lock', '2']);
    procs.push(b);
    try {
      const summary = await run;
      expect(summary.failed).toEqual([]);
      // B ran both shards: the one A was killed in (put back by the stalled-job check) and the other one.
      expect(count(b, /done extract-shard tiny images 1–12 of 24/)).toBe(1);
      expect(count(b, /done extract-shard tiny images 13–24 of 24/)).toBe(1);
      expectSameOutput(out, local);
    } finally {
      await b.stop();
    }
  }, 120_000);

  it('a shard that fails is reported by its title with the error; with --keep-going the other models are done', async () => {
    const changed = join(root, 'changed.onnx');
    await writeTinyOnnx(changed);
    const out = join(root, 'failing');
    const logs: string[] = [];
    const run = extractQueued({
      images,
      out,
      models: [
        { ref: changed, taps: ['y'] },
        { ref: model, taps: ['y'] },
      ],
      continueOnError: true,
      batchSize: 4,
      queue: redis.url,
      shardSize: 12,
      sweepMs: 500,
      onLog: (m) => logs.push(m),
    });
    // Once the four shards are queued (no worker yet), the model file changes under the coordinator's feet.
    const until = Date.now() + 60_000;
    while ((await queueStatus(redis.url)).counts.waiting < 4) {
      if (Date.now() > until) throw new Error('the shards were not queued');
      await new Promise((r) => setTimeout(r, 100));
    }
    appendFileSync(changed, Buffer.from([0]));
    const w = await startWorkerProcess(redis.url, [root]);
    procs.push(w);
    try {
      const s = await run;
      const why =
        /^changed images 1–12 of 24 failed after 1 attempt: refused: .*changed\.onnx: the model file differs from the one the coordinator planned with/;
      expect(s.failed).toEqual([{ model: changed, error: expect.stringMatching(why) }]);
      expect(logs.some((l) => /^changed: FAILED: changed images 1–12 of 24 failed after 1 attempt/.test(l))).toBe(true);
      expect(s.computed.map((c) => c.label)).toEqual(['tiny']);
      expect(readFileSync(join(out, 'tiny.npy')).equals(readFileSync(join(local, 'tiny', 'y.npy')))).toBe(true);
    } finally {
      await w.stop();
    }
  }, 120_000);

  it('a coordinator killed mid-run resumes from the shards already done; no shard is computed twice', async () => {
    const w = await startWorkerProcess(redis.url, [root], ['--test-pause', '400']);
    procs.push(w);
    expect(procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null)).toEqual([w]);
    const out = join(root, 'restarted');
    const first = taskmapProcess([...extractArgs(out), '--queue', redis.url, '--shard', '4']);
    procs.push(first);
    await w.waitFor(/done extract-shard tiny images 1–4 of 24/);
    first.child.kill('SIGKILL');
    await first.exited;
    const doneBefore = count(w, /done extract-shard/);
    expect(doneBefore).toBeLessThan(6);
    const r = await runCli(...extractArgs(out), '--queue', redis.url, '--shard', '4');
    expect(r.code, r.err).toBe(0);
    expectSameOutput(out, local);
    // Every shard ran exactly once over both coordinator runs.
    expect(count(w, /done extract-shard/)).toBe(6);
    expect(count(w, /started extract-shard/)).toBe(6);
    await w.stop();
  }, 120_000);
});
