/**
 * How well a task taxonomy recovers known task families:
 *   - nearest-neighbour family agreement: the share of models whose most similar other model has the same family
 *     (ties share the credit), with its chance level;
 *   - the adjusted Rand index (Hubert & Arabie 1985) between a flat cut of the dendrogram into as many clusters as
 *     there are families and the family labels.
 */
import type { Matrix } from '../linalg/dense.js';
import { cutTree, type Dendrogram } from './cluster.js';

function pairs(x: number): number {
  return (x * (x - 1)) / 2;
}

function codes(labels: ArrayLike<string | number>): { codes: number[]; k: number } {
  const map = new Map<string | number, number>();
  const out = Array.from(labels, (l) => {
    if (!map.has(l)) map.set(l, map.size);
    return map.get(l)!;
  });
  return { codes: out, k: map.size };
}

/**
 * Adjusted Rand index of two partitions of the same items (any label values):
 * ARI = (Σ_ij C(n_ij,2) − E) / (½(Σ_i C(a_i,2) + Σ_j C(b_j,2)) − E), E = Σ_i C(a_i,2)·Σ_j C(b_j,2) / C(n,2),
 * from the contingency table n_ij. 1 = identical partitions, ≈ 0 = chance, can be negative. When the denominator
 * is 0 (both partitions all-in-one or all-singletons, hence identical) the result is 1, as in scikit-learn.
 */
export function adjustedRandIndex(a: ArrayLike<string | number>, b: ArrayLike<string | number>): number {
  if (a.length !== b.length) throw new Error(`adjustedRandIndex: partitions of ${a.length} and ${b.length} items`);
  const n = a.length;
  if (n < 2) throw new Error('adjustedRandIndex: needs at least 2 items');
  const ca = codes(a);
  const cb = codes(b);
  const table = new Float64Array(ca.k * cb.k);
  for (let i = 0; i < n; i++) table[ca.codes[i] * cb.k + cb.codes[i]]++;
  const rows = new Float64Array(ca.k);
  const cols = new Float64Array(cb.k);
  let index = 0;
  for (let i = 0; i < ca.k; i++) {
    for (let j = 0; j < cb.k; j++) {
      const v = table[i * cb.k + j];
      index += pairs(v);
      rows[i] += v;
      cols[j] += v;
    }
  }
  const sumA = rows.reduce((s, v) => s + pairs(v), 0);
  const sumB = cols.reduce((s, v) => s + pairs(v), 0);
  const expected = (sumA * sumB) / pairs(n);
  const max = (sumA + sumB) / 2;
  if (max === expected) return 1;
  return (index - expected) / (max - expected);
}

export interface NeighbourAgreement {
  /** Share of items whose nearest neighbour has their family (ties: share of tied neighbours that do). */
  agreement: number;
  /** Expected agreement if each item's neighbour were a uniformly random other item: mean of (n_f − 1)/(n − 1). */
  chance: number;
  /** Per item: the nearest other item(s) and the credit it got. */
  items: { label: string; family: string; nearest: string[]; similarity: number; credit: number }[];
}

/**
 * Nearest-neighbour family agreement from a similarity matrix (larger = more similar; the diagonal is ignored).
 */
export function nearestNeighbourAgreement(similarity: Matrix, labels: string[], families: string[]): NeighbourAgreement {
  const n = similarity.rows;
  if (similarity.cols !== n || labels.length !== n || families.length !== n) {
    throw new Error(`nearestNeighbourAgreement: ${similarity.rows}×${similarity.cols} matrix, ${labels.length} labels, ${families.length} families`);
  }
  if (n < 2) throw new Error('nearestNeighbourAgreement: needs at least 2 items');
  const size = new Map<string, number>();
  for (const f of families) size.set(f, (size.get(f) ?? 0) + 1);
  const items: NeighbourAgreement['items'] = [];
  let total = 0;
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    let nearest: number[] = [];
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const s = similarity.data[i * n + j];
      if (!Number.isFinite(s)) throw new Error(`similarity of ${labels[i]} and ${labels[j]} is ${s}`);
      if (s > best) {
        best = s;
        nearest = [j];
      } else if (s === best) nearest.push(j);
    }
    const credit = nearest.filter((j) => families[j] === families[i]).length / nearest.length;
    total += credit;
    items.push({ label: labels[i], family: families[i], nearest: nearest.map((j) => labels[j]), similarity: best, credit });
  }
  const chance = families.reduce((s, f) => s + (size.get(f)! - 1) / (n - 1), 0) / n;
  return { agreement: total / n, chance, items };
}

export interface FamilyCut {
  k: number;
  clusters: number[];
  ari: number;
}

/** Cut the dendrogram into as many clusters as there are families and compare with the families (ARI). */
export function familyCountCut(dendrogram: Dendrogram, families: string[]): FamilyCut {
  if (families.length !== dendrogram.labels.length) throw new Error(`familyCountCut: ${families.length} families for ${dendrogram.labels.length} leaves`);
  const k = new Set(families).size;
  const clusters = cutTree(dendrogram, k);
  return { k, clusters, ari: adjustedRandIndex(clusters, families) };
}
