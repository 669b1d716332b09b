/**
 * Worker-thread entry for the distilled targets: one teacher job (a chunk of crops) at a time, each thread with its
 * own model runtime (TF.js WASM is single-threaded in Node, so two threads keep two cores busy).
 */
import { parentPort } from 'node:worker_threads';
import { teacherTargets } from './teachers.js';
import type { TeacherJob } from './teacherJobs.js';

if (!parentPort) throw new Error('taskbank/teacherWorker.ts must run in a worker thread');
const port = parentPort;

port.on('message', (job: TeacherJob) => {
  teacherTargets(job.task, job.crops, job.size, { cacheDir: job.cacheDir }).then(
    (t) => port.postMessage({ targets: t.targets, cached: t.cached }, [t.targets.buffer as ArrayBuffer]),
    (err: unknown) => port.postMessage({ error: `${job.task} (${job.label}): ${(err as Error)?.message ?? String(err)}` }),
  );
});
