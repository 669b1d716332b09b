import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Job, JobEvent } from '../../src/models/job.js';
import { runJobs } from '../../src/models/pool.js';

/**
 * A stand-in for an extraction worker: answers each job with `done` on the next tick; after terminate() it emits
 * `exit` only when `exits` (a real worker once stayed in Node's platform drain instead).
 */
class FakeWorker extends EventEmitter {
  terminated = false;
  unrefed = false;
  constructor(private readonly exits: boolean) {
    super();
  }
  postMessage(job: Job): void {
    setImmediate(() => this.emit('message', { type: 'done', jobId: job.id } satisfies JobEvent));
  }
  /** As Worker.terminate(): settles when the thread exits (never, for a worker that does not). */
  terminate(): Promise<number> {
    this.terminated = true;
    return new Promise((resolve) => {
      if (this.exits)
        setImmediate(() => {
          this.emit('exit', 1);
          resolve(1);
        });
    });
  }
  unref(): void {
    this.unrefed = true;
  }
}

const jobs = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i, label: `job${i}` }) as unknown as Job);

describe('runJobs on worker threads', () => {
  afterEach(() => vi.restoreAllMocks());

  it('waits for every worker’s exit after its last job; no warning when they exit', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const made: FakeWorker[] = [];
    const seen: number[] = [];
    await runJobs(jobs(5), {
      workers: 2,
      cost: () => 1,
      onEvent: (e) => void (e.type === 'done' && seen.push(e.jobId)),
      startWorker: () => {
        const w = new FakeWorker(true);
        made.push(w);
        return w as unknown as Worker;
      },
      exitGraceMs: 50,
    });
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4]);
    expect(made.map((w) => w.terminated)).toEqual([true, true]);
    await new Promise((r) => setTimeout(r, 80));
    expect(warn).not.toHaveBeenCalled();
    expect(made.some((w) => w.unrefed)).toBe(false);
  });

  it('goes on with a warning when a finished worker never exits, every result delivered', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const made: FakeWorker[] = [];
    const seen: number[] = [];
    const started = Date.now();
    await runJobs(jobs(3), {
      workers: 2,
      cost: () => 1,
      onEvent: (e) => void (e.type === 'done' && seen.push(e.jobId)),
      startWorker: () => {
        const w = new FakeWorker(made.length === 0);
        made.push(w);
        return w as unknown as Worker;
      },
      exitGraceMs: 100,
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(seen.sort()).toEqual([0, 1, 2]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/an extraction worker did not exit 0.1 s after its work was done; going on without it/);
    expect(warn.mock.calls[0][1]).toMatchObject({ type: 'TaskmapWarning', code: 'TASKMAP_WORKER_EXIT' });
    expect(made.map((w) => w.unrefed)).toEqual([false, true]);
  });
});
