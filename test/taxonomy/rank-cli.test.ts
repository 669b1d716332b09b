/** `taskmap rank`: target resolution, the labels file, the table and the JSON (run in-process through main()). */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveFeatureSet } from '../../src/features/featureSet.js';
import { writeNpy } from '../../src/io/npy.js';
import { rankSources, type RankResult } from '../../src/taxonomy/rank.js';
import { rankTable, standardRankMeasures, type RankTable } from '../../src/taxonomy/rankTable.js';
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
  // Class probabilities of the models "enc" and "other" (softmax of seeded logits), for LEEP and NCE.
  const probs = ['enc', 'other'].map((l, k) => {
    const logits = randomRep(l, n, [4], 700 + k);
    const data = new Float64Array(n * 4);
    for (let i = 0; i < n; i++) {
      const e = Array.from({ length: 4 }, (_, z) => Math.exp(logits.data[i * 4 + z]));
      const sum = e.reduce((a, b) => a + b, 0);
      e.forEach((v, z) => (data[i * 4 + z] = v / sum));
    }
    return { ...logits, data };
  });
  await saveFeatureSet(join(dir, 'probs'), { n, members: probs });
  await saveFeatureSet(join(dir, 'probs-enc'), { n, members: [probs[0]] });
  await writeFile(join(dir, 'values.csv'), Array.from({ length: n }, (_, i) => String(members[1].data[i * 6] + 0.01 * i)).join('\n'));
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

describe('taskmap rank with transferability scores', () => {
  const set = () => join(dir, 'set');
  const labelsTarget = () => ({ kind: 'labels' as const, labels: classes, labelKind: 'class' as const, label: join(dir, 'labels.csv') });

  it('--measure logme: the score ranking, the same as the library, as JSON with --out', async () => {
    const out = join(dir, 'logme.json');
    const r = await run(set(), '--target', join(dir, 'labels.csv'), '--measure', 'logme', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out.split('\n')[0]).toBe(`logme · target: class labels ${join(dir, 'labels.csv')} (2 classes) · 30 images · no bootstrap`);
    const lib = await rankSources(members, labelsTarget(), { measure: 'logme' });
    const json = JSON.parse(await readFile(out, 'utf8')) as RankResult & { measure_name: string };
    expect(json.ranking).toEqual(lib.ranking);
    expect(json.measure_name).toBe('LogME (log maximum evidence)');
    expect(r.out).toMatch(new RegExp(`^1\\s+enc/block2\\s+${lib.ranking[0].score.toFixed(4)}$`, 'm'));
  });

  it('--measure all: one table, a column per standard measure, wall times in the footer, blank LEEP/NCE cells with a note', async () => {
    const out = join(dir, 'all.json');
    const r = await run(set(), '--target', join(dir, 'labels.csv'), '--measure', 'all', '--out', out);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.split('\n');
    const ids = standardRankMeasures();
    expect(lines[0]).toBe(`${ids.length} measures · target: class labels ${join(dir, 'labels.csv')} (2 classes) · 30 images · no bootstrap · sorted by logme`);
    expect(lines[2].split(/\s{2,}/)).toEqual(['rank', 'label', ...ids]);
    // Rows in logme order; the footer's times are the JSON's.
    const json = JSON.parse(await readFile(out, 'utf8')) as RankTable & { featureset: string };
    expect(json.measures).toEqual(ids);
    expect(lines.slice(4, 7).map((l) => l.split(/\s+/)[1])).toEqual(json.rows.map((row) => row.label));
    const footer = lines[8].trim().split(/\s{2,}/);
    expect(footer[0]).toBe('wall time (s)');
    expect(footer.slice(1).map(Number)).toEqual(json.columns.map((c) => Number((c.ms / 1000).toFixed(3))));
    // The JSON holds every score of every candidate; they are the library's on the same input.
    const lib = await rankTable(members, labelsTarget());
    expect(json.rows.map((row) => row.values)).toEqual(lib.rows.map((row) => row.values));
    expect(json.notes).toEqual(lib.notes);
    expect(r.out).toContain('notes:\n- leep, nce: no value for enc/block1, enc/block2, other — no class probabilities');
  });

  it("--probabilities: LEEP and NCE from the models' softmax outputs; --sort-by and --group-by", async () => {
    const r = await run(
      set(),
      '--target',
      join(dir, 'labels.csv'),
      '--measure',
      'all',
      '--probabilities',
      join(dir, 'probs'),
      '--sort-by',
      'knn',
      '--group-by',
      'model',
    );
    expect(r.code, r.err).toBe(0);
    expect(r.out.split('\n')[0]).toMatch(/· sorted by knn$/);
    expect(r.out).not.toContain('no class probabilities');
    expect(r.out).toMatch(/models, ranked by their best layer .*\n\s*rank\s+model\s+best layer \(by knn\)\s+logme/);
    const one = await run(set(), '--target', join(dir, 'labels.csv'), '--measure', 'leep', '--probabilities', join(dir, 'probs-enc'));
    expect(one.code).toBe(1);
    expect(one.err).toMatch(/leep: no class probabilities for candidate "other": LEEP .* scores the source model's softmax outputs/);
    const none = await run(set(), '--target', join(dir, 'labels.csv'), '--measure', 'nce');
    expect(none.err).toMatch(/nce: no class probabilities for candidate "enc\/block1"/);
  });

  it('bootstrap: the score recomputed per draw, skipped draws counted', async () => {
    const r = await run(set(), '--target', join(dir, 'labels.csv'), '--measure', 'knn', '--bootstrap', '20', '--subset', '6', '--seed', '2');
    expect(r.code, r.err).toBe(0);
    const lib = await rankSources(members, labelsTarget(), { measure: 'knn', bootstrap: 20, subset: 6, seed: 2 });
    expect(lib.bootstrap!.skipped).toBeGreaterThan(0);
    expect(r.out).toContain(
      `${lib.bootstrap!.skipped} of 20 draws skipped, the statistics are over the other ${20 - lib.bootstrap!.skipped}: class "b" has fewer than 2 images`,
    );
  });

  it('regression targets: logme works, classification-only scores are refused', async () => {
    const ok = await run(set(), '--target', join(dir, 'values.csv'), '--target-kind', 'regression', '--measure', 'logme');
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out.split('\n')[0]).toBe(`logme · target: regression target ${join(dir, 'values.csv')} · 30 images · no bootstrap`);
    const bad = await run(set(), '--target', join(dir, 'values.csv'), '--target-kind', 'regression', '--measure', 'gbc');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/gbc: .*values\.csv is a regression target, but GBC \(Gaussian Bhattacharyya coefficient\) scores classification targets only/);
  });

  it('usage errors: measure flags with a score, --sort-by without all, unknown ids, a member target', async () => {
    const labels = join(dir, 'labels.csv');
    expect((await run(set(), '--target', labels, '--measure', 'logme', '--kernel', 'lap')).err).toMatch(
      /--kernel applies to representation measures \(rsa, dds, cka\); a score takes its parameters in its id, e\.g\. logme:…/,
    );
    expect((await run(set(), '--target', labels, '--measure', 'all', '--norm', 'none')).err).toMatch(
      /--norm applies to representation measures .*--measure all runs every standard setting/,
    );
    expect((await run(set(), '--target', labels, '--measure', 'logme', '--sort-by', 'knn')).err).toMatch(/--sort-by orders the table of --measure all/);
    expect((await run(set(), '--target', labels, '--measure', 'all', '--sort-by', 'cka')).err).toMatch(/sort by "cka": not one of the table's measures/);
    expect((await run(set(), '--target', labels, '--measure', 'knn:k=0')).err).toMatch(/score "knn:k=0": k must be an integer ≥ 1, got 0/);
    expect((await run(set(), '--target', labels, '--measure', 'fisher-frechet')).err).toMatch(
      /"fisher-frechet" is a labelled-tasks measure, not one that ranks sources/,
    );
    expect((await run(set(), '--target', labels, '--measure', 'lgome')).err).toMatch(
      /unknown measure "lgome" \(known: rsa, dds, cka, procrustes, .*, logme, nleep, .*; or "all" for the score table\)/,
    );
    const member = await run(set(), '--target', 'other', '--measure', 'all');
    expect(member.code).toBe(1);
    expect(member.err).toMatch(/the standard score table needs the new task's labels as the target .*, not a member \("other"\)/);
  });
});
