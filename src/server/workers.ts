/**
 * Worker processes for everything that parses a file or runs a job (tasks.ts), so that no input can take the
 * server down: the server process only routes requests and keeps answering (`/api/health` included) while work
 * runs.
 *
 * Processes, not worker threads: the similarity measures multiply matrices in onnxruntime-node, whose native
 * addon aborts the whole process when a worker thread running it is terminated or dies at its heap limit. A
 * child process can be killed at any instant, even inside native code, and its resident memory measured alone.
 *
 * Two lanes, each one worker process running one task at a time: `jobs` for the background jobs (one at a time,
 * as before) and `reads` for uploads, the catalog's file sniffing and the Taskonomy routes' inline computations
 * (results info and matrix, AHP, policy solves), so none of these is stuck behind a half-hour job. Every task has a wall-clock limit, and each worker a memory limit enforced twice: V8's heap
 * limit (--max-old-space-size), and a watchdog on the worker's resident memory, since typed arrays (every
 * matrix) live outside the V8 heap and a hostile n × n allocation would otherwise grow until the kernel's OOM
 * killer picks a victim. A worker that hits a limit, is cancelled or crashes is killed and its task fails with a
 * message saying which limit it hit; the next task starts a fresh worker.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULT_MAX_MEMORY, maxMemory } from '../io/limits.js';
import { HttpError } from './errors.js';
import type { Progress } from './jobs.js';
import type { TaskArgs, TaskName, TaskResult } from './tasks.js';

export interface WorkerInit {
  roots: { dir: string; name: string; writable: boolean }[];
  /** WorkerLimits.memoryMb, for the readers' own budget. */
  memoryMb: number;
  /** The readers' budget in bytes when the server was given one (taskmap --max-memory, TASKMAP_MAX_MEMORY). */
  readerBudget?: number;
  /** Load the HiGHS solver at start (the reads worker, which answers the live policy view). */
  preloadSolver?: boolean;
}

export type ToWorker = { id: number; task: string; args: unknown };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; id: number; progress: Progress }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; status: number; code: string; message: string; detail?: string };

export interface WorkerLimits {
  /** Resident memory (and V8 heap) of each worker process, MiB. */
  memoryMb: number;
  /** Wall-clock limit of a background job, seconds. */
  jobTimeLimit: number;
  /** Wall-clock limit of reading one upload (or sniffing one listed file), seconds. */
  readTimeLimit: number;
}

export const DEFAULT_WORKER_LIMITS: WorkerLimits = { memoryMb: 2048, jobTimeLimit: 1800, readTimeLimit: 120 };

/** How often the resident-memory watchdog looks, ms: a runaway allocation grows by well under 1 GB in this time. */
const WATCHDOG_MS = 50;

/** Resident memory of a process in MiB from /proc (Linux); undefined where there is none (then only the heap limit applies). */
function residentMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s*(\d+)\s*kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Start ./worker as a process: the compiled .js beside this file, or — when this file is itself .ts source
 * (tests, tsx) — worker.ts through tsx's loader.
 */
function forkWorker(init: WorkerInit): ChildProcess {
  const here = fileURLToPath(import.meta.url);
  const source = here.endsWith('.ts');
  const execArgv = [`--max-old-space-size=${init.memoryMb}`];
  // Resolved from here, not from the server's working directory; createRequire also works under vitest.
  if (source) execArgv.push('--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href);
  return fork(here.replace(/workers\.(ts|js)$/, `worker.${source ? 'ts' : 'js'}`), [], {
    execArgv,
    env: { ...process.env, TASKMAP_WORKER_INIT: JSON.stringify(init) },
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
}

export interface RunOptions {
  /** Who fails, for messages: "the job", "reading evil.pkl". */
  what: string;
  onProgress?: (p: Progress) => void;
  /** Aborting terminates the worker; the task rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Wall-clock limit of this task, seconds, when longer than the lane's (a policy solve with a longer solver time limit). */
  timeLimitS?: number;
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
  private child?: ChildProcess;
  private ready?: Promise<ChildProcess>;
  private tail: Promise<unknown> = Promise.resolve();
  private current?: Running;
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly pool: Workers,
    private readonly timeLimitS: number,
    private readonly timeFlag: string,
    private readonly init: WorkerInit,
  ) {}

  get busy(): boolean {
    return this.current !== undefined;
  }

  /** The running task's worker and description, for the watchdog. */
  get running(): { pid: number; what: string } | undefined {
    const pid = this.child?.pid;
    return this.current && pid !== undefined ? { pid, what: this.current.what } : undefined;
  }

  /** Run a task after those already queued on this lane. */
  run<K extends TaskName>(task: K, args: TaskArgs<K>, opts: RunOptions): Promise<TaskResult<K>> {
    const result = this.tail.then(() => this.runNow(task, args, opts));
    this.tail = result.catch(() => undefined);
    return result as Promise<TaskResult<K>>;
  }

  /**
   * Start the worker now, so the next task does not wait for a process to start and load the library (a second
   * or more under tsx, a few hundred ms from dist/).
   */
  warm(): void {
    if (!this.closed) this.start().catch(() => undefined);
  }

  /** Stop the running task (it fails with `reason`), kill its worker and start a fresh one. */
  kill(reason: unknown): void {
    this.current?.settle(reason);
    const child = this.child;
    this.child = undefined;
    this.ready = undefined;
    child?.kill('SIGKILL');
    this.warm();
  }

  close(): void {
    this.closed = true;
    this.kill(new HttpError(503, 'cancelled', 'the server is shutting down'));
  }

  private async runNow(task: TaskName, args: unknown, opts: RunOptions): Promise<unknown> {
    opts.signal?.throwIfAborted();
    let child: ChildProcess;
    try {
      child = await this.start();
    } catch (e) {
      opts.signal?.throwIfAborted();
      throw e;
    }
    opts.signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const limitS = Math.max(this.timeLimitS, opts.timeLimitS ?? 0);
      const timer = setTimeout(
        () =>
          this.kill(
            new HttpError(422, 'timeout', `${opts.what} ran longer than ${limitS} s and was stopped (taskmap serve ${this.timeFlag} raises the limit)`),
          ),
        limitS * 1000,
      );
      const onAbort = () => this.kill(opts.signal!.reason);
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
          // An idle worker must not keep the process alive (tests, a server that was closed).
          child.channel?.unref();
          this.pool.settled();
          if (error === undefined) resolve(value);
          else reject(error);
        },
      };
      child.channel?.ref();
      this.pool.started();
      child.send({ id, task, args } satisfies ToWorker);
    });
  }

  private start(): Promise<ChildProcess> {
    if (this.ready) return this.ready;
    if (this.closed) return Promise.reject(new HttpError(503, 'cancelled', 'the server is shutting down'));
    let child: ChildProcess;
    try {
      child = forkWorker(this.init);
    } catch (e) {
      return Promise.reject(new HttpError(500, 'internal', `cannot start a server worker: ${(e as Error).message}`));
    }
    child.unref();
    this.child = child;
    // The end of its stderr tells a heap abort from other deaths.
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-4096);
    });
    (child.stderr as { unref?: () => void } | null)?.unref?.();
    const ready = new Promise<ChildProcess>((resolve, reject) => {
      child.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          child.channel?.unref();
          return resolve(child);
        }
        const cur = this.current;
        if (!cur || m.id !== cur.id) return;
        if (m.type === 'progress') cur.onProgress?.(m.progress);
        else if (m.type === 'result') cur.settle(undefined, m.value);
        else {
          if (m.detail) this.pool.log(m.detail);
          cur.settle(new HttpError(m.status, m.code as HttpError['code'], m.message));
        }
      });
      // A worker that stops by itself: V8 aborted it at its heap limit, the kernel killed it, or it crashed.
      const lost = (why: string) => {
        if (this.child !== child) {
          // Killed on purpose: its task has been settled already; only a start still waiting must hear of it.
          reject(new HttpError(503, 'cancelled', 'the worker was stopped'));
          return;
        }
        this.child = undefined;
        this.ready = undefined;
        const oom = /heap out of memory|Allocation failed|ERR_WORKER_OUT_OF_MEMORY|SIGKILL/.test(`${why}\n${stderr}`);
        if (!oom) this.pool.log(`server worker stopped (${why}): ${stderr.trim().split('\n').slice(-5).join('\n')}`);
        const what = this.current?.what ?? 'starting a server worker';
        const reason = oom
          ? outOfMemory(what, this.pool.limits.memoryMb)
          : new HttpError(500, 'internal', `${what} stopped unexpectedly (the worker ${why}); see the server log`);
        this.current?.settle(reason);
        reject(reason);
      };
      child.on('error', (err) => lost(`failed: ${err.message}`));
      child.on('exit', (code, signal) => lost(signal ? `was killed by ${signal}` : `exited with code ${code}`));
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
  readonly init: WorkerInit;
  private lanes: WorkerLane[];
  private watchdog?: NodeJS.Timeout;

  constructor(
    roots: WorkerInit['roots'],
    limits: Partial<WorkerLimits> = {},
    readonly log: (message: string) => void = () => undefined,
  ) {
    this.limits = { ...DEFAULT_WORKER_LIMITS, ...limits };
    // A budget given explicitly to the server decides in its workers too; otherwise the worker's limit does.
    const budget = maxMemory();
    const explicit = budget !== DEFAULT_MAX_MEMORY || Boolean(process.env.TASKMAP_MAX_MEMORY);
    this.init = { roots, memoryMb: this.limits.memoryMb, readerBudget: explicit ? budget : undefined };
    this.jobs = new WorkerLane(this, this.limits.jobTimeLimit, '--job-time-limit', this.init);
    this.reads = new WorkerLane(this, this.limits.readTimeLimit, '--read-time-limit', { ...this.init, preloadSolver: true });
    this.lanes = [this.jobs, this.reads];
  }

  /** A lane began a task: watch while anything runs. */
  started(): void {
    if (this.watchdog) return;
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
    for (const lane of this.lanes) {
      const running = lane.running;
      if (!running) continue;
      const mb = residentMb(running.pid);
      if (mb !== undefined && mb > this.limits.memoryMb) lane.kill(outOfMemory(running.what, this.limits.memoryMb));
    }
  }

  /** Start both workers ahead of the first task. */
  warm(): void {
    for (const lane of this.lanes) lane.warm();
  }

  close(): void {
    for (const lane of this.lanes) lane.close();
    this.settled();
  }
}
