/**
 * Job status and progress. `/api/jobs/:id/events` is a Server-Sent Events stream: the current state at once,
 * `progress` events while it runs, then one `done` (with the result) or `failed` event, after which the server
 * closes the stream. SSE rather than WebSocket: one-way, plain HTTP, reconnects by itself in the browser.
 * `DELETE /api/jobs/:id` cancels a job (its worker is terminated) or forgets a finished one.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { notFound } from '../errors.js';
import type { JobEvent, JobView } from '../jobs.js';
import { jobParamsSchema } from '../schemas.js';

const HEARTBEAT_MS = 15_000;

export function registerJobRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/api/jobs', async () => ({ jobs: ctx.jobs.list() }));

  app.get<{ Params: { id: string } }>('/api/jobs/:id', { schema: { params: jobParamsSchema } }, async (req) => {
    const job = ctx.jobs.get(req.params.id);
    if (!job) throw notFound(`no job ${req.params.id} (finished jobs are kept for a while, then forgotten; submit it again)`);
    return { job };
  });

  /** Cancel a queued or running job (it fails with code "cancelled"), or forget a finished one. */
  app.delete<{ Params: { id: string } }>('/api/jobs/:id', { schema: { params: jobParamsSchema } }, async (req) => {
    const job = ctx.jobs.cancel(req.params.id);
    if (!job) throw notFound(`no job ${req.params.id}`);
    return { job };
  });

  app.get<{ Params: { id: string } }>('/api/jobs/:id/events', { schema: { params: jobParamsSchema } }, async (req, reply) => {
    const job = ctx.jobs.get(req.params.id);
    if (!job) throw notFound(`no job ${req.params.id}`);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    });
    const send = (type: string, v: JobView) => res.write(`event: ${type}\ndata: ${JSON.stringify(v)}\n\n`);
    if (job.status === 'done' || job.status === 'failed') {
      send(job.status, job);
      res.end();
      return;
    }
    send('progress', job);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const finish = () => {
      clearInterval(heartbeat);
      off?.();
    };
    const off = ctx.jobs.subscribe(job.id, (e: JobEvent) => {
      send(e.type, e.job);
      if (e.type !== 'progress') {
        finish();
        res.end();
      }
    });
    req.raw.on('close', finish);
  });
}
