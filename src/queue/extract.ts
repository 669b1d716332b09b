/**
 * Extraction over the queue. The coordinator (`taskmap extract --queue URL`) is the local extraction with one part
 * swapped: instead of running each model's job on worker threads here, it splits the job's images into shards and
 * enqueues one `extract-shard` job per (model, shard). A worker (`taskmap worker`) runs the shard with the same job
 * code a local run uses and writes each tap's rows atomically as a partial chunk of the entry's cache —
 * `<out>/.partial/<key>/q-<shard>.npy` + `.json`, the json written last as the commit mark — exactly the files a
 * local run checkpoints. The coordinator reads each finished shard back and feeds its rows to the local
 * bookkeeping, which writes the `.npy` files and the manifest as a local run does: the output is the same bytes.
 *
 * Faults: a worker killed mid-shard leaves no chunk (atomic writes), and BullMQ's stalled-job check gives the
 * shard to another worker. A coordinator that dies leaves the finished shards on disk; run again, the local cache
 * logic reads them as cached rows and only the rest is enqueued (shards still queued from the first run are
 * adopted, not added twice: a shard's job id is the hash of what it computes).
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Queue } from 'bullmq';
import { writeFileAtomic } from '../io/atomic.js';
import { readNpy, writeNpy } from '../io/npy.js';
import { pathInside } from '../io/paths.js';
import { validatePreprocessing } from '../images/preprocess.js';
import { hashBytes } from '../images/list.js';
import { extractFeatures, PARTIAL_DIR, type ExtractOptions, type ExtractSummary, type JobPlan, type JobRunner } from '../models/extract.js';
import type { Job, JobImage } from '../models/job.js';
import { fingerprintModelFile, KERAS_ONNX_RUNTIME, type ResolvedModelFile } from '../models/load.js';
import type { RunJobsOptions } from '../models/pool.js';
import type { Preprocessing } from '../models/types.js';
import { zooModel, zooModelPath } from '../models/zoo.js';
import { connectQueue, parseQueueUrl, redact, type QueueTarget } from './connection.js';
import { follow, followDefaults, type FollowDefaults } from './follow.js';
import { PAYLOAD_VERSION, parsePayload, RefusedJob, type ExtractShardPayload, type ExtractShardResult } from './payloads.js';
import type { Roots } from './roots.js';
import { ExtractionThreads } from './threads.js';

export interface QueueOptions extends FollowDefaults {
  /** The queue URL (redis:// or rediss://). */
  queue: string;
}

export interface QueuedExtractOptions extends ExtractOptions, QueueOptions {
  /** Images per shard (rounded up to a multiple of the batch size, so batches are the ones a local run forms; default 256). */
  shardSize?: number;
}

export const DEFAULT_SHARD_SIZE = 256;

/** The file names (without extension) of one shard's chunk. */
export function shardChunkName(shard: string): string {
  return `q-${shard}`;
}

/** What the chunk's .json holds besides the hashes loadCachedRows reads. */
interface ChunkMeta {
  hashes: string[];
  preprocessing: Preprocessing;
  loadMs: number;
  decodeMs: number;
  inferMs: number;
  totalMs: number;
}

interface Shard {
  jobId: number;
  id: string;
  payload: ExtractShardPayload;
  /** The images of the shard whose rows the job still misses (the others are cached already). */
  needed: Set<string>;
}

/**
 * One job → the payloads of its shards. Shards cut the run's whole image list (not just the missing part) at
 * fixed positions, so a shard is the same job whichever run enqueues it — a coordinator restarted after a crash
 * adopts the shards still queued instead of cutting new ones — and a shard's batches are the ones a local run
 * forms. Shards with nothing missing are left out. A shard's id hashes everything that decides its rows.
 */
export function shardPayloads(job: Job, plan: JobPlan, shardSize: number): Shard[] {
  const step = job.batchable ? Math.ceil(Math.max(1, shardSize) / job.batchSize) * job.batchSize : Math.max(1, shardSize);
  const missing = new Set(job.images.map((i) => i.sha256));
  const all = plan.images;
  const out: Shard[] = [];
  for (let start = 0; start < all.length; start += step) {
    const images = all.slice(start, start + step);
    const needed = new Set(images.map((i) => i.sha256).filter((h) => missing.has(h)));
    if (needed.size === 0) continue;
    const body = {
      v: PAYLOAD_VERSION,
      out: plan.dir,
      model: plan.zoo ? { zoo: plan.zoo } : { file: job.file.path, format: job.file.format },
      fingerprint: plan.fingerprint,
      // The runtime the rows' key names (a Keras model converted to ONNX, or its own): workers must not decide anew.
      runtime: job.file.runtime ?? null,
      ...(job.preprocessing ? { preprocessing: job.preprocessing } : {}),
      overrides: job.overrides,
      ...(job.extraInputs ? { extraInputs: job.extraInputs } : {}),
      featureLayout: job.featureLayout,
      taps: job.taps.map((t, i) => ({ layer: t.layer, reduction: t.reduction, key: plan.keys[i] })),
      imagesRoot: plan.imagesRoot,
      images: images.map((i) => ({ path: i.path, sha256: i.sha256 })),
      batchSize: job.batchSize,
      batchable: job.batchable,
    };
    const id = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    const title = `${job.label} images ${start + 1}–${start + images.length} of ${all.length}`;
    out.push({ jobId: job.id, id, needed, payload: { ...body, title, shard: id } as ExtractShardPayload });
  }
  return out;
}

/** Read a finished shard's chunks back (one per tap), or undefined when any is missing or unreadable. */
async function readShard(s: Shard): Promise<{ meta: ChunkMeta; outputs: { rows: Float32Array; shape: number[] }[] } | undefined> {
  let meta: ChunkMeta | undefined;
  const outputs: { rows: Float32Array; shape: number[] }[] = [];
  for (const tap of s.payload.taps) {
    const base = join(s.payload.out, PARTIAL_DIR, tap.key, shardChunkName(s.id));
    try {
      const m = JSON.parse(await readFile(`${base}.json`, 'utf8')) as ChunkMeta;
      const arr = readNpy(await readFile(`${base}.npy`), `${base}.npy`);
      if (arr.dtype !== 'float32' || arr.shape[0] !== s.payload.images.length || m.hashes.join() !== s.payload.images.map((i) => i.sha256).join())
        return undefined;
      meta ??= m;
      outputs.push({ rows: arr.data as Float32Array, shape: arr.shape.slice(1) });
    } catch {
      return undefined;
    }
  }
  return meta && { meta, outputs };
}

/**
 * A JobRunner that runs the jobs on the queue's workers: one `extract-shard` job per shard, followed to the end
 * (follow.ts) and reported through `runOpts.onEvent` as a local run reports them — 'ready' at a model's first
 * finished shard, one 'batch' per shard, 'done' when all are in, 'error' when a shard failed all its attempts.
 */
export function queueRunner(queue: Queue, target: QueueTarget, opts: { shardSize: number; onLog: (m: string) => void } & FollowDefaults): JobRunner {
  return async (jobs: Job[], runOpts: RunJobsOptions, plans: JobPlan[]) => {
    const ordered = [...jobs].sort((a, b) => runOpts.cost(b) - runOpts.cost(a));
    const shards = ordered.flatMap((j) => shardPayloads(j, plans[j.id], opts.shardSize));
    const left = new Map<number, number>();
    for (const s of shards) left.set(s.jobId, (left.get(s.jobId) ?? 0) + 1);
    const readied = new Set<number>();
    const failedJobs = new Set<number>();
    const tracked = shards.map((s) => ({
      id: `xs-${s.id}`,
      name: 'extract-shard' as const,
      payload: s.payload,
      shard: s,
      read: () => readShard(s),
    }));
    const byId = new Map(tracked.map((t) => [t.id, t.shard]));
    await follow(queue, target, tracked, {
      ...followDefaults(opts),
      onDone: async (item, got) => {
        const s = byId.get(item.id)!;
        if (failedJobs.has(s.jobId)) return;
        if (!readied.has(s.jobId)) {
          readied.add(s.jobId);
          await runOpts.onEvent({ type: 'ready', jobId: s.jobId, preprocessing: got.meta.preprocessing, loadMs: got.meta.loadMs });
        }
        // Only the rows the job misses, each once (a shard may also hold cached images, or one image twice).
        const keep: number[] = [];
        const taken = new Set<string>();
        got.meta.hashes.forEach((h, k) => {
          if (s.needed.has(h) && !taken.has(h)) {
            taken.add(h);
            keep.push(k);
          }
        });
        const outputs = got.outputs.map((o) => {
          const q = o.shape.reduce((a, b) => a * b, 1);
          if (keep.length === got.meta.hashes.length) return o;
          const rows = new Float32Array(keep.length * q);
          keep.forEach((k, r) => rows.set(o.rows.subarray(k * q, (k + 1) * q), r * q));
          return { rows, shape: o.shape };
        });
        await runOpts.onEvent({
          type: 'batch',
          jobId: s.jobId,
          hashes: keep.map((k) => got.meta.hashes[k]),
          outputs,
          decodeMs: got.meta.decodeMs,
          inferMs: got.meta.inferMs,
          totalMs: got.meta.totalMs,
        });
        const rest = left.get(s.jobId)! - 1;
        left.set(s.jobId, rest);
        if (rest === 0) await runOpts.onEvent({ type: 'done', jobId: s.jobId });
      },
      onFailed: async (item, reason, attempts) => {
        const s = byId.get(item.id)!;
        // Named by the shard's title (it starts with the model's label, so the local bookkeeping keeps it as is).
        const message = `${s.payload.title} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${reason}`;
        if (failedJobs.has(s.jobId)) return opts.onLog(`FAILED: ${message}`);
        failedJobs.add(s.jobId);
        await runOpts.onEvent({ type: 'error', jobId: s.jobId, message });
      },
    });
  };
}

/** `taskmap extract --queue`: the local extraction, its jobs run by the queue's workers. */
export async function extractQueued(opts: QueuedExtractOptions): Promise<ExtractSummary> {
  const target = parseQueueUrl(opts.queue);
  const queue = await connectQueue(target);
  try {
    return await extractFeatures({
      ...opts,
      // The workers persist every shard; the coordinator has nothing of its own to checkpoint.
      checkpointMs: Number.POSITIVE_INFINITY,
      runner: queueRunner(queue, target, { ...opts, shardSize: opts.shardSize ?? DEFAULT_SHARD_SIZE, onLog: opts.onLog ?? (() => undefined) }),
    });
  } catch (e) {
    if (e instanceof Error) e.message = redact(e.message, target);
    throw e;
  } finally {
    await queue.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Worker side

const fingerprints = new Map<string, string>();

/** This process's extraction threads, kept across shards (threads.ts). */
const threads = new ExtractionThreads();

/** Stop the extraction threads (a worker that is shutting down). */
export function closeExtractionThreads(): Promise<void> {
  return threads.close();
}

/** A file model's fingerprint, memoised by path, size and modification time. */
async function fingerprintOf(file: ResolvedModelFile): Promise<string> {
  const st = await stat(file.path);
  const memo = `${file.format}|${file.path}|${st.size}|${st.mtimeMs}`;
  let fp = fingerprints.get(memo);
  if (!fp) fingerprints.set(memo, (fp = await fingerprintModelFile(file)));
  return fp;
}

/** Which model file a payload means, checked: a zoo model of this installation, or a file inside the roots. */
async function modelFileOf(p: ExtractShardPayload, roots: Roots): Promise<ResolvedModelFile> {
  if (p.runtime !== null && p.runtime !== KERAS_ONNX_RUNTIME)
    throw new RefusedJob(
      `${p.title}: the rows are to be computed on ${p.runtime}, but this worker has ${KERAS_ONNX_RUNTIME}; install the same taskmap version everywhere`,
    );
  if ('zoo' in p.model) {
    const zoo = zooModel(p.model.zoo);
    if (!zoo) throw new RefusedJob(`unknown zoo model "${p.model.zoo}" on this worker`);
    const { path, version } = zooModelPath(zoo);
    const fp = `${zoo.package.name}@${version}/${zoo.file}`;
    if (fp !== p.fingerprint)
      throw new RefusedJob(`zoo model ${zoo.id}: this worker has ${fp}, the coordinator ${p.fingerprint}; install the same package versions everywhere`);
    return { path, format: zoo.format, runtime: p.runtime };
  }
  const path = await roots.existing(p.model.file, 'model file').catch((e: Error) => {
    throw new RefusedJob(e.message);
  });
  const file: ResolvedModelFile = { path, format: p.model.format, runtime: p.runtime };
  const fp = await fingerprintOf(file);
  if (fp !== p.fingerprint)
    throw new RefusedJob(`${p.model.file}: the model file differs from the one the coordinator planned with (content hash); is the shared folder in sync?`);
  return file;
}

/** Run one extract-shard job: check it, compute the rows, write one chunk per tap; returns timings only. */
export async function runExtractShard(data: unknown, roots: Roots, concurrency: number, pauseMs = 0): Promise<ExtractShardResult> {
  const t0 = performance.now();
  const p = (() => {
    try {
      return parsePayload('extract-shard', data);
    } catch (e) {
      throw new RefusedJob((e as Error).message);
    }
  })();
  const refuse = (e: unknown): never => {
    throw new RefusedJob((e as Error).message);
  };
  if (p.preprocessing) {
    try {
      validatePreprocessing(p.preprocessing as Preprocessing, p.title);
    } catch (e) {
      refuse(e);
    }
  }
  const out = await roots.existing(p.out, 'output folder').catch(refuse);
  const imagesRoot = await roots.existing(p.imagesRoot, 'images folder').catch(refuse);
  const images: JobImage[] = [];
  for (const img of p.images) {
    let abs: string;
    try {
      abs = pathInside(imagesRoot, img.path, 'image path');
    } catch (e) {
      refuse(e);
    }
    abs = await roots.existing(abs!, 'image').catch(refuse);
    images.push({ abs, path: img.path, sha256: img.sha256 });
  }
  const targets = await Promise.all(
    p.taps.map((t) => roots.writable(join(out, PARTIAL_DIR, t.key, `${shardChunkName(p.shard)}.npy`), 'shard output').catch(refuse)),
  );
  const file = await modelFileOf(p, roots);
  // The rows are filed under the images' content hashes: check the bytes are the ones the coordinator hashed.
  for (const img of images) {
    const got = hashBytes(await readFile(img.abs));
    if (got !== img.sha256)
      throw new Error(
        `image ${img.path} differs from the one the coordinator planned with (sha256 ${got.slice(0, 12)}…, expected ${img.sha256.slice(0, 12)}…)`,
      );
  }
  const checkMs = performance.now() - t0;
  const job: Job = {
    id: 0,
    label: p.title,
    file,
    ...(p.preprocessing ? { preprocessing: p.preprocessing as Preprocessing } : {}),
    overrides: p.overrides as Partial<Preprocessing>,
    ...(p.extraInputs ? { extraInputs: p.extraInputs } : {}),
    featureLayout: p.featureLayout,
    taps: p.taps.map((t) => ({ layer: t.layer, reduction: t.reduction })),
    images,
    batchSize: p.batchSize,
    batchable: p.batchable,
    threads: Math.max(1, Math.floor(availableParallelism() / Math.max(1, concurrency))),
  };
  const rows = p.taps.map(() => ({ parts: [] as Float32Array[], shape: undefined as number[] | undefined }));
  const hashes: string[] = [];
  const meta = { preprocessing: undefined as Preprocessing | undefined, loadMs: 0, decodeMs: 0, inferMs: 0, totalMs: 0 };
  let error: string | undefined;
  await threads.run(job, (e) => {
    if (e.type === 'ready') {
      meta.preprocessing = e.preprocessing;
      meta.loadMs = e.loadMs;
    } else if (e.type === 'batch') {
      hashes.push(...e.hashes);
      e.outputs.forEach((o, i) => {
        rows[i].parts.push(o.rows);
        rows[i].shape ??= o.shape;
      });
      meta.decodeMs += e.decodeMs;
      meta.inferMs += e.inferMs;
      meta.totalMs += e.totalMs;
    } else if (e.type === 'error') error = e.message;
  });
  if (error !== undefined) throw new Error(error);
  if (hashes.join() !== p.images.map((i) => i.sha256).join() || !meta.preprocessing)
    throw new Error(`${p.title}: the job did not return a row for every image`);
  const tw = performance.now();
  for (let i = 0; i < p.taps.length; i++) {
    const shape = rows[i].shape!;
    const q = shape.reduce((a, b) => a * b, 1);
    const all = new Float32Array(hashes.length * q);
    let at = 0;
    for (const part of rows[i].parts) {
      all.set(part, at);
      at += part.length;
    }
    const base = targets[i].replace(/\.npy$/, '');
    // Fault-injection for tests: a pause before each tap's chunk, so a kill can land between two of them.
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    await writeFileAtomic(`${base}.npy`, writeNpy({ dtype: 'float32', shape: [hashes.length, ...shape], data: all }));
    const chunk: ChunkMeta = {
      hashes,
      preprocessing: meta.preprocessing,
      loadMs: meta.loadMs,
      decodeMs: meta.decodeMs,
      inferMs: meta.inferMs,
      totalMs: meta.totalMs,
    };
    await writeFileAtomic(`${base}.json`, JSON.stringify(chunk));
  }
  const writeMs = performance.now() - tw - pauseMs * p.taps.length;
  return {
    preprocessing: meta.preprocessing,
    loadMs: meta.loadMs,
    decodeMs: meta.decodeMs,
    inferMs: meta.inferMs,
    totalMs: meta.totalMs,
    checkMs,
    writeMs,
    images: hashes.length,
  };
}
