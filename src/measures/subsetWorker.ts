/**
 * Worker-thread entry of subsetDraws.ts: builds the subset preparers from their sources (full matrices in shared
 * memory) once, then claims draws from the shared counter until none is left. With slots (product-form
 * comparators), each draw's vectors are written into the next of its slots of shared memory, waiting until the main
 * thread has handed that slot back; otherwise each draw's prepared forms are posted back (their buffers moved, not
 * copied).
 */
import { parentPort } from 'node:worker_threads';
import type { Prepared } from './compare.js';
import type { DrawSlots } from './subsetDraws.js';
import { preparerOf, type SubsetPreparer, type SubsetSource } from './subsets.js';

if (!parentPort) throw new Error('measures/subsetWorker must run in a worker thread');
const port = parentPort;

export interface SubsetWorkerRequest {
  sources: SubsetSource[];
  /** Every draw's images; the worker prepares those it claims. */
  subsets: Uint32Array[];
  /** The next unclaimed draw (shared with the main thread and the other workers). */
  claim: Int32Array;
  /** Where vectors go (product-form comparators); without, prepared forms are posted back. */
  slots?: DrawSlots;
}
export type SubsetWorkerReply =
  { draw: number; prepared: (Prepared | null)[] } | { draw: number; slot: number; declined: boolean[] } | { draw: number; error: string };

/** Prepare draw `idx` into `slot`, once the main thread has handed it back; which members declined the subset. */
function intoSlot(preparers: SubsetPreparer[], s: DrawSlots, slot: number, idx: Uint32Array): boolean[] {
  // A bounded wait, re-checked, so that a terminate() is never stuck behind it.
  while (Atomics.load(s.state, slot) !== 0) Atomics.wait(s.state, slot, 1, 100);
  const base = slot * s.members * s.length;
  const declined = preparers.map((p, k) => {
    const into = s.values.subarray(base + k * s.length, base + (k + 1) * s.length);
    const got = p.prepare(idx, into);
    if (!got) return true;
    if (got.kind !== 'unit' || got.vector.length !== s.length) throw new Error(`bootstrap worker: ${got.kind} form where a vector of ${s.length} was expected`);
    if (got.vector !== into) into.set(got.vector);
    return false;
  });
  Atomics.store(s.state, slot, 1);
  return declined;
}

// One request per worker: claim draws until none is left (this thread needs its event loop for nothing else).
port.once('message', (m: SubsetWorkerRequest) => {
  // One s×s work matrix for all of them: they run one at a time.
  const scratch = { matrix: { data: new Float64Array(0) } };
  const preparers = m.sources.map((source) => preparerOf(source, scratch));
  for (let j = 0; ; j++) {
    const d = Atomics.add(m.claim, 0, 1);
    if (d >= m.subsets.length) return;
    try {
      if (m.slots) {
        const slot = j % m.slots.count;
        port.postMessage({ draw: d, slot, declined: intoSlot(preparers, m.slots, slot, m.subsets[d]) } satisfies SubsetWorkerReply);
      } else {
        const prepared = preparers.map((p) => p.prepare(m.subsets[d]) ?? null);
        const buffers = prepared.flatMap((x) => (x ? [(x.kind === 'unit' ? x.vector : x.triangle).buffer as ArrayBuffer] : []));
        port.postMessage({ draw: d, prepared } satisfies SubsetWorkerReply, buffers);
      }
    } catch (e) {
      port.postMessage({ draw: d, error: (e as Error)?.message ?? String(e) } satisfies SubsetWorkerReply);
      return;
    }
  }
});
