/**
 * Worker-thread entry of pairThreads.ts: receives the measure, the GEMM engine kind and every model's prepared form
 * (in shared memory) once per run, then compares the pairs it is sent, one at a time, posting each value back; kept
 * idle between runs, it drops the run's forms when released.
 */
import { parentPort } from 'node:worker_threads';
import { getGemmEngine, type EngineKind, type Precision } from '../linalg/gemm.js';
import type { PairwiseContext, PairwiseFamily } from './pairwise.js';
import { pairwiseFamilyOf, type PairwiseMeasureConfig } from './registry.js';

if (!parentPort) throw new Error('measures/pairWorker must run in a worker thread');
const port = parentPort;

export type PairWorkerRequest =
  | { init: { config: PairwiseMeasureConfig; prepared: unknown[]; engine: Exclude<EngineKind, 'auto'>; precision?: Precision } }
  | { pair: number; i: number; j: number }
  | { release: true };
export type PairWorkerReply = { pair: number; value: number } | { pair: number; error: string };

let setup: Promise<{ family: PairwiseFamily; config: PairwiseMeasureConfig; prepared: unknown[]; ctx: PairwiseContext }> | undefined;

port.on('message', (m: PairWorkerRequest) => {
  if ('release' in m) {
    setup = undefined;
    return;
  }
  if ('init' in m) {
    const { config, prepared, engine, precision } = m.init;
    setup = getGemmEngine(engine).then((e) => ({ family: pairwiseFamilyOf(config), config, prepared, ctx: { engine: e, precision } }));
    return;
  }
  void (async () => {
    // A worker that cannot set itself up (its GEMM runtime does not load in a thread) stops: its pair goes back to the others.
    const ready = await setup?.catch(() => undefined);
    if (!ready) process.exit(1);
    try {
      const { family, config, prepared, ctx } = ready;
      const value = await family.compare(prepared[m.i], prepared[m.j], config.params, ctx);
      port.postMessage({ pair: m.pair, value } satisfies PairWorkerReply);
    } catch (e) {
      port.postMessage({ pair: m.pair, error: (e as Error)?.message ?? String(e) } satisfies PairWorkerReply);
    }
  })();
});
