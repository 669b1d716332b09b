/**
 * Worker-thread entry of groundTruthTable (transferTruth.ts): one source per message — its features prepared once,
 * then every (target, head) measurement asked for, each written to the cache as groundTruth writes it — replying
 * with the records, until it is terminated.
 */
import { parentPort } from 'node:worker_threads';
import type { Matrix } from '../linalg/dense.js';
import { getGemmEngine } from '../linalg/gemm.js';
import { headData } from '../transferability/logistic.js';
import { groundTruth, type GroundTruthOptions, type HeadKind, type TruthRecord } from './transferTruth.js';

if (!parentPort) throw new Error('benchmark/truthWorker must run in a worker thread');
const port = parentPort;
// This thread's products run beside another thread's: one engine thread each, not one per core each.
process.env.TASKMAP_THREADS = '1';

export interface TruthWorkerTask {
  job: number;
  source: string;
  digest: string;
  features: { train: Matrix; test: Matrix };
  measurements: { target: string; labels: { train: Int32Array; test: Int32Array }; head: HeadKind }[];
  configs: GroundTruthOptions['configs'];
  cacheDir: string | undefined;
  engine: 'auto' | 'js';
}

export type TruthWorkerReply = { job: number; record: TruthRecord } | { job: number; done: true } | { job: number; error: string };

port.on('message', (task: TruthWorkerTask) => {
  void measure(task).then(
    () => port.postMessage({ job: task.job, done: true } satisfies TruthWorkerReply),
    (e: unknown) => port.postMessage({ job: task.job, error: (e as Error)?.message ?? String(e) } satisfies TruthWorkerReply),
  );
});

async function measure(task: TruthWorkerTask): Promise<void> {
  const engine = await getGemmEngine(task.engine);
  const data = await headData(task.features.train, engine);
  for (const m of task.measurements) {
    const record = await groundTruth({ source: task.source, target: m.target, features: task.features, labels: m.labels }, m.head, {
      configs: task.configs,
      cacheDir: task.cacheDir,
      engine,
      data,
      digest: task.digest,
    });
    port.postMessage({ job: task.job, record } satisfies TruthWorkerReply);
  }
}
