/**
 * A server worker process: runs the tasks of tasks.ts one at a time on messages from its WorkerLane, with its own
 * Store, so loaded feature sets and prepared caches stay warm between jobs for as long as the worker lives.
 */
import { maxMemory, RAISE_HEAP, RAISE_MEMORY, setMaxMemory } from '../io/limits.js';
import { toHttpError } from './errors.js';
import { Sandbox } from './sandbox.js';
import { Store } from './store.js';
import { tasks, type TaskEnv, type TaskName } from './tasks.js';
import { getHighs } from '../taskonomy/policy.js';
import type { FromWorker, ToWorker, WorkerInit } from './workers.js';

const send = process.send?.bind(process);
if (!send) throw new Error('src/server/worker.ts runs only as a worker process started by the server (workers.ts)');
const init = JSON.parse(process.env.TASKMAP_WORKER_INIT ?? 'null') as WorkerInit;
// Without its server there is nobody to answer: stop (the server may have been killed outright).
process.on('disconnect', () => process.exit(0));
// The readers refuse what would not fit before allocating it, with a message naming the allocation; matching
// their budget to this worker's limit makes that the usual outcome, the limits in workers.ts only the backstop.
// A budget the server was given (--max-memory, TASKMAP_MAX_MEMORY) still decides.
setMaxMemory(init.readerBudget ?? Math.min(maxMemory(), init.memoryMb * 1024 * 1024));
// Advice written for the CLI: in the server the heap, and unless given explicitly the budget, are the worker's.
const RAISE_WORKER_MEMORY = 'raise it with taskmap serve --worker-memory-mb';
const sandbox = await Sandbox.create(init.roots);
const store = new Store(sandbox);
const post = (m: FromWorker) => void send(m);

process.on('message', (m: ToWorker) => {
  const env: TaskEnv = { store, sandbox, report: (progress) => post({ type: 'progress', id: m.id, progress }) };
  const run = tasks[m.task as TaskName] as (args: unknown, env: TaskEnv) => Promise<unknown>;
  void (async () => {
    try {
      if (!run) throw new Error(`no server task "${m.task}"`);
      post({ type: 'result', id: m.id, value: await run(m.args, env) });
    } catch (err) {
      const { status, body } = toHttpError(err);
      let message = body.error.message.split(RAISE_HEAP).join(RAISE_WORKER_MEMORY);
      if (init.readerBudget === undefined) message = message.split(RAISE_MEMORY).join(RAISE_WORKER_MEMORY);
      post({ type: 'error', id: m.id, status, code: body.error.code, message, detail: status >= 500 ? String((err as Error)?.stack ?? err) : undefined });
    }
  })();
});
post({ type: 'ready' });
// The reads worker answers the live policy view: load the HiGHS WASM module now, not on the first solve.
if (init.preloadSolver) void getHighs().catch(() => undefined);
