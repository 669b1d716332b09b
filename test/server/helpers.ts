/**
 * Test harness for the server: a real listening server on an ephemeral 127.0.0.1 port, requests with a time
 * limit each, and a follower for job event streams that gives up after a bounded time.
 */
import { request as httpRequest } from 'node:http';
import { buildServer, CSRF_HEADER, type ServerOptions, type TaskmapServer } from '../../src/server/app.js';
import type { JobView } from '../../src/server/jobs.js';

export const REQUEST_TIMEOUT_MS = 20_000;

export interface Running {
  server: TaskmapServer;
  base: string;
  port: number;
  close(): Promise<void>;
}

export async function startServer(opts: ServerOptions): Promise<Running> {
  const server = await buildServer(opts);
  const base = await server.app.listen({ port: 0, host: '127.0.0.1' });
  return { server, base, port: Number(new URL(base).port), close: () => server.close() };
}

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A request as the web UI sends it: state-changing ones carry the CSRF header (pass it as '' to leave it out). */
export async function call<T = any>(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
  const sent: Record<string, string> = method === 'GET' || method === 'HEAD' ? { ...headers } : { [CSRF_HEADER]: '1', ...headers };
  if (sent[CSRF_HEADER] === '') delete sent[CSRF_HEADER];
  const init: RequestInit = { method, headers: sent, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) };
  if (body !== undefined) {
    if (body instanceof FormData) init.body = body;
    else {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
  }
  const r = await fetch(base + path, init);
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (static files): keep the text
  }
  return { status: r.status, body: parsed as T, headers: r.headers };
}

/** Read a job's SSE stream to its end; returns every event. */
export async function followJob(base: string, id: string): Promise<{ type: string; job: JobView }[]> {
  const r = await fetch(`${base}/api/jobs/${id}/events`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS * 2) });
  if (r.status !== 200) throw new Error(`events: HTTP ${r.status}`);
  const text = await r.text(); // the server closes the stream after done / failed
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('event:'))
    .map((block) => {
      const [eventLine, dataLine] = block.split('\n');
      return { type: eventLine.slice('event: '.length), job: JSON.parse(dataLine.slice('data: '.length)) as JobView };
    });
}

/** Submit a job and wait for its final state (via SSE when it is still running). */
export async function runJob(base: string, path: string, body: unknown): Promise<JobView> {
  const r = await call<{ job: JobView }>(base, 'POST', path, body);
  if (r.status !== 200 && r.status !== 202) throw new Error(`${path}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  const job = r.body.job;
  if (job.status === 'done' || job.status === 'failed') return job;
  const events = await followJob(base, job.id);
  const last = events[events.length - 1];
  if (!last || (last.type !== 'done' && last.type !== 'failed')) throw new Error(`${path}: stream ended without a result`);
  return last.job;
}

/** A raw request with chosen headers (fetch does not let a test set Host); bounded by a timeout. */
export function rawRequest(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    if (opts.body) req.write(opts.body);
    req.end();
  });
}

/** A Python pickle (protocol 2) of a flat {str: float} dict — a Taskonomy result dict — written byte by byte. */
export function pickleResultDict(dict: Record<string, number>): Buffer {
  const parts: Buffer[] = [Buffer.from([0x80, 0x02, 0x7d, 0x28])]; // PROTO 2, EMPTY_DICT, MARK
  for (const [k, v] of Object.entries(dict)) {
    const key = Buffer.from(k, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(key.length);
    const value = Buffer.alloc(8);
    value.writeDoubleBE(v);
    parts.push(Buffer.from('X'), len, key, Buffer.from('G'), value);
  }
  parts.push(Buffer.from('u.')); // SETITEMS, STOP
  return Buffer.concat(parts);
}
