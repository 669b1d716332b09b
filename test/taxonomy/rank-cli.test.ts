/** `taskmap rank`: target resolution, the labels file, the table and the JSON (run in-process through main()). */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveFeatureSet } from '../../src/features/featureSet.js';
import { writeNpy } from '../../src/io/npy.js';
import { rankSources, type RankResult } from '../../src/taxonomy/rank.js';
import { randomRep } from '../helpers/random.js';
import { runCli } from '../helpers/cli.js';

const n = 30;
const members = ['enc/block1', 'enc/block2', 'other'].map((l, k) => randomRep(l, n, [6], 400 + k));
// Class labels that enc/block2 separates: its first feature is shifted by 3 for class "b".
const classes = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 'b' : 'a'));
classes.forEach((c, i) => {
  if (c === 'b') members[1].data[i * 6] += 3;
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taskmap-rank-'));
  await saveFeatureSet(join(dir, 'set'), { n, members });
  await writeFile(join(dir, 'labels.csv'), `label\n${classes.join('\n')}\n`);
  await writeFile(join(dir, 'pairs.csv'), classes.map((c, i) => `img${i}.jpg,${c}`).join('\r\n'));
  await writeFile(join(dir, 'short.csv'), classes.slice(1).join('\n'));
  const t = randomRep('t', n, [5], 9);
  await writeFile(join(dir, 'task.npy'), writeNpy({ dtype: 'float64', shape: [n, 5], data: t.data }));
  await writeFile(join(dir, 'small.npy'), writeNpy({ dtype: 'float64', shape: [n - 1, 5], data: t.data.subarray(0, (n - 1) * 5) }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (...args: string[]) => runCli('rank', ...args);

describe('taskmap rank', () => {
  it('labels.csv (header row) with a bootstrap: table on stdout, the library result as JSON', async () => {
    const out = join(dir, 'ranking.json');
    const r = await run(join(dir, 'set'), '--target', join(dir, 'labels.csv'), '--bootstrap', '12', '--subset', '15', '--seed', '5', '--out', out);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe(
      `rsa · target: class labels ${join(dir, 'labels.csv')} (2 classes; label RDM: same class 0, different 1) · 30 images · 12 draws of 15 images (seed 5)`,
    );
    expect(lines[2]).toMatch(/^rank\s+label\s+score\s+mean\s+95% interval\s+P\(best\)$/);
    expect(lines[4]).toMatch(/^1\s+enc\/block2\s+0\.\d{4}\s+0\.\d{4}\s+\[0\.\d{4}, 0\.\d{4}\]\s+1\.000$/);
    const json = JSON.parse(await readFile(out, 'utf8')) as RankResult & { featureset: string };
    const lib = await rankSources(
      members,
      { kind: 'labels', labels: classes, labelKind: 'class', label: join(dir, 'labels.csv') },
      {
        measure: 'rsa',
        bootstrap: 12,
        subset: 15,
        seed: 5,
      },
    );
    expect(json.ranking).toEqual(lib.ranking);
    expect(json).toMatchObject({ featureset: join(dir, 'set'), measure: 'rsa', n_images: 30, bootstrap: { draws: 12, subset: 15, seed: 5 } });
    expect(r.err).toMatch(/3 candidates ranked in .* → .*ranking\.json/);
  });

  it('"image,label" pairs (CRLF) give the same ranking as one label per line', async () => {
    const a = await run(join(dir, 'set'), '--target', join(dir, 'labels.csv'), '-m', 'cka');
    const b = await run(join(dir, 'set'), '--target', join(dir, 'pairs.csv'), '-m', 'cka');
    const body = (s: string) => s.split('\n').slice(1).join('\n');
    expect(a.code).toBe(0);
    expect(body(b.out)).toBe(body(a.out));
  });

  it('a member target, grouped by model, with the measure options', async () => {
    const r = await run(join(dir, 'set'), '--target', 'other', '--measure', 'dds', '--kernel', 'lap', '--group-by', 'model');
    expect(r.code).toBe(0);
    expect(r.out).toContain('dds:norm=znorm,kernel=lap · target: member other · 30 images · no bootstrap');
    expect(r.out).toContain('(other is the target and is not ranked)');
    expect(r.out).toMatch(
      /models, ranked by their best layer:\n\s*rank\s+model\s+best layer\s+score\n[- ]+\n1\s+enc\s+block\d \(of 2\)\s+-?0\.\d{4}\n\nall layers:/,
    );
  });

  it('a .npy target of features', async () => {
    const r = await run(join(dir, 'set'), '--target', join(dir, 'task.npy'), '-m', 'cka');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe('cka · target: features task · 30 images · no bootstrap');
    expect(r.out.match(/^\d\s+(enc\/block\d|other)\s/gm)).toHaveLength(3);
  });

  it('errors: unknown label, wrong counts, misplaced options', async () => {
    const set = join(dir, 'set');
    expect((await run(set, '--target', 'enc/blok1')).err).toMatch(/unknown target "enc\/blok1" — did you mean "enc\/block1"/);
    expect((await run(set, '--target', join(dir, 'short.csv'))).err).toMatch(/short\.csv: 29 rows, but the feature set has 30 images/);
    expect((await run(set, '--target', join(dir, 'small.npy'))).err).toMatch(/target small has 29 images but the candidates have 30/);
    expect((await run(set, '--target', join(dir, 'missing.csv'))).err).toMatch(/missing\.csv: no such file/);
    expect((await run(set, '--target', 'other', '--target-kind', 'class')).err).toMatch(/--target-kind applies only when --target is a labels file/);
    expect((await run(set, '--target', 'other', '--seed', '3')).err).toMatch(/--subset and --seed need --bootstrap/);
    const reg = await run(set, '--target', join(dir, 'labels.csv'), '--target-kind', 'regression', '-m', 'cka');
    expect(reg.code).toBe(1);
    expect(reg.err).toMatch(/regression target of image 0 is "b", not a finite number/);
  });
});
