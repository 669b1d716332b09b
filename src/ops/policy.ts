/**
 * Use case: Taskonomy supervision policies — one solve, or a budget sweep with progress between solves. The solver
 * is 'auto' unless the caller names one: the library's chooseSolver picks the faster exact solver per model.
 */
import {
  budgetSweep,
  buildPolicyModel,
  OBJECTIVE_NAMES,
  parseObjective,
  POLICY_OBJECTIVES,
  POLICY_SOLVERS,
  solvePolicy,
  type PolicyObjective,
  type PolicyProblem,
  type PolicyResult,
  type SolverChoice,
  type SweepRow,
} from '../taskonomy/policy.js';

export {
  OBJECTIVE_NAMES,
  parseObjective,
  POLICY_OBJECTIVES,
  POLICY_SOLVERS,
  type PolicyObjective,
  type PolicyProblem,
  type PolicyResult,
  type SolverChoice,
  type SweepRow,
};

export interface PolicyRunOptions {
  /** Default 'auto'. */
  solver?: SolverChoice;
  /** HiGHS time limit, seconds. */
  timeLimit?: number;
}

/** Check a problem (unknown tasks, roles, objective) without solving it; throws the library's message. */
export function checkPolicyProblem(problem: PolicyProblem): { nodes: string[] } {
  const model = buildPolicyModel({ ...problem, budget: Number.MAX_VALUE });
  return { nodes: model.nodes };
}

/** Solve one policy. */
export function solve(problem: PolicyProblem, opts: PolicyRunOptions = {}): Promise<PolicyResult> {
  return solvePolicy(buildPolicyModel(problem), { solver: opts.solver ?? 'auto', timeLimit: opts.timeLimit });
}

/** The budgets a sweep solves by default: 1, 2, …, number of labellable tasks. */
export function defaultBudgets(problem: PolicyProblem): number[] {
  return Array.from({ length: checkPolicyProblem(problem).nodes.length }, (_, i) => i + 1);
}

/**
 * Solve the problem for each budget (default: defaultBudgets). With onBudget, one budget per library call so the
 * caller can report progress between solves; the results are the same.
 */
export async function sweep(
  problem: PolicyProblem,
  budgets: number[] | undefined,
  opts: PolicyRunOptions & { onBudget?: (done: number, total: number, budget: number | undefined) => void } = {},
): Promise<{ sweep: SweepRow[]; policies: PolicyResult[] }> {
  const solveOpts = { solver: opts.solver ?? 'auto', timeLimit: opts.timeLimit };
  if (!opts.onBudget) {
    const { rows, results } = await budgetSweep(problem, budgets, solveOpts);
    return { sweep: rows, policies: results };
  }
  const list = budgets ?? defaultBudgets(problem);
  const rows: SweepRow[] = [];
  const results: PolicyResult[] = [];
  for (let i = 0; i < list.length; i++) {
    opts.onBudget(i, list.length, list[i]);
    const one = await budgetSweep(problem, [list[i]], solveOpts);
    rows.push(...one.rows);
    results.push(...one.results);
  }
  opts.onBudget(list.length, list.length, undefined);
  return { sweep: rows, policies: results };
}
