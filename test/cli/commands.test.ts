/**
 * The CLI commands as thin adapters over src/ops: `policy --solver` offers the library's solvers (auto included),
 * `evaluate` prints what ops.evaluateFiles returns, and no command module imports another.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateFiles } from '../../src/ops/evaluate.js';
import { OBJECTIVE_NAMES, POLICY_SOLVERS } from '../../src/ops/policy.js';
import { runCli } from '../helpers/cli.js';
import { repoRoot } from '../helpers/sharedData.js';

const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'taskmap-cmd-'));
  temps.push(d);
  return d;
};

/** Three tasks, every first-order transfer: a problem small enough that `auto` enumerates it. */
function tinyAffinities(dir: string): string {
  const file = path.join(dir, 'aff.json');
  const aff = {
    self__a: 0.5,
    self__b: 0.4,
    self__c: 0.6,
    a__b: 0.3,
    b__a: 0.2,
    a__c: 0.35,
    c__a: 0.25,
    b__c: 0.1,
    c__b: 0.15,
    random__a: 0.01,
    random__b: 0.01,
    random__c: 0.01,
  };
  writeFileSync(file, JSON.stringify(aff));
  return file;
}

describe('taskmap policy --solver', () => {
  it('auto picks exhaustive for a tiny problem and gives the same policy as highs', async () => {
    const dir = tempDir();
    const aff = tinyAffinities(dir);
    const policies: Record<string, { solver: string; status: string; objective: number; supervised: string[]; transfers: unknown[] }> = {};
    for (const solver of ['highs', 'auto', 'exhaustive']) {
      const out = path.join(dir, `${solver}.json`);
      const r = await runCli('policy', '--affinities', aff, '--budget', '1', '--sources', 'none', '--solver', solver, '--out', out);
      expect(r.code, r.err).toBe(0);
      policies[solver] = JSON.parse(readFileSync(out, 'utf8'));
      expect(r.out.startsWith(`status: optimal (${policies[solver].solver}, `)).toBe(true);
    }
    expect(policies.highs.solver).toMatch(/^highs\b/);
    expect(policies.auto.solver).toBe('exhaustive');
    for (const p of [policies.auto, policies.exhaustive]) {
      expect(p.status).toBe('optimal');
      expect(p.objective).toBeCloseTo(policies.highs.objective, 9);
      expect([...p.supervised].sort()).toEqual([...policies.highs.supervised].sort());
      expect(p.transfers).toEqual(policies.highs.transfers);
    }
  });

  it('the default stays highs (outputs unchanged)', async () => {
    const dir = tempDir();
    const r = await runCli('policy', '--affinities', tinyAffinities(dir), '--budget', '1', '--sources', 'none');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^status: optimal \(highs[ \d.]*, \d+ ms\)/);
  });

  it('--sweep takes --solver auto', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'sweep.json');
    const r = await runCli('policy', '--affinities', tinyAffinities(dir), '--sweep', '--sources', 'none', '--solver', 'auto', '--out', out);
    expect(r.code, r.err).toBe(0);
    const { sweep, policies } = JSON.parse(readFileSync(out, 'utf8'));
    expect(sweep.map((s: { budget: number }) => s.budget)).toEqual([1, 2, 3]);
    expect(policies.every((p: { solver: string }) => p.solver === 'exhaustive')).toBe(true);
  });

  it('an unknown solver is a usage error naming the library list; help lists solvers and objectives from the library', async () => {
    const dir = tempDir();
    const bad = await runCli('policy', '--affinities', tinyAffinities(dir), '--budget', '1', '--solver', 'gurobi');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain(`--solver must be one of ${POLICY_SOLVERS.join(', ')}, got "gurobi"`);
    const help = await runCli('policy', '--help');
    const text = help.out.replace(/\s+/g, ' ');
    expect(text).toContain(POLICY_SOLVERS.join(' | '));
    expect(text).toContain(OBJECTIVE_NAMES.join(' | '));
  });
});

describe('taskmap evaluate', () => {
  it('prints and writes what ops.evaluateFiles returns', async () => {
    const dir = tempDir();
    const labels = ['a', 'b', 'c', 'd'];
    const predicted = path.join(dir, 'pred.json');
    const truth = path.join(dir, 'truth.json');
    writeFileSync(
      predicted,
      JSON.stringify({
        rows: labels,
        cols: labels,
        matrix: [
          [1, 0.9, 0.2, 0.4],
          [0.9, 1, 0.3, 0.1],
          [0.2, 0.3, 1, 0.7],
          [0.4, 0.1, 0.7, 1],
        ],
      }),
    );
    writeFileSync(
      truth,
      JSON.stringify({
        rows: labels,
        cols: labels,
        matrix: [
          [1, 0.8, 0.1, 0.5],
          [0.7, 1, 0.2, 0.3],
          [0.3, 0.4, 1, 0.6],
          [0.2, 0.1, 0.9, 1],
        ],
      }),
    );
    const out = path.join(dir, 'eval.json');
    const r = await runCli('evaluate', '--predicted', predicted, '--truth', truth, '--include-self', '--out', out);
    expect(r.code, r.err).toBe(0);
    const expected = await evaluateFiles(predicted, truth, { metric: 'spearman', includeSelf: true, aliases: {} });
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(JSON.parse(JSON.stringify({ ...expected, predicted, truth })));
    expect(r.out).toContain(`mean spearman over ${expected.targets.length} targets: ${expected.mean!.toFixed(4)} (self included)`);
  });
});

describe('command modules', () => {
  it('no command imports a sibling command (shared builders live in src/cli/options.ts)', () => {
    const dir = path.join(repoRoot, 'src/cli/commands');
    const bad: string[] = [];
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts') && n !== 'index.ts')) {
      const text = readFileSync(path.join(dir, f), 'utf8');
      for (const m of text.matchAll(/from\s+['"]\.\/([^'"]+)['"]|import\(\s*['"]\.\/([^'"]+)['"]\s*\)/g)) bad.push(`${f} → ./${m[1] ?? m[2]}`);
    }
    expect(bad).toEqual([]);
  });
});
