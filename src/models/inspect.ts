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

/** Which layers `taskmap layers` shows: a name pattern and/or operator types (see {@link filterLayers}). */
export interface LayerFilter {
  /**
   * Layer (tensor) name: a glob with `*` / `?` matched against the whole name, otherwise a substring; case-insensitive
   * (`*conv*` finds `conv2d_53.tmp_0` and `Conv_0`).
   */
  name?: string;
  /** Operator types (ONNX op type, TF op, Keras class), each exact or a glob; case-insensitive (`conv` finds `Conv`). */
  ops?: string[];
}

function matcher(pattern: string): (s: string) => boolean {
  const glob = /[*?]/.test(pattern);
  const re = new RegExp(
    `${glob ? '^' : ''}${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}${glob ? '$' : ''}`,
    'i',
  );
  return (s) => re.test(s);
}

/** The layers whose name matches `filter.name` and whose operator is one of `filter.ops` (each test only when given). */
export function filterLayers(layers: LayerInfo[], filter: LayerFilter): LayerInfo[] {
  const byName = filter.name !== undefined ? matcher(filter.name) : undefined;
  const byOp = filter.ops?.length ? filter.ops.map((o) => (/[*?]/.test(o) ? matcher(o) : (s: string) => s.toLowerCase() === o.toLowerCase())) : undefined;
  return layers.filter((l) => (!byName || byName(l.name)) && (!byOp || byOp.some((m) => m(l.op))));
}

/** Why nothing is listed: the filter, how many layers there are, and the model's operator types (what `ops` can name). */
export function describeNoLayerMatch(layers: LayerInfo[], filter: LayerFilter): string {
  const what = [filter.name !== undefined ? `name "${filter.name}"` : '', filter.ops?.length ? `op ${filter.ops.join(', ')}` : '']
    .filter(Boolean)
    .join(' and ');
  const ops = [...new Set(layers.map((l) => l.op))].sort();
  return `no layer matches ${what} (case-insensitive) among ${layers.length} layers; op types in this model: ${ops.join(', ') || 'none'}`;
}
