/**
 * Split support of a tree: for each cluster of a reference dendrogram, the share of other trees over the same leaves
 * (one per bootstrap draw) that contain exactly that cluster — Felsenstein's bootstrap support, with agglomerative
 * clusters in place of phylogenetic splits. Only the leaf SETS count, not merge heights or the order of merges, so
 * a draw that joins the same items at other distances still supports the cluster.
 */
import type { Dendrogram } from './cluster.js';

/** The leaves under each merge (merge i creates cluster n + i), as ascending leaf indices. */
export function mergeMembers(d: Dendrogram): number[][] {
  const n = d.labels.length;
  const members: number[][] = [];
  const of = (id: number) => (id < n ? [id] : members[id - n]);
  for (const m of d.merges) members.push([...of(m.a), ...of(m.b)].sort((x, y) => x - y));
  return members;
}

/** A cluster as a set key: its ascending leaf indices joined. */
const keyOf = (leaves: readonly number[]) => leaves.join(',');

/**
 * Per merge of `reference`, the fraction of `trees` whose merges include exactly the same set of leaves. The root
 * (all leaves) is trivially 1. Every tree must have the reference's labels in the same order (leaf i is the same item
 * everywhere); otherwise an error naming the first tree that differs.
 */
export function splitSupport(reference: Dendrogram, trees: readonly Dendrogram[]): number[] {
  if (trees.length === 0) throw new Error('split support needs at least one tree to count clusters in');
  const labels = reference.labels;
  trees.forEach((t, k) => {
    if (t.labels.length !== labels.length || t.labels.some((l, i) => l !== labels[i])) {
      throw new Error(
        `split support: tree ${k + 1} has other leaves than the reference tree (${t.labels.length} vs ${labels.length} labels, or another order)`,
      );
    }
  });
  const wanted = mergeMembers(reference).map(keyOf);
  const counts = new Array<number>(wanted.length).fill(0);
  const index = new Map(wanted.map((k, i) => [k, i] as const));
  for (const t of trees) {
    for (const leaves of mergeMembers(t)) {
      const i = index.get(keyOf(leaves));
      if (i !== undefined) counts[i]++;
    }
  }
  return counts.map((c) => c / trees.length);
}
