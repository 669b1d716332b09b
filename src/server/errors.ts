/**
 * Errors the API returns as `{"error": {"code", "message"}}` with a 4xx status. Library functions throw plain
 * `Error`s whose messages already name the problem and the fix (DESIGN.md), so the server passes those through
 * as 422 rather than rewording them; only `HttpError`s choose their own status.
 */
export type ErrorCode =
  | 'bad_request'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'unsupported_media_type'
  | 'unprocessable'
  | 'internal';

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new HttpError(400, 'bad_request', message);
export const forbidden = (message: string) => new HttpError(403, 'forbidden', message);
export const notFound = (message: string) => new HttpError(404, 'not_found', message);

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/**
 * The status and body for anything thrown while serving a request or running a job. A plain `Error` from the
 * library is the caller's input being refused (unknown label, mismatched images, infeasible option), hence 422;
 * JavaScript's own TypeError / RangeError and friends are bugs on our side, hence 500 without internals.
 */
export function toHttpError(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof HttpError) return { status: err.statusCode, body: { error: { code: err.code, message: err.message } } };
  const e = err as { statusCode?: number; code?: string; message?: string; validation?: unknown };
  // Fastify's own errors (schema validation, body too large, bad JSON, multipart limits) carry a 4xx statusCode.
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code: ErrorCode = e.statusCode === 413 ? 'too_large' : e.statusCode === 415 ? 'unsupported_media_type' : e.statusCode === 404 ? 'not_found' : 'bad_request';
    return { status: e.statusCode, body: { error: { code, message: e.message ?? 'bad request' } } };
  }
  if (err instanceof Error && err.constructor === Error) {
    return { status: 422, body: { error: { code: 'unprocessable', message: err.message } } };
  }
  return { status: 500, body: { error: { code: 'internal', message: 'internal error; see the server log' } } };
}
