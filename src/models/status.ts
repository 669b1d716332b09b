/**
 * Load status of zoo models: load each one, run its default tap on a blank image, and report what failed and why
 * — failures are shown (`taskmap zoo`, the demo report), never silently dropped.
 */
import { blankBatch } from './inspect.js';
import { reducedShape } from './reduce.js';
import { openModel, resolveModel } from './resolve.js';
import type { ZooModel } from './zoo.js';

export interface ModelStatus {
  id: string;
  ok: boolean;
  /** Why it failed (the first line of the error). */
  error?: string;
  loadMs?: number;
  /** One blank image through the default tap, after a warm-up run. */
  runMs?: number;
  tapShape?: number[];
  /** Per-image feature shape after the default reduction. */
  featureShape?: number[];
}

export async function probeZooModel(m: ZooModel): Promise<ModelStatus> {
  const t0 = performance.now();
  try {
    const spec = await resolveModel(m.id);
    const { runner, preprocessing } = await openModel(spec);
    try {
      const loadMs = performance.now() - t0;
      const batch = blankBatch(preprocessing);
      const [first] = await runner.run(batch, [m.tap]);
      const t1 = performance.now();
      await runner.run(batch, [m.tap]);
      const runMs = performance.now() - t1;
      const per = first.shape.slice(1);
      return { id: m.id, ok: true, loadMs, runMs, tapShape: first.shape, featureShape: reducedShape(per, spec.featureLayout, m.reduce, `${m.id} ${m.tap}`) };
    } finally {
      runner.dispose();
    }
  } catch (e) {
    return { id: m.id, ok: false, error: String((e as Error).message ?? e).split('\n')[0] };
  }
}
