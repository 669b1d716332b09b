/**
 * The worker-thread job pool shared by the task bank, its teacher stage and the NSL benchmark: results and progress
 * reach the caller per job, a caller's `take` decides which thread runs what, and the first failure stops the hand-out,
 * lets running jobs finish (their results are delivered) and is thrown naming the job; every thread is stopped.
 */
import { describe, expect, it } from 'vitest';
import { runOnWorkers } from '../../src/workers/jobPool.js';
import { startSiblingWorker } from '../../src/workers/startWorker.js';

interface EchoJob {
  x: number;
  ms?: number;
  fail?: boolean;
  crash?: boolean;
}
type Result = { y: number };

function pool(jobs: EchoJob[], threads: number, take?: (t: number) => number | undefined) {
  const results = new Map<number, number>();
  const progress: string[] = [];
  let started = 0;
  const run = runOnWorkers<EchoJob, Result, string>(jobs, {
    threads,
    start: () => {
      started++;
      return startSiblingWorker(import.meta.url, 'echoWorker', 'test');
    },
    take,
    describe: (i) => `job ${i}`,
    onResult: (i, r) => void results.set(i, r.y),
    onProgress: (i, p) => progress.push(`${i}:${p}`),
  });
  return { run, results, progress, started: () => started };
}

describe('runOnWorkers', () => {
  it('runs every job once on at most `threads` threads, with its progress and result', async () => {
    const jobs = Array.from({ length: 7 }, (_, x) => ({ x, ms: 5 }));
    const p = pool(jobs, 2);
    await p.run;
    expect([...p.results.entries()].sort((a, b) => a[0] - b[0])).toEqual(jobs.map((j, i) => [i, j.x * j.x]));
    expect(p.progress.sort()).toEqual(jobs.map((j, i) => `${i}:start ${j.x}`).sort());
    expect(p.started()).toBe(2);
    // No jobs: no thread.
    const none = pool([], 2);
    await none.run;
    expect(none.started()).toBe(0);
  });

  it("follows the caller's take: thread 0 gets the even jobs, thread 1 the odd ones", async () => {
    const jobs = Array.from({ length: 6 }, (_, x) => ({ x }));
    const queues = [
      [0, 2, 4],
      [1, 3, 5],
    ];
    const order: number[][] = [[], []];
    const p = pool(jobs, 2, (t) => {
      const i = queues[t].shift();
      if (i !== undefined) order[t].push(i);
      return i;
    });
    await p.run;
    expect(order).toEqual([
      [0, 2, 4],
      [1, 3, 5],
    ]);
    expect(p.results.size).toBe(6);
  });

  it('the first failure stops the hand-out; the running job finishes and is delivered; the error names the job', async () => {
    const jobs: EchoJob[] = [{ x: 1, fail: true, ms: 5 }, { x: 2, ms: 2000 }, { x: 3 }, { x: 4 }];
    const p = pool(jobs, 2);
    await expect(p.run).rejects.toThrow(/^job 0: cannot square 1$/);
    expect([...p.results.entries()]).toEqual([[1, 4]]);
  });

  it('a worker that dies fails its job instead of hanging', async () => {
    const p = pool([{ x: 1, crash: true, ms: 200 }, { x: 2 }], 1);
    await expect(p.run).rejects.toThrow(/^job 0: worker crashed$/);
  });
});
