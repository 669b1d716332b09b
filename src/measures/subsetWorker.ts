/**
 * Worker-thread entry of subsetDraws.ts: builds the subset preparers from their sources (full matrices in shared
 * memory) once, then prepares the draws it is sent, posting each draw's prepared forms back (their buffers moved,
 * not copied).
 */
import { parentPort } from 'node:worker_threads';
import type { Prepared } from './compare.js';
import { preparerOf, type SubsetPreparer, type SubsetSource } from './subsets.js';

if (!parentPort) throw new Error('measures/subsetWorker must run in a worker thread');
const port = parentPort;

export type SubsetWorkerRequest = { sources: SubsetSource[] } | { draw: number; idx: Uint32Array };
export type SubsetWorkerReply = { draw: number; prepared: (Prepared | null)[] } | { draw: number; error: string };

let preparers: SubsetPreparer[] = [];

port.on('message', (m: SubsetWorkerRequest) => {
  if ('sources' in m) {
    // One s×s work matrix for all of them: they run one at a time.
    const scratch = { matrix: { data: new Float64Array(0) } };
    preparers = m.sources.map((source) => preparerOf(source, scratch));
    return;
  }
  try {
    const prepared = preparers.map((p) => p.prepare(m.idx) ?? null);
    const buffers = prepared.flatMap((x) => (x ? [(x.kind === 'unit' ? x.vector : x.triangle).buffer as ArrayBuffer] : []));
    port.postMessage({ draw: m.draw, prepared } satisfies SubsetWorkerReply, buffers);
  } catch (e) {
    port.postMessage({ draw: m.draw, error: (e as Error)?.message ?? String(e) } satisfies SubsetWorkerReply);
  }
});
