/**
 * Source selection through measured transfers (docs/taskbank.md, "Through the other targets' transfers").
 *
 * Representation similarity alone ranks a source s for a new target t by how alike s's and t's networks are. Where
 * transfers among known tasks have been measured (a Taskonomy), a second route exists: a source that transfers well
 * to the known tasks *like t* is likely to transfer well to t. The prediction for s is the weighted mean of s's
 * place in each known task u's measured ranking of the candidates, weighted by t's similarity to u:
 *
 *   p(s) = Σ_u w_u · r_u(s) / Σ_u w_u,   w_u = max(0, similarity(t, u)),   over the k known tasks u ≠ t most like t,
 *
 * with r_u(s) ∈ [0, 1] the rank of affinity(s → u) among the candidates (average ranks for ties, 0 = worst,
 * 1 = best). Ranks, not affinities, because AHP affinities are normalised per target and their spread differs from
 * target to target; a rank puts every known task on one scale. A known task that is also a candidate ranks its own
 * encoder too (u → u, usually its best source), so a t much like u also pulls u's own encoder up — the similarity
 * route, inside the same average (Taskonomy's published affinities hold u → u too). Where a dict lacks u → u, u is
 * ranked by the others only.
 * With equal weights the prediction is the source's mean rank over the known tasks — the representation-free source
 * prior (TaskbankEvaluation.sourcePrior).
 *
 * Why only the k most similar (default 3, ties at the k-th weight kept): with every known task weighted, a similarity
 * whose values are all alike (DDS and CKA between related networks) averages the rankings nearly evenly, and the
 * prediction becomes the prior. On Taskonomy's published affinities, with the DDS authors' similarities, that falls
 * from 0.834 (the similarity alone, self excluded) to 0.56; the 3 nearest tasks keep 0.83, and on the task bank they
 * do as well as all of them or better (docs/taskbank.md, *Task similarity and the measured transfers together*).
 */
export const VIA_TRANSFERS_NEIGHBOURS = 3;
import { rankData } from '../linalg/ranks.js';
import type { ResultDict } from '../io/resultDict.js';

export interface ViaTransfersInput {
  /** The candidate sources, each with a measured affinity `s__u` to every weighted known task u (`u__u` optional). */
  candidates: readonly string[];
  /** Weight of each known task (the new target's similarity to it); a weight ≤ 0 leaves the task out. */
  weights: Readonly<Record<string, number>>;
  /** First-order affinities `source__target` (Taskonomy's ResultDict). */
  affinities: ResultDict;
  /** Only the known tasks with the k largest positive weights count (ties kept); default VIA_TRANSFERS_NEIGHBOURS, Infinity for all. */
  neighbours?: number;
}

/**
 * The known tasks that weigh, with their weights: positive, and among the `neighbours` largest (ties at the last
 * one kept). A non-finite weight or a bad `neighbours` is an error.
 */
export function weighingTasks(weights: Readonly<Record<string, number>>, neighbours = VIA_TRANSFERS_NEIGHBOURS): [string, number][] {
  if (!(neighbours >= 1) || (Number.isFinite(neighbours) && !Number.isInteger(neighbours)))
    throw new Error(`predictViaTransfers: neighbours must be a whole number ≥ 1 (or Infinity), got ${neighbours}`);
  const positive: [string, number][] = [];
  for (const [u, w] of Object.entries(weights)) {
    if (!Number.isFinite(w)) throw new Error(`predictViaTransfers: the weight of known task "${u}" is ${w}`);
    if (w > 0) positive.push([u, w]);
  }
  const sorted = positive.map(([, w]) => w).sort((a, b) => b - a);
  const cut = sorted.length > neighbours ? sorted[neighbours - 1] : 0;
  return positive.filter(([, w]) => w >= cut);
}

/**
 * p(s) for every candidate; null for one that no known task of positive weight ranks. A missing or non-finite affinity
 * (other than a missing `u__u`), or a non-finite weight, is an error naming it.
 */
export function predictViaTransfers({
  candidates,
  weights,
  affinities,
  neighbours = VIA_TRANSFERS_NEIGHBOURS,
}: ViaTransfersInput): Record<string, number | null> {
  if (new Set(candidates).size !== candidates.length) throw new Error('predictViaTransfers: a candidate is listed twice');
  const known = weighingTasks(weights, neighbours);
  // The ranks are summed per (weight, ranking size) and each sum is weighted and divided by (size − 1) once at the
  // end, not term by term: a rank sum is a whole (or half) number, so sources whose predictions are mathematically
  // equal — equal weights, as in the source prior — come out exactly equal and tie in a Spearman instead of being
  // ordered by rounding (Taskonomy's equal-weight prior read 0.469 that way; exactly, 0.470).
  const groupKey = (w: number, size: number) => `${w} ${size}`;
  const groups = new Map<string, { w: number; size: number }>();
  const sum = new Map(candidates.map((s) => [s, { ranks: new Map<string, number>(), w: 0 }]));
  for (const [u, w] of known) {
    const ranked = candidates.filter((s) => s !== u || `${u}__${u}` in affinities);
    if (ranked.length < 2) continue;
    const values = ranked.map((s) => {
      const a = affinities[`${s}__${u}`];
      if (typeof a !== 'number' || !Number.isFinite(a)) throw new Error(`predictViaTransfers: no finite affinity "${s}__${u}" (got ${a})`);
      return a;
    });
    const r = rankData(values);
    const key = groupKey(w, ranked.length);
    groups.set(key, { w, size: ranked.length });
    ranked.forEach((s, i) => {
      const acc = sum.get(s)!;
      acc.ranks.set(key, (acc.ranks.get(key) ?? 0) + (r[i] - 1));
      acc.w += w;
    });
  }
  // One order of the groups for every candidate, so that equal sums are added in the same order.
  const order = [...groups.keys()].sort();
  const prediction = ({ ranks, w }: { ranks: Map<string, number>; w: number }): number | null => {
    if (!(w > 0)) return null;
    let p = 0;
    for (const key of order) {
      const r = ranks.get(key);
      if (r !== undefined) p += (groups.get(key)!.w * r) / (groups.get(key)!.size - 1);
    }
    return p / w;
  };
  return Object.fromEntries(candidates.map((s) => [s, prediction(sum.get(s)!)]));
}
