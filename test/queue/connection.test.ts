/**
 * The queue URL (issue 18): its password never shows in anything taskmap prints; an unreachable Redis is a clear
 * error within seconds (library, coordinator command and worker process), not a hang; a password-protected
 * server (`redis-server --requirepass`) and a TLS one (rediss://, a private CA through TASKMAP_QUEUE_CA) work, and a
 * wrong password is reported as such.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeNpy } from '../../src/io/npy.js';
import { connectQueue, parseQueueUrl, redact } from '../../src/queue/connection.js';
import { similarityQueued } from '../../src/queue/similarity.js';
import { runCli } from '../helpers/cli.js';
import { gaussian } from '../helpers/random.js';
import { freePort, skipWithoutRedis, startRedis, startWorkerProcess, taskmapProcess, type Proc, type RedisServer } from './redis.js';

const SECRET = 'p@ss:w/rd s3cr#t';
const ENCODED = encodeURIComponent(SECRET);

describe('queue URL', () => {
  it('parses host, port, database, user and password, and shows the URL without the password', () => {
    const t = parseQueueUrl(`redis://worker:${ENCODED}@queue.example:6380/2`);
    expect(t.connection).toMatchObject({ host: 'queue.example', port: 6380, db: 2, username: 'worker', password: SECRET });
    expect(t.connection.tls).toBeUndefined();
    expect(t.display).toBe('redis://worker:***@queue.example:6380/2');
    expect(t.display).not.toContain(SECRET);
    expect(parseQueueUrl('redis://10.0.0.5').connection).toMatchObject({ host: '10.0.0.5', port: 6379, db: 0 });
  });

  it('rediss:// turns on TLS (server name checked for host names)', () => {
    expect(parseQueueUrl(`rediss://:${ENCODED}@queue.example:6380`).connection.tls).toEqual({ servername: 'queue.example' });
    expect(parseQueueUrl('rediss://127.0.0.1:6380').connection.tls).toEqual({});
  });

  it('refuses what it cannot use, without echoing the password', () => {
    for (const [url, why] of [
      [`http://:${ENCODED}@host:80`, /unsupported scheme "http"/],
      ['redis://host:6379/x', /not a database number/],
      [`redis://:${ENCODED}@host:6379?tls=true`, /query strings/],
      ['not a url', /not a URL/],
    ] as const) {
      let message = '';
      try {
        parseQueueUrl(url);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(why);
      expect(message).not.toContain(SECRET);
      expect(message).not.toContain(ENCODED);
    }
  });

  it('redact removes the password as given and percent-encoded', () => {
    const t = parseQueueUrl(`redis://:${ENCODED}@h`);
    expect(redact(`auth ${SECRET} / url redis://:${ENCODED}@h`, t)).toBe('auth *** / url redis://:***@h');
  });
});

describe('unreachable Redis: a clear error within seconds', () => {
  let port: number;
  beforeAll(async () => {
    port = await freePort(); // nothing listens there
  });

  it('the library', async () => {
    const t0 = performance.now();
    await expect(connectQueue(parseQueueUrl(`redis://:${ENCODED}@127.0.0.1:${port}`))).rejects.toThrow(
      new RegExp(`cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port} \\(connect ECONNREFUSED`),
    );
    expect(performance.now() - t0).toBeLessThan(7000);
  });

  it('`taskmap similarity --queue` exits 1 naming the URL (password hidden)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'taskmap-queue-unreach-'));
    try {
      writeFileSync(join(dir, 'a.npy'), writeNpy({ dtype: 'float32', shape: [4, 2], data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 9]) }));
      const t0 = performance.now();
      const r = await runCli('similarity', dir, '--queue', `redis://:${ENCODED}@127.0.0.1:${port}`);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^taskmap: cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ .*is redis-server running there/);
      expect(r.err).not.toContain(SECRET);
      expect(r.err).not.toContain(ENCODED);
      expect(performance.now() - t0).toBeLessThan(7000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('`taskmap worker` exits 1 at start', async () => {
    const p = taskmapProcess(['worker', '--queue', `redis://:${ENCODED}@127.0.0.1:${port}`, '--root', tmpdir()]);
    const code = await p.exited;
    expect(code).toBe(1);
    expect(p.output()).toMatch(/taskmap: cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+/);
    expect(p.output()).not.toContain(ENCODED);
  }, 60_000);
});

const skip = skipWithoutRedis();

/** A tiny feature set of 3 members for a run over the queue. */
function writeFeatures(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const g = gaussian(3);
  for (const label of ['a', 'b', 'c'])
    writeFileSync(join(dir, `${label}.npy`), writeNpy({ dtype: 'float32', shape: [8, 3], data: Float32Array.from({ length: 24 }, () => g()) }));
}

describe.skipIf(skip)('a password-protected Redis (--requirepass)', () => {
  let root: string;
  let redis: RedisServer;
  let worker: Proc;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'taskmap-queue-auth-'));
    writeFeatures(join(root, 'features'));
    redis = await startRedis({ password: SECRET });
    expect(redis.url).toContain(ENCODED);
    worker = await startWorkerProcess(redis.url, [root]);
  }, 60_000);

  afterAll(async () => {
    await worker?.stop();
    await redis?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('worker and coordinator work with the password in the URL, and never print it', async () => {
    const r = await runCli('similarity', join(root, 'features'), '--queue', redis.url);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/rsa \(3 models, 8 images, queue\)/);
    const status = await runCli('queue', 'status', '--queue', redis.url);
    expect(status.code, status.err).toBe(0);
    expect(status.out).toMatch(/on redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: 1 worker connected/);
    for (const text of [r.out, r.err, status.out, status.err, worker.output()]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(ENCODED);
    }
    expect(worker.output()).toMatch(/done similarity-block/);
  });

  it('a wrong or missing password is reported as refused credentials', async () => {
    const wrong = await runCli('queue', 'status', '--queue', redis.url.replace(ENCODED, 'wrong-secret'));
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the credentials \(WRONGPASS/);
    expect(wrong.err).not.toContain('wrong-secret');
    const none = await runCli('queue', 'status', '--queue', redis.url.replace(`:${ENCODED}@`, ''));
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/refused the credentials \(NOAUTH/);
  });
});

const openssl = spawnSync('openssl', ['version']).status === 0;

describe.skipIf(skip || !openssl)('rediss:// (TLS, a private CA)', () => {
  let root: string;
  let redis: RedisServer;
  let worker: Proc;
  const before = process.env.TASKMAP_QUEUE_CA;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'taskmap-queue-tls-'));
    writeFeatures(join(root, 'features'));
    const cert = join(root, 'cert.pem');
    const key = join(root, 'key.pem');
    const made = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      {
        encoding: 'utf8',
      },
    );
    expect(made.status, made.stderr).toBe(0);
    redis = await startRedis({ password: SECRET, tls: { cert, key } });
    process.env.TASKMAP_QUEUE_CA = cert;
    worker = await startWorkerProcess(redis.url, [root]);
  }, 60_000);

  afterAll(async () => {
    if (before === undefined) delete process.env.TASKMAP_QUEUE_CA;
    else process.env.TASKMAP_QUEUE_CA = before;
    await worker?.stop();
    await redis?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('a queued similarity over TLS gives the matrix', async () => {
    expect(redis.url.startsWith('rediss://')).toBe(true);
    const r = await similarityQueued(join(root, 'features'), 'cka', { queue: redis.url });
    expect(r.members).toBe(3);
    expect(worker.output()).not.toContain(ENCODED);
  });

  it('without the CA the server is not trusted, and that is what the error says', async () => {
    delete process.env.TASKMAP_QUEUE_CA;
    try {
      await expect(connectQueue(parseQueueUrl(redis.url))).rejects.toThrow(/self[- ]signed certificate/);
    } finally {
      process.env.TASKMAP_QUEUE_CA = join(root, 'cert.pem');
    }
  });
});
