/**
 * `taskmap worker`: a process that takes taskmap jobs from the queue and runs them. It runs only the job kinds it
 * knows (payloads.ts), parses every payload with its schema, and reads and writes only inside its roots; a job it
 * refuses fails at once, without retries, with the reason. Any number of workers on any number of machines may
 * serve one queue, as long as they see the shared folders at the same paths.
 *
 * A worker that dies mid-job (kill -9, a lost machine) stops renewing the job's lock; after `lockMs` another
 * worker's stalled-job check puts the job back in the queue and it is run again. Its outputs are written
 * atomically, so the half-done attempt leaves nothing behind.
 */
import { hostname } from 'node:os';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { checkReachable, QUEUE_NAME, redact, type QueueTarget } from './connection.js';
import { closeExtractionThreads, runExtractShard } from './extract.js';
import { isJobKind, JOB_KINDS, RefusedJob } from './payloads.js';
import type { Roots } from './roots.js';
import { runSimilarityBlock, runSimilarityPairs, runSimilarityPrepare } from './similarity.js';

export interface WorkerOptions {
  target: QueueTarget;
  roots: Roots;
  /** Jobs run at once by this process (default 1). */
  concurrency?: number;
  /** How long a job's lock lasts without renewal: a killed worker's job is retried after about this long (ms, default 30000). */
  lockMs?: number;
  onLog?: (message: string) => void;
  /** Tests only: pause this long before writing each output chunk of an extraction shard (fault injection). */
  pauseMs?: number;
}

export interface RunningWorker {
  /** Stop taking jobs; resolves when the running ones have finished (or, with `force`, at once). */
  close(force?: boolean): Promise<void>;
  /** Resolves when the worker has stopped. */
  closed: Promise<void>;
}

function titleOf(job: Job): string {
  const t = (job.data as { title?: unknown } | undefined)?.title;
  return `${job.name} ${typeof t === 'string' ? t.slice(0, 300) : `#${job.id}`}`;
}

/** Run one job by kind; refusals become BullMQ's UnrecoverableError (failed at once, never retried). */
export async function dispatch(job: Job, roots: Roots, concurrency: number, pauseMs = 0): Promise<unknown> {
  try {
    if (!isJobKind(job.name)) throw new RefusedJob(`unknown job kind "${String(job.name).slice(0, 100)}"; this worker runs ${JOB_KINDS.join(', ')}`);
    switch (job.name) {
      case 'extract-shard':
        return await runExtractShard(job.data, roots, concurrency, pauseMs);
      case 'similarity-prepare':
        return await runSimilarityPrepare(job.data, roots);
      case 'similarity-block':
        return await runSimilarityBlock(job.data, roots);
      case 'similarity-pairs':
        return await runSimilarityPairs(job.data, roots);
    }
  } catch (e) {
    if (e instanceof RefusedJob) throw new UnrecoverableError(`refused: ${e.message}`);
    throw e;
  }
}

export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const { target, roots } = opts;
  const log = opts.onLog ?? (() => undefined);
  const concurrency = opts.concurrency ?? 1;
  const lockMs = opts.lockMs ?? 30_000;
  await checkReachable(target);
  const started = new Map<string, number>();
  const worker = new Worker(QUEUE_NAME, (job) => dispatch(job, roots, concurrency, opts.pauseMs), {
    connection: { ...target.connection, maxRetriesPerRequest: null },
    // Recorded on each job it runs (job.processedBy) and shown by CLIENT LIST: which machine and process.
    name: `${hostname()}:${process.pid}`,
    concurrency,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    // A job whose worker dies twice in a row is still retried once more before it counts as failed.
    maxStalledCount: 2,
    autorun: false,
  });
  let lastError = '';
  worker.on('error', (e: Error) => {
    const msg = redact(e.message ?? String(e), target);
    if (msg !== lastError) log(`queue error: ${msg}`);
    lastError = msg;
  });
  worker.on('active', (job) => {
    started.set(String(job.id), performance.now());
    log(`started ${titleOf(job)}`);
  });
  worker.on('completed', (job) => {
    const t0 = started.get(String(job.id));
    started.delete(String(job.id));
    log(`done ${titleOf(job)}${t0 === undefined ? '' : ` in ${((performance.now() - t0) / 1000).toFixed(2)} s`}`);
  });
  worker.on('failed', (job, err) => {
    if (job) started.delete(String(job.id));
    log(`failed ${job ? titleOf(job) : '(unknown job)'}: ${redact(err.message, target)}`);
  });
  worker.on('stalled', (id) => log(`job ${id} stalled (its worker stopped answering); put back in the queue`));
  await worker.waitUntilReady();
  const closed = worker.run();
  log(`worker on ${target.display}, queue "${QUEUE_NAME}", concurrency ${concurrency}, roots ${roots.dirs.join(', ')}`);
  return {
    close: (force) => worker.close(force),
    closed: closed.then(() => closeExtractionThreads()),
  };
}
