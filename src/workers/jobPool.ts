/**
 * Jobs run on worker threads, one job per thread at a time: the task bank's networks and readouts, its teacher
 * targets, the NSL benchmark's training runs. TF.js WASM is single-threaded in Node, so a thread per core is what
 * keeps the cores busy; each thread keeps its own runtime (and whatever it caches) across the jobs it is given.
 *
 * The protocol is one posted job → any number of `{ progress }` messages → exactly one `{ result }` or `{ error }`.
 * The first failure stops the handing out of jobs; jobs already running finish (their results are delivered, so
 * whatever they cache is kept for a re-run), then the failure is thrown and every thread is stopped.
 */
import { parentPort, type Transferable, type Worker } from 'node:worker_threads';
import { terminateWorker } from './terminate.js';

/** What a job worker posts for one job. */
export type JobReply<R, P> = { result: R } | { progress: P } | { error: string };

export interface JobPoolOptions<R, P> {
  /** Threads to start (at most one per job; callers that want no threads run their jobs inline instead). */
  threads: number;
  /** Start one worker thread (e.g. startSiblingWorker of the module that calls serveJobs). */
  start: () => Worker;
  /**
   * The index of the next job for thread `thread`, or undefined when it has none left; default: the jobs in order.
   * Lets a caller keep jobs that share cached state on the same thread.
   */
  take?: (thread: number) => number | undefined;
  /** Each result as it arrives (awaited before that thread takes another job). */
  onResult: (index: number, result: R) => void | Promise<void>;
  onProgress?: (index: number, progress: P) => void;
  /** The job's name in an error message. */
  describe: (index: number) => string;
}

/** Run `jobs` on `opts.threads` worker threads; resolves when every job has a result. */
export async function runOnWorkers<J, R, P = never>(jobs: readonly J[], opts: JobPoolOptions<R, P>): Promise<void> {
  if (jobs.length === 0) return;
  let next = 0;
  let failed: Error | undefined;
  const take = (thread: number): number | undefined => {
    if (failed) return undefined;
    if (opts.take) return opts.take(thread);
    return next < jobs.length ? next++ : undefined;
  };
  const threads: Worker[] = [];
  const runThread = async (thread: number): Promise<void> => {
    const worker = opts.start();
    threads.push(worker);
    for (let i = take(thread); i !== undefined; i = take(thread)) {
      const index = i;
      const reply = await new Promise<{ result: R } | { error: string }>((resolve) => {
        const onError = (e: Error) => {
          worker.off('message', onMessage);
          resolve({ error: e.message });
        };
        const onMessage = (m: JobReply<R, P>) => {
          if ('progress' in m) {
            opts.onProgress?.(index, m.progress);
            return;
          }
          worker.off('message', onMessage);
          worker.off('error', onError);
          resolve(m);
        };
        worker.on('message', onMessage);
        worker.once('error', onError);
        worker.postMessage(jobs[index]);
      });
      if ('error' in reply) {
        failed ??= new Error(`${opts.describe(index)}: ${reply.error}`);
        return;
      }
      await opts.onResult(index, reply.result);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.threads, jobs.length)) }, (_, t) => runThread(t)));
  } finally {
    await Promise.all(threads.map((w) => terminateWorker(w, 'a job worker')));
  }
  if (failed) throw failed;
}

/**
 * The worker side: answer every posted job with `run`'s progress and then its result or its error. `transfer`
 * names buffers of a result to move instead of copy.
 */
export function serveJobs<J, R, P = never>(
  what: string,
  run: (job: J, progress: (p: P) => void) => Promise<R>,
  transfer?: (result: R) => Transferable[],
): void {
  if (!parentPort) throw new Error(`${what} must run in a worker thread`);
  const port = parentPort;
  port.on('message', (job: J) => {
    run(job, (progress) => port.postMessage({ progress } satisfies JobReply<R, P>)).then(
      (result) => port.postMessage({ result } satisfies JobReply<R, P>, transfer?.(result) ?? []),
      (err: unknown) => port.postMessage({ error: (err as Error)?.message ?? String(err) } satisfies JobReply<R, P>),
    );
  });
}
