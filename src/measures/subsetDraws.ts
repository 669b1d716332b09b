/**
 * The bootstrap draws' prepared forms on several cores. Draws are claimed in order from one shared counter: each
 * worker takes the next unclaimed draw whenever it is free, and this thread, when it asks for draw d and nobody has
 * claimed d yet, prepares it itself — so a thread busy with other work (the scores on all images) simply takes
 * fewer draws. Every thread holds the same preparers over the same full matrices (shared memory, not copies), so the
 * results are the same wherever a draw runs. If a worker fails, the draws not yet delivered are prepared here. The
 * preparation is pure computation on the CPU (the GEMM engine is not involved), which is what one thread per core
 * speeds up.
 *
 * No draw allocates: this thread prepares into one kept block, and each worker into a few slots of shared memory
 * that this thread reads in place and hands back when it asks for the next draw. Threads of one process that touch
 * fresh memory contend for its page tables (a page fault per 4 KiB costs ~4 µs on the development VM), and moving
 * each draw's vectors to this thread as new buffers made two threads no faster than one.
 */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startSiblingWorker } from '../workers/startWorker.js';
import { envThreads } from '../workers/threadCount.js';
import { preparedLength, type Prepared } from './compare.js';
import type { Representation } from '../features/types.js';
import type { GemmOptions } from '../linalg/gemm.js';
import { oneBlasThreadEach } from '../linalg/lapack.js';
import { isPairwise, pipelineOf, type MeasureConfig } from './registry.js';
import { shared, slicesSubsets, subsetPreparer, subsetPreparersFit, subsetScratch, type SourcedPreparer, type SubsetSource } from './subsets.js';
import type { SubsetWorkerReply, SubsetWorkerRequest } from './subsetWorker.js';

/** Fewer (draw × member) preparations than this are not worth starting threads for. */
const MIN_PARALLEL_WORK = 200;

/** Below this many triangle values over all draws and members (~0.1 s of work on one core), one thread. */
const THREADED_WORK = 4_000_000;

/**
 * Threads for the draws: TASKMAP_THREADS when set; else every core when the draws hold at least THREADED_WORK
 * values (`work`: members × draws × values per draw; unknown counts as large), else 1.
 */
export function drawThreads(work = Infinity): number {
  const t = envThreads();
  if (t !== undefined) return Math.min(t, os.availableParallelism());
  return work >= THREADED_WORK ? os.availableParallelism() : 1;
}

/** The draws of a bootstrap from the full matrices, and the preparers they come from (for the full set too). */
export interface FullMatrixDraws {
  preparers: SourcedPreparer[];
  draws: DrawPreparation;
}

/**
 * The prepared forms of `subsets` of `reps` from their full n×n matrices (measures/subsets.ts), on the threads
 * drawThreads gives; undefined when they must be recomputed from features: asked to (`recompute`), a pairwise
 * family, a measure whose subsets do not follow from the full matrices, or full matrices that would not fit the
 * memory budget. Worker threads start before the full matrices are computed, so that their start-up overlaps
 * them, and begin on the draws at once: call this before other work that can overlap theirs, and close the draws.
 */
export async function fullMatrixDraws(
  reps: Representation[],
  config: MeasureConfig,
  subsets: Uint32Array[],
  gemm: GemmOptions,
  recompute?: boolean,
): Promise<FullMatrixDraws | undefined> {
  if (recompute || subsets.length === 0 || isPairwise(config)) return undefined;
  const pipeline = pipelineOf(config);
  if (!slicesSubsets(pipeline) || !subsetPreparersFit(reps[0].n, reps.length)) return undefined;
  const s = subsets[0].length;
  const threads = drawThreads((reps.length * subsets.length * s * (s - 1)) / 2);
  const started = threads > 1 ? startDrawWorkers(threads) : undefined;
  const preparers: SourcedPreparer[] = [];
  try {
    // Built one at a time, so they share their work arrays; in shared memory only when worker threads will read it.
    const opts = { ...gemm, shared: started !== undefined && started.length > 0, scratch: subsetScratch(reps[0].n * reps[0].p) };
    for (const rep of reps) preparers.push((await subsetPreparer(rep, pipeline, opts))!);
  } catch (err) {
    for (const w of started ?? []) void w.terminate();
    throw err;
  }
  return { preparers, draws: prepareDraws(preparers, subsets, threads, started) };
}

export interface DrawPreparation {
  /**
   * The prepared forms of draw `d`, one per preparer (undefined where the preparer declines the subset). Ask for the
   * draws in order, 0, 1, 2, …. They live in arrays reused by the next call: use them (crossSimilarity copies or
   * reads them) before asking for another draw.
   */
  draw(d: number): Promise<(Prepared | undefined)[]>;
  /** Stop the worker threads (always call it, in a finally). */
  close(): Promise<void>;
  /** How many draws worker threads have prepared so far (the rest ran on this thread). */
  readonly fromWorkers: number;
  /** Worker threads started (0: every draw is prepared on this thread). */
  readonly workers: number;
  /** Resolves true once a worker has delivered a draw, false if none ever will (none started, failed, closed). */
  workerReady(): Promise<boolean>;
}

/**
 * Worker threads for the draws, started before their preparers exist so that their start-up (loading modules)
 * overlaps the full matrices' computation. Hand them to prepareDraws, which closes them; `terminate` them yourself
 * if it is never called. None where there is nothing to share the work with (threads ≤ 1).
 */
export function startDrawWorkers(threads = drawThreads()): Worker[] {
  const workers: Worker[] = [];
  for (let w = 1; w < threads; w++) {
    try {
      const worker = startSiblingWorker(import.meta.url, 'subsetWorker', 'bootstrap');
      // Until prepareDraws listens, a failure is only noted (an 'error' without a listener would throw).
      worker.on('error', markStopped);
      worker.on('exit', markStopped);
      workers.push(worker);
    } catch {
      // Its draws stay on this thread.
    }
  }
  return workers;
}

/** Workers that failed or exited before prepareDraws took them: their draws stay on this thread. */
const stopped = new WeakSet<Worker>();

function markStopped(this: Worker): void {
  stopped.add(this);
}

/** Bytes of shared memory each worker may fill ahead of this thread (at least 2 slots, at most 16). */
const AHEAD_BYTES = 64 * 2 ** 20;

/** At most this many draws this thread prepares ahead of the one a worker has (fewer for big draws: AHEAD_BYTES). */
const AHEAD_HERE = 8;

/** Where a worker writes its draws' vectors: `count` blocks of members × length, and each slot's state (1 = full). */
export interface DrawSlots {
  values: Float64Array;
  state: Int32Array;
  count: number;
  members: number;
  length: number;
}

/**
 * Prepare `subsets` (draw d = subsets[d]) with `preparers` on this thread and the `started` workers (else on up to
 * `threads` threads, this one included, started now). The workers begin at once: call this before other work on
 * this thread that can overlap theirs.
 */
export function prepareDraws(preparers: SourcedPreparer[], subsets: Uint32Array[], threads = drawThreads(), started?: Worker[]): DrawPreparation {
  // Every draw has the same size; product-form comparators have vectors of a known length (else no kept blocks).
  const length = subsets.length && preparers.length ? preparedLength(preparers[0].source.pipeline.compare, subsets[0].length) : undefined;
  // Blocks for every member's vector of one draw, reused: vectors side by side in member order are already the
  // matrix the comparison GEMM reads (no copy), and fresh memory costs a page fault per 4 KiB.
  const free: Float64Array[] = [];
  const block = () => (length === undefined ? undefined : (free.pop() ?? new Float64Array(length * preparers.length)));
  const prepareInto = (d: number, b: Float64Array | undefined) => preparers.map((p, k) => p.prepare(subsets[d], b?.subarray(k * length!, (k + 1) * length!)));
  const worth = (started ? started.length > 0 : threads > 1) && subsets.length >= 2 && preparers.length * subsets.length >= MIN_PARALLEL_WORK;
  const all = started ?? (worth ? startDrawWorkers(Math.min(threads, subsets.length)) : []);
  const pool = worth ? all.filter((w) => !stopped.has(w)) : [];
  for (const w of all) if (!pool.includes(w)) void w.terminate();
  if (pool.length === 0) {
    const only = block();
    return {
      draw: async (d) => prepareInto(d, only),
      close: async () => undefined,
      fromWorkers: 0,
      workers: 0,
      workerReady: async () => false,
    };
  }
  // Workers read the full matrices where they are (subsetPreparer keeps them in shared memory); a source that is
  // not shared is copied there once.
  const sources: SubsetSource[] = preparers.map((p) =>
    p.source.matrix.buffer instanceof SharedArrayBuffer ? p.source : { ...p.source, matrix: shared(p.source.matrix) },
  );
  /** The next unclaimed draw. */
  const claim = new Int32Array(new SharedArrayBuffer(4));
  type Result = (Prepared | undefined)[] | { error: string };
  /** Draws delivered by workers and not yet asked for, and the draw this thread is waiting for. */
  const delivered = new Map<number, Result>();
  let waiting: { d: number; resolve: (r: Result | undefined) => void } | undefined;
  /** Draws this thread prepared ahead while a worker had the one asked for, with their blocks. */
  const ahead = new Map<number, { prepared: (Prepared | undefined)[]; block?: Float64Array }>();
  /** The slot of each delivered draw (to hand back once used). */
  const slotOf = new Map<number, { slots: DrawSlots; slot: number }>();
  /** What the draw last returned lives in, handed back when the next draw is asked for. */
  let held: { slots: DrawSlots; slot: number } | { block?: Float64Array } | undefined;
  const giveBack = (h: { slots: DrawSlots; slot: number } | undefined) => {
    if (!h) return;
    Atomics.store(h.slots.state, h.slot, 0);
    Atomics.notify(h.slots.state, h.slot);
  };
  const release = () => {
    if (held && 'slots' in held) giveBack(held);
    else if (held?.block) free.push(held.block);
    held = undefined;
  };
  /** The draw asked for next: a delivery of an earlier one (prepared here after a failure) only frees its slot. */
  let next = 0;
  let failed = false;
  let closed = false;
  let fromWorkers = 0;
  let ready: (ok: boolean) => void = () => undefined;
  const readiness = new Promise<boolean>((resolve) => (ready = resolve));
  const count = length === undefined ? 0 : Math.max(2, Math.min(16, Math.floor(AHEAD_BYTES / (8 * preparers.length * length))));
  const aheadHere = length === undefined ? 2 : Math.max(2, Math.min(AHEAD_HERE, Math.floor(AHEAD_BYTES / (8 * preparers.length * length))));
  for (const worker of pool) {
    const slots: DrawSlots | undefined =
      length === undefined
        ? undefined
        : {
            values: new Float64Array(new SharedArrayBuffer(8 * count * preparers.length * length)),
            state: new Int32Array(new SharedArrayBuffer(4 * count)),
            count,
            members: preparers.length,
            length,
          };
    // A worker that fails leaves its undelivered draws to this thread.
    const fail = () => {
      if (closed) return;
      failed = true;
      ready(false);
      waiting?.resolve(undefined);
      waiting = undefined;
      void worker.terminate();
    };
    worker.on('message', (m: SubsetWorkerReply) => {
      let result: Result;
      if ('error' in m) result = { error: m.error };
      else if ('slot' in m) {
        const at = { slots: slots!, slot: m.slot };
        if (m.draw < next) return giveBack(at);
        slotOf.set(m.draw, at);
        const base = m.slot * slots!.members * slots!.length;
        result = m.declined.map((no, k) =>
          no ? undefined : { kind: 'unit', vector: slots!.values.subarray(base + k * slots!.length, base + (k + 1) * slots!.length) },
        );
      } else result = m.prepared.map((x) => x ?? undefined);
      ready(true);
      if (m.draw < next) return;
      fromWorkers++;
      if (waiting?.d === m.draw) {
        waiting.resolve(result);
        waiting = undefined;
      } else delivered.set(m.draw, result);
    });
    worker.off('error', markStopped);
    worker.off('exit', markStopped);
    worker.on('error', fail);
    worker.on('exit', fail);
    worker.postMessage({ sources, subsets, claim, slots } satisfies SubsetWorkerRequest);
  }
  const take = async (d: number): Promise<(Prepared | undefined)[]> => {
    for (;;) {
      const mine = ahead.get(d);
      if (mine) {
        ahead.delete(d);
        held = { block: mine.block };
        return mine.prepared;
      }
      const got = delivered.get(d);
      if (got) {
        delivered.delete(d);
        if ('error' in got) throw new Error(got.error);
        held = slotOf.get(d);
        slotOf.delete(d);
        return got;
      }
      // Nobody has claimed d (or its worker failed): prepare it here.
      if (failed || Atomics.compareExchange(claim, 0, d, d + 1) === d) {
        const b = block();
        held = { block: b };
        return prepareInto(d, b);
      }
      // A worker has d: meanwhile prepare the next unclaimed draw here rather than wait, up to aheadHere of them.
      if (ahead.size < aheadHere) {
        const e = Atomics.add(claim, 0, 1);
        if (e < subsets.length) {
          const b = block();
          ahead.set(e, { prepared: prepareInto(e, b), block: b });
          // Let the workers' deliveries in before looking again.
          await new Promise((resolve) => setImmediate(resolve));
          continue;
        }
      }
      const waited = await new Promise<Result | undefined>((resolve) => (waiting = { d, resolve }));
      if (waited) delivered.set(d, waited);
    }
  };
  // While the workers prepare draws, this thread's products run on one BLAS thread: OpenBLAS's idle threads spin
  // between calls, here on the cores the workers need (and concurrent calls into a multi-threaded OpenBLAS are the
  // suspect of a one-off wrong value once seen in CI). Every caller of the draws gets this; close() restores it. Taken
  // last, so that a setup that throws leaves the count as it was.
  const restoreBlas = oneBlasThreadEach();
  return {
    async draw(d) {
      if (d !== next) throw new Error(`bootstrap draws are prepared in order: asked for draw ${d} after ${next - 1}`);
      release();
      const got = await take(d);
      // From here a late delivery of d only frees its slot.
      next = d + 1;
      return got;
    },
    async close() {
      closed = true;
      ready(false);
      release();
      // Workers still claiming stop at the end of the draws; terminate does not wait for that.
      Atomics.store(claim, 0, subsets.length);
      restoreBlas();
      await Promise.all(pool.map((w) => w.terminate()));
    },
    get fromWorkers() {
      return fromWorkers;
    },
    workers: pool.length,
    workerReady: () => readiness,
  };
}
