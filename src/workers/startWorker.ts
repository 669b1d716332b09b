/**
 * Start a worker thread running a sibling module of the caller: the compiled .js in dist/, or — when the caller
 * is itself .ts source (tests, tsx) — the .ts file loaded through tsx's loader API, which `--import tsx` in
 * execArgv does not reach on Node 20.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

export function startSiblingWorker(callerUrl: string, workerBaseName: string, what: string): Worker {
  const here = fileURLToPath(callerUrl);
  if (here.endsWith('.ts')) {
    const url = pathToFileURL(here.replace(/[^/\\]+\.ts$/, `${workerBaseName}.ts`)).href;
    const boot = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url)}); })`;
    return new Worker(boot, { eval: true });
  }
  const file = here.replace(/[^/\\]+\.js$/, `${workerBaseName}.js`);
  if (!existsSync(file)) throw new Error(`${what} worker script missing: ${file} (rebuild with npm run build)`);
  return new Worker(file);
}

/**
 * A worker's replies, asked for one at a time and delivered in order: each message, or an Error when the worker
 * fails or exits. A reply that arrives before it is asked for is kept, not lost.
 */
export function workerReplies<R>(worker: Worker, what: string): () => Promise<R | Error> {
  const queue: (R | Error)[] = [];
  let waiting: ((r: R | Error) => void) | undefined;
  const deliver = (r: R | Error) => {
    const w = waiting;
    waiting = undefined;
    if (w) w(r);
    else queue.push(r);
  };
  worker.on('message', (r: R) => deliver(r));
  worker.on('error', (e) => deliver(e));
  worker.on('exit', (code) => deliver(new Error(`a ${what} worker exited (code ${code})`)));
  return () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise((resolve) => (waiting = resolve)));
}
