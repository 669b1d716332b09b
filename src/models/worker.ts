/**
 * Worker-thread entry: one TF.js WASM backend (and ORT session set) per thread, because the WASM backend cannot
 * use threads in Node; jobs arrive one at a time and results go back with their buffers transferred.
 */
import { parentPort } from 'node:worker_threads';
import { runJob, type Job, type JobEvent } from './job.js';

if (!parentPort) throw new Error('models/worker.ts must run in a worker thread');
const port = parentPort;

port.on('message', (job: Job) => {
  void runJob(job, (e: JobEvent) => {
    const transfer = e.type === 'batch' ? e.outputs.map((o) => o.rows.buffer as ArrayBuffer) : [];
    port.postMessage(e, transfer);
  });
});
