/**
 * From a model × model similarity matrix to everything the report shows: the average-linkage tree on
 * d = 1 − similarity, its leaf order, a 2-D classical MDS map, each model's most similar models, and — when task
 * families are known — how well the tree and the neighbours recover them.
 */
import type { LabelledMatrix } from '../linalg/labelled.js';
import { leafOrder, linkage, similarityToDistance, toNewick, toTree, type Dendrogram, type TreeNode } from '../taxonomy/cluster.js';
import { familyCountCut, nearestNeighbourAgreement, type FamilyCut, type NeighbourAgreement } from '../taxonomy/agreement.js';
import { classicalMds, type MdsResult } from '../taxonomy/mds.js';

export interface TopSimilar {
  label: string;
  similar: { label: string; similarity: number }[];
}

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
}

export function topSimilar(sim: LabelledMatrix, k = 3): TopSimilar[] {
  const n = sim.rows.length;
  return sim.rows.map((label, i) => {
    const others = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i);
    others.sort((a, b) => sim.matrix.data[i * n + b] - sim.matrix.data[i * n + a] || a - b);
    return { label, similar: others.slice(0, k).map((j) => ({ label: sim.cols[j], similarity: sim.matrix.data[i * n + j] })) };
  });
}

export function buildTaxonomy(sim: LabelledMatrix, families: string[], name: string, description?: string): TaxonomyResult {
  const n = sim.rows.length;
  if (n < 3) throw new Error(`a taxonomy needs at least 3 models, got ${n}`);
  if (families.length !== n) throw new Error(`${families.length} families for ${n} models`);
  const distances = similarityToDistance(sim.matrix, sim.rows);
  const dendrogram = linkage(distances, 'average', sim.rows);
  return {
    measure: sim.measure ?? name,
    name,
    description,
    similarity: sim,
    families,
    dendrogram,
    tree: toTree(dendrogram),
    newick: toNewick(dendrogram),
    order: leafOrder(dendrogram),
    mds: classicalMds(distances, 2),
    top: topSimilar(sim, 3),
    neighbours: nearestNeighbourAgreement(sim.matrix, sim.rows, families),
    cut: familyCountCut(dendrogram, families),
  };
}

/** The JSON written next to the report (everything but the similarity matrix, which has its own file). */
export function taxonomyJson(t: TaxonomyResult) {
  const n = t.similarity.rows.length;
  return {
    measure: t.measure,
    labels: t.similarity.rows,
    families: t.families,
    linkage: t.dendrogram.linkage,
    distance: '1 - similarity',
    merges: t.dendrogram.merges,
    newick: t.newick,
    leafOrder: t.order.map((i) => t.similarity.rows[i]),
    tree: t.tree,
    mds: {
      coords: Object.fromEntries(t.similarity.rows.map((l, i) => [l, [t.mds.coords.data[2 * i], t.mds.coords.data[2 * i + 1]]])),
      explained: t.mds.explained,
      negativeEigenvalues: Array.from(t.mds.eigenvalues).filter((v) => v < -1e-9 * Math.abs(t.mds.eigenvalues[0])).length,
    },
    familyRecovery: {
      nearestNeighbourAgreement: t.neighbours.agreement,
      nearestNeighbourChance: t.neighbours.chance,
      adjustedRandIndex: t.cut.ari,
      k: t.cut.k,
      clusters: Object.fromEntries(t.similarity.rows.map((l, i) => [l, t.cut.clusters[i]])),
    },
    nearestNeighbours: t.neighbours.items,
    top3: t.top,
    models: n,
  };
}
