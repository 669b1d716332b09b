/**
 * Parent side of the abuse harness. Each hostile input runs in a child Node process whose heap is capped and whose
 * wall time is limited, so "it crashed", "it froze" and "it used gigabytes" are outcomes the test can see instead
 * of a dead test runner. The cap and the limit are the suite's stated bounds.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A case module exports `cases`: name → a function that processes one hostile input (throw = refused). */
export type AbuseCases = Record<string, () => Promise<unknown> | unknown>;

export interface BoundedResult {
  name: string;
  /** ok: returned; error: threw (message set); crashed: the process died in this case; timeout: ran past the limit. */
  status: 'ok' | 'error' | 'crashed' | 'timeout';
  message?: string;
  value?: unknown;
  ms: number;
  /** Peak resident memory of the child process after this case, MiB. */
  rssMB: number;
}

export interface Bounds {
  /** V8 old-space cap for the child, MiB. */
  heapMB: number;
  /** Wall-clock limit for all the cases together, ms. */
  timeoutMs: number;
}

export const DEFAULT_BOUNDS: Bounds = { heapMB: 512, timeoutMs: 60_000 };
/** The stated memory cap of every abuse case: peak resident memory of the process that handled it. */
export const RSS_CAP_MB = 1024;

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

/** Run `names` from the case module `moduleUrl` (pass `import.meta.url`-relative URLs) in one bounded child. */
export async function runBounded(moduleUrl: URL, names: string[], bounds: Partial<Bounds> = {}): Promise<Map<string, BoundedResult>> {
  const { heapMB, timeoutMs } = { ...DEFAULT_BOUNDS, ...bounds };
  const child = spawn(process.execPath, [`--max-old-space-size=${heapMB}`, '--import', 'tsx', CHILD, fileURLToPath(moduleUrl), ...names], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const t0 = performance.now();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  await new Promise<void>((resolve) => child.on('close', () => resolve()));
  clearTimeout(timer);
  const results = new Map<string, BoundedResult>();
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue;
    const r = JSON.parse(line) as BoundedResult;
    results.set(r.name, r);
  }
  // The first case without a line is the one the process died in (or was stuck in).
  const stuck = names.find((n) => !results.has(n));
  if (stuck !== undefined) {
    results.set(stuck, {
      name: stuck,
      status: timedOut ? 'timeout' : 'crashed',
      message: timedOut ? `still running after ${timeoutMs} ms` : err.split('\n').filter(Boolean).slice(-5).join('\n'),
      ms: performance.now() - t0,
      rssMB: NaN,
    });
  }
  return results;
}
