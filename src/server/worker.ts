/**
 * A server worker thread: runs the tasks of tasks.ts one at a time on messages from its WorkerLane, with its own
 * Store, so loaded feature sets and prepared caches stay warm between jobs for as long as the worker lives.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { toHttpError } from './errors.js';
import { Sandbox } from './sandbox.js';
import { Store } from './store.js';
import { tasks, type TaskEnv, type TaskName } from './tasks.js';
import type { FromWorker, ToWorker, WorkerInit } from './workers.js';

const port = parentPort;
if (!port) throw new Error('src/server/worker.ts runs only as a worker thread');
const init = workerData as WorkerInit;
const sandbox = await Sandbox.create(init.roots);
const store = new Store(sandbox);
const post = (m: FromWorker) => port.postMessage(m);

port.on('message', (m: ToWorker) => {
  const env: TaskEnv = { store, sandbox, report: (progress) => post({ type: 'progress', id: m.id, progress }) };
  const run = tasks[m.task as TaskName] as (args: unknown, env: TaskEnv) => Promise<unknown>;
  void (async () => {
    try {
      if (!run) throw new Error(`no server task "${m.task}"`);
      post({ type: 'result', id: m.id, value: await run(m.args, env) });
    } catch (err) {
      const { status, body } = toHttpError(err);
      post({ type: 'error', id: m.id, status, code: body.error.code, message: body.error.message, detail: status >= 500 ? String((err as Error)?.stack ?? err) : undefined });
    }
  })();
});
post({ type: 'ready' });
