/**
 * The queue URL: `redis://[[user]:password@]host[:port][/db]` or `rediss://…` (TLS). It is parsed here into
 * explicit connection options (nothing else of the URL reaches the Redis client), its password never appears in
 * anything taskmap prints (`display` and `redact`), and `connectQueue` checks that the server answers — a clear
 * error within seconds rather than a client that retries forever.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Queue, type RedisOptions } from 'bullmq';

/** The one BullMQ queue every taskmap job goes through (job names say what kind of job each is). */
export const QUEUE_NAME = 'taskmap';

/** Seconds the first connection may take before it is reported as unreachable. */
export const CONNECT_TIMEOUT_S = 5;

export interface QueueTarget {
  /** The URL with the password replaced by `***`: what messages show. */
  display: string;
  /** Options for BullMQ's ioredis connection (long-lived: it reconnects after an outage). */
  connection: RedisOptions;
  /** The secret, to strip from any message a library builds (empty when there is none). */
  secret: string;
}

/** A CA bundle for rediss:// servers signed by a private CA (PEM file), from TASKMAP_QUEUE_CA. */
function extraCa(): { ca?: Buffer } {
  const path = process.env.TASKMAP_QUEUE_CA;
  if (!path) return {};
  try {
    return { ca: readFileSync(path) };
  } catch (e) {
    throw new Error(`TASKMAP_QUEUE_CA=${path}: cannot read the CA file (${(e as Error).message})`, { cause: e });
  }
}

function usage(raw: string, why: string): Error {
  return new Error(`--queue ${redactUrlText(raw)}: ${why}; expected redis://[:PASSWORD@]HOST[:PORT][/DB] or rediss://… for TLS (e.g. redis://127.0.0.1:6379)`);
}

/** Best-effort redaction of a URL string that failed to parse (the part between "://" and "@"). */
function redactUrlText(raw: string): string {
  return raw.replace(/^([a-z]+:\/\/)([^@/]*)@/i, (_m, scheme: string, auth: string) => `${scheme}${auth.includes(':') ? `${auth.split(':')[0]}:***` : '***'}@`);
}

export function parseQueueUrl(raw: string): QueueTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usage(raw, 'not a URL');
  }
  const tls = url.protocol === 'rediss:';
  if (url.protocol !== 'redis:' && !tls) throw usage(raw, `unsupported scheme "${url.protocol.replace(/:$/, '')}"`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw usage(raw, 'no host');
  const port = url.port ? Number(url.port) : 6379;
  let db = 0;
  if (url.pathname && url.pathname !== '/') {
    const d = url.pathname.slice(1);
    if (!/^\d{1,2}$/.test(d)) throw usage(raw, `the path "${url.pathname}" is not a database number`);
    db = Number(d);
  }
  if (url.search || url.hash) throw usage(raw, 'query strings and fragments are not supported');
  const username = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const shown = new URL(url.href);
  if (shown.password) shown.password = '***';
  return {
    display: shown.href.replace(/\/$/, ''),
    secret: password,
    connection: {
      host,
      port,
      db,
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...(tls ? { tls: { ...(isIP(host) ? {} : { servername: host }), ...extraCa() } } : {}),
      connectTimeout: CONNECT_TIMEOUT_S * 1000,
    },
  };
}

/** `text` with the target's password (as given and percent-encoded) replaced by `***`. */
export function redact(text: string, target: Pick<QueueTarget, 'secret'>): string {
  if (!target.secret) return text;
  let out = text;
  for (const s of new Set([target.secret, encodeURIComponent(target.secret)])) out = out.split(s).join('***');
  return out;
}

/** What to say when Redis cannot be used, by the client's error. */
function explain(err: Error, target: QueueTarget): string {
  const msg = redact(err.message ?? String(err), target);
  if (/WRONGPASS|NOAUTH|invalid username-password|AUTH.*(failed|without any password)/i.test(msg))
    return `Redis at ${target.display} refused the credentials (${msg}); check the password in the queue URL`;
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|timed? ?out|Connection is closed/i.test(msg))
    return `cannot reach Redis at ${target.display} (${msg}); is redis-server running there, and are the host, port and scheme (redis:// or rediss://) right?`;
  if (/Protocol error/i.test(msg))
    return `${target.display} answers, but not as a Redis server (${msg}); check the port, and use rediss:// if the server expects TLS`;
  return `Redis at ${target.display}: ${msg}`;
}

/**
 * A BullMQ queue on the target whose server has answered: within CONNECT_TIMEOUT_S a clear error (unreachable,
 * refused password, TLS failure) or a ready queue. The check uses a connection that does not retry; the returned
 * queue's own connection does (a Redis restart later is ridden out), with `maxRetriesPerRequest` bounded so a
 * command fails instead of hanging while the server is gone.
 */
export async function connectQueue(target: QueueTarget): Promise<Queue> {
  await checkReachable(target);
  const queue = new Queue(QUEUE_NAME, { connection: { ...target.connection, maxRetriesPerRequest: 20 } });
  queue.on('error', () => undefined); // connection errors surface as rejected commands
  await queue.waitUntilReady();
  return queue;
}

/** Rejects within CONNECT_TIMEOUT_S (plus a second) unless the server answers a command. */
export async function checkReachable(target: QueueTarget): Promise<void> {
  let lastError: Error | undefined;
  const probe = new Queue(QUEUE_NAME, {
    connection: { ...target.connection, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: true },
  });
  probe.on('error', (e: Error) => (lastError ??= e));
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      // Ready means connected, authenticated and answering INFO (BullMQ reads the server version).
      probe.waitUntilReady(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(lastError ?? new Error(`no answer within ${CONNECT_TIMEOUT_S} s (timed out)`)), (CONNECT_TIMEOUT_S + 1) * 1000);
      }),
    ]);
  } catch (e) {
    throw new Error(explain(lastError && /closed/i.test((e as Error).message) ? lastError : (e as Error), target), { cause: e });
  } finally {
    clearTimeout(timer);
    await probe.disconnect().catch(() => undefined);
  }
}
