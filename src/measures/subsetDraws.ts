/**
 * The bootstrap draws' prepared forms on several cores (drawThreads: opt-in): draw d is prepared on this thread
 * when d is a multiple of the thread count and on worker thread d mod threads otherwise; every thread holds the same preparers over the
 * same full matrices (shared memory, not copies), so the results are the same wherever a draw runs. A worker that
 * fails hands its draws back to this thread. The preparation is pure computation on the CPU (the GEMM engine is
 * not involved), which is what one thread per core speeds up.
 *
 * No draw allocates: this thread prepares into one kept block, and each worker into a few slots of shared memory
 * that this thread reads in place and hands back when it asks for the next draw. Threads of one process that touch
 * fresh memory contend for its page tables (a page fault per 4 KiB costs ~4 µs on the development VM), and moving
 * each draw's vectors to this thread as new buffers made two threads no faster than one.
 */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startSiblingWorker } from '../workers/startWorker.js';
import { preparedLength, type Prepared } from './compare.js';
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
   * The prepared forms of draw `d`, one per preparer (undefined where the preparer declines the subset). They live
   * in arrays reused by the next call: use them (crossSimilarity copies or reads them) before asking for another draw.
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

/** Slots per worker: how many of its draws it may prepare ahead of this thread. */
const SLOTS = 4;

/** Where a worker writes its draws' vectors: SLOTS blocks of members × length, and each slot's state (1 = full). */
export interface DrawSlots {
  values: Float64Array;
  state: Int32Array;
  members: number;
  length: number;
}

/** Prepare `subsets` (draw d = subsets[d]) with `preparers` on up to `threads` threads (this one included). */
export function prepareDraws(preparers: SourcedPreparer[], subsets: Uint32Array[], threads = drawThreads()): DrawPreparation {
  const own = preparers;
  // Every draw has the same size; product-form comparators have vectors of a known length (else no kept block).
  const length = subsets.length && own.length ? preparedLength(own[0].source.pipeline.compare, subsets[0].length) : undefined;
  // One block for every member's vector, reused by every draw prepared here: vectors side by side in member order
  // are already the matrix the comparison GEMM reads (no copy).
  const arena = length === undefined ? undefined : new Float64Array(length * own.length);
  const local = (d: number) => own.map((p, k) => p.prepare(subsets[d], arena?.subarray(k * length!, (k + 1) * length!)));
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
  /** The slot of each draw a worker writes into shared memory. */
  const slotOf = new Map<number, { slots: DrawSlots; slot: number }>();
  /** The slot this thread read the last draw from, handed back when the next draw is asked for. */
  let held: { slots: DrawSlots; slot: number } | undefined;
  const release = () => {
    if (!held) return;
    Atomics.store(held.slots.state, held.slot, 0);
    Atomics.notify(held.slots.state, held.slot);
    held = undefined;
  };
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
    const slots: DrawSlots | undefined =
      length === undefined
        ? undefined
        : {
            values: new Float64Array(new SharedArrayBuffer(8 * SLOTS * own.length * length)),
            state: new Int32Array(new SharedArrayBuffer(4 * SLOTS)),
            members: own.length,
            length,
          };
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
      else if ('slot' in m) {
        fromWorkers++;
        const base = m.slot * slots!.members * slots!.length;
        p.resolve(
          m.declined.map((no, k) =>
            no ? undefined : { kind: 'unit', vector: slots!.values.subarray(base + k * slots!.length, base + (k + 1) * slots!.length) },
          ),
        );
      } else {
        fromWorkers++;
        p.resolve(m.prepared.map((x) => x ?? undefined));
      }
    });
    worker.on('error', fail);
    worker.on('exit', fail);
    worker.postMessage({ sources, slots } satisfies SubsetWorkerRequest);
    for (let d = w, j = 0; d < subsets.length; d += t, j++) {
      const result = new Promise<(Prepared | undefined)[] | undefined>((resolve, reject) => pending.set(d, { resolve, reject }));
      // Awaited by draw(d); a draw never asked for (an earlier draw failed) must not become an unhandled rejection.
      result.catch(() => undefined);
      results.set(d, result);
      if (slots) slotOf.set(d, { slots, slot: j % SLOTS });
      worker.postMessage({ draw: d, idx: subsets[d], slot: slots ? j % SLOTS : undefined } satisfies SubsetWorkerRequest);
    }
  }
  return {
    async draw(d) {
      release();
      const got = await results.get(d);
      if (!got) return local(d);
      held = slotOf.get(d);
      return got;
    },
    async close() {
      closed = true;
      release();
      await Promise.all(workers.map((w) => w.terminate()));
    },
    get fromWorkers() {
      return fromWorkers;
    },
    workers: workers.length,
  };
}
