/**
 * Supervision-policy (BIP) solve times on the published Taskonomy affinities: every target, every other task
 * source-only, order ≤ 2, budgets 1–8, HiGHS; exhaustive enumeration on the same problem as the reference for
 * the budgets where it is still cheap; then the 16k file at orders ≤ 5 and ≤ 24.
 * Run: npx tsx bench/policy.bench.ts [path/to/taskonomy/results/affinities]
 */
import { existsSync } from 'node:fs';
import { readResultDict } from '../src/io/resultDict.js';
import { buildPolicyModel, getHighs, policyToLp, solvePolicy, type PolicyProblem } from '../src/taskonomy/policy.js';

const dir = process.argv[2] ?? '../shared/data/taskonomy/results/affinities';
const REPEATS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function time(problem: PolicyProblem, solver: 'highs' | 'exhaustive'): Promise<{ ms: number; objective: number | null; status: string }> {
  const times: number[] = [];
  let last;
  for (let i = 0; i < (solver === 'highs' ? REPEATS : 1); i++) {
    const t0 = performance.now();
    last = await solvePolicy(problem, { solver });
    times.push(performance.now() - t0);
  }
  return { ms: median(times), objective: last!.objective, status: last!.status };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  await getHighs();
  console.log(`HiGHS WASM load: ${(performance.now() - t0).toFixed(0)} ms (once per process)`);
  for (const file of ['all_affinities', 'all_affinities_16k']) {
    const path = `${dir}/${file}.json`;
    if (!existsSync(path)) {
      console.log(`${path} not found; skipped`);
      continue;
    }
    const affinities = await readResultDict(path);
    const model = buildPolicyModel({ affinities, budget: 1, maxOrder: 2 });
    const lp = policyToLp(model);
    console.log(
      `\n${file}, order ≤ 2: ${model.targets.length} targets + ${model.sourceOnly.length} source-only tasks, ` +
        `${model.edges.length} transfer bits + ${model.nodes.length} task bits, LP ${(lp.length / 1024).toFixed(0)} KiB`,
    );
    console.log('budget  status    objective     HiGHS ms (median of 5)  exhaustive ms  ratio');
    for (let budget = 1; budget <= 8; budget++) {
      const problem: PolicyProblem = { affinities, budget, maxOrder: 2 };
      const h = await time(problem, 'highs');
      const e = budget <= 4 ? await time(problem, 'exhaustive') : undefined;
      if (e && Math.abs((e.objective ?? 0) - (h.objective ?? 0)) > 1e-9) throw new Error(`budget ${budget}: HiGHS and enumeration disagree`);
      console.log(
        `${String(budget).padStart(6)}  ${h.status.padEnd(8)}  ${h.objective!.toFixed(9)}  ${h.ms.toFixed(1).padStart(22)}  ` +
          `${e ? e.ms.toFixed(1).padStart(13) : '            –'}  ${e ? (e.ms / h.ms).toFixed(2).padStart(5) : '    –'}`,
      );
    }
  }
  // Higher orders on the 16k file (HiGHS only: enumeration is the same, the edge count is what grows).
  const path16k = `${dir}/all_affinities_16k.json`;
  if (existsSync(path16k)) {
    const affinities = await readResultDict(path16k);
    for (const maxOrder of [5, 24]) {
      const times: string[] = [];
      for (let budget = 1; budget <= 8; budget++) times.push((await time({ affinities, budget, maxOrder }, 'highs')).ms.toFixed(0));
      const m = buildPolicyModel({ affinities, budget: 1, maxOrder });
      console.log(`\nall_affinities_16k, order ≤ ${maxOrder} (${m.edges.length} transfer bits): HiGHS ms for budgets 1–8: ${times.join(' ')}`);
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
