import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ahpAffinities } from '../../src/taskonomy/ahp.js';
import { parseLossCsv, tournamentsFromLosses } from '../../src/taskonomy/winrates.js';
import { sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';
import { lastOutput, runCliCode } from '../helpers/cli.js';

const DATA = `${sharedDataDir}/taskonomy`;
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'taskmap-taskonomy-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const run = runCliCode;
const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

describe('taskmap ahp', () => {
  const csv = ['target,source,image,loss', 't,self,1,1', 't,a,1,2', 't,b,1,3', 't,self,2,2', 't,a,2,1', 't,b,2,3', 't,pixels,1,5', 't,pixels,2,0'].join('\n');

  it('writes the affinities, Gain and Quality dicts and prints the consistency table', async () => {
    writeFileSync(join(dir, 'losses.csv'), csv);
    const out = join(dir, 'aff.json');
    const code = await run(
      'ahp',
      '--losses',
      join(dir, 'losses.csv'),
      '--out',
      out,
      '--gain-out',
      join(dir, 'gain.json'),
      '--quality-out',
      join(dir, 'q.json'),
    );
    expect(code).toBe(0);
    expect(readJson(out)).toEqual(ahpAffinities(tournamentsFromLosses(parseLossCsv(csv))).affinities);
    expect(readJson(join(dir, 'q.json'))).toEqual({ self__t: 0.5, a__t: 0.5, b__t: 0, pixels__t: 0.5 });
    expect(readJson(join(dir, 'gain.json'))).toEqual({ self__t: 0.5, a__t: 0.5, b__t: 0.5, pixels__t: 0.5 });
    expect(lastOutput.out).toMatch(/^t\s+3\s/m);
  });

  it('needs exactly one input', async () => {
    expect(await run('ahp', '--out', join(dir, 'x.json'))).toBe(1);
    expect(lastOutput.err).toMatch(/give exactly one of --wins/);
    expect(existsSync(join(dir, 'x.json'))).toBe(false);
  });
});

describe.skipIf(skipWithoutSharedData)('taskmap policy / candidates / taxonomy on the Taskonomy files', () => {
  const aff16k = `${DATA}/results/affinities/all_affinities_16k.pkl`;
  const targets = 'rgb2sfnorm,reshade,curvature,keypoint3d,edge3d,rgb2depth';

  it('policy: §13.6 budget 3, order 2 from the pickle; JSON and summary', async () => {
    const out = join(dir, 'policy.json');
    const code = await run(
      'policy',
      '--affinities',
      aff16k,
      '--budget',
      '3',
      '--max-order',
      '2',
      '--targets',
      targets,
      '--sources',
      'none',
      '--objective',
      'sqrtAffinity',
      '--wins-vs-task',
      `${DATA}/results/winrates/wins_vs_task_16k.json`,
      '--out',
      out,
    );
    expect(code).toBe(0);
    const p = readJson(out);
    expect(p.status).toBe('optimal');
    expect(Math.abs(p.objective - 1.221566380396)).toBeLessThan(1e-9);
    expect([...p.supervised].sort()).toEqual(['curvature', 'keypoint3d', 'rgb2sfnorm']);
    expect(p.transfers.map((t: { target: string }) => t.target).sort()).toEqual(['edge3d', 'reshade', 'rgb2depth']);
    expect(lastOutput.out).toMatch(/status: optimal/);
    expect(lastOutput.out).toMatch(/mean gain – {3}mean quality 0\.\d{4}/);
  });

  it('policy --sweep prints one row per budget', async () => {
    const code = await run(
      'policy',
      '--affinities',
      aff16k,
      '--sweep',
      '--budgets',
      '1,2,3',
      '--max-order',
      '2',
      '--targets',
      targets,
      '--sources',
      'none',
      '--objective',
      'sqrtAffinity',
    );
    expect(code).toBe(0);
    expect(lastOutput.out).toMatch(/^1\s+optimal\s+0\.9173/m);
    expect(lastOutput.out).toMatch(/^3\s+optimal\s+1\.2216/m);
  });

  it('policy: bad input fails with the item named and writes nothing', async () => {
    const out = join(dir, 'never.json');
    expect(await run('policy', '--affinities', aff16k, '--budget', '2', '--cost', 'unicorn=1', '--out', out)).toBe(1);
    expect(lastOutput.err).toMatch(/cost: unknown task "unicorn"/);
    expect(await run('policy', '--affinities', aff16k, '--budget', '0.5', '--out', out)).toBe(1);
    expect(lastOutput.err).toMatch(/budget 0.5 is below the cheapest task/);
    expect(await run('policy', '--affinities', aff16k, '--budget', '2', '--objective', 'gain', '--out', out)).toBe(1);
    expect(lastOutput.err).toMatch(/needs the winsVsPixels/);
    expect(existsSync(out)).toBe(false);
  });

  it('candidates: the 220 pairs of the top-5 ranking, all measured in all_affinities', async () => {
    const out = join(dir, 'cands.json');
    const code = await run(
      'candidates',
      '--ranking',
      `${DATA}/code/tools/ranked_first_order_transfers.json`,
      '--affinities',
      `${DATA}/results/affinities/all_affinities.json`,
      '--top',
      '5',
      '--max-order',
      '2',
      '--out',
      out,
    );
    expect(code).toBe(0);
    const list = readJson(out) as Array<{ measured: boolean }>;
    expect(list.length).toBe(220);
    expect(list.every((c) => c.measured)).toBe(true);
    expect(lastOutput.out).toMatch(/220 candidates for 22 targets/);
  });

  it('taxonomy: tree JSON, Newick file and flat clusters', async () => {
    const out = join(dir, 'tree.json');
    const nwk = join(dir, 'tree.nwk');
    const code = await run('taxonomy', '--affinities', `${DATA}/results/affinities/all_affinities.json`, '--k', '2', '--newick', nwk, '--out', out);
    expect(code).toBe(0);
    const t = readJson(out);
    expect(t.labels.length).toBe(25);
    expect(t.merges.length).toBe(24);
    expect(t.leafOrder[0]).toBe('denoise');
    // k = 2 separates the outlier denoise from everything else.
    expect(
      Object.entries(t.clusters)
        .filter(([, c]) => c === t.clusters.denoise)
        .map(([k]) => k),
    ).toEqual(['denoise']);
    expect(readFileSync(nwk, 'utf8').trim()).toBe(t.newick);
    expect(t.newick.startsWith('(denoise:')).toBe(true);
  });
});

describe('taskmap taxonomy from a similarity matrix', () => {
  it('clusters 1 − similarity', async () => {
    const file = join(dir, 'sim.json');
    writeFileSync(
      file,
      JSON.stringify({
        rows: ['a', 'b', 'c'],
        cols: ['a', 'b', 'c'],
        matrix: [
          [1, 0.9, 0.1],
          [0.9, 1, 0.2],
          [0.1, 0.2, 1],
        ],
      }),
    );
    const out = join(dir, 't.json');
    expect(await run('taxonomy', '--similarity', file, '--linkage', 'single', '--out', out)).toBe(0);
    const t = readJson(out);
    expect(t.merges.map((m: { a: number; b: number; distance: number }) => [m.a, m.b, +m.distance.toFixed(12)])).toEqual([
      [0, 1, 0.1],
      [2, 3, 0.8],
    ]);
    expect(t.distance).toBe('1 - similarity');
  });
});
