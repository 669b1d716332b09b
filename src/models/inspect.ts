/**
 * Layer listing with shapes (`taskmap layers`). Graph formats only know shapes after running, so a blank image
 * goes through once with every tappable tensor requested.
 */
import { inputShape, inputSize } from '../images/preprocess.js';
import type { InputBatch, LayerInfo, ModelRunner, Preprocessing } from './types.js';

export function blankBatch(pre: Preprocessing): InputBatch {
  const size = inputSize(pre);
  // Mid-grey in the model's value range: zeros can be out of range (e.g. -1…1 models) and hide nothing.
  const mid = (pre.range[0] + pre.range[1]) / 2;
  const data = pre.dtype === 'int32' ? new Int32Array(size).fill(Math.round(mid)) : new Float32Array(size).fill(mid);
  return { n: 1, data, shape: inputShape(pre, 1) };
}

/** Layers with their shapes (batch axis included, batch = 1). Layers that cannot be fetched keep no shape. */
export async function layersWithShapes(runner: ModelRunner, pre: Preprocessing): Promise<LayerInfo[]> {
  const layers = runner.layers();
  const need = layers.filter((l) => !l.shape).map((l) => l.name);
  if (need.length === 0) return layers;
  const shapes = new Map<string, number[]>();
  const batch = blankBatch(pre);
  const fetch = async (names: string[]): Promise<void> => {
    try {
      const out = await runner.run(batch, names);
      names.forEach((n, i) => shapes.set(n, out[i].shape));
    } catch (e) {
      // One bad node (e.g. a dynamic-shape op) must not hide the others: bisect.
      if (names.length === 1) return;
      const mid = names.length >> 1;
      await fetch(names.slice(0, mid));
      await fetch(names.slice(mid));
    }
  };
  await fetch(need);
  return layers.map((l) => (l.shape ? l : { ...l, shape: shapes.get(l.name) }));
}
