/**
 * Extraction threads kept across jobs by a worker process, one per job it runs at once. A fresh thread spends about
 * half a second loading its modules (onnxruntime, sharp, TF.js) before the first image: paid once per thread here
 * instead of once per shard. Each thread runs one job at a time (models/worker.ts); one that crashes is replaced.
 */
import type { Worker } from 'node:worker_threads';
import type { Job, JobEvent } from '../models/job.js';
import { startSiblingWorker } from '../workers/startWorker.js';

/** A module beside models/worker (startSiblingWorker starts the sibling of its caller, .ts in source, .js built). */
const MODELS = new URL(`../models/job${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;

export class ExtractionThreads {
  private idle: Worker[] = [];
  private readonly all = new Set<Worker>();

  /** Run `job` on an idle thread (a new one if none is idle); resolves after its 'done' or 'error' event. */
  run(job: Job, onEvent: (e: JobEvent) => void): Promise<void> {
    const w = this.idle.pop() ?? this.start();
    return new Promise<void>((resolve, reject) => {
      const cleanup = () => {
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      };
      const onMessage = (e: JobEvent) => {
        onEvent(e);
        if (e.type === 'done' || e.type === 'error') {
          cleanup();
          this.idle.push(w);
          resolve();
        }
      };
      const onError = (err: Error) => {
        cleanup();
        this.drop(w);
        reject(new Error(`extraction thread crashed: ${err.message}`, { cause: err }));
      };
      const onExit = (code: number) => {
        cleanup();
        this.all.delete(w);
        this.idle = this.idle.filter((x) => x !== w);
        reject(new Error(`extraction thread exited with code ${code} while running ${job.label}`));
      };
      w.on('message', onMessage);
      w.once('error', onError);
      w.once('exit', onExit);
      w.postMessage(job);
    });
  }

  private start(): Worker {
    const w = startSiblingWorker(MODELS, 'worker', 'extraction');
    w.unref();
    this.all.add(w);
    return w;
  }

  private drop(w: Worker): void {
    this.all.delete(w);
    this.idle = this.idle.filter((x) => x !== w);
    void w.terminate();
  }

  async close(): Promise<void> {
    const all = [...this.all];
    this.all.clear();
    this.idle = [];
    await Promise.all(all.map((w) => w.terminate()));
  }
}
