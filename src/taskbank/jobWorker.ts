/**
 * Worker-thread entry of the task bank's jobs (jobs.ts): one TF.js WASM backend per thread, one job at a time;
 * training progress is forwarded as it happens, then the result (or the error) is posted.
 */
import { parentPort } from 'node:worker_threads';
import { runBankJob, type BankJob } from './jobs.js';

if (!parentPort) throw new Error('taskbank/jobWorker.ts must run in a worker thread');
const port = parentPort;

port.on('message', (job: BankJob) => {
  runBankJob(job, (progress) => port.postMessage({ progress })).then(
    (result) => port.postMessage({ result }),
    (err: unknown) => port.postMessage({ error: (err as Error)?.message ?? String(err) }),
  );
});
