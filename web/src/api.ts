/**
 * The UI's only way to the data: JSON calls to the taskmap API and its background jobs. Jobs are followed over
 * Server-Sent Events; if the stream drops (server restarted, proxy timeout) the job is polled instead.
 */
import type { JobView, Progress } from './types.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function parse<T>(r: Response): Promise<T> {
  const text = await r.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(r.status, 'bad_response', `${r.status} ${r.statusText}: ${text.slice(0, 200)}`);
  }
  if (!r.ok) {
    const e = (body as { error?: { code?: string; message?: string } })?.error;
    throw new ApiError(r.status, e?.code ?? 'error', e?.message ?? `${r.status} ${r.statusText}`);
  }
  return body as T;
}

export async function get<T>(path: string, params?: Record<string, string>, signal?: AbortSignal): Promise<T> {
  const q = params ? `?${new URLSearchParams(params)}` : '';
  return parse<T>(await fetch(`api/${path}${q}`, { signal }));
}

/**
 * Sent with every state-changing request: the server refuses uploads and other non-JSON writes without it, since
 * a page on another site cannot add a custom header without a CORS preflight (CSRF_HEADER in src/server/app.ts).
 */
const WRITE_HEADERS = { 'x-taskmap-request': '1' };

export async function post<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  return parse<T>(
    await fetch(`api/${path}`, { method: 'POST', headers: { ...WRITE_HEADERS, 'content-type': 'application/json' }, body: JSON.stringify(body), signal }),
  );
}

/** Upload files into the server's upload root; `kind: 'labels'` for a ranking's labels file (.csv / .txt). */
export async function upload<T>(files: FileList | File[], name?: string, kind?: 'labels'): Promise<T> {
  const form = new FormData();
  for (const f of Array.from(files)) form.append('file', f, f.name);
  const params = { ...(name ? { name } : {}), ...(kind ? { kind } : {}) };
  const q = Object.keys(params).length ? `?${new URLSearchParams(params)}` : '';
  return parse<T>(await fetch(`api/uploads${q}`, { method: 'POST', headers: WRITE_HEADERS, body: form }));
}

/** Cancel a queued or running job (DELETE /api/jobs/:id): its follower then fails with code "cancelled". */
export async function cancelJob(id: string): Promise<void> {
  await parse<unknown>(await fetch(`api/jobs/${encodeURIComponent(id)}`, { method: 'DELETE', headers: WRITE_HEADERS }));
}

function finished<T>(job: JobView): T {
  if (job.status === 'failed') throw new ApiError(job.error?.status ?? 500, job.error?.code ?? 'failed', job.error?.message ?? 'the job failed');
  return job.result as T;
}

/** Submit a job and resolve with its result; `onProgress` sees each progress event. */
export async function runJob<T>(path: string, body: unknown, onProgress?: (p: Progress | null, job: JobView) => void): Promise<T> {
  const { job } = await post<{ job: JobView }>(path, body);
  if (job.status === 'done' || job.status === 'failed') return finished<T>(job);
  onProgress?.(job.progress, job);
  return new Promise<T>((resolve, reject) => {
    const es = new EventSource(`api/jobs/${job.id}/events`);
    const end = (f: () => void) => {
      es.close();
      f();
    };
    es.addEventListener('progress', (e) => {
      const v = JSON.parse((e as MessageEvent<string>).data) as JobView;
      onProgress?.(v.progress, v);
    });
    for (const type of ['done', 'failed']) {
      es.addEventListener(type, (e) => {
        const v = JSON.parse((e as MessageEvent<string>).data) as JobView;
        end(() => {
          try {
            resolve(finished<T>(v));
          } catch (err) {
            reject(err);
          }
        });
      });
    }
    es.onerror = () => {
      es.close();
      poll<T>(job.id).then(resolve, reject);
    };
  });
}

async function poll<T>(id: string): Promise<T> {
  for (;;) {
    const { job } = await get<{ job: JobView }>(`jobs/${id}`);
    if (job.status === 'done' || job.status === 'failed') return finished<T>(job);
    await new Promise((r) => setTimeout(r, 500));
  }
}
