/**
 * Agglomerative (hierarchical) clustering of n items, from a distance matrix or from feature vectors, with the
 * output conventions of scipy.cluster.hierarchy so results can be compared with it directly:
 * - merges are scipy linkage rows: merge i joins clusters a < b at `distance` into cluster n + i of `size`
 *   leaves (leaves are 0…n−1);
 * - the leaf order is scipy's `leaves_list` (left = first id of a row, depth first);
 * - `cutTree(k)` labels flat clusters like scipy's `cut_tree(Z, n_clusters=k)`.
 *
 * The algorithm is the textbook one: repeatedly merge the closest pair, update distances with the
 * Lance–Williams formula of the linkage. O(n³) time, O(n²) memory — fine for task sets (tens to a few hundred
 * items). Single, complete, average and Ward are reducible linkages, so merge distances come out
 * non-decreasing and no inversion handling is needed. With tied distances the pair with the lowest cluster ids
 * is merged first; scipy's nearest-neighbour-chain algorithm may resolve ties differently.
 */
import { cosineSimilarity, pearson } from '../linalg/correlation.js';
import { zeros, type Matrix } from '../linalg/dense.js';

export type Linkage = 'single' | 'complete' | 'average' | 'ward';
export type DistanceMetric = 'euclidean' | 'correlation' | 'cosine';
export const LINKAGES: readonly Linkage[] = ['single', 'complete', 'average', 'ward'];
export const DISTANCE_METRICS: readonly DistanceMetric[] = ['euclidean', 'correlation', 'cosine'];

export interface Merge {
  a: number;
  b: number;
  distance: number;
  size: number;
}

export interface Dendrogram {
  labels: string[];
  linkage: Linkage;
  merges: Merge[];
}

/** A node of the tree JSON: leaves have `name`, inner nodes `children` [left, right] and their merge height. */
export interface TreeNode {
  id: number;
  name?: string;
  /** Merge height (0 for leaves). */
  distance: number;
  size: number;
  children?: [TreeNode, TreeNode];
  /** Inner nodes of a bootstrapped tree: the share of draws whose tree has exactly this node's leaves (taxonomy/support.ts). */
  support?: number;
}

/**
 * Pairwise distances between the rows of `features`: euclidean; correlation = 1 − Pearson r (scipy
 * `correlation`); cosine = 1 − cos θ. A row for which the distance is undefined (constant row for
 * correlation, zero row for cosine) is an error naming it.
 */
export function pairwiseDistances(features: Matrix, metric: DistanceMetric, labels?: string[]): Matrix {
  const n = features.rows;
  const p = features.cols;
  const row = (i: number) => features.data.subarray(i * p, (i + 1) * p);
  const name = (i: number) => (labels ? `"${labels[i]}"` : `row ${i}`);
  for (let i = 0; i < features.data.length; i++) {
    if (!Number.isFinite(features.data[i])) throw new Error(`features of ${name(Math.floor(i / p))} contain ${features.data[i]}`);
  }
  const d = zeros(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let v: number;
      if (metric === 'euclidean') {
        let s = 0;
        const x = row(i);
        const y = row(j);
        for (let k = 0; k < p; k++) s += (x[k] - y[k]) ** 2;
        v = Math.sqrt(s);
      } else {
        const sim = metric === 'correlation' ? pearson(row(i), row(j)) : cosineSimilarity(row(i), row(j));
        if (Number.isNaN(sim)) {
          const bad = [i, j].find((r) => (metric === 'correlation' ? isConstantRow(row(r)) : isZeroRow(row(r))))!;
          const why = metric === 'correlation' ? 'is constant (correlation undefined)' : 'is all zeros (cosine undefined)';
          throw new Error(`${metric} distance: the feature vector of ${name(bad)} ${why}`);
        }
        v = 1 - sim;
      }
      d.data[i * n + j] = v;
      d.data[j * n + i] = v;
    }
  }
  return d;
}

function isConstantRow(x: ArrayLike<number>): boolean {
  for (let i = 1; i < x.length; i++) if (x[i] !== x[0]) return false;
  return true;
}

function isZeroRow(x: ArrayLike<number>): boolean {
  for (let i = 0; i < x.length; i++) if (x[i] !== 0) return false;
  return true;
}

/** Cluster from a symmetric distance matrix (diagonal ignored). */
export function linkage(distances: Matrix, method: Linkage, labels?: string[]): Dendrogram {
  const n = distances.rows;
  if (distances.cols !== n) throw new Error(`linkage: distance matrix is ${n}×${distances.cols}, not square`);
  if (n < 1) throw new Error('linkage: no items to cluster');
  if (!LINKAGES.includes(method)) throw new Error(`linkage: unknown method "${method}" (use ${LINKAGES.join(', ')})`);
  const names = labels ?? Array.from({ length: n }, (_, i) => String(i));
  if (names.length !== n) throw new Error(`linkage: ${names.length} labels for ${n} items`);
  const D = distances.data;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const a = D[i * n + j];
      const b = D[j * n + i];
      if (!Number.isFinite(a) || a < 0) throw new Error(`linkage: distance between "${names[i]}" and "${names[j]}" is ${a}`);
      if (Math.abs(a - b) > 1e-12 * Math.max(1, Math.abs(a))) {
        throw new Error(`linkage: distance matrix is not symmetric at "${names[i]}", "${names[j]}" (${a} vs ${b})`);
      }
    }
  }
  // Working copy indexed by slot; slot i holds cluster id ids[i] until it is merged away.
  const d = Float64Array.from(D);
  const ids = Array.from({ length: n }, (_, i) => i);
  const sizes = new Array<number>(n).fill(1);
  const active = new Array<boolean>(n).fill(true);
  const merges: Merge[] = [];
  for (let step = 0; step < n - 1; step++) {
    let bi = -1;
    let bj = -1;
    let best = Infinity;
    for (let i = 0; i < n; i++) {
      if (!active[i]) continue;
      for (let j = i + 1; j < n; j++) {
        if (!active[j]) continue;
        const v = d[i * n + j];
        if (v < best || (v === best && lowerPair(ids[i], ids[j], ids[bi], ids[bj]))) {
          best = v;
          bi = i;
          bj = j;
        }
      }
    }
    const ni = sizes[bi];
    const nj = sizes[bj];
    for (let k = 0; k < n; k++) {
      if (!active[k] || k === bi || k === bj) continue;
      const dik = d[bi * n + k];
      const djk = d[bj * n + k];
      let v: number;
      switch (method) {
        case 'single':
          v = Math.min(dik, djk);
          break;
        case 'complete':
          v = Math.max(dik, djk);
          break;
        case 'average':
          v = (ni * dik + nj * djk) / (ni + nj);
          break;
        case 'ward': {
          // scipy's Ward update on (unsquared) distances.
          const nk = sizes[k];
          v = Math.sqrt(Math.max(0, ((ni + nk) * dik * dik + (nj + nk) * djk * djk - nk * best * best) / (ni + nj + nk)));
          break;
        }
      }
      d[bi * n + k] = v;
      d[k * n + bi] = v;
    }
    const [a, b] = ids[bi] < ids[bj] ? [ids[bi], ids[bj]] : [ids[bj], ids[bi]];
    merges.push({ a, b, distance: best, size: ni + nj });
    ids[bi] = n + step;
    sizes[bi] = ni + nj;
    active[bj] = false;
  }
  return { labels: names, linkage: method, merges };
}

function lowerPair(a1: number, b1: number, a2: number, b2: number): boolean {
  const [x1, y1] = a1 < b1 ? [a1, b1] : [b1, a1];
  const [x2, y2] = a2 < b2 ? [a2, b2] : [b2, a2];
  return x1 < x2 || (x1 === x2 && y1 < y2);
}

/** Cluster the rows of `features` (one item per row). */
export function clusterFeatures(features: Matrix, opts: { linkage?: Linkage; distance?: DistanceMetric; labels?: string[] } = {}): Dendrogram {
  const method = opts.linkage ?? 'average';
  const metric = opts.distance ?? 'correlation';
  if (!DISTANCE_METRICS.includes(metric)) throw new Error(`unknown distance "${metric}" (use ${DISTANCE_METRICS.join(', ')})`);
  if (opts.labels && opts.labels.length !== features.rows) {
    throw new Error(`clusterFeatures: ${opts.labels.length} labels for ${features.rows} feature rows`);
  }
  return linkage(pairwiseDistances(features, metric, opts.labels), method, opts.labels);
}

/** The root of the tree JSON; with `support` (one value per merge), each inner node carries its split support. */
export function toTree(dendrogram: Dendrogram, support?: readonly number[]): TreeNode {
  const n = dendrogram.labels.length;
  checkSupport(dendrogram, support);
  const nodes: TreeNode[] = dendrogram.labels.map((name, id) => ({ id, name, distance: 0, size: 1 }));
  dendrogram.merges.forEach((m, i) => {
    const node: TreeNode = { id: n + i, distance: m.distance, size: m.size, children: [nodes[m.a], nodes[m.b]] };
    if (support) node.support = support[i];
    nodes.push(node);
  });
  return nodes[nodes.length - 1];
}

/** Leaves left to right (scipy `leaves_list`: depth first, first id of each merge on the left). */
export function leafOrder(dendrogram: Dendrogram): number[] {
  const n = dendrogram.labels.length;
  const out: number[] = [];
  const stack = [n === 1 ? 0 : 2 * n - 2];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (id < n) out.push(id);
    else {
      const m = dendrogram.merges[id - n];
      stack.push(m.b, m.a);
    }
  }
  return out;
}

function checkSupport(dendrogram: Dendrogram, support?: readonly number[]): void {
  if (support && support.length !== dendrogram.merges.length) {
    throw new Error(`split support has ${support.length} values for ${dendrogram.merges.length} merges`);
  }
}

/**
 * Newick string; branch length = parent merge height − child height, so root-to-leaf path lengths equal the
 * root height (an ultrametric tree, as the dendrogram draws it). With `support`, each inner node is labelled with
 * its split support (rounded to 3 decimals), where tree viewers read a bootstrap value: `(a:0.1,b:0.1)0.95:0.3`.
 */
export function toNewick(dendrogram: Dendrogram, support?: readonly number[]): string {
  const n = dendrogram.labels.length;
  checkSupport(dendrogram, support);
  const height = (id: number) => (id < n ? 0 : dendrogram.merges[id - n].distance);
  const render = (id: number): string => {
    if (id < n) return newickName(dendrogram.labels[id]);
    const m = dendrogram.merges[id - n];
    const child = (c: number) => `${render(c)}:${fmt(m.distance - height(c))}`;
    return `(${child(m.a)},${child(m.b)})${support ? String(Math.round(support[id - n] * 1000) / 1000) : ''}`;
  };
  return `${render(n === 1 ? 0 : 2 * n - 2)};`;
}

function newickName(name: string): string {
  return /^[^\s()[\]':;,]+$/.test(name) ? name : `'${name.replace(/'/g, "''")}'`;
}

function fmt(x: number): string {
  // Shortest round-trip form; clamp the −0 / tiny negative a subtraction of equal heights can leave.
  return String(x <= 0 ? 0 : x);
}

/**
 * Flat clusters obtained by undoing the last k − 1 merges: label per item, numbered 0…k−1 in order of the
 * first item of each cluster (scipy `cut_tree(Z, n_clusters=k)` numbering).
 */
export function cutTree(dendrogram: Dendrogram, k: number): number[] {
  const n = dendrogram.labels.length;
  if (!Number.isInteger(k) || k < 1 || k > n) throw new Error(`cutTree: k must be an integer in 1…${n}, got ${k}`);
  // Union-find over the first n − k merges.
  const parent = Array.from({ length: 2 * n - 1 }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) x = parent[x] = parent[parent[x]];
    return x;
  };
  for (let i = 0; i < n - k; i++) {
    const m = dendrogram.merges[i];
    parent[find(m.a)] = n + i;
    parent[find(m.b)] = n + i;
  }
  const label = new Map<number, number>();
  return Array.from({ length: n }, (_, i) => {
    const root = find(i);
    if (!label.has(root)) label.set(root, label.size);
    return label.get(root)!;
  });
}

/**
 * Distances d = 1 − s from a similarity matrix whose similarities are at most 1 (correlations, CKA, RSA, cosine).
 * The diagonal is ignored. A similarity above 1 would give a negative distance: an error naming the pair.
 */
export function similarityToDistance(similarity: Matrix, labels?: string[]): Matrix {
  const n = similarity.rows;
  if (similarity.cols !== n) throw new Error(`similarity matrix is ${n}×${similarity.cols}, not square`);
  const d = zeros(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const s = similarity.data[i * n + j];
      const name = () => (labels ? `"${labels[i]}" and "${labels[j]}"` : `items ${i} and ${j}`);
      if (!Number.isFinite(s)) throw new Error(`similarity between ${name()} is ${s}`);
      if (s > 1 + 1e-12) throw new Error(`similarity between ${name()} is ${s} > 1; 1 − s would be a negative distance (pass distances instead)`);
      d.data[i * n + j] = Math.max(0, 1 - s);
    }
  }
  return d;
}
