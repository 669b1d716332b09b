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
 * This module: the solvers and the entry points (solvePolicy, budgetSweep); the problem and model are in
 * ./policyModel.ts, the policy returned in ./policyResult.ts.
 *
 * Two solvers: HiGHS (a real MIP solver, via CPLEX LP text) and exhaustive enumeration of the supervised set
 * (exact for small instances; the tests' independent reference). Whatever solver ran, the returned policy is
 * re-checked for feasibility and its objective recomputed here before it is returned.
 */
import highsModule from 'highs';
import {
  bestAssignment,
  budgetSlack,
  buildPolicyModel,
  selectionCost,
  selectionObjective,
  type PolicyModel,
  type PolicyProblem,
  type Selection,
} from './policyModel.js';
import { describePolicy, type PolicyResult, type PolicyStatus, type SolverRun } from './policyResult.js';

// highs' types.d.ts is CommonJS-flavoured, so under NodeNext its default export is not seen as callable
// (DEPENDENCIES.md §7).
const loadHighs = ((highsModule as unknown as { default?: unknown }).default ?? highsModule) as typeof highsModule.default;

/** The solvers a caller may ask for: `auto` picks the faster of the two exact ones for each model (chooseSolver). */
export const POLICY_SOLVERS = ['auto', 'highs', 'exhaustive'] as const;
export type SolverChoice = (typeof POLICY_SOLVERS)[number];

export interface SolveOptions {
  /** Default `highs`; `auto` picks per model (chooseSolver). */
  solver?: SolverChoice;
  /** Seconds; HiGHS only. On expiry the best policy found so far is returned with status "time-limited". */
  timeLimit?: number;
}

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
  lines.push(
    ...wrap(
      ' obj:',
      obj.filter((t) => t !== ''),
    ),
  );
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
  lines.push(
    ...wrap(
      ' budget:',
      budget.filter((t) => t !== ''),
      `<= ${num(model.budget)}`,
    ),
  );
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

async function solveWithHighs(model: PolicyModel, timeLimit?: number): Promise<SolverRun> {
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
    throw new Error(`HiGHS failed: ${(err as Error).message}`, { cause: err });
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

// ───────────────────────────────────────── solver choice ─────────────────────────────────────────

/**
 * Work of the exhaustive solver, in (supervised sets) × (edges scanned per set): an upper bound on the sets
 * within budget is every subset of at most ⌊budget / cheapest positive cost⌋ costly tasks, times every subset of
 * the free ones.
 */
export function enumerationWork(model: PolicyModel): number {
  const positive = model.nodeCost.filter((c) => c > 0);
  const free = model.nodeCost.length - positive.length;
  const cheapest = Math.min(...positive);
  const k = positive.length === 0 ? 0 : Math.min(positive.length, Math.floor((model.budget + 1e-9) / cheapest));
  let sets = 0;
  let choose = 1; // C(n, i)
  for (let i = 0; i <= k; i++) {
    sets += choose;
    choose = (choose * (positive.length - i)) / (i + 1);
  }
  return sets * 2 ** free * Math.max(1, model.edges.length);
}

/**
 * Below this much enumeration work the exact enumeration is faster than HiGHS (measured on the Taskonomy 16k
 * file, 27 tasks, order ≤ 2: budgets ≤ 3 enumerate in 15–60 ms where HiGHS takes 100–1500 ms; at budget 4 the
 * two are even at ~150 ms).
 */
const EXHAUSTIVE_WORK = 2e7;

/**
 * The solver to run: `highs` or `exhaustive` as requested; `auto` (or nothing) picks the faster of the two exact
 * solvers for this model — the policy view re-solves on every slider move, so the small-budget cases, where HiGHS
 * is slowest relative to the problem, matter most.
 */
export function chooseSolver(model: PolicyModel, requested?: SolverChoice): 'highs' | 'exhaustive' {
  if (requested === 'highs' || requested === 'exhaustive') return requested;
  const work = enumerationWork(model);
  return work <= EXHAUSTIVE_WORK && work / Math.max(1, model.edges.length) <= EXHAUSTIVE_MAX_SETS ? 'exhaustive' : 'highs';
}

// ────────────────────────────────────────── entry points ─────────────────────────────────────────

/**
 * Solve a supervision-policy problem (HiGHS by default; `solver: 'auto'` chooses per model). The policy returned
 * has been verified feasible.
 */
export async function solvePolicy(problem: PolicyProblem | PolicyModel, opts: SolveOptions = {}): Promise<PolicyResult> {
  const model = 'edges' in problem ? problem : buildPolicyModel(problem);
  const t0 = performance.now();
  const solver = opts.solver === 'auto' ? chooseSolver(model, 'auto') : opts.solver;
  const run: SolverRun = solver === 'exhaustive' ? { ...solveExhaustive(model), solver: 'exhaustive' } : await solveWithHighs(model, opts.timeLimit);
  return describePolicy(model, run, performance.now() - t0);
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
