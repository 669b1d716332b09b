/**
 * Test helpers for the queue: a private redis-server (127.0.0.1, a free port, a temp dir, no persistence) started
 * and stopped by PID, and `taskmap worker` / coordinator processes run from source. Without redis-server on PATH
 * the queue tests are skipped with the reason printed — except under CI=1, where they fail: CI installs it
 * (scripts/ci-redis.sh).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
const ENTRY = join(REPO, 'test/queue/taskmap.ts');

function findRedis(): string | undefined {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

export const redisVersion = findRedis();

/** True when the queue tests must be skipped (printed once); under CI a missing redis-server throws instead. */
export function skipWithoutRedis(): boolean {
  if (redisVersion) return false;
  const why = 'redis-server is not installed (the queue tests start their own; install it with `bash scripts/ci-redis.sh` or `apt-get install redis-server`)';
  if (process.env.CI) throw new Error(`CI: ${why}`);
  console.warn(`skipping the queue tests: ${why}`);
  return true;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        res(true);
      });
      c.once('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`redis-server did not listen on ${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface RedisServer {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/**
 * A redis-server of our own on 127.0.0.1; `password` turns on --requirepass, `tls` (PEM files) serves TLS only
 * (the URL is then rediss://).
 */
export async function startRedis(opts: { password?: string; tls?: { cert: string; key: string } } = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'taskmap-redis-'));
  const port = await freePort();
  const listen = opts.tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', opts.tls.cert, '--tls-key-file', opts.tls.key, '--tls-auth-clients', 'no']
    : ['--port', String(port)];
  const args = [...listen, '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  if (opts.password) args.push('--requirepass', opts.password);
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    await waitForPort(port, 10_000);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n${log}`, { cause: e });
  }
  const auth = opts.password ? `:${encodeURIComponent(opts.password)}@` : '';
  return {
    url: `${opts.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null) process.kill(child.pid!, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Proc {
  child: ChildProcess;
  /** Everything it printed so far (stdout + stderr). */
  output(): string;
  /** Resolves when `pattern` appears in its output (rejects after `ms`, or when it exits first). */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  exited: Promise<number | null>;
  /** SIGTERM (or the given signal) and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** `taskmap <args>` from source in its own process. */
export function taskmapProcess(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const listeners = new Set<() => void>();
  const feed = (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', feed);
  child.stderr!.on('data', feed);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    output: () => out,
    exited,
    waitFor(pattern, ms = 60_000) {
      return new Promise((res, rej) => {
        const check = () => {
          if (pattern.test(out)) {
            cleanup();
            res();
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          rej(new Error(`timed out waiting for ${pattern} in:\n${out}`));
        }, ms);
        const onExit = () => {
          if (pattern.test(out)) return;
          cleanup();
          rej(new Error(`process exited before ${pattern} appeared:\n${out}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        listeners.add(check);
        child.once('exit', onExit);
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A `taskmap worker` process, resolved once it is serving the queue. */
export async function startWorkerProcess(url: string, roots: string[], extra: string[] = []): Promise<Proc> {
  const p = taskmapProcess(['worker', '--queue', url, ...roots.flatMap((r) => ['--root', r]), ...extra]);
  await p.waitFor(/worker on /, 60_000);
  return p;
}

/** Lines of a worker's output that match `pattern`. */
export function count(p: Proc, pattern: RegExp): number {
  return p
    .output()
    .split('\n')
    .filter((l) => pattern.test(l)).length;
}
