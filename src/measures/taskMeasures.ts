/**
 * Metadata of the task-similarity measures: distances between labelled data sets (tasks), computed from gradients
 * of a probe network — as opposed to the representation measures of registry.ts, which compare two feature
 * matrices on the same images. Nothing of the representation registry applies (no feature matrices, no
 * invariances, no n×n kernels); the id grammar is the same — `family[:key=value,…]`. Only the ids, parameters and
 * direction live here, so that the measure catalogue (catalogue.ts) can answer for them without loading TF.js;
 * the computation is src/nsl/taskMeasures.ts.
 */
import type { ParamSpec } from './registry.js';

export type FisherReduction = 'element' | 'first-axis';

export type TaskMeasureConfig = { family: 'fisher-logdet'; floor: number; reduce: FisherReduction } | { family: 'fisher-frechet'; reduce: FisherReduction };

export interface TaskMeasureFamily {
  id: TaskMeasureConfig['family'];
  name: string;
  description: string;
  largerIsMoreSimilar: false;
  /** Log-det divides by the target network's parameter count, so it is symmetric only for equal heads. */
  symmetric: boolean;
  params: ParamSpec[];
  reference: string;
}

const REDUCE: ParamSpec = {
  name: 'reduce',
  type: 'enum',
  values: ['element', 'first-axis'],
  default: 'element',
  description: 'Fisher per element, or the reference quirk: g² averaged over each tensor’s first axis',
};

export const TASK_MEASURES: TaskMeasureFamily[] = [
  {
    id: 'fisher-logdet',
    name: 'Fisher log-determinant distance',
    description:
      'Diagonal empirical Fisher of a probe network trained on each task (same initialisation), normalised over the ' +
      'network; d(s,t) = (1/P) Σ_layers |Σ log((F_s + floor)/(F_t + floor))|, P = target parameters.',
    largerIsMoreSimilar: false,
    symmetric: false,
    params: [{ name: 'floor', type: 'number', default: 1e-10, description: 'added to every Fisher entry before the log' }, REDUCE],
    reference: 'Le, Soltani, Ravier & Tarokh, task-aware neural architecture search / log-det distance (docs/measures.md#fisher-task-measures)',
  },
  {
    id: 'fisher-frechet',
    name: 'Fisher Fréchet distance',
    description: 'd(s,t) = ½ Σ (√F_s − √F_t)² over the normalised diagonal Fisher entries (padded heads).',
    largerIsMoreSimilar: false,
    symmetric: true,
    params: [REDUCE],
    reference: 'Le et al., earlier task-aware NAS code (docs/measures.md#fisher-task-measures)',
  },
];

export function parseTaskMeasure(id: string): TaskMeasureConfig {
  const colon = id.indexOf(':');
  const familyId = (colon < 0 ? id : id.slice(0, colon)).trim();
  const family = TASK_MEASURES.find((f) => f.id === familyId);
  if (!family) throw new Error(`unknown task measure "${familyId}" (known: ${TASK_MEASURES.map((f) => f.id).join(', ')})`);
  const given = new Map<string, string>();
  for (const item of colon < 0 ? [] : id.slice(colon + 1).split(',')) {
    const s = item.trim();
    if (!s) continue;
    const eq = s.indexOf('=');
    const key = eq < 0 ? s : s.slice(0, eq);
    if (!family.params.some((p) => p.name === key)) {
      throw new Error(`task measure "${id}": unknown parameter "${key}" for ${familyId} (known: ${family.params.map((p) => p.name).join(', ') || 'none'})`);
    }
    if (eq < 0) throw new Error(`task measure "${id}": ${key} needs a value (${key}=...)`);
    if (given.has(key)) throw new Error(`task measure "${id}": parameter "${key}" given twice`);
    given.set(key, s.slice(eq + 1));
  }
  const reduce = (given.get('reduce') ?? 'element') as FisherReduction;
  if (!REDUCE.values!.includes(reduce)) throw new Error(`task measure "${id}": reduce="${reduce}" is not one of ${REDUCE.values!.join(', ')}`);
  if (family.id === 'fisher-frechet') return { family: 'fisher-frechet', reduce };
  const raw = given.get('floor');
  const floor = raw === undefined ? 1e-10 : Number(raw);
  if (!(floor > 0) || !Number.isFinite(floor)) throw new Error(`task measure "${id}": floor="${raw}" must be a positive number`);
  return { family: 'fisher-logdet', floor, reduce };
}

/** Canonical id: parameters at their default are omitted. */
export function taskMeasureId(c: TaskMeasureConfig): string {
  const parts: string[] = [];
  if (c.family === 'fisher-logdet' && c.floor !== 1e-10) parts.push(`floor=${c.floor}`);
  if (c.reduce !== 'element') parts.push(`reduce=${c.reduce}`);
  return parts.length ? `${c.family}:${parts.join(',')}` : c.family;
}
