/**
 * Worker-thread entry of threads.ts: scores one candidate per message (every requested score, one memo) and
 * replies with the values, until it is terminated.
 */
import { parentPort } from 'node:worker_threads';
import { getGemmEngine } from '../linalg/gemm.js';
import type { ScoreInput } from './types.js';
import { scoreOne, type CandidateScore } from './threads.js';

if (!parentPort) throw new Error('transferability/scoreWorker must run in a worker thread');
const port = parentPort;
// This thread's products run beside another thread's: one engine thread each, not one per core each.
process.env.TASKMAP_THREADS = '1';

export interface ScoreWorkerTask {
  m: number;
  ids: string[];
  input: ScoreInput;
  engine: 'auto' | 'js';
  /** Report a failing score in place of its value and go on with the next, instead of stopping the candidate. */
  record: boolean;
}

export type ScoreWorkerReply = { m: number; values: CandidateScore[]; ms: number } | { m: number; error: string };

port.on('message', (task: ScoreWorkerTask) => {
  void score(task).then((r) => port.postMessage(r satisfies ScoreWorkerReply));
});

async function score(task: ScoreWorkerTask): Promise<ScoreWorkerReply> {
  try {
    const engine = await getGemmEngine(task.engine);
    const t0 = performance.now();
    const values = await scoreOne(task.ids, task.input, engine, task.record);
    return { m: task.m, values, ms: performance.now() - t0 };
  } catch (e) {
    return { m: task.m, error: (e as Error)?.message ?? String(e) };
  }
}
