/**
 * The coordinator's half of every queued run: put a list of jobs on the queue and follow them to the end. The
 * files a job writes, not the queue's records, say whether it is done — so a job finished by a run that has
 * since died is taken as done, a job the queue lost is added again, and a job still queued or running from an
 * earlier coordinator is adopted rather than added twice (its BullMQ id is the hash of what it computes).
 *
 * At most `maxQueued` jobs of a run are in the queue at once (bounding Redis memory on very large runs). Jobs are
 * followed through BullMQ's completion events, plus a sweep every `sweepMs` that catches anything an event missed.
 */
import { Job as BullJob, QueueEvents, type Queue } from 'bullmq';
import { QUEUE_NAME, redact, type QueueTarget } from './connection.js';
import type { JobKind } from './payloads.js';

export interface Tracked<T> {
  /** BullMQ job id: a stable hash of the work (no ':'). */
  id: string;
  name: JobKind;
  /** The job's data (checked by the worker against its kind's schema). */
  payload: { title: string; [field: string]: unknown };
  /** The job's outputs when they are all there and complete; undefined otherwise. */
  read(): Promise<T | undefined>;
}

export interface FollowOptions<T> {
  /** Attempts before a job counts as failed. */
  attempts: number;
  maxQueued: number;
  sweepMs: number;
  /** Called once per finished job, one call at a time, in completion order. */
  onDone: (item: Tracked<T>, value: T) => void | Promise<void>;
  /** Called once per job that failed all its attempts; throwing stops the run. */
  onFailed: (item: Tracked<T>, reason: string, attempts: number) => void | Promise<void>;
}

export interface FollowDefaults {
  attempts?: number;
  maxQueued?: number;
  sweepMs?: number;
}

export function followDefaults(o: FollowDefaults): { attempts: number; maxQueued: number; sweepMs: number } {
  return { attempts: o.attempts ?? 3, maxQueued: o.maxQueued ?? 1000, sweepMs: o.sweepMs ?? 2000 };
}

/** Enqueue `items` (those already done are delivered without running) and resolve when every one has settled. */
export async function follow<T>(queue: Queue, target: QueueTarget, items: Tracked<T>[], opts: FollowOptions<T>): Promise<void> {
  const pending = new Map<string, Tracked<T>>();
  let next = 0;
  let failure: unknown;
  let chain: Promise<void> = Promise.resolve();
  // Set by every settled check; the main loop sleeps until one arrives (the sweep makes one every sweepMs).
  let signalled = false;
  let waiter: (() => void) | undefined;
  const wake = () => {
    signalled = true;
    waiter?.();
  };

  const add = async (item: Tracked<T>) => {
    pending.set(item.id, item);
    const state = await queue.getJobState(item.id);
    // Finished since its outputs were last looked for (by a worker serving an earlier coordinator): take it.
    if (state === 'completed' && (await item.read()) !== undefined) return settle(item.id);
    if (state === 'completed' || state === 'failed') await queue.remove(item.id);
    if (state === 'completed' || state === 'failed' || state === 'unknown') {
      await queue.add(item.name, item.payload, {
        jobId: item.id,
        attempts: opts.attempts,
        backoff: { type: 'fixed', delay: 1000 },
        removeOnComplete: { age: 24 * 3600, count: 2 * opts.maxQueued },
        removeOnFail: { age: 7 * 24 * 3600 },
      });
    }
    // Otherwise it is waiting or running already (left by an earlier coordinator): adopt it.
  };

  /** Settle one outstanding job from its state and its files; serialised so callbacks run one at a time. */
  const settle = (id: string, hint?: string) => {
    chain = chain
      .then(async () => {
        const item = pending.get(id);
        if (!item || failure !== undefined) return;
        const state = await queue.getJobState(id);
        if (state === 'completed' || state === 'unknown') {
          const value = await item.read();
          if (value === undefined) {
            // Gone from the queue without its outputs (cleaned away, or the files were removed): run it again.
            if (state === 'completed') await queue.remove(id).catch(() => undefined);
            await add(item);
            return;
          }
          pending.delete(id);
          await opts.onDone(item, value);
        } else if (state === 'failed') {
          const job = await BullJob.fromId(queue, id);
          pending.delete(id);
          await opts.onFailed(item, redact(job?.failedReason ?? hint ?? 'failed', target), job?.attemptsMade ?? opts.attempts);
        }
      })
      .catch((e: unknown) => {
        failure ??= e;
      })
      .finally(wake);
  };

  const events = new QueueEvents(QUEUE_NAME, { connection: { ...target.connection, maxRetriesPerRequest: null } });
  events.on('error', () => undefined);
  events.on('completed', ({ jobId }) => settle(jobId));
  events.on('failed', ({ jobId, failedReason }) => settle(jobId, failedReason));
  await events.waitUntilReady();
  const sweep = setInterval(() => {
    for (const id of pending.keys()) settle(id);
  }, opts.sweepMs);
  try {
    for (;;) {
      while (failure === undefined && next < items.length && pending.size < opts.maxQueued) {
        const item = items[next++];
        // Outputs already there (finished by an earlier run): no job needed.
        const value = await item.read();
        if (value !== undefined) {
          await (chain = chain.then(() => opts.onDone(item, value)));
          continue;
        }
        await add(item);
      }
      if (failure !== undefined || (next >= items.length && pending.size === 0)) break;
      if (!signalled) await new Promise<void>((r) => (waiter = r));
      signalled = false;
      waiter = undefined;
      await chain;
    }
    await chain;
  } catch (e) {
    failure ??= e;
  } finally {
    clearInterval(sweep);
    await events.close().catch(() => undefined);
    if (failure !== undefined) {
      // Stopping on an error: take this run's waiting jobs back out of the queue (running ones finish).
      for (const id of pending.keys()) {
        const st = await queue.getJobState(id).catch(() => 'unknown');
        if (st === 'waiting' || st === 'delayed' || st === 'prioritized') await queue.remove(id).catch(() => undefined);
      }
    }
  }
  if (failure !== undefined) throw failure;
}
