/** Test worker for jobPool.test.ts: squares numbers, reports progress, fails or crashes on request. */
import { serveJobs } from '../../src/workers/jobPool.js';

interface EchoJob {
  x: number;
  ms?: number;
  fail?: boolean;
  crash?: boolean;
}

serveJobs<EchoJob, { y: number; thread: number }, string>('echoWorker', async (job, progress) => {
  if (job.crash)
    setTimeout(() => {
      throw new Error('worker crashed');
    }, 0);
  progress(`start ${job.x}`);
  await new Promise((r) => setTimeout(r, job.ms ?? 1));
  if (job.fail) throw new Error(`cannot square ${job.x}`);
  return { y: job.x * job.x, thread: Number(process.env.TEST_THREAD ?? 0) };
});
