import type { Command } from 'commander';
import { writeFileAtomic } from '../../io/atomic.js';
import { readResultDict } from '../../io/resultDict.js';
import { OBJECTIVE_NAMES, parseObjective, POLICY_SOLVERS, solve, sweep, type PolicyProblem, type PolicyResult, type SolverChoice } from '../../ops/policy.js';
import { formatTable } from '../table.js';
import { collect, parseKeyNumbers, parseList, parseNumber, UsageError } from '../util.js';

interface PolicyCliOptions {
  affinities: string;
  budget?: string;
  targets?: string;
  sources?: string;
  includePseudoSources?: boolean;
  targetOnly?: string;
  maxOrder: string;
  cost?: string[];
  transferCost?: string[];
  importance?: string[];
  objective: string;
  winsVsPixels?: string;
  winsVsTask?: string;
  sweep?: boolean;
  budgets?: string;
  solver: string;
  timeLimit?: string;
  valueFloor: string;
  sourceOnlyBonus: string;
  out?: string;
}

/**
 * The CLI keeps `highs` as its default solver, so its outputs (status line, JSON `solver`) stay as they were; `auto`
 * (the default of ops and the server) picks exact enumeration where that is faster (chooseSolver).
 */
const DEFAULT_SOLVER: SolverChoice = 'highs';

export function register(program: Command): void {
  program
    .command('policy')
    .summary('Taskonomy supervision policy: which tasks to label, which to transfer (BIP, HiGHS)')
    .description(
      [
        'Choose which tasks to label fully and, for every target, one incoming',
        'transfer whose sources are all labelled (a labelled target uses its own',
        'fully supervised network, valued by self__t), maximising',
        'Σ importance(target) · value(transfer) within the labelling budget.',
        'Solved exactly as a binary integer program with HiGHS (Taskonomy web-API',
        'formulation), or by exact enumeration (--solver exhaustive; --solver auto',
        'picks whichever is faster for the problem). The status (optimal / infeasible / time-limited) is always',
        'reported, and the policy is checked for feasibility before it is written.',
        '',
        'Affinities and win rates are Taskonomy result dicts {"src__target": value}',
        '(.json, or Taskonomy .pkl read without executing code).',
        `Objectives: ${OBJECTIVE_NAMES.join(' | ')}:`,
        '  affinity (paper), sqrtAffinity (web API: √p),',
        '  quality = winsVsTask (needs --wins-vs-task),',
        '  gain = winsVsPixels (needs --wins-vs-pixels).',
        'Transfer values are clipped to [--value-floor, 1].',
        'With --sweep: solve for budgets 1..n and print objective, mean Gain and',
        'mean Quality per budget.',
        '',
        'Example (Taskonomy files):',
        '  taskmap policy --affinities all_affinities_16k.pkl --budget 3 \\',
        '    --max-order 2 --sources none --objective sqrtAffinity \\',
        '    --targets rgb2sfnorm,reshade,curvature,keypoint3d,edge3d,rgb2depth \\',
        '    --out policy.json',
      ].join('\n'),
    )
    .requiredOption('-a, --affinities <file>', 'affinities result dict (.json or .pkl); its keys are the candidate transfers')
    .option('-b, --budget <B>', 'labelling budget: total supervision cost (plus transfer costs) allowed (required without --sweep)')
    .option('--targets <a,b,...>', 'tasks to solve, by supervision or transfer (default: every target in the affinities)')
    .option(
      '--sources <a,b,...|none>',
      'source-only tasks: may be labelled and used as sources, never solved (default: every other task in the file except the pseudo-task random; "none" for none)',
    )
    .option('--include-pseudo-sources', 'keep the pseudo-task random among the default source-only tasks (the web API and earlier versions did)')
    .option('--target-only <a,b,...>', 'tasks that must be solved by transfer and are never labelled')
    .option('-k, --max-order <k>', 'largest number of sources of one transfer', '5')
    .option('--cost <task=c>', 'labelling cost of a task (repeatable; default 1)', collect)
    .option('--transfer-cost <task=c>', 'cost of training the transfer into a target (repeatable; default 0)', collect)
    .option('--importance <task=r>', 'relative importance of a target (repeatable; default 1)', collect)
    .option('--objective <name>', OBJECTIVE_NAMES.join(' | '), 'affinity')
    .option('--wins-vs-pixels <file>', 'wins_vs_pixels dict: Gain per target (and the gain objective)')
    .option('--wins-vs-task <file>', 'wins_vs_task dict: Quality per target (and the quality objective)')
    .option('--sweep', 'solve for every budget in --budgets (default 1..number of labellable tasks)')
    .option('--budgets <b1,b2,...>', 'budgets for --sweep')
    .option(
      '--solver <name>',
      `${POLICY_SOLVERS.join(' | ')}: highs = the BIP; exhaustive = enumeration (small problems only, a cross-check); auto = the faster of the two for the problem`,
      DEFAULT_SOLVER,
    )
    .option('--time-limit <s>', 'HiGHS time limit in seconds (the best policy so far is returned as time-limited)')
    .option('--value-floor <x>', 'lower clip of transfer values (web API: 1e-5; 0 disables)', '1e-5')
    .option('--source-only-bonus <x>', 'objective bonus per labelled source-only task (web API: 1e-5)', '0')
    .option('-o, --out <file.json>', 'write the policy (or the sweep) as JSON here')
    .action(async (o: PolicyCliOptions) => {
      if (!(POLICY_SOLVERS as readonly string[]).includes(o.solver))
        throw new UsageError(`--solver must be one of ${POLICY_SOLVERS.join(', ')}, got "${o.solver}"`);
      if (!o.sweep && o.budget === undefined) throw new UsageError('--budget is required (or use --sweep)');
      let objective;
      try {
        objective = parseObjective(o.objective);
      } catch (e) {
        throw new UsageError(`--objective: ${(e as Error).message}`);
      }
      const sources = parseList(o.sources, '--sources');
      const problem: PolicyProblem = {
        affinities: await readResultDict(o.affinities),
        name: o.affinities,
        objective,
        budget: o.budget === undefined ? 0 : parseNumber(o.budget, '--budget', { min: 0 }),
        targets: parseList(o.targets, '--targets'),
        sourceOnly: sources && sources.length === 1 && sources[0] === 'none' ? [] : sources,
        includePseudoSources: Boolean(o.includePseudoSources),
        targetOnly: parseList(o.targetOnly),
        maxOrder: parseNumber(o.maxOrder, '--max-order', { integer: true, min: 1 }),
        cost: parseKeyNumbers(o.cost, '--cost'),
        transferCost: parseKeyNumbers(o.transferCost, '--transfer-cost'),
        importance: parseKeyNumbers(o.importance, '--importance'),
        valueFloor: parseNumber(o.valueFloor, '--value-floor', { min: 0 }),
        sourceOnlyBonus: parseNumber(o.sourceOnlyBonus, '--source-only-bonus'),
      };
      if (o.winsVsPixels) problem.winsVsPixels = await readResultDict(o.winsVsPixels);
      if (o.winsVsTask) problem.winsVsTask = await readResultDict(o.winsVsTask);
      const solveOpts = {
        solver: o.solver as SolverChoice,
        timeLimit: o.timeLimit === undefined ? undefined : parseNumber(o.timeLimit, '--time-limit', { min: 0 }),
      };
      if (o.sweep) {
        const budgets = o.budgets === undefined ? undefined : parseList(o.budgets)!.map((b) => parseNumber(b, '--budgets', { min: 0 }));
        const { sweep: rows, policies: results } = await sweep(problem, budgets, solveOpts);
        const fmt = (x: number | null) => (x === null ? '–' : x.toFixed(4));
        const table = rows.map((r) => [String(r.budget), r.status, fmt(r.objective), fmt(r.meanGain), fmt(r.meanQuality), r.supervised.join(' ')]);
        process.stdout.write(`${formatTable(['budget', 'status', 'objective', 'mean gain', 'mean quality', 'supervised'], table)}\n`);
        if (o.out) await writeFileAtomic(o.out, `${JSON.stringify({ sweep: rows, policies: results }, null, 2)}\n`);
        return;
      }
      const result = await solve(problem, solveOpts);
      process.stdout.write(summary(result));
      if (o.out) await writeFileAtomic(o.out, `${JSON.stringify(result, null, 2)}\n`);
    });
}

function summary(r: PolicyResult): string {
  const lines: string[] = [];
  lines.push(`status: ${r.status} (${r.solver}, ${r.timeMs.toFixed(0)} ms)`);
  if (r.objective === null) {
    lines.push(r.message ?? 'no policy');
    return `${lines.join('\n')}\n`;
  }
  lines.push(`objective (${r.objectiveKind}): ${r.objective.toFixed(6)}   cost ${r.cost} of budget ${r.budget}   max order ${r.maxOrder}`);
  lines.push(`label fully: ${r.supervised.join(', ') || '(none)'}`);
  const fmt = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(3));
  const rows = r.targets.map((t) => [t.target, t.via === 'supervision' ? 'supervised' : t.sources.join(' + '), fmt(t.affinity), fmt(t.gain), fmt(t.quality)]);
  lines.push(formatTable(['target', 'from', 'affinity', 'gain', 'quality'], rows));
  const mean = (x: number | null) => (x === null ? '–' : x.toFixed(4));
  if (r.meanGain !== null || r.meanQuality !== null) lines.push(`mean gain ${mean(r.meanGain)}   mean quality ${mean(r.meanQuality)}`);
  if (r.message) lines.push(`note: ${r.message}`);
  return `${lines.join('\n')}\n`;
}
