/**
 * Use case: a task taxonomy (tree, leaf order, flat clusters, MDS map) from a square labelled matrix, or from
 * Taskonomy affinities. The matrix's direction comes from the measure catalogue (the measure id the matrix carries),
 * so a distance — a Fisher task-distance matrix, say — is clustered as given and never as 1 − value.
 */
import type { ResultDict } from '../io/resultDict.js';
import type { LabelledMatrix } from '../linalg/labelled.js';
import { directionOf, type Direction } from '../measures/catalogue.js';
import { taskTree } from '../taskonomy/tree.js';
import {
  cutTree,
  leafOrder,
  linkage,
  similarityToDistance,
  toNewick,
  toTree,
  type Dendrogram,
  type DistanceMetric,
  type Linkage,
  type Merge,
  type TreeNode,
} from '../taxonomy/cluster.js';
import { familyCountCut, nearestNeighbourAgreement, type FamilyCut, type NeighbourAgreement } from '../taxonomy/agreement.js';
import { drawTrees, type Resampling } from '../taxonomy/inference.js';
import { classicalMds, type MdsResult } from '../taxonomy/mds.js';
import { splitSupport } from '../taxonomy/support.js';
import type { Matrix } from '../linalg/dense.js';

export { DISTANCE_METRICS, LINKAGES, type DistanceMetric, type Linkage } from '../taxonomy/cluster.js';

/**
 * The direction to read a matrix in: the catalogue's answer for its measure id when it knows the id, else the
 * direction the caller states (a file without an id, or another tool's), else a similarity. A caller that states
 * 'similarity' for a catalogued distance gets an error (the opposite, a similarity passed as a distance, is taken
 * as stated: the caller may have converted it).
 */
export function matrixDirection(measure: string | undefined, stated?: Direction): Direction {
  const known = directionOf(measure);
  if (stated === 'similarity' && known === 'distance') throw new DirectionError(measure!);
  return stated ?? known ?? 'similarity';
}

/** A matrix given as a similarity whose measure is a distance. */
export class DirectionError extends Error {
  override name = 'DirectionError';
  constructor(readonly measure: string) {
    super(`measure ${measure} is a distance (smaller = more similar); pass it as a dissimilarity`);
  }
}

export interface TaxonomyOptions {
  linkage: Linkage;
  /** How to read the matrix; default: from the matrix's measure id (matrixDirection). */
  direction?: Direction;
  /** Cut the tree into this many flat clusters (capped at the number of items). */
  k?: number;
  /**
   * Without k, cut anyway: into the number of task families when at least two are known (label → family), else
   * into min(3, n) clusters. The server's taxonomy view does this; the CLI cuts only when asked.
   */
  defaultCut?: boolean;
  families?: Record<string, string> | null;
  /** Add a 2-D classical MDS map of the distances. */
  mds?: boolean;
  /**
   * Bootstrap draws of the same matrix (draw-major, each M×M in the matrix's row order, read in the same direction):
   * adds each merge's split support (the share of draws whose tree has exactly its leaves) to the taxonomy, its tree
   * and its Newick string.
   */
  draws?: Float64Array;
}

export interface MdsMap {
  coords: Record<string, number[]>;
  explained: number[];
  negativeEigenvalues: number;
}

export interface Taxonomy {
  labels: string[];
  linkage: Linkage;
  distance: 'given' | '1 - similarity';
  merges: Merge[];
  tree: TreeNode;
  newick: string;
  leafOrder: string[];
  /** With bootstrap draws: per merge, the share of draws whose tree contains exactly that cluster (docs/measures.md#inference). */
  support?: number[];
  /** Present when the tree was cut. */
  k?: number;
  clusters?: Record<string, number>;
  mds?: MdsMap;
}

/** The square check every matrix taxonomy needs. */
export function assertSquare(m: LabelledMatrix, name?: string): void {
  if (m.rows.length !== m.cols.length || m.rows.some((r, i) => r !== m.cols[i])) {
    throw new Error(
      name
        ? `${name}: a square matrix with the same row and column labels is needed`
        : 'a square matrix with the same row and column labels is needed for a taxonomy',
    );
  }
}

/**
 * Tree, leaf order, and optionally flat clusters and an MDS map of a square similarity or distance matrix. Besides
 * the JSON-ready taxonomy, the answer carries the dendrogram, the distances clustered and (with `mds`) the raw MDS
 * result, for callers that draw figures.
 */
export function taxonomyOfMatrix(
  m: LabelledMatrix,
  opts: TaxonomyOptions,
): { taxonomy: Taxonomy; dendrogram: Dendrogram; distances: Matrix; mdsResult?: MdsResult } {
  const n = m.rows.length;
  if (opts.defaultCut && n < 2) throw new Error(`a taxonomy needs at least 2 items, got ${n}`);
  assertSquare(m);
  const direction = opts.direction ?? matrixDirection(m.measure);
  const distances = direction === 'distance' ? m.matrix : similarityToDistance(m.matrix, m.rows);
  const tree = linkage(distances, opts.linkage, m.rows);
  const support = opts.draws ? splitSupport(tree, drawTrees(m.rows, opts.draws, { linkage: opts.linkage, direction })) : undefined;
  const taxonomy: Taxonomy = {
    labels: tree.labels,
    linkage: tree.linkage,
    distance: direction === 'distance' ? 'given' : '1 - similarity',
    merges: tree.merges,
    tree: toTree(tree, support),
    newick: toNewick(tree, support),
    leafOrder: leafOrder(tree).map((i) => tree.labels[i]),
    ...(support ? { support } : {}),
  };
  let k = opts.k;
  if (opts.defaultCut) {
    const familyCount = opts.families ? new Set(m.rows.map((l) => opts.families![l]).filter(Boolean)).size : 0;
    k = Math.min(n, k ?? (familyCount >= 2 ? familyCount : Math.min(3, n)));
  }
  if (k !== undefined) {
    const labels = cutTree(tree, k);
    taxonomy.k = k;
    taxonomy.clusters = Object.fromEntries(tree.labels.map((l, i) => [l, labels[i]]));
  }
  let mdsResult: MdsResult | undefined;
  if (opts.mds) {
    const mds = classicalMds(distances, Math.min(2, n));
    mdsResult = mds;
    const top = Math.abs(mds.eigenvalues[0]);
    taxonomy.mds = {
      coords: Object.fromEntries(m.rows.map((l, i) => [l, Array.from(mds.coords.data.subarray(i * mds.coords.cols, (i + 1) * mds.coords.cols))])),
      explained: mds.explained,
      negativeEigenvalues: Array.from(mds.eigenvalues).filter((v) => v < -1e-9 * top).length,
    };
  }
  return { taxonomy, dendrogram: tree, distances, mdsResult };
}

/** The taxonomy the server's view shows: the tree cut by default, with an MDS map (and split support with bootstrap draws). */
export function taxonomyView(
  m: LabelledMatrix,
  opts: { linkage: Linkage; direction?: Direction; clusters?: number; families?: Record<string, string> | null; draws?: Float64Array },
): Taxonomy & Required<Pick<Taxonomy, 'k' | 'clusters' | 'mds'>> {
  return taxonomyOfMatrix(m, {
    linkage: opts.linkage,
    direction: opts.direction,
    k: opts.clusters,
    defaultCut: true,
    families: opts.families,
    mds: true,
    draws: opts.draws,
  }).taxonomy as Taxonomy & Required<Pick<Taxonomy, 'k' | 'clusters' | 'mds'>>;
}

/** Taskonomy's task tree: tasks described by their first-order affinities (transfer-out patterns). */
export function taxonomyOfAffinities(
  dict: ResultDict,
  opts: { linkage: Linkage; distance: DistanceMetric; tasks?: string[]; targets?: string[]; k?: number; name?: string },
): { taxonomy: Omit<Taxonomy, 'distance'> & { distance: DistanceMetric }; dendrogram: Dendrogram } {
  const d = taskTree(dict, { linkage: opts.linkage, distance: opts.distance, tasks: opts.tasks, targets: opts.targets, name: opts.name });
  const taxonomy: Omit<Taxonomy, 'distance'> & { distance: DistanceMetric } = {
    labels: d.labels,
    linkage: d.linkage,
    distance: d.distance,
    merges: d.merges,
    tree: toTree(d),
    newick: toNewick(d),
    leafOrder: leafOrder(d).map((i) => d.labels[i]),
  };
  if (opts.k !== undefined) {
    const labels = cutTree(d, opts.k);
    taxonomy.k = opts.k;
    taxonomy.clusters = Object.fromEntries(d.labels.map((l, i) => [l, labels[i]]));
  }
  return { taxonomy, dendrogram: d };
}

export interface TopSimilar {
  label: string;
  similar: { label: string; similarity: number }[];
}

/** Each item's k most similar other items, most similar first (ties: matrix order). */
export function topSimilar(sim: LabelledMatrix, k = 3): TopSimilar[] {
  const n = sim.rows.length;
  return sim.rows.map((label, i) => {
    const others = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i);
    others.sort((a, b) => sim.matrix.data[i * n + b] - sim.matrix.data[i * n + a] || a - b);
    return { label, similar: others.slice(0, k).map((j) => ({ label: sim.cols[j], similarity: sim.matrix.data[i * n + j] })) };
  });
}

/** A taxonomy's bootstrap (docs/measures.md#inference): split support per merge and the per-cell intervals. */
export interface TaxonomyBootstrap {
  /** Per merge of the dendrogram, the share of draws whose tree contains exactly that cluster. */
  support: number[];
  level: number;
  lower: Matrix;
  upper: Matrix;
  resampling: Resampling;
}

/** A model taxonomy scored against known task families: what the demo report shows for one measure. */
export interface TaxonomyResult {
  measure: string;
  name: string;
  /** What the measure computes (from the measure registry). */
  description?: string;
  similarity: LabelledMatrix;
  families: string[];
  dendrogram: Dendrogram;
  tree: TreeNode;
  newick: string;
  order: number[];
  mds: MdsResult;
  top: TopSimilar[];
  neighbours: NeighbourAgreement;
  cut: FamilyCut;
  /** With bootstrap draws of the similarity matrix (ops/inference's withBootstrap). */
  bootstrap?: TaxonomyBootstrap;
}

/**
 * From a model × model similarity matrix (at least 3 models, one task family each) to the average-linkage tree on
 * d = 1 − similarity (taxonomyOfMatrix: a catalogued distance is refused), its leaf order, a 2-D classical MDS map,
 * each model's three most similar models, and how well the nearest neighbours and the tree cut at the number of
 * families recover the families.
 */
export function familyTaxonomy(sim: LabelledMatrix, families: string[], name: string, description?: string): TaxonomyResult {
  const n = sim.rows.length;
  if (n < 3) throw new Error(`a taxonomy needs at least 3 models, got ${n}`);
  if (families.length !== n) throw new Error(`${families.length} families for ${n} models`);
  const { taxonomy, dendrogram, mdsResult } = taxonomyOfMatrix(sim, { linkage: 'average', direction: matrixDirection(sim.measure, 'similarity'), mds: true });
  return {
    measure: sim.measure ?? name,
    name,
    description,
    similarity: sim,
    families,
    dendrogram,
    tree: taxonomy.tree,
    newick: taxonomy.newick,
    order: leafOrder(dendrogram),
    mds: mdsResult!,
    top: topSimilar(sim, 3),
    neighbours: nearestNeighbourAgreement(sim.matrix, sim.rows, families),
    cut: familyCountCut(dendrogram, families),
  };
}
