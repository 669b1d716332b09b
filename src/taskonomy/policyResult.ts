/**
 * The supervision policy a solver returns (./policySolvers.ts), described in task names: what to label, which
 * transfers to train, and the objective, cost, Gain and Quality of the policy.
 */
import { canonicalKey } from './results.js';
import { selectionCost, selectionObjective, verifySelection, type PolicyModel, type PolicyObjective, type Selection } from './policyModel.js';

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

/** What a solver hands back: its status, the selection it found (null when none) and its name. */
export interface SolverRun {
  status: PolicyStatus;
  selection: Selection | null;
  solver: string;
}

/**
 * The policy a solver's selection stands for: the supervised tasks, the transfers to train, how every task is
 * served with its Gain and Quality, and their means. The selection is checked against the model first.
 */
export function describePolicy(model: PolicyModel, run: SolverRun, timeMs: number): PolicyResult {
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
  const lookup = (index: Map<string, { value: number }> | undefined, sources: string[], target: string) => index?.get(canonicalKey(sources, target))?.value;
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
  const missing = (field: 'gain' | 'quality') =>
    targets
      .filter((x) => x[field] === undefined)
      .map((x) => x.key)
      .join(', ');
  if (model.winsVsPixels && result.meanGain === null) notes.push(`no Gain for ${missing('gain')}, so no mean Gain`);
  if (model.winsVsTask && result.meanQuality === null) notes.push(`no Quality for ${missing('quality')}, so no mean Quality`);
  if (notes.length > 0) result.message = notes.join('; ');
  return result;
}
