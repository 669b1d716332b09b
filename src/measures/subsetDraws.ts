/**
 * The bootstrap draws' prepared forms on several cores (drawThreads: opt-in): draw d is prepared on this thread
 * when d is a multiple of the thread count and on worker thread d mod threads otherwise; every thread holds the same preparers over the
 * same full matrices (shared memory, not copies), so the results are the same wherever a draw runs. A worker that
 * fails hands its draws back to this thread. The preparation is pure computation on the CPU (the GEMM engine is
 * not involved), which is what one thread per core speeds up.
 */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startSiblingWorker } from '../workers/startWorker.js';
import type { Prepared } from './compare.js';
import { shared, type SourcedPreparer, type SubsetSource } from './subsets.js';
import type { SubsetWorkerReply, SubsetWorkerRequest } from './subsetWorker.js';

/** Fewer (draw × member) preparations than this are not worth starting threads for. */
const MIN_PARALLEL_WORK = 200;

/**
 * Threads for the draws: TASKMAP_THREADS when set, else 1. Opt-in for now: on the shared 2-core development
 * machine (load average 4–10 while measured) a second thread made the bootstrap slower, not faster — the other
 * core was never free — and it has not been measured on a quiet machine (see the README's benchmark table).
 */
export function drawThreads(): number {
  const t = Number(process.env.TASKMAP_THREADS);
  return Number.isInteger(t) && t >= 1 ? Math.min(t, os.availableParallelism()) : 1;
}

export interface DrawPreparation {
  /**
   * The prepared forms of draw `d`, one per preparer (undefined where the preparer declines the subset). They may
   * live in arrays reused by the next call: use them (crossSimilarity copies them) before asking for another draw.
   */
  draw(d: number): Promise<(Prepared | undefined)[]>;
  /** Stop the worker threads (always call it, in a finally). */
  close(): Promise<void>;
  /** How many draws worker threads have prepared so far (the rest ran on this thread). */
  readonly fromWorkers: number;
  /** Worker threads started (0: every draw is prepared on this thread). */
  readonly workers: number;
}

/** A draw sent to a worker: resolved with its prepared forms, or with undefined when this thread must prepare it. */
interface Pending {
  resolve: (p: (Prepared | undefined)[] | undefined) => void;
  reject: (e: Error) => void;
}

/** Prepare `subsets` (draw d = subsets[d]) with `preparers` on up to `threads` threads (this one included). */
export function prepareDraws(preparers: SourcedPreparer[], subsets: Uint32Array[], threads = drawThreads()): DrawPreparation {
  const own = preparers;
  // One block for every member's vector, reused by every draw prepared here: fresh memory costs a page fault per
  // 4 KiB, and vectors side by side in member order are already the matrix the comparison GEMM reads (no copy).
  let arena = new Float64Array(0);
  const local = (d: number) => {
    const s = subsets[d].length;
    const m = (s * (s - 1)) / 2;
    if (arena.length !== m * own.length) arena = new Float64Array(m * own.length);
    return own.map((p, k) => p.prepare(subsets[d], arena.subarray(k * m, (k + 1) * m)));
  };
  const t = Math.max(1, Math.min(threads, subsets.length));
  if (t === 1 || preparers.length * subsets.length < MIN_PARALLEL_WORK) {
    return { draw: async (d) => local(d), close: async () => undefined, fromWorkers: 0, workers: 0 };
  }
  // Workers read the full matrices where they are (subsetPreparer keeps them in shared memory); a source that is
  // not shared is copied there once.
  const sources: SubsetSource[] = preparers.map((p) =>
    p.source.matrix.buffer instanceof SharedArrayBuffer ? p.source : { ...p.source, matrix: shared(p.source.matrix) },
  );
  const workers: Worker[] = [];
  const pending = new Map<number, Pending>();
  const results = new Map<number, Promise<(Prepared | undefined)[] | undefined>>();
  let closed = false;
  let fromWorkers = 0;
  for (let w = 1; w < t; w++) {
    let worker: Worker;
    try {
      worker = startSiblingWorker(import.meta.url, 'subsetWorker', 'bootstrap');
    } catch {
      // Its draws stay on this thread.
      continue;
    }
    workers.push(worker);
    // A worker that fails hands the draws it has not answered back to this thread, which prepares them when they
    // are asked for (not now: its reused vectors may be in use by the draw being scored).
    const fail = () => {
      for (let d = w; d < subsets.length; d += t) {
        const p = pending.get(d);
        if (p) {
          pending.delete(d);
          if (closed) p.reject(new Error('bootstrap preparation closed'));
          else p.resolve(undefined);
        }
      }
      void worker.terminate();
    };
    worker.on('message', (m: SubsetWorkerReply) => {
      const p = pending.get(m.draw);
      if (!p) return;
      pending.delete(m.draw);
      if ('error' in m) p.reject(new Error(m.error));
      else {
        fromWorkers++;
        p.resolve(m.prepared.map((x) => x ?? undefined));
      }
    });
    worker.on('error', fail);
    worker.on('exit', fail);
    worker.postMessage({ sources } satisfies SubsetWorkerRequest);
    for (let d = w; d < subsets.length; d += t) {
      const result = new Promise<(Prepared | undefined)[] | undefined>((resolve, reject) => pending.set(d, { resolve, reject }));
      // Awaited by draw(d); a draw never asked for (an earlier draw failed) must not become an unhandled rejection.
      result.catch(() => undefined);
      results.set(d, result);
      worker.postMessage({ draw: d, idx: subsets[d] } satisfies SubsetWorkerRequest);
    }
  }
  return {
    async draw(d) {
      return (await results.get(d)) ?? local(d);
    },
    async close() {
      closed = true;
      await Promise.all(workers.map((w) => w.terminate()));
    },
    get fromWorkers() {
      return fromWorkers;
    },
    workers: workers.length,
  };
}
