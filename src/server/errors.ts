/**
 * Errors the API returns as `{"error": {"code", "message"}}` with a 4xx status. Library functions throw plain
 * `Error`s whose messages already name the problem and the fix (DESIGN.md), so the server passes those through
 * as 422 rather than rewording them; only `HttpError`s choose their own status.
 */
import { LimitError } from '../io/limits.js';

export type ErrorCode =
  | 'bad_request'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'unsupported_media_type'
  | 'unprocessable'
  | 'too_many_requests'
  | 'cancelled'
  | 'timeout'
  | 'out_of_memory'
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

/** Longest error message sent to a client: readers quote the offending bytes, and a file can make that megabytes. */
export const MAX_MESSAGE_CHARS = 600;

/**
 * A message cut to MAX_MESSAGE_CHARS keeping both ends: the start names the file, the end usually says the reason
 * ("… at byte 12: refusing global os.system"), and the middle is where a quoted excerpt of the file sits.
 */
export function clipMessage(message: string): string {
  if (message.length <= MAX_MESSAGE_CHARS) return message;
  const head = Math.floor(MAX_MESSAGE_CHARS * 0.6);
  const tail = MAX_MESSAGE_CHARS - head - 40;
  const cut = message.length - head - tail;
  return `${message.slice(0, head)} … [${cut} characters cut] … ${message.slice(message.length - tail)}`;
}

/**
 * Errors that hostile or oversized input provokes inside the library's own code rather than in a reader's check:
 * they describe the input, not a bug, so they are 4xx with a message saying what happened.
 */
function inputExhaustion(err: Error): { status: number; code: ErrorCode; message: string } | undefined {
  // The readers' resource budget (src/io/limits.ts): the input is over a limit, a setting raises it.
  if (err instanceof LimitError) return { status: 413, code: 'too_large', message: err.message };
  if (!(err instanceof RangeError)) return undefined;
  if (/call stack size/i.test(err.message))
    return { status: 422, code: 'unprocessable', message: 'the input is nested too deeply to read (the reader ran out of stack)' };
  if (/allocation failed|invalid (typed )?array length|invalid string length|array buffer/i.test(err.message)) {
    return { status: 413, code: 'too_large', message: `the input needs more memory than can be allocated (${err.message})` };
  }
  return undefined;
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/**
 * The status and body for anything thrown while serving a request or running a job. A plain `Error` from the
 * library is the caller's input being refused (unknown label, mismatched images, infeasible option), hence 422;
 * JavaScript's own TypeError / RangeError and friends are bugs on our side, hence 500 without internals.
 */
export function toHttpError(err: unknown): { status: number; body: ErrorBody } {
  const { status, body } = classify(err);
  body.error.message = clipMessage(body.error.message);
  return { status, body };
}

function classify(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof HttpError) return { status: err.statusCode, body: { error: { code: err.code, message: err.message } } };
  const e = err as { statusCode?: number; code?: string; message?: string; validation?: unknown };
  // Fastify's own errors (schema validation, body too large, bad JSON, multipart limits) carry a 4xx statusCode.
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code: ErrorCode =
      e.statusCode === 413 ? 'too_large' : e.statusCode === 415 ? 'unsupported_media_type' : e.statusCode === 404 ? 'not_found' : 'bad_request';
    return { status: e.statusCode, body: { error: { code, message: e.message ?? 'bad request' } } };
  }
  if (err instanceof Error && err.constructor === Error) {
    return { status: 422, body: { error: { code: 'unprocessable', message: err.message } } };
  }
  const exhausted = err instanceof Error ? inputExhaustion(err) : undefined;
  if (exhausted) return { status: exhausted.status, body: { error: { code: exhausted.code, message: exhausted.message } } };
  return { status: 500, body: { error: { code: 'internal', message: 'internal error; see the server log' } } };
}
