/**
 * Worker threads for everything that parses a file or runs a job (tasks.ts), so that no input can take the server
 * down: the main thread only routes requests and keeps answering (`/api/health` included) while work runs.
 *
 * Two lanes, each one worker thread running one task at a time: `jobs` for the background jobs (one at a time,
 * as before) and `reads` for uploads and the catalog's file sniffing, so an upload is not stuck behind a
 * half-hour job. Every task has a wall-clock limit, and the work in progress a memory limit enforced twice: V8's
 * heap limit per worker (`resourceLimits`), which aborts the worker rather than the process; and a watchdog on the
 * process's resident memory, since typed arrays (every matrix) live outside the V8 heap and a hostile n × n
 * allocation would otherwise grow until the kernel kills the whole server. A worker that hits a limit, is
 * cancelled or crashes is terminated and its task fails with a message saying which limit it hit; the next task
 * starts a fresh worker.
 */
import type { Worker } from 'node:worker_threads';
import { startSiblingWorker } from '../workers/startWorker.js';
import { HttpError } from './errors.js';
import type { Progress } from './jobs.js';
import type { TaskArgs, TaskName, TaskResult } from './tasks.js';

export interface WorkerInit {
  roots: { dir: string; name: string; writable: boolean }[];
}

export type ToWorker = { id: number; task: string; args: unknown };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; id: number; progress: Progress }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; status: number; code: string; message: string; detail?: string };

export interface WorkerLimits {
  /** Heap of each worker and growth of the server's resident memory while work runs, MiB. */
  memoryMb: number;
  /** Wall-clock limit of a background job, seconds. */
  jobTimeLimit: number;
  /** Wall-clock limit of reading one upload (or sniffing one listed file), seconds. */
  readTimeLimit: number;
}

export const DEFAULT_WORKER_LIMITS: WorkerLimits = { memoryMb: 2048, jobTimeLimit: 1800, readTimeLimit: 120 };

/** How often the resident-memory watchdog looks, ms: a runaway allocation grows by well under 1 GB in this time. */
const WATCHDOG_MS = 50;

export interface RunOptions {
  /** Who fails, for messages: "the job", "reading evil.pkl". */
  what: string;
  onProgress?: (p: Progress) => void;
  /** Aborting terminates the worker; the task rejects with the signal's reason. */
  signal?: AbortSignal;
}

interface Running {
  id: number;
  what: string;
  onProgress?: (p: Progress) => void;
  settle: (error: unknown, value?: unknown) => void;
}

export function outOfMemory(what: string, memoryMb: number): HttpError {
  return new HttpError(
    413,
    'out_of_memory',
    `${what} ran out of memory (limit ${memoryMb} MB) and was stopped: the input is too large for this server (taskmap serve --worker-memory-mb raises the limit)`,
  );
}

class WorkerLane {
  private worker?: Worker;
  private ready?: Promise<Worker>;
  private tail: Promise<unknown> = Promise.resolve();
  private current?: Running;
  private nextId = 1;

  constructor(
    private readonly pool: Workers,
    private readonly timeLimitS: number,
    private readonly timeFlag: string,
  ) {}

  get busy(): boolean {
    return this.current !== undefined;
  }

  /** The running task's description, for the watchdog's message. */
  get running(): string | undefined {
    return this.current?.what;
  }

  /** Run a task after those already queued on this lane. */
  run<K extends TaskName>(task: K, args: TaskArgs<K>, opts: RunOptions): Promise<TaskResult<K>> {
    const result = this.tail.then(() => this.runNow(task, args, opts));
    this.tail = result.catch(() => undefined);
    return result as Promise<TaskResult<K>>;
  }

  /** Stop the running task (it fails with `reason`) and its worker. */
  kill(reason: unknown): Promise<unknown> {
    this.current?.settle(reason);
    const w = this.worker;
    this.worker = undefined;
    this.ready = undefined;
    return w ? w.terminate() : Promise.resolve();
  }

  async close(): Promise<void> {
    await this.kill(new HttpError(503, 'cancelled', 'the server is shutting down'));
  }

  private async runNow(task: TaskName, args: unknown, opts: RunOptions): Promise<unknown> {
    opts.signal?.throwIfAborted();
    let worker: Worker;
    try {
      worker = await this.start();
    } catch (e) {
      opts.signal?.throwIfAborted();
      throw e;
    }
    opts.signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const timer = setTimeout(
        () => void this.kill(new HttpError(422, 'timeout', `${opts.what} ran longer than ${this.timeLimitS} s and was stopped (taskmap serve ${this.timeFlag} raises the limit)`)),
        this.timeLimitS * 1000,
      );
      const onAbort = () => void this.kill(opts.signal!.reason);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.current = {
        id,
        what: opts.what,
        onProgress: opts.onProgress,
        settle: (error, value) => {
          if (this.current?.id !== id) return;
          clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
          this.current = undefined;
          this.pool.settled();
          if (error === undefined) resolve(value);
          else reject(error);
        },
      };
      this.pool.started();
      worker.postMessage({ id, task, args } satisfies ToWorker);
    });
  }

  private start(): Promise<Worker> {
    if (this.ready) return this.ready;
    let worker: Worker;
    try {
      worker = startSiblingWorker(import.meta.url, 'worker', 'server', {
        workerData: this.pool.init,
        resourceLimits: { maxOldGenerationSizeMb: this.pool.limits.memoryMb },
      });
    } catch (e) {
      return Promise.reject(new HttpError(500, 'internal', (e as Error).message));
    }
    // The server's socket keeps the process alive; an idle worker must not keep it alive after close().
    worker.unref();
    this.worker = worker;
    const ready = new Promise<Worker>((resolve, reject) => {
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') return resolve(worker);
        const cur = this.current;
        if (!cur || m.id !== cur.id) return;
        if (m.type === 'progress') cur.onProgress?.(m.progress);
        else if (m.type === 'result') cur.settle(undefined, m.value);
        else {
          if (m.detail) this.pool.log(m.detail);
          cur.settle(new HttpError(m.status, m.code as HttpError['code'], m.message));
        }
      });
      // A worker that stops by itself: V8 aborted it at its heap limit, or something escaped the task's handler.
      const lost = (err: unknown) => {
        if (this.worker !== worker) {
          // Terminated on purpose: its task has been settled already; only a start still waiting must hear of it.
          reject(new HttpError(503, 'cancelled', 'the worker was stopped'));
          return;
        }
        this.worker = undefined;
        this.ready = undefined;
        const oom = (err as { code?: string })?.code === 'ERR_WORKER_OUT_OF_MEMORY';
        if (!oom) this.pool.log(`server worker stopped: ${String((err as Error)?.stack ?? err)}`);
        const reason = oom ? outOfMemory(this.current?.what ?? 'the task', this.pool.limits.memoryMb) : new HttpError(500, 'internal', 'the worker running this task stopped unexpectedly; see the server log');
        this.current?.settle(reason);
        reject(reason);
        void worker.terminate();
      };
      worker.on('error', lost);
      worker.on('exit', (code) => lost(new Error(`exit code ${code}`)));
    });
    // Not yet awaited when the worker dies at startup with nothing queued.
    ready.catch(() => undefined);
    this.ready = ready;
    return ready;
  }
}

/** The server's worker lanes and the memory watchdog over them. */
export class Workers {
  readonly jobs: WorkerLane;
  readonly reads: WorkerLane;
  readonly limits: WorkerLimits;
  private lanes: WorkerLane[];
  private baseline = 0;
  private watchdog?: NodeJS.Timeout;

  constructor(
    readonly init: WorkerInit,
    limits: Partial<WorkerLimits> = {},
    readonly log: (message: string) => void = () => undefined,
  ) {
    this.limits = { ...DEFAULT_WORKER_LIMITS, ...limits };
    this.jobs = new WorkerLane(this, this.limits.jobTimeLimit, '--job-time-limit');
    this.reads = new WorkerLane(this, this.limits.readTimeLimit, '--read-time-limit');
    this.lanes = [this.jobs, this.reads];
  }

  /** A lane began a task: measure from here if nothing else runs. */
  started(): void {
    if (this.watchdog) return;
    this.baseline = process.memoryUsage.rss();
    this.watchdog = setInterval(() => this.check(), WATCHDOG_MS);
    this.watchdog.unref();
  }

  settled(): void {
    if (this.watchdog && !this.lanes.some((l) => l.busy)) {
      clearInterval(this.watchdog);
      this.watchdog = undefined;
    }
  }

  private check(): void {
    const grown = (process.memoryUsage.rss() - this.baseline) / 1048576;
    if (grown <= this.limits.memoryMb) return;
    // Which thread holds the memory cannot be told from outside it: every running task is stopped.
    for (const lane of this.lanes) {
      const what = lane.running;
      if (what) void lane.kill(outOfMemory(what, this.limits.memoryMb));
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.close()));
    this.settled();
  }
}
