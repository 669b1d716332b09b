/**
 * The Taskonomy task tree (docs/taskonomy.md#task-tree): agglomerative clustering of tasks by their transfer-out
 * pattern — each task's first-order affinities to every target (a column of P when P has targets as rows).
 * The paper does not publish its linkage; average linkage on correlation distance is the default because, like
 * Ward/Euclidean, it reproduces the published figure's top structure (denoise merged last, the eight 3D tasks
 * forming one cluster) on the shipped affinities.
 */
import type { LabelledMatrix } from '../linalg/labelled.js';
import { clusterFeatures, type Dendrogram, type DistanceMetric, type Linkage } from '../taxonomy/cluster.js';
import { firstOrderMatrix, PSEUDO_SOURCES, type ResultDict } from './results.js';

export interface TaskTreeOptions {
  linkage?: Linkage;
  distance?: DistanceMetric;
  /** Tasks to place in the tree (default: every first-order source except the pseudo-sources). */
  tasks?: string[];
  /** Targets whose affinities form the features (default: every target of the dict). */
  targets?: string[];
  /** Where the affinities came from (a file name), for messages. */
  name?: string;
}

/** Feature matrix: rows = tasks, cols = targets, entry = affinity of "task__target". Missing entries are errors. */
export function taskFeatures(affinities: ResultDict, opts: Pick<TaskTreeOptions, 'tasks' | 'targets' | 'name'> = {}): LabelledMatrix {
  const pseudo = new Set<string>(PSEUDO_SOURCES);
  const all = firstOrderMatrix(affinities, { targets: opts.targets, name: opts.name });
  const tasks = opts.tasks ?? all.rows.filter((s) => !pseudo.has(s));
  const unknown = tasks.find((t) => !all.rows.includes(t));
  if (unknown !== undefined) throw new Error(`task "${unknown}" has no first-order transfer in the affinities (no key "${unknown}__<target>")`);
  if (tasks.length < 2) throw new Error(`a task tree needs at least 2 tasks, got ${tasks.length}`);
  const m = firstOrderMatrix(affinities, { sources: tasks, targets: all.cols, name: opts.name });
  for (let k = 0; k < m.matrix.data.length; k++) {
    if (Number.isNaN(m.matrix.data[k])) {
      const i = Math.floor(k / m.cols.length);
      throw new Error(`the affinities have no "${m.rows[i]}__${m.cols[k - i * m.cols.length]}" entry; pass --tasks/--targets to leave it out`);
    }
  }
  return m;
}

export function taskTree(affinities: ResultDict, opts: TaskTreeOptions = {}): Dendrogram & { distance: DistanceMetric } {
  const features = taskFeatures(affinities, opts);
  const distance = opts.distance ?? 'correlation';
  const tree = clusterFeatures(features.matrix, { linkage: opts.linkage ?? 'average', distance, labels: features.rows });
  return { ...tree, distance };
}
