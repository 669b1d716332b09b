/**
 * Background jobs with progress, cached by input hash.
 *
 * A job's id IS the hash of its inputs (kind, parameters, and the size/mtime fingerprints of the files it
 * reads), so submitting the same work twice returns the running or finished job instead of computing again,
 * and a changed input file gives a new id. Jobs run one at a time: the library's numeric work is CPU-bound on
 * the server's event loop, and two at once would only make both slower (and CI machines have two cores).
 * Failed jobs are not kept, so a retry runs again. Finished jobs are evicted oldest-first beyond `maxJobs`.
 *
 * At most `maxActive` jobs may be queued or running: beyond that a submission is refused with 429, so a client
 * (or a page looping on POST) cannot pile up unbounded work. A queued or running job can be cancelled; its `run`
 * gets an AbortSignal (the server's runs terminate their worker thread on it) and the job fails at once with
 * code `cancelled`, whether or not the work notices.
 */
import { createHash } from 'node:crypto';
import { HttpError, toHttpError, type ErrorBody } from './errors.js';

export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

export interface Progress {
  done: number;
  total: number;
  /** What is being worked on (a model label, a measure id, a budget). */
  label?: string;
  stage?: string;
}

export interface JobView {
  id: string;
  kind: string;
  status: JobStatus;
  progress: Progress | null;
  created: string;
  /** Wall time of the computation, ms (when finished). */
  ms?: number;
  result?: unknown;
  error?: ErrorBody['error'] & { status: number };
}

export type JobEvent = { type: 'progress'; job: JobView } | { type: 'done'; job: JobView } | { type: 'failed'; job: JobView };

interface Job {
  id: string;
  kind: string;
  status: JobStatus;
  progress: Progress | null;
  created: Date;
  ms?: number;
  result?: unknown;
  error?: JobView['error'];
  run: JobRun;
  listeners: Set<(e: JobEvent) => void>;
  abort: AbortController;
  /** performance.now() when it started running. */
  t0?: number;
}

export type JobRun = (report: (p: Progress) => void, signal: AbortSignal) => Promise<unknown>;

export interface JobQueueOptions {
  /** Finished jobs kept for their results (default 64). */
  maxJobs?: number;
  /** Queued plus running jobs accepted (default 16). */
  maxActive?: number;
  redact?: (message: string) => string;
  onError?: (err: unknown, job: string) => void;
}

export const DEFAULT_MAX_ACTIVE_JOBS = 16;

/** Deterministic JSON (sorted object keys) so equal inputs hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function inputHash(kind: string, inputs: unknown): string {
  return createHash('sha256').update(kind).update('\n').update(canonicalJson(inputs)).digest('hex').slice(0, 24);
}

export class JobQueue {
  private jobs = new Map<string, Job>();
  private queue: Job[] = [];
  private busy = false;

  constructor(private readonly opts: JobQueueOptions = {}) {}

  /**
   * Submit work under its input hash; returns the existing job when the same inputs were submitted before.
   * Throws a 429 HttpError when `maxActive` jobs are already queued or running.
   */
  submit(kind: string, inputs: unknown, run: JobRun): JobView {
    const id = inputHash(kind, inputs);
    const existing = this.jobs.get(id);
    if (existing && existing.status !== 'failed') return view(existing);
    const maxActive = this.opts.maxActive ?? DEFAULT_MAX_ACTIVE_JOBS;
    const active = [...this.jobs.values()].filter((j) => j.status === 'queued' || j.status === 'running').length;
    if (active >= maxActive) {
      throw new HttpError(
        429,
        'too_many_requests',
        `${active} jobs are already queued or running (the limit is ${maxActive}): wait for one to finish, or cancel one with DELETE /api/jobs/:id (taskmap serve --max-jobs raises the limit)`,
      );
    }
    const job: Job = {
      id,
      kind,
      status: 'queued',
      progress: null,
      created: new Date(),
      run,
      listeners: existing?.listeners ?? new Set(),
      abort: new AbortController(),
    };
    this.jobs.set(id, job);
    this.queue.push(job);
    void this.pump();
    return view(job);
  }

  get(id: string): JobView | undefined {
    const j = this.jobs.get(id);
    return j && view(j);
  }

  list(): JobView[] {
    return [...this.jobs.values()].map((j) => ({ ...view(j), result: undefined }));
  }

  /** Follow a job; the listener gets progress, then exactly one done / failed event. Returns the unsubscribe. */
  subscribe(id: string, listener: (e: JobEvent) => void): (() => void) | undefined {
    const j = this.jobs.get(id);
    if (!j) return undefined;
    j.listeners.add(listener);
    return () => j.listeners.delete(listener);
  }

  /** Resolves when the job has finished (for callers that want the result inline). */
  wait(id: string): Promise<JobView> {
    const j = this.jobs.get(id);
    if (!j) return Promise.reject(new Error(`no job ${id}`));
    if (j.status === 'done' || j.status === 'failed') return Promise.resolve(view(j));
    return new Promise((resolve) => {
      const off = this.subscribe(id, (e) => {
        if (e.type !== 'progress') {
          off?.();
          resolve(e.job);
        }
      });
    });
  }

  /**
   * Cancel a queued or running job: it fails with code `cancelled` (its followers get the `failed` event) and a
   * running one's work is aborted. A finished job is forgotten instead (its cached result dropped). Returns the
   * job's last state, or undefined when there is no such job.
   */
  cancel(id: string, reason = 'cancelled by request'): JobView | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    if (job.status === 'done' || job.status === 'failed') {
      this.jobs.delete(id);
      return view(job);
    }
    const error = new HttpError(409, 'cancelled', `job ${id} (${job.kind}) was ${reason}`);
    this.queue = this.queue.filter((j) => j !== job);
    job.abort.abort(error);
    this.fail(job, error, job.t0 === undefined ? 0 : performance.now() - job.t0);
    return view(job);
  }

  /** Cancel everything queued or running (server shutdown). */
  cancelAll(reason: string): void {
    for (const j of [...this.jobs.values()]) if (j.status === 'queued' || j.status === 'running') this.cancel(j.id, reason);
  }

  /** Resolves when nothing is queued or running (for shutdown and tests). */
  async idle(): Promise<void> {
    while (this.busy || this.queue.length > 0) await new Promise((r) => setTimeout(r, 10));
  }

  private emit(job: Job, type: JobEvent['type']): void {
    const v = view(job);
    for (const l of [...job.listeners]) l({ type, job: v } as JobEvent);
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (let job = this.queue.shift(); job; job = this.queue.shift()) {
        job.status = 'running';
        this.emit(job, 'progress');
        const current = job;
        const t0 = (current.t0 = performance.now());
        let lastEmit = 0;
        const report = (p: Progress) => {
          if (current.status !== 'running') return;
          current.progress = p;
          // Throttled: a progress event per model of a large set would flood slow clients.
          const now = performance.now();
          if (now - lastEmit > 50 || p.done === p.total) {
            lastEmit = now;
            this.emit(current, 'progress');
          }
        };
        // A cancelled job is finished at once (see cancel); whatever its run still does is not waited for.
        const aborted = new Promise<void>((resolve) => current.abort.signal.addEventListener('abort', () => resolve(), { once: true }));
        try {
          const result = await Promise.race([current.run(report, current.abort.signal), aborted]);
          if (current.status === 'running') {
            current.result = result;
            current.status = 'done';
            current.ms = performance.now() - t0;
            this.emit(current, 'done');
            current.listeners.clear();
          }
        } catch (err) {
          if (current.status === 'running') this.fail(current, err, performance.now() - t0);
        }
        this.evict();
        // Let queued HTTP requests (and SSE writes) through between jobs.
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.busy = false;
    }
  }

  private fail(job: Job, err: unknown, ms: number): void {
    const { status, body } = toHttpError(err);
    if (status >= 500) this.opts.onError?.(err, job.id);
    job.status = 'failed';
    job.ms = ms;
    job.error = { ...body.error, message: this.opts.redact?.(body.error.message) ?? body.error.message, status };
    this.emit(job, 'failed');
    job.listeners.clear();
  }

  private evict(): void {
    const max = this.opts.maxJobs ?? 64;
    const finished = [...this.jobs.values()].filter((j) => j.status === 'done' || j.status === 'failed');
    for (const j of finished.slice(0, Math.max(0, finished.length - max))) this.jobs.delete(j.id);
  }
}

function view(j: Job): JobView {
  const v: JobView = { id: j.id, kind: j.kind, status: j.status, progress: j.progress, created: j.created.toISOString() };
  if (j.ms !== undefined) v.ms = Math.round(j.ms);
  if (j.status === 'done') v.result = j.result;
  if (j.error) v.error = j.error;
  return v;
}
