/**
 * Ending a worker thread without letting it hold up the run. terminate() resolves when the thread exits; once (of
 * some 35 cold demo runs) an extraction worker thread sat in Node's NodePlatform::DrainTasks after its last job — a
 * condition wait for platform tasks, idle — and the whole run waited for its exit for good, though all its results
 * were in. So a worker whose work is done gets a grace period to exit; after it, the run goes on with a warning, and
 * the thread no longer keeps the event loop alive.
 */
import type { Worker } from 'node:worker_threads';

/** How long a worker whose work is done may take to exit after terminate(). */
export const WORKER_EXIT_GRACE_MS = 30_000;

/** Terminate `worker`; resolves when it exits, or after `graceMs` with a TaskmapWarning (code TASKMAP_WORKER_EXIT). */
export function terminateWorker(worker: Worker, what: string, graceMs: number = WORKER_EXIT_GRACE_MS): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      process.emitWarning(
        `${what} did not exit ${graceMs / 1000} s after its work was done; going on without it (all its results are in; if it never exits, the process may not end by itself)`,
        { type: 'TaskmapWarning', code: 'TASKMAP_WORKER_EXIT' },
      );
      worker.unref();
      resolve();
    }, graceMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    worker.terminate().then(done, done);
  });
}
