/**
 * The demo's taxonomy as JSON. What it shows is computed by ops/taxonomy's familyTaxonomy (re-exported here as
 * buildTaxonomy): the average-linkage tree on d = 1 − similarity, its leaf order, a 2-D classical MDS map, each
 * model's most similar models, and how well the tree and the neighbours recover the task families.
 */
export { familyTaxonomy as buildTaxonomy, topSimilar, type TaxonomyResult, type TopSimilar } from '../ops/taxonomy.js';
import { toRows } from '../linalg/dense.js';
import type { TaxonomyResult } from '../ops/taxonomy.js';

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
    // With a bootstrap: split support per merge (also on the tree's nodes and in the Newick string) and cell intervals.
    ...(t.bootstrap
      ? {
          bootstrap: {
            resampling: t.bootstrap.resampling,
            support: t.bootstrap.support,
            level: t.bootstrap.level,
            lower: toRows(t.bootstrap.lower),
            upper: toRows(t.bootstrap.upper),
          },
        }
      : {}),
  };
}
