/**
 * `npx tsx bench/queue.bench.ts` (needs redis-server on PATH and a built CLI: `npm run build`): the distributed
 * queue (issue 18) on this machine, from BullMQ's own job records.
 *
 *   extraction   one zoo model on the probe photos, split into shards, run by 1, 2 and 4 `taskmap worker`
 *                processes (the built CLI, as users run it), against a local `taskmap extract` with one worker
 *                thread. Per configuration: wall time, images/s in all and per worker, job time (a worker's
 *                processing time per shard: thread start, model load, decode, inference, chunk writes) and the
 *                queue overhead per job: the time a worker spends between finishing one job and starting the
 *                next while jobs are waiting (BullMQ's move-to-finished + fetch, the lock, the events) —
 *                goal ≤ 5% of the job time.
 *   similarity   M members × n images prepared and multiplied in blocks by 2 workers, against the local run;
 *                the prepare and block job times, which the extrapolation in docs/distributed.md scales up.
 *   scale        what that extrapolation needs besides: one member prepared at n = 2500 (BENCH_PREP_N), the float64
 *                GEMM rate of the block stage, the size of a 256-image shard's payload, Redis's memory.
 *
 * Options: BENCH_MODEL (zoo id, default ppocr-det), BENCH_N (images, default 48), BENCH_SHARD (images per job,
 * default 8), BENCH_WORKERS (default 1,2,4), BENCH_IMAGES (folder; default the probe set), BENCH_SIM_M (8),
 * BENCH_SIM_N (1000), BENCH_SIM_P (256). The machine may be shared: the load average is printed with the results.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, type Job } from 'bullmq';
import { listImages } from '../src/images/list.js';
import { defaultProbeDir, readProbeSet } from '../src/images/probe.js';
import { writeNpy } from '../src/io/npy.js';
import { extractFeatures } from '../src/models/extract.js';
import { similarityOfPath } from '../src/ops/similarity.js';
import { parseQueueUrl, QUEUE_NAME } from '../src/queue/connection.js';
import { extractQueued, shardPayloads } from '../src/queue/extract.js';
import { getGemmEngine } from '../src/linalg/gemm.js';
import { parseMeasure, pipelineOf } from '../src/measures/registry.js';
import { prepareRepresentation } from '../src/measures/similarity.js';
import type { ExtractShardResult } from '../src/queue/payloads.js';
import { similarityQueued } from '../src/queue/similarity.js';
import { gaussian } from '../test/helpers/random.js';
import { startRedis } from '../test/queue/redis.js';

const REPO = fileURLToPath(new URL('../', import.meta.url)).replace(/\/$/, '');
const MODEL = process.env.BENCH_MODEL ?? 'ppocr-det';
const N = Number(process.env.BENCH_N ?? 48);
const SHARD = Number(process.env.BENCH_SHARD ?? 8);
const WORKERS = (process.env.BENCH_WORKERS ?? '1,2,4').split(',').map(Number);
const SIM = { m: Number(process.env.BENCH_SIM_M ?? 8), n: Number(process.env.BENCH_SIM_N ?? 1000), p: Number(process.env.BENCH_SIM_P ?? 256) };
const BATCH = 8;

async function imageFolder(root: string): Promise<string> {
  const src = process.env.BENCH_IMAGES ?? defaultProbeDir();
  if (!process.env.BENCH_IMAGES && !(await readProbeSet(src))) throw new Error(`no probe set in ${src}: run \`taskmap probe fetch\` (or set BENCH_IMAGES)`);
  const files = (await listImages(src)).slice(0, N);
  const dir = join(root, 'images');
  mkdirSync(dir);
  for (const f of files) await symlink(f.abs, join(dir, f.path.replace(/\//g, '_')));
  return dir;
}

interface WorkerProc {
  child: ChildProcess;
  out: string;
}

/** `node bin/taskmap.js worker` (the built CLI), resolved once it serves the queue. */
async function startWorkers(url: string, root: string, n: number): Promise<WorkerProc[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const child = spawn(process.execPath, [join(REPO, 'bin/taskmap.js'), 'worker', '--queue', url, '--root', root, '--root', REPO], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const w: WorkerProc = { child, out: '' };
      await new Promise<void>((res, rej) => {
        const feed = (d: Buffer) => {
          w.out += d.toString();
          if (w.out.includes('worker on ')) res();
        };
        child.stdout!.on('data', feed);
        child.stderr!.on('data', feed);
        child.once('exit', () => rej(new Error(`worker exited:\n${w.out}`)));
      });
      return w;
    }),
  );
}

async function stopWorkers(ws: WorkerProc[]): Promise<void> {
  await Promise.all(
    ws.map(
      (w) =>
        new Promise<void>((res) => {
          if (w.child.exitCode !== null) return res();
          w.child.once('exit', () => res());
          w.child.kill('SIGTERM');
        }),
    ),
  );
}

interface JobStats {
  jobs: number;
  /** Mean processing time per job (ms). */
  jobMs: number;
  /** Mean idle time between two jobs of one worker while jobs were waiting (ms). */
  overheadMs: number;
  /** Busy time / (workers × span of the run's jobs). */
  utilisation: number;
  loadMs?: number;
  inferMs?: number;
  /** Decode + inference + reduction, summed over the job's batches (ms). */
  batchesMs?: number;
  checkMs?: number;
  writeMs?: number;
}

/** From BullMQ's records of the completed jobs named `name`: processing times and the gaps between them. */
async function jobStats(queue: Queue, name: string, workers: number): Promise<JobStats> {
  const jobs = (await queue.getJobs(['completed'], 0, -1)).filter(
    (j): j is Job => Boolean(j) && j.name === name && j.processedOn !== undefined && j.finishedOn !== undefined,
  );
  const busy = jobs.reduce((s, j) => s + (j.finishedOn! - j.processedOn!), 0);
  const byWorker = new Map<string, Job[]>();
  for (const j of jobs) byWorker.set(j.processedBy ?? '?', [...(byWorker.get(j.processedBy ?? '?') ?? []), j]);
  const gaps: number[] = [];
  for (const list of byWorker.values()) {
    list.sort((a, b) => a.processedOn! - b.processedOn!);
    // A gap counts when the next job was already in the queue when the previous one finished (work was waiting).
    for (let i = 1; i < list.length; i++) if (list[i].timestamp <= list[i - 1].finishedOn!) gaps.push(list[i].processedOn! - list[i - 1].finishedOn!);
  }
  const span = Math.max(...jobs.map((j) => j.finishedOn!)) - Math.min(...jobs.map((j) => j.processedOn!));
  const rv = jobs.map((j) => j.returnvalue as Partial<ExtractShardResult> | undefined);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
  return {
    jobs: jobs.length,
    jobMs: busy / jobs.length,
    overheadMs: mean(gaps),
    utilisation: busy / (workers * span),
    ...(rv.every((r) => r && typeof r.loadMs === 'number')
      ? {
          loadMs: mean(rv.map((r) => r!.loadMs!)),
          inferMs: mean(rv.map((r) => r!.inferMs!)),
          batchesMs: mean(rv.map((r) => r!.totalMs!)),
          checkMs: mean(rv.map((r) => r!.checkMs!)),
          writeMs: mean(rv.map((r) => r!.writeMs!)),
        }
      : {}),
  };
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');

async function main(): Promise<void> {
  if (!existsSync(join(REPO, 'dist/queue/worker.js'))) throw new Error('the built CLI has no queue: run `npm run build` first');
  const root = await mkdtemp(join(tmpdir(), 'taskmap-bench-queue-'));
  const redis = await startRedis();
  const queue = new Queue(QUEUE_NAME, { connection: parseQueueUrl(redis.url).connection });
  const rows: Record<string, unknown>[] = [];
  try {
    const images = await imageFolder(root);
    const n = (await listImages(images)).length;
    process.stdout.write(
      `queue bench: ${MODEL} on ${n} images, shards of ${SHARD}, batch ${BATCH}; ${availableParallelism()} cores, load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}\n`,
    );

    // Local reference: one worker thread, the whole model as one job.
    const t0 = performance.now();
    const local = await extractFeatures({ images, out: join(root, 'local'), models: [{ ref: MODEL }], workers: 1, batchSize: BATCH });
    const localS = (performance.now() - t0) / 1000;
    const lj = local.jobs[0];
    rows.push({
      config: 'local, 1 thread',
      wallS: localS,
      imagesPerS: n / localS,
      perWorker: n / localS,
      loadMs: lj.loadMs,
      inferMsPerImage: lj.inferMs / lj.images,
    });

    for (const w of WORKERS) {
      await queue.obliterate({ force: true });
      const workers = await startWorkers(redis.url, root, w);
      try {
        const t = performance.now();
        const s = await extractQueued({
          images,
          out: join(root, `queued-${w}`),
          models: [{ ref: MODEL }],
          batchSize: BATCH,
          shardSize: SHARD,
          queue: redis.url,
          sweepMs: 1000,
        });
        const wall = (performance.now() - t) / 1000;
        if (s.failed.length) throw new Error(`failed: ${JSON.stringify(s.failed)}`);
        const st = await jobStats(queue, 'extract-shard', w);
        rows.push({
          config: `queue, ${w} worker${w > 1 ? 's' : ''}`,
          wallS: wall,
          imagesPerS: n / wall,
          perWorker: n / wall / w,
          jobs: st.jobs,
          jobMs: st.jobMs,
          loadMs: st.loadMs,
          inferMsPerImage: st.inferMs! / SHARD,
          batchesMs: st.batchesMs,
          checkMs: st.checkMs,
          writeMs: st.writeMs,
          // Everything in the job that is not the model's own work (thread start, checks, chunk writes).
          fixedMs: st.jobMs - st.loadMs! - st.batchesMs!,
          overheadMs: st.overheadMs,
          overheadPct: (100 * st.overheadMs) / st.jobMs,
          utilisation: st.utilisation,
        });
      } finally {
        await stopWorkers(workers);
      }
    }
    process.stdout.write(
      '\nextraction\nconfig              wall s  images/s  per worker  jobs   job ms  load ms  batches ms  check ms  write ms  other ms  infer ms/img  queue ms/job  queue %  busy\n',
    );
    for (const r of rows) {
      const x = r as Record<string, number> & { config: string };
      const other = x.fixedMs === undefined ? Number.NaN : x.fixedMs - x.checkMs - x.writeMs;
      const cells = [
        f1(x.wallS).padStart(7),
        f1(x.imagesPerS).padStart(9),
        f1(x.perWorker).padStart(11),
        String(x.jobs ?? '–').padStart(5),
        f1(x.jobMs).padStart(8),
        f1(x.loadMs).padStart(8),
        f1(x.batchesMs).padStart(11),
        f1(x.checkMs).padStart(9),
        f1(x.writeMs).padStart(9),
        f1(other).padStart(9),
        f1(x.inferMsPerImage).padStart(13),
        f1(x.overheadMs).padStart(13),
        f1(x.overheadPct).padStart(8),
        (x.utilisation === undefined ? '–' : `${(100 * x.utilisation).toFixed(0)}%`).padStart(5),
      ];
      process.stdout.write(`${x.config.padEnd(18)} ${cells.join(' ')}\n`);
    }

    // Similarity: prepare + blocks on 2 workers against the local run.
    const features = join(root, 'features');
    mkdirSync(features);
    const g = gaussian(11);
    const shared = Float32Array.from({ length: SIM.n * SIM.p }, () => g());
    for (let k = 0; k < SIM.m; k++) {
      const data = Float32Array.from(shared, (v) => v * (1 - k / SIM.m) + g());
      writeFileSync(join(features, `m${k}.npy`), writeNpy({ dtype: 'float32', shape: [SIM.n, SIM.p], data }));
    }
    const tl = performance.now();
    await similarityOfPath(features, 'rsa');
    const simLocalS = (performance.now() - tl) / 1000;
    await queue.obliterate({ force: true });
    const workers = await startWorkers(redis.url, root, 2);
    let sim: Record<string, unknown>;
    try {
      const tq = performance.now();
      await similarityQueued(features, 'rsa', { queue: redis.url, blockSize: Math.ceil(SIM.m / 2), sweepMs: 1000 });
      const simQueuedS = (performance.now() - tq) / 1000;
      const prep = await jobStats(queue, 'similarity-prepare', 2);
      const block = await jobStats(queue, 'similarity-block', 2);
      sim = { members: SIM.m, n: SIM.n, p: SIM.p, localS: simLocalS, queuedS: simQueuedS, prepare: prep, block };
      process.stdout.write(
        `\nsimilarity (rsa, ${SIM.m} members × ${SIM.n} images × ${SIM.p} features; 2 workers, blocks of ${Math.ceil(SIM.m / 2)})\n` +
          `  local ${f1(simLocalS)} s, queued ${f1(simQueuedS)} s\n` +
          `  prepare: ${prep.jobs} jobs, ${f1(prep.jobMs)} ms each, overhead ${f1(prep.overheadMs)} ms/job (${f1((100 * prep.overheadMs) / prep.jobMs)} %)\n` +
          `  blocks:  ${block.jobs} jobs, ${f1(block.jobMs)} ms each (vector length ${(SIM.n * (SIM.n - 1)) / 2}), overhead ${f1(block.overheadMs)} ms/job\n`,
      );
    } finally {
      await stopWorkers(workers);
    }
    // Scale figures for docs/distributed.md: one member prepared at a larger n (in-process), the float64 GEMM rate
    // of the block stage, and the size of a 256-image shard's payload (what Redis holds per queued job).
    const big = { n: Number(process.env.BENCH_PREP_N ?? 2500), p: 512 };
    const rep = { label: 'big', n: big.n, p: big.p, shape: [big.p], source: 'bench', data: Float32Array.from({ length: big.n * big.p }, () => g()) };
    const engine = await getGemmEngine();
    const tp = performance.now();
    const prepared = await prepareRepresentation(rep, pipelineOf(parseMeasure('rsa')), { engine });
    const prepMs = performance.now() - tp;
    const m = prepared.kind === 'unit' ? prepared.vector.length : prepared.triangle.length;
    const rowsG = 8;
    const stack = Float64Array.from({ length: rowsG * m }, () => g());
    const tg = performance.now();
    await engine.abt(stack, rowsG, stack, rowsG, m, 'float64');
    const gemmS = (performance.now() - tg) / 1000;
    const gflops = (2 * rowsG * rowsG * m) / gemmS / 1e9;
    const job = {
      id: 0,
      label: 'resnet50',
      file: { path: '/shared/models/resnet50.onnx', format: 'onnx' as const },
      overrides: {},
      featureLayout: 'channels-first' as const,
      taps: [{ layer: '/layer4/layer4.2/relu_2/Relu', reduction: { kind: 'pool' as const, k: 4 } }],
      images: Array.from({ length: 256 }, (_, i) => ({
        abs: '',
        path: `n014407${String(i).padStart(2, '0')}/ILSVRC2012_val_000${String(i).padStart(5, '0')}.JPEG`,
        sha256: 'f'.repeat(64),
      })),
      batchSize: 8,
      batchable: true,
      threads: 1,
    };
    const plan = { dir: '/shared/features', keys: ['e'.repeat(64)], fingerprint: 'd'.repeat(64), imagesRoot: '/shared/images', images: job.images };
    const payloadBytes = JSON.stringify(shardPayloads(job, plan, 256)[0].payload).length;
    process.stdout.write(
      `\nscale: rsa prepare of one member at n = ${big.n}, p = ${big.p}: ${(prepMs / 1000).toFixed(2)} s (vector of ${m} values, ${((8 * m) / 2 ** 20).toFixed(0)} MiB); ` +
        `float64 GEMM (${engine.name}) ${rowsG}×${m} · ${m}×${rowsG}: ${gflops.toFixed(2)} GFLOP/s; payload of a 256-image shard: ${(payloadBytes / 1024).toFixed(1)} KiB\n`,
    );
    const memory = await (await queue.client).info();
    const used = /used_memory:(\d+)/.exec(String(memory))?.[1];
    process.stdout.write(`Redis used_memory after the runs: ${used ? `${(Number(used) / 2 ** 20).toFixed(1)} MiB` : '?'}\n`);
    process.stdout.write(
      `\nJSON ${JSON.stringify({ model: MODEL, images: n, shard: SHARD, batch: BATCH, cores: availableParallelism(), load: loadavg(), extraction: rows, similarity: sim })}\n`,
    );
  } finally {
    await queue.close();
    await redis.stop();
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
