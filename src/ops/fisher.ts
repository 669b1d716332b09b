/**
 * Use case: Fisher task embeddings and the task-distance matrix of labelled data sets (`similarity --measure
 * fisher-…`, `nsl fisher`). The NSL modules load TF.js, so they are imported when a Fisher matrix is computed,
 * not when this module is.
 */
import type { LabelledMatrix } from '../linalg/labelled.js';
import { parseTaskMeasure, taskMeasureId, type TaskMeasureConfig } from '../measures/taskMeasures.js';
import type { FisherEmbedding, Task, TaskEmbeddingOptions } from '../nsl/fisher.js';
import type { LabelledTask } from '../nsl/labelledData.js';

/** Probe training shared by every task (same initialisation: config.seed). */
export type ProbeTrainConfig = TaskEmbeddingOptions['config'];

export interface EmbedOptions<T extends Task> {
  /** Before each task: (index, total, name). */
  onProgress?: (done: number, total: number, label: string) => void;
  /** After each task, with its embedding (train accuracy of the probe). */
  onTask?: (task: T, embedding: FisherEmbedding & { trainAccuracy: number }) => void;
}

/** Embed every task (probe trained from the shared initialisation) and compute the task-distance matrix. */
export async function embedTasks<T extends Task>(tasks: T[], measure: TaskMeasureConfig, config: ProbeTrainConfig, opts: EmbedOptions<T> = {}) {
  const { taskEmbedding } = await import('../nsl/fisher.js');
  const { taskDistanceMatrix } = await import('../nsl/taskMeasures.js');
  const embeddings = [];
  for (const [i, t] of tasks.entries()) {
    opts.onProgress?.(i, tasks.length, t.name);
    const emb = await taskEmbedding(t, { config, firstAxisMean: measure.reduce === 'first-axis' });
    embeddings.push(emb);
    opts.onTask?.(t, emb);
  }
  opts.onProgress?.(tasks.length, tasks.length, '');
  return {
    ...taskDistanceMatrix(
      tasks.map((t) => t.name),
      embeddings,
      measure,
    ),
    embeddings,
  };
}

export interface FisherMatrixResult {
  /** Canonical measure id. */
  id: string;
  measure: TaskMeasureConfig;
  /** Rows = sources, columns = targets; a distance (smaller = more similar). */
  matrix: LabelledMatrix;
  floorHits?: LabelledMatrix;
  tasks: LabelledTask[];
}

/**
 * The Fisher task-distance matrix of the labelled data sets in `dir` (one NAME.npz per task), in `order` when
 * given. The Fisher is estimated on the images the probe was trained on (a labelled data set has no test split).
 */
export async function fisherMatrix(
  dir: string,
  measureId: string,
  config: ProbeTrainConfig,
  opts: EmbedOptions<Task> & { order?: string[] } = {},
): Promise<FisherMatrixResult> {
  const measure = parseTaskMeasure(measureId);
  const { loadLabelledTasks } = await import('../nsl/labelledData.js');
  let tasks = await loadLabelledTasks(dir);
  if (opts.order) {
    const missing = opts.order.filter((n) => !tasks.some((t) => t.name === n));
    if (missing.length > 0)
      throw new Error(`--order: no task ${missing.map((n) => `"${n}"`).join(', ')} in ${dir} (tasks: ${tasks.map((t) => t.name).join(', ')})`);
    tasks = opts.order.map((n) => tasks.find((t) => t.name === n)!);
  }
  const { matrix, floorHits } = await embedTasks(
    tasks.map((t) => ({ name: t.name, train: t.data, probe: t.data })),
    measure,
    config,
    opts,
  );
  return { id: taskMeasureId(measure), measure, matrix, ...(floorHits ? { floorHits } : {}), tasks };
}
