/**
 * Task-similarity measures: distances between labelled data sets (tasks), computed from gradients of a probe
 * network. Their ids, parameters and direction are in src/measures/taskMeasures.ts (listed by the measure
 * catalogue, src/measures/catalogue.ts); this module computes them from Fisher embeddings.
 */
import type { LabelledMatrix } from '../linalg/labelled.js';
import { taskMeasureId, type TaskMeasureConfig } from '../measures/taskMeasures.js';
import { frechetDistance, logDetDistance, type FisherEmbedding } from './fisher.js';

export {
  parseTaskMeasure,
  TASK_MEASURES,
  taskMeasureId,
  type FisherReduction,
  type TaskMeasureConfig,
  type TaskMeasureFamily,
} from '../measures/taskMeasures.js';

export interface TaskDistance {
  value: number;
  /** Log-det only: entries where exactly one side is under the floor. */
  floorHits?: number;
}

/** The distance from `source` to `target` (both embedded with the config's reduction). */
export function taskDistance(c: TaskMeasureConfig, source: FisherEmbedding, target: FisherEmbedding): TaskDistance {
  if (c.family === 'fisher-frechet') return { value: frechetDistance(source, target) };
  const r = logDetDistance(source, target, c.floor);
  return { value: r.distance, floorHits: r.floorHits };
}

/**
 * The task-distance matrix, rows = sources, columns = targets (diagonal 0), as a labelled matrix carrying the
 * measure id; with the floor hits of each entry for the log-det measure.
 */
export function taskDistanceMatrix(
  names: string[],
  embeddings: FisherEmbedding[],
  c: TaskMeasureConfig,
): { matrix: LabelledMatrix; floorHits?: LabelledMatrix } {
  const n = names.length;
  if (embeddings.length !== n) throw new Error(`${n} task names for ${embeddings.length} embeddings`);
  const data = new Float64Array(n * n);
  const hits = new Float64Array(n * n);
  for (let s = 0; s < n; s++)
    for (let t = 0; t < n; t++) {
      const d = taskDistance(c, embeddings[s], embeddings[t]);
      data[s * n + t] = d.value;
      hits[s * n + t] = d.floorHits ?? 0;
    }
  const id = taskMeasureId(c);
  const matrix: LabelledMatrix = { rows: [...names], cols: [...names], matrix: { rows: n, cols: n, data }, measure: id };
  if (c.family !== 'fisher-logdet') return { matrix };
  return { matrix, floorHits: { rows: [...names], cols: [...names], matrix: { rows: n, cols: n, data: hits }, measure: `${id} floor hits` } };
}
