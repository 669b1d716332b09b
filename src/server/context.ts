/** What every route module gets: the data roots, the loaded-input caches, the job queue, and small shared helpers. */
import type { FastifyReply } from 'fastify';
import { canonicalRepresentationId } from '../ops/measures.js';
import type { Cataloguer } from './catalog.js';
import { badRequest } from './errors.js';
import type { JobQueue, JobRun } from './jobs.js';
import type { ResolvedPath, Sandbox } from './sandbox.js';
import { fingerprint, type Store } from './store.js';
import type { TaskArgs, TaskName } from './tasks.js';
import type { Workers } from './workers.js';

export interface ServerContext {
  sandbox: Sandbox;
  store: Store;
  jobs: JobQueue;
  /** Worker processes for jobs, and for reading files and the Taskonomy routes' computations (workers.ts). */
  workers: Workers;
  catalog: Cataloguer;
  /** Largest accepted upload, bytes per file. */
  maxUploadBytes: number;
  /** HiGHS time limit applied when a request gives none, seconds. */
  defaultTimeLimit: number;
}

/** A measure id checked against the registry before any work is queued (400 with the registry's message). */
export function checkedMeasure(id: string, what = 'measure'): string {
  try {
    return canonicalRepresentationId(id);
  } catch (e) {
    throw badRequest(`${what}: ${(e as Error).message}`);
  }
}

/** Run a library call on request data and turn its refusal into a 400 naming the field. */
export function checkedInput<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw badRequest(`${what}: ${(e as Error).message}`);
  }
}

/** The identity of an input file for job hashing: its reference and its size/mtime fingerprint. */
export async function fileKey(p: ResolvedPath | undefined): Promise<{ ref: string; fp: string } | undefined> {
  return p && { ref: p.ref, fp: await fingerprint(p.abs) };
}

/**
 * Queue a job and answer with it: 202 while it runs (follow `/api/jobs/:id/events`), 200 when the same inputs
 * were already computed (the result is in the body).
 */
export function sendJob(ctx: ServerContext, reply: FastifyReply, kind: string, inputs: unknown, run: JobRun): FastifyReply {
  const job = ctx.jobs.submit(kind, inputs, run);
  return reply
    .code(job.status === 'done' ? 200 : 202)
    .header('location', `/api/jobs/${job.id}`)
    .send({ job });
}

/** A feature set named by the client, with every file below it checked to lie inside its root (403 otherwise). */
export async function resolveFeatureSet(ctx: ServerContext, ref: unknown): Promise<ResolvedPath> {
  const p = await ctx.sandbox.resolveExisting(ref, 'featureSet');
  await ctx.sandbox.assertTreeInside(p, 'featureSet');
  return p;
}

/** `sendJob` for a task of tasks.ts, run in the jobs worker (cancelled by terminating it). */
export function sendTask<K extends TaskName>(ctx: ServerContext, reply: FastifyReply, kind: string, inputs: unknown, task: K, args: TaskArgs<K>): FastifyReply {
  return sendJob(ctx, reply, kind, inputs, (report, signal) => ctx.workers.jobs.run(task, args, { what: `the ${kind} job`, onProgress: report, signal }));
}
