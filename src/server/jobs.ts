/**
 * Background jobs with progress, cached by input hash.
 *
 * A job's id IS the hash of its inputs (kind, parameters, and the size/mtime fingerprints of the files it
 * reads), so submitting the same work twice returns the running or finished job instead of computing again,
 * and a changed input file gives a new id. Jobs run one at a time: the library's numeric work is CPU-bound on
 * the server's event loop, and two at once would only make both slower (and CI machines have two cores).
 * Failed jobs are not kept, so a retry runs again. Finished jobs are evicted oldest-first beyond `maxJobs`.
 */
import { createHash } from 'node:crypto';
import { toHttpError, type ErrorBody } from './errors.js';

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
  run: (report: (p: Progress) => void) => Promise<unknown>;
  listeners: Set<(e: JobEvent) => void>;
}

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

  constructor(
    private readonly opts: { maxJobs?: number; redact?: (message: string) => string; onError?: (err: unknown, job: string) => void } = {},
  ) {}

  /** Submit work under its input hash; returns the existing job when the same inputs were submitted before. */
  submit(kind: string, inputs: unknown, run: Job['run']): JobView {
    const id = inputHash(kind, inputs);
    const existing = this.jobs.get(id);
    if (existing && existing.status !== 'failed') return view(existing);
    const job: Job = { id, kind, status: 'queued', progress: null, created: new Date(), run, listeners: existing?.listeners ?? new Set() };
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
        const t0 = performance.now();
        let lastEmit = 0;
        try {
          job.result = await job.run((p) => {
            job!.progress = p;
            // Throttled: a progress event per model of a large set would flood slow clients.
            const now = performance.now();
            if (now - lastEmit > 50 || p.done === p.total) {
              lastEmit = now;
              this.emit(job!, 'progress');
            }
          });
          job.status = 'done';
          job.ms = performance.now() - t0;
          this.emit(job, 'done');
        } catch (err) {
          const { status, body } = toHttpError(err);
          if (status >= 500) this.opts.onError?.(err, job.id);
          job.status = 'failed';
          job.ms = performance.now() - t0;
          job.error = { ...body.error, message: this.opts.redact?.(body.error.message) ?? body.error.message, status };
          this.emit(job, 'failed');
        }
        job.listeners.clear();
        this.evict();
        // Let queued HTTP requests (and SSE writes) through between jobs.
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.busy = false;
    }
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
