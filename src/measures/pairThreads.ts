/**
 * The pairs of a pairwise family (pairwise.ts) on several threads. Each model is prepared once on this thread, as
 * before; the prepared forms are then moved into shared memory once (not copied per thread) and every thread —
 * this one and `threads − 1` workers (pairWorker.ts) — takes the next pair not yet taken until none is left. A pair's
 * value does not depend on which thread computes it: the same compare runs on the same prepared numbers with a GEMM
 * engine of the same kind and settings, so the matrix equals the one-thread matrix (docs/measures.md#pairs-on-several-threads).
 * A worker that fails (start, crash) hands its pair back to the others; a pair whose compare throws fails the run
 * with that compare's message, as on one thread.
 */
import type { Worker } from 'node:worker_threads';
import type { GemmEngine, EngineKind } from '../linalg/gemm.js';
import { oneBlasThreadEach } from '../linalg/lapack.js';
import { startSiblingWorker } from '../workers/startWorker.js';
import type { PairwiseContext, PairwiseFamily } from './pairwise.js';
import type { PairWorkerReply, PairWorkerRequest } from './pairWorker.js';
import type { PairwiseMeasureConfig } from './registry.js';

/**
 * Fewer pairs than this stay on this thread: starting a worker (loading the measure modules, and the GEMM runtime
 * when it is onnxruntime) costs about as much as the cheap pairs of a handful of small models, and with fewer pairs
 * than threads some threads would only start and stop. M = 4 models (6 pairs) is the smallest set that goes parallel.
 */
export const MIN_PARALLEL_PAIRS = 6;

/** The GEMM engine a worker can rebuild for itself, or undefined for an engine only this thread has (a custom one). */
export function workerEngineKind(engine: GemmEngine): Exclude<EngineKind, 'auto'> | undefined {
  if (engine.name === 'js') return 'js';
  if (engine.name.startsWith('onnxruntime-node')) return 'ort';
  return undefined;
}

/** Whether `pairs` pairs go to worker threads: more than one thread asked for, enough pairs, and an engine workers can rebuild. */
export function pairsInParallel(pairs: number, threads: number, engine: GemmEngine): boolean {
  return threads > 1 && pairs >= MIN_PARALLEL_PAIRS && workerEngineKind(engine) !== undefined;
}

type TypedArray = Float64Array | Float32Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array | Uint8ClampedArray;

/**
 * `value` with every typed array in it moved into shared memory (plain objects and arrays are walked; a typed array
 * already shared is kept as it is). The numbers are copied exactly, so compare sees the same values on every thread.
 */
export function shareArrays<T>(value: T): T {
  if (ArrayBuffer.isView(value)) {
    if (value instanceof DataView || value.buffer instanceof SharedArrayBuffer) return value;
    const src = value as unknown as TypedArray;
    const Ctor = src.constructor as new (buffer: SharedArrayBuffer) => TypedArray;
    const out = new Ctor(new SharedArrayBuffer(src.byteLength));
    out.set(src as never);
    return out as unknown as T;
  }
  if (Array.isArray(value)) return value.map((v: unknown) => shareArrays(v)) as T;
  // Only plain objects are walked: rebuilding anything else (a class instance, a Map) would lose what it is.
  if (value !== null && typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = shareArrays(v);
    return out as T;
  }
  return value;
}

export interface PairJob {
  /** Indices into the prepared forms. */
  i: number;
  j: number;
}

/**
 * Idle pair workers kept for the next run (unref'd: they never keep the process alive). A worker takes a few
 * hundred milliseconds to load the measure modules and its GEMM runtime; a server, a bootstrap or an evaluation
 * sweep runs many matrices in a row and pays that once per thread, not once per matrix.
 */
const idle: Worker[] = [];
/** Workers that have stopped: never pooled again. */
const exited = new WeakSet<Worker>();

function acquireWorker(): Worker {
  const w = idle.pop();
  if (w) {
    w.ref();
    return w;
  }
  const worker = startSiblingWorker(import.meta.url, 'pairWorker', 'pairwise measure');
  worker.on('exit', () => {
    exited.add(worker);
    const k = idle.indexOf(worker);
    if (k >= 0) idle.splice(k, 1);
  });
  // A failure is reported through 'exit' as well; this listener only keeps an idle worker's error from being thrown.
  worker.on('error', () => undefined);
  return worker;
}

function releaseWorker(w: Worker): void {
  if (exited.has(w)) return;
  // The worker drops its references to this run's prepared forms, so their shared memory can be freed.
  w.postMessage({ release: true } satisfies PairWorkerRequest);
  w.unref();
  idle.push(w);
}

/**
 * compare(prepared[i], prepared[j]) for every job, on `threads` threads (this one included); `onValue` is called as
 * each value arrives (in no fixed order; `fromWorker` says where it was computed) and the values come back in job order.
 * `prepared` must already be shared (shareArrays) when threads > 1. When pairs fail, the error is that of the first
 * failing pair in job order — the one a single thread would have stopped at.
 */
export async function comparePairs(
  family: PairwiseFamily,
  config: PairwiseMeasureConfig,
  prepared: unknown[],
  jobs: PairJob[],
  ctx: PairwiseContext,
  threads: number,
  onValue: (k: number, value: number, fromWorker: boolean) => void,
): Promise<Float64Array> {
  const values = new Float64Array(jobs.length);
  let next = 0;
  // The first failing pair so far (job order): later pairs are no longer handed out, earlier ones still run.
  let failure: { k: number; error: Error } | undefined;
  const limit = () => failure?.k ?? jobs.length;
  // Pairs handed back by a failed worker, taken before new ones.
  const returned: number[] = [];
  const take = (): number | undefined => {
    const r = returned.findIndex((k) => k < limit());
    if (r >= 0) return returned.splice(r, 1)[0];
    return next < limit() ? next++ : undefined;
  };
  let notify = () => undefined as void;
  // The pair each worker is computing, and the workers stopped because their pair is no longer needed.
  const busy = new Map<Worker, number>();
  const stopping = new Set<Worker>();
  const fail = (k: number, e: unknown) => {
    if (!failure || k < failure.k) failure = { k, error: e instanceof Error ? e : new Error(String(e)) };
    // A pair after the failing one is no longer needed: stop its worker rather than wait for it.
    for (const [w, c] of busy) {
      if (c > k) {
        stopping.add(w);
        void w.terminate();
      }
    }
    notify();
  };
  const record = (k: number, v: number, fromWorker: boolean) => {
    values[k] = v;
    try {
      onValue(k, v, fromWorker);
    } catch (e) {
      // From a worker's message handler a throw would escape the run: it fails the pair instead.
      fail(k, e);
    }
  };
  const kind = workerEngineKind(ctx.engine);
  const workers: Worker[] = [];
  const cleanups: (() => void)[] = [];
  // Workers still taking pairs, and a wake-up for this thread when one stops or hands a pair back.
  let active = 0;
  const event = () => new Promise<void>((r) => (notify = r));
  const restoreBlas = threads > 1 && kind ? oneBlasThreadEach() : () => undefined;
  if (threads > 1 && kind) {
    const init: PairWorkerRequest = { init: { config, prepared, engine: kind, precision: ctx.precision } };
    for (let w = 1; w < Math.min(threads, jobs.length); w++) {
      let worker: Worker;
      try {
        worker = acquireWorker();
      } catch {
        continue; // its pairs stay with the other threads
      }
      active++;
      let current: number | undefined;
      let stopped = false;
      const stop = (lost: boolean) => {
        if (lost && current !== undefined) returned.push(current);
        current = undefined;
        busy.delete(worker);
        if (!stopped) {
          stopped = true;
          active--;
          if (!lost) workers.push(worker);
        }
        notify();
      };
      const send = () => {
        current = take();
        if (current === undefined) return stop(false);
        busy.set(worker, current);
        worker.postMessage({ pair: current, i: jobs[current].i, j: jobs[current].j } satisfies PairWorkerRequest);
      };
      const onMessage = (m: PairWorkerReply) => {
        // The answered pair is done whatever happens next (a worker being stopped may still deliver it).
        current = undefined;
        busy.delete(worker);
        if ('error' in m) fail(m.pair, new Error(m.error));
        else record(m.pair, m.value, true);
        if (stopping.has(worker)) stop(true);
        else send();
      };
      const onExit = () => stop(true);
      worker.on('message', onMessage);
      worker.on('exit', onExit);
      cleanups.push(() => {
        worker.off('message', onMessage);
        worker.off('exit', onExit);
      });
      worker.postMessage(init);
      send();
    }
  }
  try {
    // This thread takes pairs too; once none is left it waits for the workers, taking any pair a failed one hands back.
    for (;;) {
      for (let k = take(); k !== undefined; k = take()) {
        try {
          record(k, await family.compare(prepared[jobs[k].i], prepared[jobs[k].j], config.params, ctx), false);
        } catch (e) {
          fail(k, e);
        }
      }
      const wait = event();
      if (returned.some((k) => k < limit())) continue;
      if (active === 0) break;
      await wait;
    }
    if (failure) throw failure.error;
    return values;
  } finally {
    restoreBlas();
    cleanups.forEach((c) => c());
    // Every worker that finished its pairs goes back to the pool.
    workers.forEach(releaseWorker);
  }
}
