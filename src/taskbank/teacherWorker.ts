/**
 * Worker-thread entry for the distilled targets: one teacher job (a chunk of crops) at a time, each thread with its
 * own model runtime (TF.js WASM is single-threaded in Node, so two threads keep two cores busy).
 */
import { serveJobs } from '../workers/jobPool.js';
import { teacherTargets } from './teachers.js';
import type { TeacherJob, TeacherReply } from './teacherJobs.js';

serveJobs<TeacherJob, TeacherReply>(
  'taskbank/teacherWorker.ts',
  async (job) => {
    const t = await teacherTargets(job.task, job.crops, job.size, { cacheDir: job.cacheDir });
    return { targets: t.targets, cached: t.cached };
  },
  (r) => [r.targets.buffer as ArrayBuffer],
);
