/**
 * Taskonomy supervision policy: the binary integer program of docs/taskonomy.md#supervision-policy in the
 * formulation of the Taskonomy web API, with the paper's options. Three modules, re-exported here:
 *   ./policyModel.ts    the problem, its validation into a solver-ready model, selections and their checks;
 *   ./policySolvers.ts  HiGHS and exhaustive enumeration, the `auto` choice between them, solvePolicy, budgetSweep;
 *   ./policyResult.ts   the policy returned, in task names, with its objective, cost, Gain and Quality.
 */
export {
  OBJECTIVE_NAMES,
  POLICY_OBJECTIVES,
  buildPolicyModel,
  parseObjective,
  type ObjectiveName,
  type PolicyEdge,
  type PolicyModel,
  type PolicyObjective,
  type PolicyProblem,
  type Selection,
} from './policyModel.js';
export { describePolicy, type PolicyResult, type PolicyStatus, type PolicyTarget, type SolverRun } from './policyResult.js';
export {
  EXHAUSTIVE_MAX_SETS,
  POLICY_SOLVERS,
  budgetSweep,
  chooseSolver,
  dominatedEdges,
  enumerationWork,
  getHighs,
  policyToLp,
  solveExhaustive,
  solvePolicy,
  type SolveOptions,
  type SolverChoice,
  type SweepRow,
} from './policySolvers.js';
