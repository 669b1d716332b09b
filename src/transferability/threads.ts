/**
 * Many candidates' scores on several threads: each worker thread scores whole candidates (every requested score of
 * one candidate, sharing that candidate's memo as computeScores does), one at a time, and asks for the next when it
 * is done — so a slow candidate does not leave the other thread idle.
 *
 * Why candidates and not scores or products: a candidate's work is a chain (centring → Gram → eigendecomposition →
 * the scores that share them) with long single-threaded stretches (the probe's L-BFGS loops, NLEEP's EM, kNN, the
 * ranks of PARC), and LAPACK's eigensolver gains little from a second thread at N = 1000 while its tridiagonal
 * reduction is memory-bound. Two candidates side by side, one BLAS thread each, keep both cores busy throughout.
 *
 * This thread only hands out candidates (it builds each input when a worker asks, so callers can produce inputs
 * lazily, e.g. read one file per candidate); a worker receives a copy of its candidate's arrays. Values are those
 * of computeScores on this thread: the same code on the same input, one BLAS thread instead of several.
 */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { getGemmEngine, type GemmEngine } from '../linalg/gemm.js';
import { oneBlasThreadEach } from '../linalg/lapack.js';
import { startSiblingWorker, workerReplies } from '../workers/startWorker.js';
import { envThreads } from '../workers/threadCount.js';
import { terminateWorker } from '../workers/terminate.js';
import { computeScore, computeScores, ScoreMemo, type ScoreValue } from './index.js';
import type { ScoreInput } from './types.js';
import type { ScoreWorkerReply, ScoreWorkerTask } from './scoreWorker.js';

export interface CandidateScoresOptions {
  /** Worker threads (default: TASKMAP_THREADS, else every core); 1 scores every candidate on this thread. */
  threads?: number;
  /** Called as each candidate finishes (in completion order), with its values and the candidate's wall time in ms. */
  onDone?: (m: number, values: CandidateScore[], ms: number) => void;
  /**
   * `throw` (default): the first failing score stops the hand-out and is thrown. `record`: a failing score comes
   * back as `{ id, error }` in its place and the candidate's other scores still run (a table with a blank cell).
   */
  onError?: 'throw' | 'record';
  /**
   * Hand each input's feature array over to its worker instead of copying it (the caller's array is detached
   * afterwards): for inputs made only for this call, it saves the worker a fresh N×D copy — on the development VM
   * first-touch page faults make a fresh 16 MB array cost ~60 ms, more than many scores.
   */
  transfer?: boolean;
  /**
   * A small input each worker scores once (every score of candidate 0's list, result discarded) before its first
   * candidate: a cold worker runs its first two candidates ~3× slower than later ones (compilation of the hot loops,
   * first-touch of a fresh heap), and a 120×64 slice warms it in a fraction of that.
   */
  warmUp?: ScoreInput;
  /**
   * The products' engine: on this thread as given (default getGemmEngine()); a worker uses the same kind (`js`, or
   * the automatic choice, which is the same engine on the same machine).
   */
  engine?: GemmEngine;
}

/** A score of one candidate, or — with `onError: 'record'` — why it could not be computed. */
export type CandidateScore = ScoreValue | { id: string; error: string };

/** Every score of one candidate with one memo, as computeScores; with `record`, failures in place of values. */
export async function scoreOne(ids: readonly string[], input: ScoreInput, engine: GemmEngine, record: boolean): Promise<CandidateScore[]> {
  if (!record) return computeScores(ids, input, { engine, memo: new ScoreMemo() });
  const memo = new ScoreMemo();
  const out: CandidateScore[] = [];
  for (const id of ids) {
    try {
      out.push(await computeScore(id, input, { engine, memo }));
    } catch (e) {
      out.push({ id, error: (e as Error)?.message ?? String(e) });
    }
  }
  return out;
}

/** Threads to use: `requested`, else TASKMAP_THREADS, else every core — never more than there are candidates. */
export function candidateThreads(count: number, requested?: number): number {
  const wanted = requested ?? envThreads() ?? os.availableParallelism();
  return Math.max(1, Math.min(wanted, count));
}

/** Feature values (rows × columns, summed over the inputs) from which scoring on threads pays for starting them. */
export const THREADED_SCORE_WORK = 4_000_000;

/**
 * Threads for scoring inputs of `work` feature values in all: `requested` or TASKMAP_THREADS where given (as
 * candidateThreads), else every core once the work reaches THREADED_SCORE_WORK, else 1 — a worker's start-up
 * (~0.2 s of module loading and compilation) costs more than small inputs take to score.
 */
export function scoreThreads(count: number, work: number, requested?: number): number {
  if (requested !== undefined || envThreads() !== undefined) return candidateThreads(count, requested);
  return work >= THREADED_SCORE_WORK ? candidateThreads(count) : 1;
}

/**
 * The scores `ids(m)` of candidates 0…count−1, `input(m)` each, on `threads` worker threads (see the module
 * comment). Returns the values per candidate, in `ids(m)` order. The first error (a bad input, a worker that dies)
 * stops the hand-out and is thrown, naming the candidate, once the running candidates finish.
 */
export async function scoreCandidates(
  ids: readonly string[] | ((m: number) => readonly string[]),
  count: number,
  input: (m: number) => ScoreInput | Promise<ScoreInput>,
  opts: CandidateScoresOptions & { onError?: 'throw' },
): Promise<ScoreValue[][]>;
export async function scoreCandidates(
  ids: readonly string[] | ((m: number) => readonly string[]),
  count: number,
  input: (m: number) => ScoreInput | Promise<ScoreInput>,
  opts?: CandidateScoresOptions,
): Promise<CandidateScore[][]>;
export async function scoreCandidates(
  ids: readonly string[] | ((m: number) => readonly string[]),
  count: number,
  input: (m: number) => ScoreInput | Promise<ScoreInput>,
  opts: CandidateScoresOptions = {},
): Promise<CandidateScore[][]> {
  const idsOf = typeof ids === 'function' ? ids : () => ids;
  const threads = candidateThreads(count, opts.threads);
  const record = opts.onError === 'record';
  const out: CandidateScore[][] = new Array(count);
  const given = opts.engine ?? (await getGemmEngine());
  if (threads <= 1) {
    for (let m = 0; m < count; m++) {
      const t0 = performance.now();
      out[m] = await scoreOne(idsOf(m), await input(m), given, record);
      opts.onDone?.(m, out[m], performance.now() - t0);
    }
    return out;
  }
  const engineKind = given.name === 'js' ? 'js' : 'auto';
  let next = 0;
  let failure: Error | undefined;
  const restoreBlas = oneBlasThreadEach();
  const workers: Worker[] = [];
  try {
    // A lane that throws (a caller's input or onDone callback) records the error instead of rejecting, so that every
    // lane settles before the workers are terminated, and no lane posts to a terminated worker and waits forever.
    const lanes = Array.from({ length: threads }, async () => {
      try {
        const worker = startSiblingWorker(import.meta.url, 'scoreWorker', 'transferability score');
        workers.push(worker);
        const reply = workerReplies<ScoreWorkerReply>(worker, 'score');
        if (opts.warmUp && count > 0) {
          const waiting = reply();
          worker.postMessage({ m: -1, ids: [...idsOf(0)], input: opts.warmUp, engine: engineKind, record: true } satisfies ScoreWorkerTask);
          const r = await waiting;
          if (r instanceof Error) {
            failure ??= new Error(`a score worker failed while warming up: ${r.message}`, { cause: r });
            return;
          }
        }
        for (;;) {
          if (failure || next >= count) return;
          const m = next++;
          // A failing input ends the lane through the catch below, as any other throw does.
          const task: ScoreWorkerTask = { m, ids: [...idsOf(m)], input: await input(m), engine: engineKind, record };
          if (failure) return;
          const waiting = reply();
          const data = task.input.features?.data;
          const whole = data && data.buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
          worker.postMessage(task, opts.transfer && whole ? [data.buffer] : []);
          const r = await waiting;
          if (r instanceof Error) {
            failure ??= new Error(`candidate ${m}: ${r.message}`, { cause: r });
            return;
          }
          if ('error' in r) {
            failure ??= new Error(r.error);
            return;
          }
          out[m] = r.values;
          opts.onDone?.(m, r.values, r.ms);
        }
      } catch (e) {
        failure ??= e as Error;
      }
    });
    await Promise.all(lanes);
  } finally {
    await Promise.all(workers.map((w) => terminateWorker(w, 'a score worker')));
    restoreBlas();
  }
  if (failure) throw failure;
  return out;
}
