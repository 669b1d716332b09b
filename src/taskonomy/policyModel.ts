/**
 * The supervision-policy problem and its solver-ready model (docs/taskonomy.md#supervision-policy): the problem
 * as a user states it, its validation and resolution into indices (buildPolicyModel), and the selections the
 * solvers produce with the checks every solver's answer goes through. The solvers are in ./policySolvers.ts, the
 * policy returned in ./policyResult.ts; ./policy.ts is the module that re-exports all three.
 */
import { LimitError } from '../io/limits.js';
import { canonicalIndex, canonicalKey, parseTransferKey, PSEUDO_SOURCES, resultTargets, type ResultDict, type TransferKey } from './results.js';

export type PolicyObjective = 'affinity' | 'sqrtAffinity' | 'winsVsTask' | 'winsVsPixels';
export const POLICY_OBJECTIVES: readonly PolicyObjective[] = ['affinity', 'sqrtAffinity', 'winsVsTask', 'winsVsPixels'];

/**
 * Objective names a user may give (CLI, server): the ids above and the paper's names, `quality` (= winsVsTask) and
 * `gain` (= winsVsPixels). parseObjective also accepts any case and kebab-case forms of the ids.
 */
export const OBJECTIVE_NAMES = ['affinity', 'sqrtAffinity', 'winsVsTask', 'winsVsPixels', 'quality', 'gain'] as const;
export type ObjectiveName = (typeof OBJECTIVE_NAMES)[number];

/** Names accepted for the objective (lower-cased): the ids above, kebab-case forms, and the paper's gain / quality. */
const OBJECTIVE_ALIASES: Record<string, PolicyObjective> = {
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
  const o = OBJECTIVE_ALIASES[name.toLowerCase()];
  if (!o) throw new Error(`unknown objective "${name}" (use affinity, sqrtAffinity, winsVsTask|quality or winsVsPixels|gain)`);
  return o;
}

/** Pseudo-sources that are never supervisable tasks (docs/taskonomy.md#result-dicts). */
const NEVER_TASKS = new Set(['self', 'pixels']);

/**
 * Pseudo-tasks left out of the default roles (neither a default target nor a default source-only task): every
 * pseudo-source (PSEUDO_SOURCES: `self`, `random`, `pixels`). `self` and `pixels` can never be tasks; `random` — a
 * randomly initialised network, a baseline — is one only when named in `sourceOnly` / `targets` or with
 * `includePseudoSources` (before, and in Taskonomy's web API, it was a default source-only task, and a budget
 * sweep would "label" it).
 */
export const DEFAULT_EXCLUDED_TASKS: readonly string[] = PSEUDO_SOURCES;

export interface PolicyProblem {
  /** Affinities {"src__target": p}: their keys define the candidate transfers. */
  affinities: ResultDict;
  /** Where the affinities came from (a file name), for messages. */
  name?: string;
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
   * the affinities except the pseudo-tasks (DEFAULT_EXCLUDED_TASKS: `random` is left out unless
   * `includePseudoSources`).
   */
  sourceOnly?: string[];
  /**
   * Keep the pseudo-task `random` in the default source-only tasks (and targets), as Taskonomy's web API and
   * earlier versions did; default false. No effect where `sourceOnly` / `targets` are given.
   */
  includePseudoSources?: boolean;
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

// ───────────────────────────────────────────── model ─────────────────────────────────────────────

/** Step 1: the scalar options, checked and defaulted. */
function checkOptions(problem: PolicyProblem) {
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
  return { objective, budget, maxOrder, floor, bonus };
}

/** The affinities' transfers: indexed by source set, parsed, their targets and every task they name. */
interface AffinityTasks {
  affinityIndex: Map<string, { key: string; value: number }>;
  keys: TransferKey[];
  fileTargets: Set<string>;
  known: Set<string>;
  /** Throws when a name is not a task of the affinities; `what` starts the error. */
  checkKnown: (names: string[], what: string) => void;
}

/** Step 2: index the affinities and collect the tasks they name. */
/**
 * Size limits of a policy problem. Taskonomy has 26 tasks and ~1,700 transfers up to order 24; the binary program
 * grows with tasks × candidate transfers, and a dict of tens of thousands of tasks keeps the model builder and
 * HiGHS busy for minutes, so such a problem is refused before anything is built. Library callers may raise them.
 */
export const POLICY_LIMITS = { maxTasks: 1000, maxTransfers: 200_000 };

function affinityTasks(affinities: ResultDict, name: string): AffinityTasks {
  const transfers = Object.keys(affinities).length;
  if (transfers > POLICY_LIMITS.maxTransfers) {
    throw new LimitError(
      `${name}: ${transfers.toLocaleString('en-US')} transfers, over the policy limit of ${POLICY_LIMITS.maxTransfers.toLocaleString('en-US')} (POLICY_LIMITS.maxTransfers in the library)`,
    );
  }
  const affinityIndex = canonicalIndex(affinities, 'affinities');
  const keys = Object.keys(affinities).map(parseTransferKey);
  const fileTargets = new Set(resultTargets(affinities));
  const known = new Set<string>();
  for (const k of keys) for (const t of [...k.sources, k.target]) if (!NEVER_TASKS.has(t)) known.add(t);
  if (known.size > POLICY_LIMITS.maxTasks) {
    throw new LimitError(
      `${name}: ${known.size.toLocaleString('en-US')} tasks, over the policy limit of ${POLICY_LIMITS.maxTasks.toLocaleString('en-US')} ` +
        `(the supervision program grows with tasks × transfers; raise POLICY_LIMITS.maxTasks in the library)`,
    );
  }
  const knownList = () => [...known].sort().join(', ');
  const checkKnown = (names: string[], what: string) => {
    for (const t of names) if (!known.has(t)) throw new Error(`${what}: unknown task "${t}" (tasks in the affinities: ${knownList()})`);
  };
  return { affinityIndex, keys, fileTargets, known, checkKnown };
}

/** Step 3: each task's role — target, source-only or target-only — with the defaults and the checks between roles. */
function resolveRoles(problem: PolicyProblem, tasks: AffinityTasks): { targets: string[]; sourceOnly: string[]; targetOnly: string[] } {
  const { fileTargets, known, checkKnown } = tasks;
  const pseudo = (t: string) => !problem.includePseudoSources && DEFAULT_EXCLUDED_TASKS.includes(t);
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
    targets = [...fileTargets].filter((t) => !exclude.has(t) && !NEVER_TASKS.has(t) && !pseudo(t)).sort();
  }
  for (const t of targetOnly) {
    if (!fileTargets.has(t)) throw new Error(`target-only task "${t}" has no candidate transfer: no key ends in "__${t}"`);
  }
  const sourceOnly = sourceOnlyGiven ?? [...known].filter((t) => !targets.includes(t) && !targetOnly.includes(t) && !pseudo(t)).sort();
  for (const [a, an, b, bn] of [
    [targets, 'a target', sourceOnly, 'source-only'],
    [targets, 'a target', targetOnly, 'target-only'],
    [sourceOnly, 'source-only', targetOnly, 'target-only'],
  ] as const) {
    const both = a.find((t) => b.includes(t));
    if (both !== undefined) throw new Error(`task "${both}" is both ${an} and ${bn}`);
  }
  if (targets.length + targetOnly.length === 0) throw new Error('no targets to solve');
  return { targets, sourceOnly, targetOnly };
}

/** Step 4: labelling costs, transfer costs and importances, checked against the tasks and the served set. */
function checkWeights(problem: PolicyProblem, tasks: AffinityTasks, served: string[]) {
  const cost = problem.cost ?? {};
  const transferCost = problem.transferCost ?? {};
  const importance = problem.importance ?? {};
  tasks.checkKnown(Object.keys(cost), 'cost');
  tasks.checkKnown(Object.keys(transferCost), 'transfer cost');
  tasks.checkKnown(Object.keys(importance), 'importance');
  for (const t of Object.keys(importance)) {
    if (!served.includes(t)) throw new Error(`importance is given for "${t}", which is not a target`);
  }
  for (const [what, rec] of [
    ['cost', cost],
    ['transfer cost', transferCost],
    ['importance', importance],
  ] as const) {
    for (const [t, v] of Object.entries(rec)) {
      if (!Number.isFinite(v) || v < 0) throw new Error(`${what} of "${t}" must be a non-negative number, got ${v}`);
    }
  }
  return { cost, transferCost, importance };
}

/**
 * Step 5: the objective value of a transfer, from the dict the objective names, looked up as a source set,
 * transformed (sqrtAffinity) and clipped to [floor, 1].
 */
function objectiveValues(
  problem: PolicyProblem,
  objective: PolicyObjective,
  floor: number,
  affinityIndex: AffinityTasks['affinityIndex'],
): (canonical: string, key: string) => number {
  const valueDict = objective === 'winsVsTask' ? problem.winsVsTask : objective === 'winsVsPixels' ? problem.winsVsPixels : problem.affinities;
  if (!valueDict) {
    const opt = objective === 'winsVsTask' ? 'winsVsTask (wins_vs_task)' : 'winsVsPixels (wins_vs_pixels)';
    throw new Error(`objective ${objective} needs the ${opt} win-rate dict`);
  }
  const valueIndex = valueDict === problem.affinities ? affinityIndex : canonicalIndex(valueDict, objective);
  const transform = (raw: number) => {
    const v = objective === 'sqrtAffinity' ? Math.sqrt(Math.max(0, raw)) : raw;
    return Math.min(1, Math.max(floor, v));
  };
  return (canonical: string, key: string): number => {
    const e = valueIndex.get(canonical);
    if (!e) throw new Error(`objective ${objective}: no value for transfer "${key}" (the win-rate dict does not cover the affinities)`);
    return transform(e.value);
  };
}

/** Step 7: the candidate transfers — every key into a served task within the max order whose sources are all nodes. */
function candidateEdges(
  problem: PolicyProblem,
  keys: TransferKey[],
  servedCount: number,
  servedIndex: Map<string, number>,
  nodeIndex: Map<string, number>,
  maxOrder: number,
  valueOf: (canonical: string, key: string) => number,
  imp: (t: string) => number,
): Pick<PolicyModel, 'edges' | 'edgesInto' | 'edgeSources'> {
  const edges: PolicyEdge[] = [];
  const edgesInto: number[][] = Array.from({ length: servedCount }, () => []);
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
  return { edges, edgesInto, edgeSources };
}

/** Step 8: every served task can be served, and the budget buys at least the cheapest label. */
function checkServable(m: Pick<PolicyModel, 'served' | 'servedNode' | 'supervision' | 'edgesInto' | 'nodes' | 'nodeCost' | 'budget' | 'maxOrder'>): void {
  m.served.forEach((t, s) => {
    if (m.servedNode[s] >= 0 && !m.supervision[s]) {
      throw new Error(`target "${t}" has no "self__${t}" or "${t}__${t}" entry to value its full supervision`);
    }
    if (m.servedNode[s] < 0 && m.edgesInto[s].length === 0) {
      throw new Error(`target-only task "${t}" has no candidate: no transfer into it from the allowed sources with at most ${m.maxOrder} sources`);
    }
  });
  if (m.nodes.length === 0) throw new Error('no task can be labelled: give targets or source-only tasks, not only target-only tasks');
  const cheapest = Math.min(...m.nodeCost);
  if (m.budget < cheapest - 1e-12) {
    const who = m.nodes[m.nodeCost.indexOf(cheapest)];
    throw new Error(`budget ${m.budget} is below the cheapest task to label ("${who}" costs ${cheapest}): no target can be served`);
  }
}

/** Validate a problem and resolve it into solver-ready form. Every bad input is a clear error naming it. */
export function buildPolicyModel(problem: PolicyProblem): PolicyModel {
  // 1–2. Options; the affinities' transfers and tasks.
  const { objective, budget, maxOrder, floor, bonus } = checkOptions(problem);
  const tasks = affinityTasks(problem.affinities, problem.name ?? 'affinities');
  // 3–4. Roles, then costs and importances.
  const { targets, sourceOnly, targetOnly } = resolveRoles(problem, tasks);
  const served = [...targets, ...targetOnly];
  const { cost, transferCost, importance } = checkWeights(problem, tasks, served);
  // 5. Objective values.
  const valueOf = objectiveValues(problem, objective, floor, tasks.affinityIndex);

  // 6. Nodes (supervisable tasks) and the value of supervising each target.
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
      const a = tasks.affinityIndex.get(c);
      if (a) return { key: a.key, affinity: a.value, value: valueOf(c, a.key) };
    }
    return null;
  });
  const nodeCoef = nodes.map((t, i) => {
    if (i >= targets.length) return bonus;
    const sup = supervision[i];
    return sup ? imp(t) * sup.value : 0;
  });

  // 7–8. Candidate transfers, then whether every task can be served within the budget.
  const { edges, edgesInto, edgeSources } = candidateEdges(problem, tasks.keys, served.length, servedIndex, nodeIndex, maxOrder, valueOf, imp);
  checkServable({ served, servedNode, supervision, edgesInto, nodes, nodeCost, budget, maxOrder });

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
export interface Selection {
  supervised: boolean[];
  edgeOf: number[];
}

export const budgetSlack = (budget: number) => 1e-9 * Math.max(1, Math.abs(budget));

/**
 * For a fixed supervised set the rest of the problem decouples: a supervised target is served by its own
 * network (Constraint II with its node bit set), every other task takes its best edge whose sources are all
 * supervised, and the transfer costs are fixed (one per non-supervised task). Returns null when some task has
 * no usable edge. Both solvers use this, so their policies differ only in the supervised set.
 */
export function bestAssignment(model: PolicyModel, supervised: boolean[]): Selection | null {
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

export function selectionCost(model: PolicyModel, sel: Selection): number {
  let c = 0;
  sel.supervised.forEach((on, i) => {
    if (on) c += model.nodeCost[i];
  });
  sel.edgeOf.forEach((e, s) => {
    if (e >= 0) c += model.servedTransferCost[s];
  });
  return c;
}

export function selectionObjective(model: PolicyModel, sel: Selection): number {
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
export function verifySelection(model: PolicyModel, sel: Selection): void {
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
