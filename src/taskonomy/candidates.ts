/**
 * Higher-order transfer candidates (docs/taskonomy.md#higher-order-candidates): which multi-source transfers to train for a target,
 * given its first-order ranking. Taskonomy's scripts used every k-subset of the top-b first-order sources
 * (b = 5 for orders 2–3, b = 6 for order 4) and, for orders 5–24, one chain per order (the top-k sources).
 */
import { canonicalIndex, canonicalKey, parseResultDict, type ResultDict } from './results.js';

export interface Candidate {
  target: string;
  /** Sources, sorted by name. */
  sources: string[];
  /** Canonical key "a__b__target". */
  key: string;
  order: number;
  kind: 'subset' | 'chain';
  /** Whether the transfer is already measured in the result dict given to markMeasured. */
  measured?: boolean;
}

/** Never ranked as sources: `self` is the target's own supervised network and `pixels` a baseline (docs/taskonomy.md#result-dicts). */
export const UNRANKED_SOURCES = ['self', 'pixels'] as const;

/**
 * Every target's first-order sources, best first by the dict's value (ties by name). The target itself and
 * the pseudo-sources `self` / `pixels` are left out, as in `ranked_first_order_transfers.pkl`; `random` stays
 * (Taskonomy's 16k files contain higher-order transfers that use it).
 */
export function rankingFromAffinities(dict: ResultDict, opts: { targets?: string[]; exclude?: string[] } = {}): Record<string, string[]> {
  const exclude = new Set<string>([...UNRANKED_SOURCES, ...(opts.exclude ?? [])]);
  const byTarget = new Map<string, Array<{ source: string; value: number }>>();
  for (const k of parseResultDict(dict)) {
    if (k.sources.length !== 1) continue;
    const s = k.sources[0];
    if (s === k.target || exclude.has(s)) continue;
    let list = byTarget.get(k.target);
    if (!list) byTarget.set(k.target, (list = []));
    list.push({ source: s, value: dict[k.key] });
  }
  const targets = opts.targets ?? [...byTarget.keys()].sort();
  const out: Record<string, string[]> = {};
  for (const t of targets) {
    const list = byTarget.get(t);
    if (!list) throw new Error(`target "${t}" has no first-order transfer in the affinities (no key "<source>__${t}")`);
    list.sort((a, b) => b.value - a.value || (a.source < b.source ? -1 : 1));
    out[t] = list.map((e) => e.source);
  }
  return out;
}

export interface CandidateOptions {
  /** b: k-subsets are drawn from the top-b ranked sources (default 5). */
  top?: number;
  /** Per-order override of b, e.g. {4: 6} as in Taskonomy's fourth-order script. */
  topForOrder?: Record<number, number>;
  /** Largest subset order k_max (default 2). */
  maxOrder?: number;
  /** Smallest order generated (default 2; 1 lists the top-b sources themselves). */
  minOrder?: number;
  /** Also one chain per order k in [from, to]: the top-k sources (a beam of size 1). */
  chains?: { from: number; to: number };
  /** Restrict to these targets (default: every target of the ranking). */
  targets?: string[];
  /** Sources dropped from the rankings first (Taskonomy's chains skip `class_selected`). */
  exclude?: string[];
}

/**
 * Candidates from per-target rankings (best first). Subsets come first, by order then in lexicographic order
 * of ranking positions; a chain that repeats a subset is not listed twice.
 */
export function generateCandidates(ranking: Record<string, string[]>, opts: CandidateOptions = {}): Candidate[] {
  const top = opts.top ?? 5;
  const maxOrder = opts.maxOrder ?? 2;
  const minOrder = opts.minOrder ?? 2;
  const exclude = new Set(opts.exclude ?? []);
  checkInt(top, 'top', 1);
  checkInt(maxOrder, 'maxOrder', 0);
  checkInt(minOrder, 'minOrder', 1);
  for (const [k, b] of Object.entries(opts.topForOrder ?? {})) checkInt(b, `top for order ${k}`, 1);
  if (opts.chains) {
    checkInt(opts.chains.from, 'chains.from', 1);
    checkInt(opts.chains.to, 'chains.to', opts.chains.from);
  }
  const targets = opts.targets ?? Object.keys(ranking).sort();
  const out: Candidate[] = [];
  for (const target of targets) {
    const ranked = ranking[target];
    if (!ranked) throw new Error(`target "${target}" has no first-order ranking`);
    const list = ranked.filter((s) => !exclude.has(s) && s !== target);
    const seen = new Set<string>();
    const add = (sources: string[], kind: Candidate['kind']) => {
      const key = canonicalKey(sources, target);
      if (seen.has(key)) return;
      seen.add(key);
      out.push({ target, sources: [...sources].sort(), key, order: sources.length, kind });
    };
    for (let k = minOrder; k <= maxOrder; k++) {
      const b = opts.topForOrder?.[k] ?? top;
      if (b > list.length) {
        throw new Error(`target "${target}" has ${list.length} ranked sources; order ${k} needs the top ${b}`);
      }
      for (const subset of combinations(list.slice(0, b), k)) add(subset, 'subset');
    }
    if (opts.chains) {
      if (opts.chains.to > list.length) {
        throw new Error(`target "${target}" has ${list.length} ranked sources; a chain of order ${opts.chains.to} needs that many`);
      }
      for (let k = opts.chains.from; k <= opts.chains.to; k++) add(list.slice(0, k), 'chain');
    }
  }
  return out;
}

/** Flag which candidates a result dict already measures (compared as source sets). */
export function markMeasured(candidates: Candidate[], dict: ResultDict): Candidate[] {
  const have = canonicalIndex(dict);
  return candidates.map((c) => ({ ...c, measured: have.has(c.key) }));
}

/** All k-subsets of items, each in the items' order, subsets in lexicographic order of positions. */
export function* combinations<T>(items: T[], k: number): Generator<T[]> {
  if (k > items.length || k < 0) return;
  const idx = Array.from({ length: k }, (_, i) => i);
  for (;;) {
    yield idx.map((i) => items[i]);
    let p = k - 1;
    while (p >= 0 && idx[p] === items.length - k + p) p--;
    if (p < 0) return;
    idx[p]++;
    for (let q = p + 1; q < k; q++) idx[q] = idx[q - 1] + 1;
  }
}

function checkInt(x: number, what: string, min: number): void {
  if (!Number.isInteger(x) || x < min) throw new Error(`candidates: ${what} must be an integer ≥ ${min}, got ${x}`);
}
