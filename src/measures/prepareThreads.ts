/**
 * The members' preparation (read → normalise → n×n matrix → centre → rank) on several threads (issue 15, goal 2).
 * Each worker opens the same feature set itself and reads the members it takes (nothing is sent but indices), and
 * writes each prepared vector into its place in one shared block: the M×M comparison then stays one GEMM over that
 * block. Threads take the next member from one shared counter, so a slow start or a large member does not leave a
 * thread idle while another still has a queue. Only product-form comparators (a vector per member) run here.
 */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { FeatureSetReopen } from '../features/types.js';
import type { ReadBuffer } from '../io/input.js';
import type { GemmEngine, Precision } from '../linalg/gemm.js';
import { oneBlasThreadEach } from '../linalg/lapack.js';
import { startSiblingWorker } from '../workers/startWorker.js';
import { envThreads } from '../workers/threadCount.js';
import { terminateWorker } from '../workers/terminate.js';
import type { Prepared } from './compare.js';
import type { PrepareWorkerInit, PrepareWorkerReply } from './prepareWorker.js';

/** Below this many feature values in all, members are prepared on this thread: a worker's start would not pay. */
export const MIN_THREADED_VALUES = 8_000_000;

/**
 * Threads for the members' preparation: `requested` (--threads), else TASKMAP_THREADS, else every core when the
 * members hold at least MIN_THREADED_VALUES feature values — never more than one per two members. A worker takes
 * members about 0.25 s after it starts (its modules and GEMM engine), so small sets stay on one thread;
 * `npm run bench:wholeprocess` times the default beside `--threads 1` (docs/measures.md has its figures).
 */
export function prepareThreads(members: number, values: number, requested?: number): number {
  const env = envThreads();
  const cores = os.availableParallelism();
  const wanted = requested ?? (env !== undefined ? Math.min(env, cores) : values >= MIN_THREADED_VALUES ? cores : 1);
  return Math.max(1, Math.min(wanted, Math.floor(members / 2)));
}

/** What this thread does with the members it takes: prepare member i with its vector written into `into`. */
export type PrepareLocal = (i: number, buffer: ReadBuffer, into: Float64Array) => Promise<Prepared>;

/**
 * Prepare the `m` members that `reopen` opens into `block` (m × length, on shared memory), this thread included;
 * `onDone(i)` after each member, wherever it ran. A worker that cannot start leaves its share to the others; the
 * first failure stops the hand-out and is thrown once running members finish.
 */
export async function prepareOnThreads(
  reopen: FeatureSetReopen,
  m: number,
  job: { id: string; precision?: Precision; engine: GemmEngine; length: number; threads: number },
  local: PrepareLocal,
  onDone: (i: number) => void,
): Promise<{ block: Float64Array; fromWorkers: number }> {
  const block = new Float64Array(new SharedArrayBuffer(8 * m * job.length));
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const init: PrepareWorkerInit = {
    reopen,
    id: job.id,
    precision: job.precision,
    engine: job.engine.name === 'js' ? 'js' : 'auto',
    block: block.buffer as SharedArrayBuffer,
    counter: counter.buffer as SharedArrayBuffer,
    members: m,
    length: job.length,
  };
  let failure: Error | undefined;
  let fromWorkers = 0;
  const done = new Uint8Array(m);
  const finish = (i: number) => {
    done[i] = 1;
    onDone(i);
  };
  const stop = (e: Error) => {
    failure ??= e;
    Atomics.store(counter, 0, m);
  };
  // Set here, before any worker starts — not by a worker while this thread may be inside a product.
  const restoreBlas = oneBlasThreadEach();
  const workers: Worker[] = [];
  const finished: Promise<void>[] = [];
  for (let w = 1; w < job.threads; w++) {
    let worker: Worker;
    try {
      worker = startSiblingWorker(import.meta.url, 'prepareWorker', 'preparation');
    } catch {
      continue;
    }
    workers.push(worker);
    finished.push(
      new Promise<void>((resolve) => {
        worker.on('message', (r: PrepareWorkerReply) => {
          if ('done' in r) {
            fromWorkers++;
            finish(r.done);
          } else if ('error' in r) stop(new Error(r.error));
          else resolve();
        });
        // A worker that dies (or cannot load) stops taking members; one it had taken is prepared here afterwards.
        worker.on('error', () => resolve());
        worker.on('exit', () => resolve());
      }),
    );
    worker.postMessage(init);
  }
  const buffer: ReadBuffer = {};
  const prepareHere = async (i: number) => {
    try {
      await local(i, buffer, block.subarray(i * job.length, (i + 1) * job.length));
      finish(i);
    } catch (e) {
      stop(e as Error);
    }
  };
  try {
    for (;;) {
      const i = Atomics.add(counter, 0, 1);
      if (i >= m || failure) break;
      await prepareHere(i);
    }
    await Promise.all(finished);
    for (let i = 0; i < m && !failure; i++) if (!done[i]) await prepareHere(i);
  } finally {
    await Promise.all(workers.map((w) => terminateWorker(w, 'a preparation worker')));
    restoreBlas();
  }
  if (failure) throw failure;
  return { block, fromWorkers };
}
