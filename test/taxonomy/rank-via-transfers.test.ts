/** `taskmap rank --via-transfers`: the sources of measured transfers ranked through the known tasks like the target. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveFeatureSet } from '../../src/features/featureSet.js';
import { writeNpy } from '../../src/io/npy.js';
import { runCli } from '../helpers/cli.js';
import { randomRep } from '../helpers/random.js';

const n = 40;
const a1 = randomRep('a1', n, [6], 11);
const a2 = randomRep('a2', n, [6], 12);
const b1 = randomRep('b1', n, [6], 13);
// b1 shares a little of a1, so it is weakly (positively) like the target; the target is a1 plus noise.
b1.data.forEach((v, i) => (b1.data[i] = v + 0.5 * a1.data[i]));
const noise = randomRep('noise', n, [6], 14);
const target = Float64Array.from(a1.data, (v, i) => v + 0.1 * noise.data[i]);
// Known tasks a1 and b1 (a2 has no measured column). On a1, x (a source without features here) is best; on b1 worst.
const affinities = {
  x__a1: 0.5,
  b1__a1: 0.3,
  a2__a1: 0.2,
  pixels__a1: 0.9,
  a2__b1: 0.4,
  b1__b1: 0.3,
  a1__b1: 0.2,
  x__b1: 0.1,
  pixels__b1: 0.9,
  x__a2__a1: 0.7,
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taskmap-via-'));
  await saveFeatureSet(join(dir, 'set'), { n, members: [a1, a2, b1] });
  await writeFile(join(dir, 'task.npy'), writeNpy({ dtype: 'float64', shape: [n, 6], data: target }));
  await writeFile(join(dir, 'aff.json'), JSON.stringify(affinities));
  await writeFile(join(dir, 'other.json'), JSON.stringify({ p__q: 0.5, r__q: 0.1 }));
  await writeFile(join(dir, 'broken.json'), '{"a1__b1": 0.2,');
  // Two layers of model m-a (y is a1's features, x unrelated) and one of m-b (b1's).
  const layer = (label: string, data: typeof a1.data) => ({ ...a1, label, data });
  await saveFeatureSet(join(dir, 'layers'), { n, members: [layer('m-a/x', a2.data), layer('m-a/y', a1.data), layer('m-b/x', b1.data)] });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('taskmap rank --via-transfers', () => {
  it('weighs each known task by its similarity to the target and ranks every task source of the dict', async () => {
    const out = join(dir, 'r.json');
    const r = await runCli('rank', join(dir, 'set'), '--target', join(dir, 'task.npy'), '--via-transfers', join(dir, 'aff.json'), '--out', out);
    expect(r.code).toBe(0);
    const json = JSON.parse(await readFile(out, 'utf8'));
    const sim = Object.fromEntries((json.ranking as { label: string; score: number }[]).map((e) => [e.label, e.score]));
    // The known tasks are the dict's targets among the members, with the similarity the ranking reports.
    expect(json.via_transfers.affinities).toBe(join(dir, 'aff.json'));
    expect(json.via_transfers.weights).toEqual([
      { task: 'a1', member: 'a1', similarity: sim.a1, used: true },
      { task: 'b1', member: 'b1', similarity: sim.b1, used: true },
    ]);
    expect(sim.a1).toBeGreaterThan(0.9);
    expect(sim.b1).toBeGreaterThan(0);
    // By hand, scaled ranks on a1 (x, b1, a2; no a1__a1): x 1, b1 ½, a2 0; on b1 (a2, b1, a1, x): a2 1, b1 ⅔, a1 ⅓, x 0.
    // a1 is ranked on b1 only; pixels is a baseline and the second-order transfer is not used.
    const w = sim.a1 + sim.b1;
    const expected: Record<string, number> = {
      x: sim.a1 / w,
      b1: (sim.a1 * 0.5 + (sim.b1 * 2) / 3) / w,
      a2: sim.b1 / w,
      a1: 1 / 3,
    };
    const got = json.via_transfers.ranking as { rank: number; source: string; score: number }[];
    expect(got.map((e) => e.source)).toEqual(['x', 'b1', 'a1', 'a2'].sort((p, q) => expected[q] - expected[p]));
    for (const e of got) expect(e.score).toBeCloseTo(expected[e.source], 12);
    expect(got.map((e) => e.rank)).toEqual([1, 2, 3, 4]);
    expect(got[0].source).toBe('x');
    expect(json.via_transfers.unranked).toEqual([]);
    expect(json.via_transfers.neighbours).toBe(3);
    // --via-neighbours 1: a1 alone weighs (b1 is listed, not used); a1's ranking of x, b1, a2 is the prediction.
    const one = await runCli(
      'rank',
      join(dir, 'set'),
      '--target',
      join(dir, 'task.npy'),
      '--via-transfers',
      join(dir, 'aff.json'),
      '--via-neighbours',
      '1',
      '--out',
      join(dir, 'one.json'),
    );
    expect(one.code).toBe(0);
    const via1 = JSON.parse(await readFile(join(dir, 'one.json'), 'utf8')).via_transfers;
    expect(via1.weights.map((w: { used: boolean }) => w.used)).toEqual([true, false]);
    expect(via1.ranking).toEqual([
      { rank: 1, source: 'x', score: 1 },
      { rank: 2, source: 'b1', score: 0.5 },
      { rank: 3, source: 'a2', score: 0 },
    ]);
    expect(via1.unranked).toEqual(['a1']);
    expect(one.out).toContain('b1 ');
    expect(one.out).toContain('(not used)');
    const bad = await runCli('rank', join(dir, 'set'), '--target', join(dir, 'task.npy'), '--via-transfers', join(dir, 'aff.json'), '--via-neighbours', '0');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('--via-neighbours');
    expect(r.out).toContain('known tasks: a1 ');
    expect(r.out).toMatch(/rank\s+source\s+weighted mean rank/);
  });

  it('leaves the member that is the target out of the candidates, and its own column out of the weights', async () => {
    const out = join(dir, 'member.json');
    const r = await runCli('rank', join(dir, 'set'), '--target', 'a1', '--via-transfers', join(dir, 'aff.json'), '--out', out);
    expect(r.code).toBe(0);
    const via = JSON.parse(await readFile(out, 'utf8')).via_transfers;
    expect(via.weights.map((w: { task: string }) => w.task)).toEqual(['b1']);
    // Only b1 weighs: its ranking of a2, b1, x (a1 is the target) scaled to 1, ½, 0.
    expect(via.ranking).toEqual([
      { rank: 1, source: 'a2', score: 1 },
      { rank: 2, source: 'b1', score: 0.5 },
      { rank: 3, source: 'x', score: 0 },
    ]);
  });

  it('finds a known task by its model’s most similar layer, and renames the dict’s tasks with --alias', async () => {
    const out = join(dir, 'layers.json');
    const renamed = (target: string) =>
      runCli('rank', join(dir, 'layers'), '--target', target, '--via-transfers', join(dir, 'aff.json'), '--alias', 'a1=m-a', '--alias', 'b1=m-b', '--out', out);
    const r = await renamed(join(dir, 'task.npy'));
    expect(r.code).toBe(0);
    const json = JSON.parse(await readFile(out, 'utf8'));
    const sim = Object.fromEntries((json.ranking as { label: string; score: number }[]).map((e) => [e.label, e.score]));
    expect(sim['m-a/y']).toBeGreaterThan(sim['m-a/x']);
    expect(json.via_transfers.weights).toEqual([
      { task: 'm-a', member: 'm-a/y', similarity: sim['m-a/y'], used: true },
      { task: 'm-b', member: 'm-b/x', similarity: sim['m-b/x'], used: true },
    ]);
    // The same data as the first case under other names: the same scores.
    const plain = join(dir, 'plain.json');
    expect((await runCli('rank', join(dir, 'set'), '--target', join(dir, 'task.npy'), '--via-transfers', join(dir, 'aff.json'), '--out', plain)).code).toBe(0);
    const first = JSON.parse(await readFile(plain, 'utf8')).via_transfers.ranking as { source: string; score: number }[];
    const rename: Record<string, string> = { a1: 'm-a', b1: 'm-b', a2: 'a2', x: 'x' };
    expect(json.via_transfers.ranking).toEqual(first.map((e) => ({ ...e, source: rename[e.source] })));
    // A member target: its model is neither a known task nor a candidate, whichever layer is named.
    const member = await renamed('m-a/x');
    expect(member.code).toBe(0);
    const via = JSON.parse(await readFile(out, 'utf8')).via_transfers;
    expect(via.weights.map((w: { task: string }) => w.task)).toEqual(['m-b']);
    expect(via.ranking.map((e: { source: string }) => e.source)).not.toContain('m-a');
    const stray = await runCli('rank', join(dir, 'layers'), '--target', 'm-a/x', '--alias', 'a1=m-a');
    expect(stray.code).not.toBe(0);
    expect(stray.err).toContain('--alias renames tasks of the --via-transfers result dict');
  });

  it('refuses what cannot weigh the known tasks, naming the reason', async () => {
    const base = [join(dir, 'set'), '--target', join(dir, 'task.npy')];
    const all = await runCli('rank', ...base, '--measure', 'all', '--via-transfers', join(dir, 'aff.json'));
    expect(all.code).not.toBe(0);
    expect(all.err).toContain('--via-transfers weighs the known tasks by one representation measure (rsa, dds, cka, …): not with a score or "all"');
    const distance = await runCli('rank', ...base, '--measure', 'procrustes', '--via-transfers', join(dir, 'aff.json'));
    expect(distance.code).not.toBe(0);
    expect(distance.err).toContain('--via-transfers weighs the known tasks by a similarity; procrustes is a distance');
    const unrelated = await runCli('rank', ...base, '--via-transfers', join(dir, 'other.json'));
    expect(unrelated.code).not.toBe(0);
    expect(unrelated.err).toContain(
      'other.json: none of its 1 targets is a ranked member, so nothing weighs the measured transfers (targets: q; members: a1, a2, b1)',
    );
    const broken = await runCli('rank', ...base, '--via-transfers', join(dir, 'broken.json'));
    expect(broken.code).not.toBe(0);
    expect(broken.err).toContain('broken.json: not valid JSON');
  });
});
