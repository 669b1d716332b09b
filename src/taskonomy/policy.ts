/**
 * Taskonomy supervision policy: the binary integer program of docs/taskonomy.md#supervision-policy in the formulation of the
 * Taskonomy web API (the only public implementation), with the paper's options.
 *
 * Roles: `targets` (solved either by full supervision or by one transfer; may serve as sources once supervised),
 * `sourceOnly` (may be supervised and used as sources, never solved), `targetOnly` (must be solved by a
 * transfer, cannot be supervised). Every other task is unused.
 * Variables: a bit per candidate transfer (edge) and a bit per supervisable task (node).
 * Constraints: (I) an edge needs all its sources supervised; (II) every target takes exactly one of
 * {its own supervision, one incoming edge}, every target-only task exactly one incoming edge; (III) the
 * supervision costs of the chosen nodes plus the transfer costs of the chosen edges stay within the budget.
 * Objective: Σ importance(t) · value(t's chosen transfer), where a supervised target is valued by its own
 * fully supervised network (`self__t`, or `t__t` where a file has no `self`).
 *
 * Two solvers: HiGHS (a real MIP solver, via CPLEX LP text) and exhaustive enumeration of the supervised set
 * (exact for small instances; the tests' independent reference). Whatever solver ran, the returned policy is
 * re-checked for feasibility and its objective recomputed here before it is returned.
 */
import highsModule from 'highs';
import { canonicalIndex, canonicalKey, parseTransferKey, resultTargets, type ResultDict } from './results.js';

// highs' types.d.ts is CommonJS-flavoured, so under NodeNext its default export is not seen as callable
// (DEPENDENCIES.md §7).
const loadHighs = ((highsModule as unknown as { default?: unknown }).default ?? highsModule) as typeof highsModule.default;

export type PolicyObjective = 'affinity' | 'sqrtAffinity' | 'winsVsTask' | 'winsVsPixels';
export const POLICY_OBJECTIVES: readonly PolicyObjective[] = ['affinity', 'sqrtAffinity', 'winsVsTask', 'winsVsPixels'];

/** Names accepted for the objective: the ids above, kebab-case forms, and the paper's gain / quality. */
const OBJECTIVE_NAMES: Record<string, PolicyObjective> = {
  affinity: 'affinity',
  sqrtaffinity: 'sqrtAffinity',
  'sqrt-affinity': 'sqrtAffinity',
  winsvstask: 'winsVsTask',
  'wins-vs-task': 'winsVsTask',
  quality: 'winsVsTask',
  winsvspixels: 'winsVsPixels',
  'wins-vs-pixels': 'winsVsPixels',
  gain: 'winsVsPixels',
};

export function parseObjective(name: string): PolicyObjective {
  const o = OBJECTIVE_NAMES[name.toLowerCase()];
  if (!o) throw new Error(`unknown objective "${name}" (use affinity, sqrtAffinity, winsVsTask|quality or winsVsPixels|gain)`);
  return o;
}

/** Pseudo-sources that are never supervisable tasks (docs/taskonomy.md#result-dicts). `random` is a task here, as in the web API. */
const NEVER_TASKS = new Set(['self', 'pixels']);

export interface PolicyProblem {
  /** Affinities {"src__target": p}: their keys define the candidate transfers. */
  affinities: ResultDict;
  /** wins_vs_pixels (Gain): objective `winsVsPixels`, and reported per target when given. */
  winsVsPixels?: ResultDict;
  /** wins_vs_task (Quality): objective `winsVsTask`, and reported per target when given. */
  winsVsTask?: ResultDict;
  /** Default `affinity` (the paper's objective); `sqrtAffinity` is the web API's. */
  objective?: PolicyObjective;
  budget: number;
  /** Default: every target of the affinities (minus sourceOnly / targetOnly). */
  targets?: string[];
  /**
   * Tasks that may be labelled and used as sources without being solved. Default: every other task named in
   * the affinities (including `random`, which the web API also treats as a source-only task).
   */
  sourceOnly?: string[];
  /** Tasks that must be solved by transfer and are never labelled. Default none. */
  targetOnly?: string[];
  /** Largest number of sources of a transfer (default 5, as the web API). */
  maxOrder?: number;
  /** Full-supervision (labelling) cost per task, default 1. */
  cost?: Record<string, number>;
  /** Cost of training the transfer into a target, default 0. */
  transferCost?: Record<string, number>;
  /** Relative importance (value) of each target, default 1. */
  importance?: Record<string, number>;
  /**
   * Transfer values are clipped to [valueFloor, 1] (web API: 1e-5), so that a transfer with win rate 0 still
   * counts more than nothing. Default 1e-5; 0 disables the floor.
   */
  valueFloor?: number;
  /**
   * Objective bonus for each supervised source-only task. The web API's clip gives 1e-5 (a tie-break that spends
   * spare budget); default 0, so the objective is exactly Σ importance · value.
   */
  sourceOnlyBonus?: number;
}

export interface PolicyEdge {
  target: string;
  /** Sources, sorted. */
  sources: string[];
  /** The key as spelled in the affinities. */
  key: string;
  /** Raw affinity p of the transfer. */
  affinity: number;
  /** Objective value of the transfer (after transform and clip), before importance. */
  value: number;
  /** importance(target) · value. */
  coef: number;
}

/** Everything the solvers need, with names resolved to indices. */
export interface PolicyModel {
  objective: PolicyObjective;
  budget: number;
  maxOrder: number;
  targets: string[];
  sourceOnly: string[];
  targetOnly: string[];
  /** Supervisable tasks: targets then sourceOnly. */
  nodes: string[];
  nodeCost: number[];
  /** importance · supervised value for a target node; sourceOnlyBonus for a source-only node. */
  nodeCoef: number[];
  /** Tasks to solve: targets then targetOnly. */
  served: string[];
  /** Node index of each served task, −1 for target-only. */
  servedNode: number[];
  servedTransferCost: number[];
  servedImportance: number[];
  /** How each target is valued when supervised (null for target-only tasks). */
  supervision: Array<{ key: string; affinity: number; value: number } | null>;
  edges: PolicyEdge[];
  /** Edge indices into each served task. */
  edgesInto: number[][];
  /** Node indices of each edge's sources. */
  edgeSources: number[][];
  winsVsPixels?: Map<string, { key: string; value: number }>;
  winsVsTask?: Map<string, { key: string; value: number }>;
}

export type PolicyStatus = 'optimal' | 'infeasible' | 'time-limited';

export interface PolicyTarget {
  target: string;
  via: 'supervision' | 'transfer';
  /** Sources of the chosen transfer; ["self"] for a supervised target. */
  sources: string[];
  key: string;
  affinity: number;
  value: number;
  importance: number;
  /** Win rate vs `pixels` of the chosen transfer (needs winsVsPixels). */
  gain?: number;
  /** Win rate vs `self`; 0.5 for a supervised target by definition (docs/taskonomy.md#gain-and-quality). */
  quality?: number;
}

export interface PolicyResult {
  status: PolicyStatus;
  /** "highs 1.15.1" or "exhaustive". */
  solver: string;
  objective: number | null;
  objectiveKind: PolicyObjective;
  budget: number;
  /** Budget actually used (supervision plus transfer costs). */
  cost: number | null;
  maxOrder: number;
  supervised: string[];
  /** The transfers to train, one per target not supervised. */
  transfers: Array<{ target: string; sources: string[]; key: string; affinity: number; value: number; gain?: number; quality?: number }>;
  /** Every solved task with how it is served. */
  targets: PolicyTarget[];
  /** Mean Gain / Quality over the solved tasks; null when a win-rate dict is missing or lacks a key. */
  meanGain: number | null;
  meanQuality: number | null;
  timeMs: number;
  message?: string;
}

export interface SolveOptions {
  solver?: 'highs' | 'exhaustive';
  /** Seconds; HiGHS only. On expiry the best policy found so far is returned with status "time-limited". */
  timeLimit?: number;
}

// ───────────────────────────────────────────── model ─────────────────────────────────────────────

/** Validate a problem and resolve it into solver-ready form. Every bad input is a clear error naming it. */
export function buildPolicyModel(problem: PolicyProblem): PolicyModel {
  const objective = problem.objective ?? 'affinity';
  if (!POLICY_OBJECTIVES.includes(objective)) throw new Error(`unknown objective "${objective}"`);
  const budget = problem.budget;
  if (!Number.isFinite(budget) || budget < 0) throw new Error(`budget must be a non-negative number, got ${budget}`);
  const maxOrder = problem.maxOrder ?? 5;
  if (!Number.isInteger(maxOrder) || maxOrder < 1) throw new Error(`max order must be an integer ≥ 1, got ${maxOrder}`);
  const floor = problem.valueFloor ?? 1e-5;
  if (!(floor >= 0 && floor <= 1)) throw new Error(`valueFloor must be in [0, 1], got ${floor}`);
  const bonus = problem.sourceOnlyBonus ?? 0;
  if (!Number.isFinite(bonus)) throw new Error(`sourceOnlyBonus must be a finite number, got ${bonus}`);

  const affinityIndex = canonicalIndex(problem.affinities, 'affinities');
  const keys = Object.keys(problem.affinities).map(parseTransferKey);
  const fileTargets = new Set(resultTargets(problem.affinities));
  const known = new Set<string>();
  for (const k of keys) for (const t of [...k.sources, k.target]) if (!NEVER_TASKS.has(t)) known.add(t);
  const knownList = () => [...known].sort().join(', ');
  const checkKnown = (names: string[], what: string) => {
    for (const t of names) if (!known.has(t)) throw new Error(`${what}: unknown task "${t}" (tasks in the affinities: ${knownList()})`);
  };

  const targetOnly = dedupe(problem.targetOnly ?? [], 'target-only tasks');
  const sourceOnlyGiven = problem.sourceOnly !== undefined ? dedupe(problem.sourceOnly, 'source-only tasks') : undefined;
  checkKnown(targetOnly, 'target-only tasks');
  if (sourceOnlyGiven) checkKnown(sourceOnlyGiven, 'source-only tasks');
  let targets: string[];
  if (problem.targets !== undefined) {
    targets = dedupe(problem.targets, 'targets');
    for (const t of targets) {
      if (!fileTargets.has(t)) {
        throw new Error(`target "${t}" has no candidate transfer: no key of the affinities ends in "__${t}"`);
      }
    }
  } else {
    const exclude = new Set([...targetOnly, ...(sourceOnlyGiven ?? [])]);
    targets = [...fileTargets].filter((t) => !exclude.has(t) && !NEVER_TASKS.has(t)).sort();
  }
  for (const t of targetOnly) {
    if (!fileTargets.has(t)) throw new Error(`target-only task "${t}" has no candidate transfer: no key ends in "__${t}"`);
  }
  const sourceOnly = sourceOnlyGiven ?? [...known].filter((t) => !targets.includes(t) && !targetOnly.includes(t)).sort();
  for (const [a, an, b, bn] of [
    [targets, 'a target', sourceOnly, 'source-only'],
    [targets, 'a target', targetOnly, 'target-only'],
    [sourceOnly, 'source-only', targetOnly, 'target-only'],
  ] as const) {
    const both = a.find((t) => b.includes(t));
    if (both !== undefined) throw new Error(`task "${both}" is both ${an} and ${bn}`);
  }
  if (targets.length + targetOnly.length === 0) throw new Error('no targets to solve');

  const cost = problem.cost ?? {};
  const transferCost = problem.transferCost ?? {};
  const importance = problem.importance ?? {};
  checkKnown(Object.keys(cost), 'cost');
  checkKnown(Object.keys(transferCost), 'transfer cost');
  checkKnown(Object.keys(importance), 'importance');
  const served = [...targets, ...targetOnly];
  for (const t of Object.keys(importance)) {
    if (!served.includes(t)) throw new Error(`importance is given for "${t}", which is not a target`);
  }
  for (const [what, rec] of [['cost', cost], ['transfer cost', transferCost], ['importance', importance]] as const) {
    for (const [t, v] of Object.entries(rec)) {
      if (!Number.isFinite(v) || v < 0) throw new Error(`${what} of "${t}" must be a non-negative number, got ${v}`);
    }
  }

  // Objective values come from the dict the objective names, looked up as source sets.
  const valueDict =
    objective === 'winsVsTask' ? problem.winsVsTask : objective === 'winsVsPixels' ? problem.winsVsPixels : problem.affinities;
  if (!valueDict) {
    const opt = objective === 'winsVsTask' ? 'winsVsTask (wins_vs_task)' : 'winsVsPixels (wins_vs_pixels)';
    throw new Error(`objective ${objective} needs the ${opt} win-rate dict`);
  }
  const valueIndex = valueDict === problem.affinities ? affinityIndex : canonicalIndex(valueDict, objective);
  const transform = (raw: number) => {
    const v = objective === 'sqrtAffinity' ? Math.sqrt(Math.max(0, raw)) : raw;
    return Math.min(1, Math.max(floor, v));
  };
  const valueOf = (canonical: string, key: string): number => {
    const e = valueIndex.get(canonical);
    if (!e) throw new Error(`objective ${objective}: no value for transfer "${key}" (the win-rate dict does not cover the affinities)`);
    return transform(e.value);
  };

  const nodes = [...targets, ...sourceOnly];
  const nodeIndex = new Map(nodes.map((t, i) => [t, i]));
  const nodeCost = nodes.map((t) => cost[t] ?? 1);
  const servedIndex = new Map(served.map((t, i) => [t, i]));
  const servedNode = served.map((t) => nodeIndex.get(t) ?? -1);
  const servedTransferCost = served.map((t) => transferCost[t] ?? 0);
  const imp = (t: string) => importance[t] ?? 1;

  const supervision = served.map((t, s) => {
    if (servedNode[s] < 0) return null;
    for (const c of [canonicalKey(['self'], t), canonicalKey([t], t)]) {
      const a = affinityIndex.get(c);
      if (a) return { key: a.key, affinity: a.value, value: valueOf(c, a.key) };
    }
    return null;
  });
  const nodeCoef = nodes.map((t, i) => {
    if (i >= targets.length) return bonus;
    const sup = supervision[i];
    return sup ? imp(t) * sup.value : 0;
  });

  const edges: PolicyEdge[] = [];
  const edgesInto: number[][] = served.map(() => []);
  const edgeSources: number[][] = [];
  for (const k of keys) {
    const s = servedIndex.get(k.target);
    if (s === undefined || k.sources.length > maxOrder) continue;
    if (k.sources.includes(k.target) || !k.sources.every((x) => nodeIndex.has(x))) continue;
    const canonical = canonicalKey(k.sources, k.target);
    const value = valueOf(canonical, k.key);
    edgesInto[s].push(edges.length);
    edgeSources.push(k.sources.map((x) => nodeIndex.get(x)!));
    edges.push({ target: k.target, sources: k.sources, key: k.key, affinity: problem.affinities[k.key], value, coef: imp(k.target) * value });
  }
  served.forEach((t, s) => {
    if (servedNode[s] >= 0 && !supervision[s]) {
      throw new Error(`target "${t}" has no "self__${t}" or "${t}__${t}" entry to value its full supervision`);
    }
    if (servedNode[s] < 0 && edgesInto[s].length === 0) {
      throw new Error(`target-only task "${t}" has no candidate: no transfer into it from the allowed sources with at most ${maxOrder} sources`);
    }
  });

  if (nodes.length === 0) throw new Error('no task can be labelled: give targets or source-only tasks, not only target-only tasks');
  const cheapest = Math.min(...nodeCost);
  if (budget < cheapest - 1e-12) {
    const who = nodes[nodeCost.indexOf(cheapest)];
    throw new Error(`budget ${budget} is below the cheapest task to label ("${who}" costs ${cheapest}): no target can be served`);
  }

  const model: PolicyModel = {
    objective,
    budget,
    maxOrder,
    targets,
    sourceOnly,
    targetOnly,
    nodes,
    nodeCost,
    nodeCoef,
    served,
    servedNode,
    servedTransferCost,
    servedImportance: served.map(imp),
    supervision,
    edges,
    edgesInto,
    edgeSources,
  };
  if (problem.winsVsPixels) model.winsVsPixels = canonicalIndex(problem.winsVsPixels, 'wins vs pixels');
  if (problem.winsVsTask) model.winsVsTask = canonicalIndex(problem.winsVsTask, 'wins vs task');
  return model;
}

function dedupe(names: string[], what: string): string[] {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new Error(`${what}: "${n}" is listed twice`);
    if (NEVER_TASKS.has(n)) throw new Error(`${what}: "${n}" is a pseudo-source, not a task`);
    seen.add(n);
  }
  return names;
}

// ─────────────────────────────────────────── selections ──────────────────────────────────────────

/** A candidate policy: which nodes are supervised and, per served task, the chosen edge (−1 = supervision). */
interface Selection {
  supervised: boolean[];
  edgeOf: number[];
}

const budgetSlack = (budget: number) => 1e-9 * Math.max(1, Math.abs(budget));

/**
 * For a fixed supervised set the rest of the problem decouples: a supervised target is served by its own
 * network (Constraint II with its node bit set), every other task takes its best edge whose sources are all
 * supervised, and the transfer costs are fixed (one per non-supervised task). Returns null when some task has
 * no usable edge. Both solvers use this, so their policies differ only in the supervised set.
 */
function bestAssignment(model: PolicyModel, supervised: boolean[]): Selection | null {
  const edgeOf: number[] = [];
  for (let s = 0; s < model.served.length; s++) {
    const node = model.servedNode[s];
    if (node >= 0 && supervised[node]) {
      edgeOf.push(-1);
      continue;
    }
    let best = -1;
    for (const e of model.edgesInto[s]) {
      if (!model.edgeSources[e].every((v) => supervised[v])) continue;
      if (best < 0 || model.edges[e].coef > model.edges[best].coef) best = e;
    }
    if (best < 0) return null;
    edgeOf.push(best);
  }
  return { supervised, edgeOf };
}

function selectionCost(model: PolicyModel, sel: Selection): number {
  let c = 0;
  sel.supervised.forEach((on, i) => {
    if (on) c += model.nodeCost[i];
  });
  sel.edgeOf.forEach((e, s) => {
    if (e >= 0) c += model.servedTransferCost[s];
  });
  return c;
}

function selectionObjective(model: PolicyModel, sel: Selection): number {
  let z = 0;
  sel.supervised.forEach((on, i) => {
    if (on) z += model.nodeCoef[i];
  });
  for (const e of sel.edgeOf) if (e >= 0) z += model.edges[e].coef;
  return z;
}

/**
 * Independent feasibility check of a selection against the model's constraints: only supervisable nodes set,
 * every served task served exactly once (its own supervision or one edge into it), every edge's sources
 * supervised and within the max order, and the budget respected. Throws naming the violated constraint.
 */
function verifySelection(model: PolicyModel, sel: Selection): void {
  const fail = (why: string) => {
    throw new Error(`internal error: the solver returned an infeasible policy (${why})`);
  };
  if (sel.supervised.length !== model.nodes.length || sel.edgeOf.length !== model.served.length) fail('wrong shape');
  model.served.forEach((t, s) => {
    const e = sel.edgeOf[s];
    const node = model.servedNode[s];
    const self = node >= 0 && sel.supervised[node];
    if (e < 0) {
      if (!self) fail(`"${t}" is neither supervised nor served by a transfer`);
      return;
    }
    if (self) fail(`"${t}" is supervised and also served by a transfer`);
    const edge = model.edges[e];
    if (!edge || edge.target !== t) fail(`the transfer chosen for "${t}" does not go into it`);
    if (edge.sources.length > model.maxOrder) fail(`"${edge.key}" exceeds max order ${model.maxOrder}`);
    model.edgeSources[e].forEach((v) => {
      if (!sel.supervised[v]) fail(`"${edge.key}" uses unsupervised source "${model.nodes[v]}"`);
    });
  });
  const c = selectionCost(model, sel);
  if (c > model.budget + budgetSlack(model.budget)) fail(`cost ${c} exceeds budget ${model.budget}`);
}

// ──────────────────────────────────────────── solvers ────────────────────────────────────────────

/** Most supervised sets the exhaustive solver will evaluate before giving up (a few seconds of work). */
export const EXHAUSTIVE_MAX_SETS = 5_000_000;

/**
 * Exact optimum by enumerating every supervised set within the budget (node costs are non-negative, so the
 * enumeration prunes as soon as a partial set is over budget) and serving each task optimally given the set.
 */
export function solveExhaustive(model: PolicyModel): { status: PolicyStatus; selection: Selection | null } {
  const n = model.nodes.length;
  let sets = 0;
  const limit = model.budget + budgetSlack(model.budget);
  const supervised = new Array<boolean>(n).fill(false);
  let best: Selection | null = null;
  let bestZ = -Infinity;
  const visit = (i: number, partialCost: number) => {
    if (partialCost > limit) return;
    if (i === n) {
      if (++sets > EXHAUSTIVE_MAX_SETS) {
        throw new Error(`exhaustive enumeration gave up after ${EXHAUSTIVE_MAX_SETS} supervised sets (${n} tasks); use the HiGHS solver`);
      }
      const sel = bestAssignment(model, supervised);
      if (!sel || selectionCost(model, sel) > limit) return;
      const z = selectionObjective(model, sel);
      if (z > bestZ) {
        bestZ = z;
        best = { supervised: [...sel.supervised], edgeOf: sel.edgeOf };
      }
      return;
    }
    supervised[i] = false;
    visit(i + 1, partialCost);
    supervised[i] = true;
    visit(i + 1, partialCost + model.nodeCost[i]);
    supervised[i] = false;
  };
  visit(0, 0);
  return best ? { status: 'optimal', selection: best } : { status: 'infeasible', selection: null };
}

/**
 * Edges no optimal policy needs: e is dominated when another edge f into the same target uses a subset of e's
 * sources and is worth at least as much (ties: the lower index survives). Whenever e's sources are supervised so
 * are f's, and both pay the same transfer cost (it depends on the target only), so swapping e for f never
 * lowers the objective. Higher-order transfers are often worth less than one of their sub-transfers: on the
 * Taskonomy 16k file at order ≤ 5 this removes 386 of 1372 edges.
 */
export function dominatedEdges(model: PolicyModel): boolean[] {
  const dominated = new Array<boolean>(model.edges.length).fill(false);
  for (const list of model.edgesInto) {
    for (const e of list) {
      const own = new Set(model.edgeSources[e]);
      const ce = model.edges[e].coef;
      dominated[e] = list.some((f) => {
        if (f === e || model.edgeSources[f].length > own.size) return false;
        const cf = model.edges[f].coef;
        return (cf > ce || (cf === ce && f < e)) && model.edgeSources[f].every((v) => own.has(v));
      });
    }
  }
  return dominated;
}

/**
 * The model as CPLEX LP text, without dominated edges (see dominatedEdges). Constraint I is written per source
 * (x_e ≤ x_v for every source v of e) rather than as the paper's aggregated row |S(e)| x_e ≤ Σ x_v: the integer
 * solutions are the same and the LP relaxation is tighter. Columns: e<i> edges, n<j> nodes.
 */
export function policyToLp(model: PolicyModel): string {
  const skip = dominatedEdges(model);
  const lines: string[] = ['\\ taskmap supervision policy (Taskonomy BIP, web-API formulation)', 'Maximize'];
  const obj: string[] = [];
  model.edges.forEach((e, i) => {
    if (!skip[i]) obj.push(term(e.coef, `e${i}`));
  });
  model.nodeCoef.forEach((c, j) => obj.push(term(c, `n${j}`)));
  lines.push(...wrap(' obj:', obj.filter((t) => t !== '')));
  lines.push('Subject To');
  model.edgeSources.forEach((srcs, i) => {
    if (!skip[i]) srcs.forEach((v, k) => lines.push(` s${i}_${k}: e${i} - n${v} <= 0`));
  });
  model.served.forEach((_, s) => {
    const terms = model.edgesInto[s].filter((e) => !skip[e]).map((e) => `+ e${e}`);
    const node = model.servedNode[s];
    if (node >= 0) terms.unshift(`+ n${node}`);
    lines.push(...wrap(` one${s}:`, terms, '= 1'));
  });
  const budget: string[] = [];
  model.nodeCost.forEach((c, j) => budget.push(term(c, `n${j}`)));
  model.served.forEach((_, s) => {
    for (const e of model.edgesInto[s]) if (!skip[e]) budget.push(term(model.servedTransferCost[s], `e${e}`));
  });
  lines.push(...wrap(' budget:', budget.filter((t) => t !== ''), `<= ${num(model.budget)}`));
  lines.push('Binary');
  const cols = [...model.edges.flatMap((_, i) => (skip[i] ? [] : [`e${i}`])), ...model.nodes.map((_, j) => `n${j}`)];
  for (let i = 0; i < cols.length; i += 20) lines.push(` ${cols.slice(i, i + 20).join(' ')}`);
  lines.push('End', '');
  return lines.join('\n');
}

function term(c: number, v: string): string {
  if (c === 0) return '';
  return `${c < 0 ? '-' : '+'} ${num(Math.abs(c))} ${v}`;
}

function num(x: number): string {
  return String(x);
}

/** Split long rows over several lines (LP readers limit line length; continuation lines are allowed). */
function wrap(head: string, terms: string[], tail = ''): string[] {
  const out: string[] = [];
  let line = head;
  if (terms.length === 0) terms = ['0 n0'];
  for (const t of terms) {
    if (line.length + t.length > 200) {
      out.push(line);
      line = '   ';
    }
    line += ` ${t}`;
  }
  out.push(tail ? `${line} ${tail}` : line);
  return out;
}

type HighsSolver = Awaited<ReturnType<typeof loadHighs>>;
let highsPromise: Promise<HighsSolver> | undefined;

/** The HiGHS WASM module, loaded once per process. */
export function getHighs(): Promise<HighsSolver> {
  highsPromise ??= loadHighs();
  return highsPromise;
}

async function solveWithHighs(
  model: PolicyModel,
  timeLimit?: number,
): Promise<{ status: PolicyStatus; selection: Selection | null; solver: string }> {
  const highs = await getHighs();
  const lp = policyToLp(model);
  // Gaps at 0: the default relative gap (1e-4) would accept a policy up to 0.01 % below the optimum.
  const options: Record<string, number | boolean> = {
    output_flag: false,
    mip_rel_gap: 0,
    mip_abs_gap: 0,
    mip_feasibility_tolerance: 1e-9,
    primal_feasibility_tolerance: 1e-9,
  };
  if (timeLimit !== undefined) options.time_limit = timeLimit;
  let sol;
  try {
    sol = highs.solve(lp, options as Parameters<HighsSolver['solve']>[1]);
  } catch (err) {
    highsPromise = undefined; // a failed WASM call can leave the module unusable; reload next time
    throw new Error(`HiGHS failed: ${(err as Error).message}`);
  }
  const solver = `highs ${(highs as unknown as { version?: { string?: string } }).version?.string ?? ''}`.trim();
  const status = sol.Status as string;
  if (status === 'Infeasible' || status === 'Primal infeasible or unbounded') return { status: 'infeasible', selection: null, solver };
  if (status !== 'Optimal' && status !== 'Time limit reached') throw new Error(`HiGHS stopped with status "${status}"`);
  const cols = sol.Columns as Record<string, { Primal?: number }>;
  const primal = (name: string) => cols[name]?.Primal;
  const limited = status === 'Time limit reached';
  // Only the supervised set is read back; bestAssignment re-derives the transfers exactly (HiGHS picks among
  // equal-valued edges within its tolerances). Without an incumbent the columns carry no usable values.
  const supervised = model.nodes.map((_, j) => (primal(`n${j}`) ?? 0) > 0.5);
  const selection = bestAssignment(model, supervised);
  if (!selection || selectionCost(model, selection) > model.budget + budgetSlack(model.budget)) {
    if (limited) return { status: 'time-limited', selection: null, solver };
    throw new Error('internal error: HiGHS reported an optimal policy that is not feasible');
  }
  // The one-shot API does not expose the MIP dual bound, so a time-limited policy comes without a gap.
  return { status: limited ? 'time-limited' : 'optimal', selection, solver };
}

// ──────────────────────────────────────────── results ────────────────────────────────────────────

function describe(model: PolicyModel, run: { status: PolicyStatus; selection: Selection | null; solver: string }, timeMs: number): PolicyResult {
  const base = {
    status: run.status,
    solver: run.solver,
    objectiveKind: model.objective,
    budget: model.budget,
    maxOrder: model.maxOrder,
    timeMs,
  };
  const sel = run.selection;
  if (!sel) {
    return {
      ...base,
      objective: null,
      cost: null,
      supervised: [],
      transfers: [],
      targets: [],
      meanGain: null,
      meanQuality: null,
      message:
        run.status === 'infeasible'
          ? 'no policy fits the budget: every target must be supervised or take a transfer whose sources are all supervised'
          : 'the time limit was reached before any feasible policy was found',
    };
  }
  verifySelection(model, sel);
  const lookup = (index: Map<string, { value: number }> | undefined, sources: string[], target: string) =>
    index?.get(canonicalKey(sources, target))?.value;
  const targets: PolicyTarget[] = model.served.map((t, s) => {
    const e = sel.edgeOf[s];
    const importance = model.servedImportance[s];
    if (e < 0) {
      const sup = model.supervision[s]!;
      const out: PolicyTarget = { target: t, via: 'supervision', sources: ['self'], key: sup.key, affinity: sup.affinity, value: sup.value, importance };
      const gain = lookup(model.winsVsPixels, ['self'], t);
      if (gain !== undefined) out.gain = gain;
      if (model.winsVsTask) out.quality = 0.5;
      return out;
    }
    const edge = model.edges[e];
    const out: PolicyTarget = { target: t, via: 'transfer', sources: edge.sources, key: edge.key, affinity: edge.affinity, value: edge.value, importance };
    const gain = lookup(model.winsVsPixels, edge.sources, t);
    const quality = lookup(model.winsVsTask, edge.sources, t);
    if (gain !== undefined) out.gain = gain;
    if (quality !== undefined) out.quality = quality;
    return out;
  });
  const mean = (field: 'gain' | 'quality', index: unknown) => {
    if (!index || targets.some((x) => x[field] === undefined)) return null;
    return targets.reduce((a, x) => a + x[field]!, 0) / targets.length;
  };
  const result: PolicyResult = {
    ...base,
    objective: selectionObjective(model, sel),
    cost: selectionCost(model, sel),
    supervised: model.nodes.filter((_, j) => sel.supervised[j]),
    transfers: targets
      .filter((x) => x.via === 'transfer')
      .map(({ target, sources, key, affinity, value, gain, quality }) => {
        const tr: PolicyResult['transfers'][number] = { target, sources, key, affinity, value };
        if (gain !== undefined) tr.gain = gain;
        if (quality !== undefined) tr.quality = quality;
        return tr;
      }),
    targets,
    meanGain: mean('gain', model.winsVsPixels),
    meanQuality: mean('quality', model.winsVsTask),
  };
  const notes: string[] = [];
  if (run.status === 'time-limited') notes.push('the time limit was reached: this policy is feasible but not proven optimal');
  const missing = (field: 'gain' | 'quality') => targets.filter((x) => x[field] === undefined).map((x) => x.key).join(', ');
  if (model.winsVsPixels && result.meanGain === null) notes.push(`no Gain for ${missing('gain')}, so no mean Gain`);
  if (model.winsVsTask && result.meanQuality === null) notes.push(`no Quality for ${missing('quality')}, so no mean Quality`);
  if (notes.length > 0) result.message = notes.join('; ');
  return result;
}

/** Solve a supervision-policy problem (HiGHS by default). The policy returned has been verified feasible. */
export async function solvePolicy(problem: PolicyProblem | PolicyModel, opts: SolveOptions = {}): Promise<PolicyResult> {
  const model = 'edges' in problem ? problem : buildPolicyModel(problem);
  const t0 = performance.now();
  const run =
    opts.solver === 'exhaustive' ? { ...solveExhaustive(model), solver: 'exhaustive' } : await solveWithHighs(model, opts.timeLimit);
  return describe(model, run, performance.now() - t0);
}

export interface SweepRow {
  budget: number;
  status: PolicyStatus;
  objective: number | null;
  meanGain: number | null;
  meanQuality: number | null;
  supervised: string[];
}

/**
 * Solve the same problem for each budget (default 1, 2, …, number of supervisable tasks): the curve of
 * objective, mean Gain and mean Quality against budget that a user reads to pick a budget.
 */
export async function budgetSweep(problem: PolicyProblem, budgets?: number[], opts: SolveOptions = {}): Promise<{ rows: SweepRow[]; results: PolicyResult[] }> {
  // The problem's own budget is irrelevant here (and may be a placeholder), so size the default list without it.
  const list = budgets ?? Array.from({ length: buildPolicyModel({ ...problem, budget: Number.MAX_VALUE }).nodes.length }, (_, i) => i + 1);
  const results: PolicyResult[] = [];
  for (const budget of list) results.push(await solvePolicy({ ...problem, budget }, opts));
  const rows = results.map((r) => ({
    budget: r.budget,
    status: r.status,
    objective: r.objective,
    meanGain: r.meanGain,
    meanQuality: r.meanQuality,
    supervised: r.supervised,
  }));
  return { rows, results };
}
