/**
 * Worker-thread entry of the NSL benchmark: one TF.js WASM backend per thread (the backend is single-threaded in
 * Node), one training run at a time.
 */
import { parentPort } from 'node:worker_threads';
import { runBenchJob, type BenchJob } from './bench.js';

if (!parentPort) throw new Error('nsl/benchWorker.ts must run in a worker thread');
const port = parentPort;

port.on('message', (job: BenchJob) => {
  runBenchJob(job).then(
    (run) => port.postMessage({ run }),
    (err: unknown) => port.postMessage({ error: `${job.variant} seed ${job.seed}: ${(err as Error)?.message ?? String(err)}` }),
  );
});
