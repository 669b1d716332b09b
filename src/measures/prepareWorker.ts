/**
 * Worker-thread entry of prepareThreads.ts: opens the feature set, then takes members from the shared counter until
 * none is left, writing each prepared vector into its place in the shared block and posting its index.
 */
import { parentPort } from 'node:worker_threads';
import { openFeatureSet } from '../features/featureSet.js';
import type { FeatureSetReopen } from '../features/types.js';
import type { ReadBuffer } from '../io/input.js';
import { getGemmEngine, type Precision } from '../linalg/gemm.js';
import { parseMeasure, pipelineOf } from './registry.js';
import { memberPreparer } from './similarity.js';

if (!parentPort) throw new Error('measures/prepareWorker must run in a worker thread');
const port = parentPort;

export interface PrepareWorkerInit {
  reopen: FeatureSetReopen;
  id: string;
  precision?: Precision;
  engine: 'auto' | 'js';
  block: SharedArrayBuffer;
  counter: SharedArrayBuffer;
  members: number;
  length: number;
}

export type PrepareWorkerReply = { done: number } | { error: string } | { finished: true };

port.once('message', (init: PrepareWorkerInit) => {
  void run(init).finally(() => port.postMessage({ finished: true } satisfies PrepareWorkerReply));
});

async function run(init: PrepareWorkerInit): Promise<void> {
  const counter = new Int32Array(init.counter);
  const block = new Float64Array(init.block);
  try {
    // This thread's GEMM runs beside the others': one engine thread each, not one per core each.
    process.env.TASKMAP_THREADS = '1';
    const { path, order, images } = init.reopen;
    const set = await openFeatureSet(path, { order, images });
    const engine = await getGemmEngine(init.engine);
    const prepare = memberPreparer(pipelineOf(parseMeasure(init.id)), { engine, precision: init.precision });
    const buffer: ReadBuffer = {};
    for (;;) {
      const i = Atomics.add(counter, 0, 1);
      if (i >= init.members) return;
      await prepare(await set.read(i, buffer), block.subarray(i * init.length, (i + 1) * init.length));
      port.postMessage({ done: i } satisfies PrepareWorkerReply);
    }
  } catch (e) {
    Atomics.store(counter, 0, init.members);
    port.postMessage({ error: (e as Error)?.message ?? String(e) } satisfies PrepareWorkerReply);
  }
}
