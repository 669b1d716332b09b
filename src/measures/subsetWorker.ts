/**
 * Worker-thread entry of subsetDraws.ts: builds the subset preparers from their sources (full matrices in shared
 * memory) once, then prepares the draws it is sent. With slots (product-form comparators), each draw's vectors are
 * written into a slot of shared memory, waiting until the main thread has handed that slot back; otherwise each
 * draw's prepared forms are posted back (their buffers moved, not copied).
 */
import { parentPort } from 'node:worker_threads';
import type { Prepared } from './compare.js';
import type { DrawSlots } from './subsetDraws.js';
import { preparerOf, type SubsetPreparer, type SubsetSource } from './subsets.js';

if (!parentPort) throw new Error('measures/subsetWorker must run in a worker thread');
const port = parentPort;

export type SubsetWorkerRequest = { sources: SubsetSource[]; slots?: DrawSlots } | { draw: number; idx: Uint32Array; slot?: number };
export type SubsetWorkerReply =
  { draw: number; prepared: (Prepared | null)[] } | { draw: number; slot: number; declined: boolean[] } | { draw: number; error: string };

let preparers: SubsetPreparer[] = [];
let slots: DrawSlots | undefined;

/** Prepare draw `idx` into `slot`, once the main thread has handed it back; which members declined the subset. */
function intoSlot(s: DrawSlots, slot: number, idx: Uint32Array): boolean[] {
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

port.on('message', (m: SubsetWorkerRequest) => {
  if ('sources' in m) {
    // One s×s work matrix for all of them: they run one at a time.
    const scratch = { matrix: { data: new Float64Array(0) } };
    preparers = m.sources.map((source) => preparerOf(source, scratch));
    slots = m.slots;
    return;
  }
  try {
    if (slots && m.slot !== undefined) {
      port.postMessage({ draw: m.draw, slot: m.slot, declined: intoSlot(slots, m.slot, m.idx) } satisfies SubsetWorkerReply);
      return;
    }
    const prepared = preparers.map((p) => p.prepare(m.idx) ?? null);
    const buffers = prepared.flatMap((x) => (x ? [(x.kind === 'unit' ? x.vector : x.triangle).buffer as ArrayBuffer] : []));
    port.postMessage({ draw: m.draw, prepared } satisfies SubsetWorkerReply, buffers);
  } catch (e) {
    port.postMessage({ draw: m.draw, error: (e as Error)?.message ?? String(e) } satisfies SubsetWorkerReply);
  }
});
