/** Use cases the CLI, the server and the report share (src/ops): AHP, result-dict info, the demo's computation. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromRows } from '../../src/linalg/dense.js';
import { ahp, ahpBeforeAfter, ahpResultDicts, tournamentsFromText, tournamentsToJson } from '../../src/ops/ahp.js';
import { computeDemo, familyRecovery } from '../../src/ops/demo.js';
import { describeResultDict, resultDictSummary, resultMatrix } from '../../src/ops/results.js';
import { DirectionError, familyTaxonomy, taxonomyOfMatrix } from '../../src/ops/taxonomy.js';
import { writeDemoReport } from '../../src/report/demo.js';
import { runCli } from '../helpers/cli.js';
import { writeImages } from '../models/fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taskmap-ops-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const readJson = async (p: string) => JSON.parse(await readFile(p, 'utf8'));

// Two images; losses lower is better. Image 1: self 1 < a 2 < b 3 < pixels 5; image 2: pixels 0 < a 1 < self 2 < b 3.
const CSV = ['target,source,image,loss', 't,self,1,1', 't,a,1,2', 't,b,1,3', 't,self,2,2', 't,a,2,1', 't,b,2,3', 't,pixels,1,5', 't,pixels,2,0'].join('\n');

describe('ops/ahp', () => {
  it('gives exactly what `taskmap ahp` writes (affinities, consistency, tournaments, Gain, Quality)', async () => {
    const csvPath = join(dir, 'losses.csv');
    await writeFile(csvPath, CSV);
    const o = (n: string) => join(dir, `cli-${n}.json`);
    const r = await runCli(
      'ahp',
      '--losses',
      csvPath,
      '--out',
      o('aff'),
      '--consistency-out',
      o('cons'),
      '--tournaments-out',
      o('tour'),
      '--gain-out',
      o('gain'),
      '--quality-out',
      o('q'),
    );
    expect(r.code).toBe(0);
    const tournaments = tournamentsFromText(CSV, 'losses', 'losses.csv');
    // The CLI's default --exclude is "pixels".
    const got = ahp(tournaments, { exclude: ['pixels'] });
    expect(await readJson(o('aff'))).toEqual(got.affinities);
    expect(await readJson(o('cons'))).toEqual(JSON.parse(JSON.stringify(got.consistency)));
    expect(await readJson(o('tour'))).toEqual(JSON.parse(JSON.stringify(tournamentsToJson(tournaments))));
    expect(await readJson(o('gain'))).toEqual(got.winsVsPixels);
    expect(await readJson(o('q'))).toEqual(got.winsVsTask);
    // Hand-worked: each candidate's share of the images it wins against self (ties half).
    expect(got.winsVsTask).toEqual({ self__t: 0.5, a__t: 0.5, b__t: 0, pixels__t: 0.5 });
    expect(Object.keys(got.affinities).sort()).toEqual(['a__t', 'b__t', 'self__t']);
    expect(Object.values(got.affinities).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    expect(got.missingPixels).toEqual([]);
  });

  it('reads the wins JSON form too, and names the file when it is not JSON', () => {
    const t = tournamentsFromText(CSV, 'losses', 'losses.csv');
    const again = tournamentsFromText(JSON.stringify(tournamentsToJson(t)), 'wins', 'w.json');
    expect(ahp(again).affinities).toEqual(ahp(t).affinities);
    expect(() => tournamentsFromText('{', 'wins', 'w.json')).toThrow(/^w\.json: not valid JSON/);
  });

  it('before/after matrices use Gain when pixels competed, else Quality; empty dicts are not saved', () => {
    const withPixels = ahp(tournamentsFromText(CSV, 'losses', 'l.csv'));
    const ba = ahpBeforeAfter(withPixels);
    expect(ba.before?.baseline).toBe('pixels');
    expect(ba.before?.matrix.cols).toEqual(['t']);
    expect(ba.after.rows).toEqual(['a', 'b', 'self']);
    expect(ahpResultDicts(withPixels).map((d) => d.role)).toEqual(['affinities', 'wins_vs_pixels', 'wins_vs_task']);

    const noPixels = ahp(
      tournamentsFromText(
        CSV.split('\n')
          .filter((l) => !l.includes('pixels'))
          .join('\n'),
        'losses',
        'l.csv',
      ),
    );
    expect(noPixels.missingPixels).toEqual(['t']);
    expect(ahpBeforeAfter(noPixels).before?.baseline).toBe('self');
    expect(ahpResultDicts(noPixels).map((d) => d.role)).toEqual(['affinities', 'wins_vs_task']);
  });
});

describe('ops/results', () => {
  const dict = { a__t: 0.6, b__t: 0.4, a__b__t: 0.7, self__t: 0.2, a__u: 1, self__u: 0.5 };

  it('describes a result dict: transfers per order, tasks, targets, pseudo-sources, default roles', () => {
    const info = describeResultDict(dict);
    expect(info.transfers).toBe(6);
    expect(info.orders).toEqual({ 1: 5, 2: 1 });
    expect(info.tasks).toEqual(['a', 'b', 't', 'u']);
    expect(info.targets).toEqual(['t', 'u']);
    expect(info.pseudoSources).toEqual(['self']);
    expect(info.defaultRoles).toEqual({ targets: ['t', 'u'], sourceOnly: ['a', 'b'], targetOnly: [] });
    expect(resultDictSummary(dict)).toEqual({ transfers: 6, targets: 2 });
  });

  it('first-order matrix: sources × targets, missing transfers NaN', () => {
    const m = resultMatrix(dict, { targets: ['t', 'u'] });
    expect(m.rows).toEqual(['a', 'b', 'self']);
    expect(m.cols).toEqual(['t', 'u']);
    expect(Array.from(m.matrix.data)).toEqual([0.6, 1, 0.4, NaN, 0.2, 0.5]);
  });
});

describe('ops/taxonomy familyTaxonomy', () => {
  const labels = ['p1', 'p2', 'f1', 'f2'];
  const sim = (measure: string) => ({
    rows: labels,
    cols: labels,
    measure,
    matrix: fromRows([
      [1, 0.8, 0.2, 0.1],
      [0.8, 1, 0.15, 0.2],
      [0.2, 0.15, 1, 0.7],
      [0.1, 0.2, 0.7, 1],
    ]),
  });

  it('is the average-linkage taxonomy of 1 − similarity, scored against the families', () => {
    const t = familyTaxonomy(sim('rsa'), ['p', 'p', 'f', 'f'], 'RSA');
    const ref = taxonomyOfMatrix(sim('rsa'), { linkage: 'average', mds: true });
    expect(t.newick).toBe(ref.taxonomy.newick);
    expect(t.order.map((i) => labels[i])).toEqual(ref.taxonomy.leafOrder);
    expect(t.dendrogram.merges).toEqual(ref.taxonomy.merges);
    expect(t.cut).toMatchObject({ k: 2, ari: 1 });
    expect(t.neighbours.agreement).toBe(1);
    expect(t.top[0].similar.map((s) => s.label)).toEqual(['p2', 'f1', 'f2']);
  });

  it('refuses a catalogued distance and too few models', () => {
    expect(() => familyTaxonomy(sim('fisher-frechet'), ['p', 'p', 'f', 'f'], 'x')).toThrow(DirectionError);
    const two = {
      rows: ['a', 'b'],
      cols: ['a', 'b'],
      matrix: fromRows([
        [1, 0],
        [0, 1],
      ]),
    };
    expect(() => familyTaxonomy(two, ['x', 'y'], 'x')).toThrow(/at least 3 models, got 2/);
  });
});

describe('ops/demo', () => {
  it('computes the demo data (three small zoo models) that the report then writes unchanged', async () => {
    await writeImages(join(dir, 'images'), 6, 48, 40, 3);
    const out = join(dir, 'demo');
    const data = await computeDemo({ images: join(dir, 'images'), out, models: ['liveness', 'gender', 'age'], workers: 0, measures: ['rsa'], bank: false });
    expect(data.labels).toEqual(['liveness', 'gender', 'age']);
    expect(data.images.count).toBe(6);
    expect(data.models.map((m) => m.family)).toEqual(data.families);
    expect(data.taxonomies.map((t) => t.measure)).toEqual(['rsa']);
    expect(Object.keys(data.timings)).toEqual(['extraction', 'opening features', 'similarity rsa']);
    const written = await writeDemoReport(data, { png: false });
    expect(written.recovery).toEqual(familyRecovery(data.taxonomies));
    expect(Object.keys(written.timings)).toEqual([...Object.keys(data.timings), 'report']);
    expect((await readJson(join(out, 'family-recovery.json'))).results).toEqual(JSON.parse(JSON.stringify(familyRecovery(data.taxonomies))));
  });

  it('refuses a distance measure before computing it', async () => {
    await expect(
      computeDemo({ images: join(dir, 'images'), out: join(dir, 'demo'), models: ['liveness', 'gender', 'age'], workers: 0, measures: ['fisher-frechet'] }),
    ).rejects.toThrow();
  });
});
