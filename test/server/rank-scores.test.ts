/**
 * `/api/rank` with label-based scores and the score table (`measure: "all"`), the labels upload
 * (`/api/uploads?kind=labels`) and the score listing of `/api/measures`: a real server, results checked against
 * the library on the same files.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFeatureSet, saveFeatureSet } from '../../src/features/featureSet.js';
import type { Representation } from '../../src/features/types.js';
import { SCORE_FAMILIES, standardScoreIds } from '../../src/measures/scoreFamilies.js';
import { rankSources, type Target } from '../../src/taxonomy/rank.js';
import { rankTable, standardRankMeasures } from '../../src/taxonomy/rankTable.js';
import { gaussian } from '../helpers/random.js';
import { writeZooFixture } from './fixtures.js';
import { call, runJob, startServer, type Running } from './helpers.js';

let tmp: string;
let data: string;
let run: Running;
let members: Representation[];
let labels: string[];
let probs: Representation[];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'taskmap-api-scores-'));
  data = join(tmp, 'data');
  await writeZooFixture(join(data, 'zoo', 'features'));
  members = (await loadFeatureSet(join(data, 'zoo', 'features'))).members;
  // Three classes: tertiles of pose-a's first feature (so that the ranking has structure).
  const pose = members.find((m) => m.label === 'pose-a')!;
  const x = Array.from({ length: pose.n }, (_, i) => pose.data[i * pose.p]);
  const sorted = x.slice().sort((a, b) => a - b);
  const cut = [sorted[Math.floor(pose.n / 3)], sorted[Math.floor((2 * pose.n) / 3)]];
  labels = x.map((v) => (v < cut[0] ? 'low' : v < cut[1] ? 'mid' : 'high'));
  await writeFile(join(data, 'zoo', 'labels.csv'), `label\n${labels.join('\n')}\n`);
  // Class probabilities of two of the models (softmax of seeded logits).
  probs = ['pose-a', 'seg-a'].map((label, k) => {
    const g = gaussian(30 + k);
    const data = new Float64Array(pose.n * 5);
    for (let i = 0; i < pose.n; i++) {
      const e = Array.from({ length: 5 }, () => Math.exp(g()));
      const s = e.reduce((a, b) => a + b, 0);
      e.forEach((v, z) => (data[i * 5 + z] = v / s));
    }
    return { label, n: pose.n, p: 5, shape: [5], data, source: label };
  });
  await saveFeatureSet(join(data, 'zoo', 'probs'), { n: pose.n, members: probs });
  run = await startServer({ dataRoots: [data], uploadDir: join(tmp, 'uploads'), uiDir: join(tmp, 'ui'), maxUploadBytes: 256 * 1024 });
});

afterAll(async () => {
  await run?.close();
  await rm(tmp, { recursive: true, force: true });
});

const post = (path: string, body: unknown) => call(run.base, 'POST', path, body);
const labelsTarget = (label = 'data/zoo/labels.csv'): Target => ({ kind: 'labels', labels, labelKind: 'class', label });

function expectError(r: { status: number; body: any }, status: number, pattern: RegExp): void {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body.error.message).toMatch(pattern);
  expect(r.body.error.message).not.toContain(data);
}

describe('/api/rank with scores', () => {
  const base = { featureSet: 'data/zoo/features', targetFile: 'data/zoo/labels.csv' };

  it('one score: rankSources with that score, bootstrap included', async () => {
    const job = await runJob(run.base, '/api/rank', { ...base, measure: 'logme', bootstrap: 6, subset: 24, seed: 4 });
    expect(job.status, JSON.stringify(job.error)).toBe('done');
    const r = job.result as any;
    const expected = await rankSources(members, labelsTarget(), { measure: 'logme', bootstrap: 6, subset: 24, seed: 4 });
    expect(r.ranking).toEqual(expected.ranking);
    expect(r).toMatchObject({ measure: 'logme', measureName: 'LogME (log maximum evidence)', bootstrap: { draws: 6, skipped: 0 } });
    expect(r.target.labels).toMatchObject({ kind: 'class', encoding: 'codes', classes: ['high', 'low', 'mid'] });
  });

  it('measure "all": the score table with probabilities, sorted by a chosen column, as rankTable gives it', async () => {
    const job = await runJob(run.base, '/api/rank', { ...base, measure: 'all', sortBy: 'knn', probabilities: 'data/zoo/probs' });
    expect(job.status, JSON.stringify(job.error)).toBe('done');
    const t = job.result as any;
    const expected = await rankTable(members, labelsTarget(), { sortBy: 'knn', probabilities: probs });
    expect(t.measures).toEqual(standardRankMeasures());
    expect(t.sortBy).toBe('knn');
    expect(t.rows).toEqual(expected.rows);
    expect(t.notes).toEqual(expected.notes);
    expect(t.columns.map((c: { ms: number }) => c.ms)).toEqual(t.measures.map(() => expect.any(Number)));
    // LEEP: pose-a and seg-a have probabilities, the other models get a blank cell and a note.
    const leep = t.measures.indexOf('leep');
    expect(
      t.rows
        .filter((r: { values: (number | null)[] }) => r.values[leep] !== null)
        .map((r: { label: string }) => r.label)
        .sort(),
    ).toEqual(['pose-a', 'seg-a']);
    expect(t.notes.some((n: string) => n.startsWith('leep, nce: no value for ') && n.includes('no class probabilities'))).toBe(true);
  });

  it('refusals: scores need a labels target file; sortBy only with "all"; probabilities only for scores; unknown ids', async () => {
    expectError(
      await post('/api/rank', { featureSet: 'data/zoo/features', target: 'pose-a', measure: 'logme' }),
      400,
      /measure "logme": the label-based scores need the new task's labels as "targetFile"/,
    );
    expectError(
      await post('/api/rank', { featureSet: 'data/zoo/features', target: 'pose-a', measure: 'all' }),
      400,
      /measure "all" \(the score table\): the label-based scores need/,
    );
    expectError(await post('/api/rank', { ...base, measure: 'logme', sortBy: 'knn' }), 400, /"sortBy" orders the score table \(measure "all"\)/);
    expectError(await post('/api/rank', { ...base, measure: 'all', sortBy: 'nope' }), 400, /sortBy: unknown measure "nope"/);
    expectError(await post('/api/rank', { ...base, measure: 'rsa', probabilities: 'data/zoo/probs' }), 400, /"probabilities" are for the label-based scores/);
    expectError(await post('/api/rank', { ...base, measure: 'knn:k=0' }), 400, /measure: score "knn:k=0": k must be an integer ≥ 1, got 0/);
    expectError(
      await post('/api/rank', { ...base, measure: 'fisher-frechet' }),
      400,
      /"fisher-frechet" is a labelled-tasks measure, not one that ranks sources/,
    );
    expectError(await post('/api/rank', { ...base, measure: 'all', probabilities: '../outside' }), 403, /outside/);
    const missing = await runJob(run.base, '/api/rank', { ...base, measure: 'leep', probabilities: 'data/zoo/probs' });
    expect(missing.status).toBe('failed');
    expect(missing.error).toMatchObject({ status: 422 });
    expect(missing.error!.message).toMatch(/leep: no class probabilities for candidate "det-a"/);
  });
});

describe('labels upload and the score listing', () => {
  const upload = (files: [string, string][], query = '?kind=labels') => {
    const f = new FormData();
    for (const [name, text] of files) f.append('file', new Blob([text]), name);
    return call(run.base, 'POST', `/api/uploads${query}`, f);
  };

  it('a labels CSV or TXT is checked and saved; the ranking reads it', async () => {
    const r = await upload([['my labels.csv', `image,label\n${labels.map((l, i) => `img${i}.jpg,${l}`).join('\n')}\n`]]);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.saved[0]).toMatchObject({ path: 'uploads/my_labels.csv', kind: 'labels', rows: labels.length + 1, distinct: 4 });
    const txt = await upload([['y.txt', labels.join('\n')]]);
    expect(txt.body.saved[0]).toMatchObject({ path: 'uploads/y.txt', kind: 'labels', rows: labels.length, distinct: 3 });
    const job = await runJob(run.base, '/api/rank', { featureSet: 'data/zoo/features', targetFile: 'uploads/my_labels.csv', measure: 'hscore' });
    expect(job.status, JSON.stringify(job.error)).toBe('done');
    const expected = await rankSources(members, labelsTarget('uploads/my_labels.csv'), { measure: 'hscore' });
    expect((job.result as any).ranking).toEqual(expected.ranking);
  });

  it('refuses what is not a labels file, naming it', async () => {
    expectError(await upload([['feat.npy', 'x']]), 415, /feat\.npy: a labels upload is a \.csv or \.txt file/);
    expectError(
      await upload([['wide.csv', 'a,b,c\n1,2,3\n']]),
      422,
      /wide\.csv: expected one label per line, or two columns "image,label"; line 1 has 3 fields/,
    );
    expectError(await upload([['ragged.csv', 'a,b\nc\n']]), 422, /ragged\.csv: line 2 has 1 fields but line 1 has 2/);
    expectError(await upload([['one.csv', 'a\n']]), 422, /one\.csv: 1 row\(s\); a labels file has one label per image/);
    expectError(await upload([['l.csv', 'a\nb\n']], '?kind=labels&name=x'), 400, /"name" names a folder of several \.npy files/);
    expectError(await upload([['l.csv', 'a\nb\n']], '?kind=features'), 400, /querystring\.kind must be one of labels/);
  });

  it('/api/measures lists the scores, the standard score ids and the score table columns', async () => {
    const r = await call(run.base, 'GET', '/api/measures');
    expect(r.body.scores.map((s: { family: string }) => s.family)).toEqual(SCORE_FAMILIES.map((f) => f.id));
    expect(r.body.scores[1]).toMatchObject({ family: 'leep', input: 'source-probabilities', syntax: 'leep' });
    expect(r.body.standardScores).toEqual(standardScoreIds());
    expect(r.body.rankAll).toEqual(standardRankMeasures());
  });
});
