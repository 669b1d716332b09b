/**
 * Runs extraction jobs on worker threads, longest first (LPT scheduling keeps both cores busy until the end),
 * or in-process when `workers` is 0 (tests, debugging). Each worker runs one job at a time.
 */
import type { Worker } from 'node:worker_threads';
import { startSiblingWorker } from '../workers/startWorker.js';
import { terminateWorker } from '../workers/terminate.js';
import { runJob, type Job, type JobEvent } from './job.js';

/** A worker running ./worker (see startSiblingWorker for the .ts / .js cases). */
function startWorker(): Worker {
  return startSiblingWorker(import.meta.url, 'worker', 'extraction');
}

export interface RunJobsOptions {
  /** Worker threads; 0 runs jobs in this thread. */
  workers: number;
  /** Expected cost of a job (any unit): the most expensive start first. */
  cost: (j: Job) => number;
  /**
   * Sees every event, one at a time in arrival order (so the caller's writes never interleave). Throwing stops
   * everything: no further jobs start, workers are terminated, and runJobs rejects with that error.
   */
  onEvent: (e: JobEvent) => void | Promise<void>;
  /** Starts a worker (default: ./worker on a thread; tests pass a stand-in). */
  startWorker?: () => Worker;
  /** How long a worker whose jobs are done may take to exit (default WORKER_EXIT_GRACE_MS, workers/terminate.ts). */
  exitGraceMs?: number;
}

export async function runJobs(jobs: Job[], opts: RunJobsOptions): Promise<void> {
  const queue = [...jobs].sort((a, b) => opts.cost(b) - opts.cost(a));
  const workers: Worker[] = [];
  let failure: unknown;
  let chain: Promise<void> = Promise.resolve();
  const handle = (e: JobEvent): void => {
    chain = chain
      .then(() => (failure === undefined ? opts.onEvent(e) : undefined))
      .catch((err: unknown) => {
        failure ??= err;
        queue.length = 0;
        for (const w of workers) void w.terminate();
      });
  };
  if (opts.workers <= 0) {
    for (let job = queue.shift(); job && failure === undefined; job = queue.shift()) {
      await runJob(job, handle);
      await chain;
    }
  } else {
    const runWorker = () =>
      new Promise<void>((resolve, reject) => {
        const worker = (opts.startWorker ?? startWorker)();
        workers.push(worker);
        let current: Job | undefined;
        const next = () => {
          current = queue.shift();
          if (current) worker.postMessage(current);
          // Its 'exit' handler below settles this worker; the grace period only ends a wait that would never end.
          else void terminateWorker(worker, 'an extraction worker', opts.exitGraceMs).then(resolve);
        };
        worker.on('message', (e: JobEvent) => {
          handle(e);
          if (e.type === 'done' || e.type === 'error') next();
        });
        worker.on('error', (err) => {
          if (current) handle({ type: 'error', jobId: current.id, message: `worker crashed: ${err.message}` });
          reject(err);
        });
        worker.on('exit', (code) => {
          if (current && code !== 0 && failure === undefined) reject(new Error(`extraction worker exited with code ${code} while running ${current.label}`));
          else resolve();
        });
        next();
      });
    await Promise.allSettled(Array.from({ length: Math.min(opts.workers, queue.length) }, runWorker)).then((rs) => {
      const bad = rs.find((r) => r.status === 'rejected');
      if (bad && failure === undefined) failure = (bad as PromiseRejectedResult).reason;
    });
  }
  await chain;
  if (failure !== undefined) throw failure;
}
