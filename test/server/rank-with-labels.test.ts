/**
 * `/api/rank` with `labelsFile`: a real server; the ranking by the similarity, by a score on the labels and by both
 * places summed equals the library's (rankSources, then rankWithLabels) on the same files; and the refusals.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFeatureSet } from '../../src/features/featureSet.js';
import type { Representation } from '../../src/features/types.js';
import { rankWithLabels } from '../../src/ops/rank.js';
import { rankSources } from '../../src/taxonomy/rank.js';
import { writeZooFixture, ZOO_FAMILIES } from './fixtures.js';
import { call, runJob, startServer, type Running } from './helpers.js';

let tmp: string;
let data: string;
let run: Running;
let members: Representation[];
// The new task: the fixture's 48 images in 4 classes (every 4th image), as a labels file with a header row.
const classes = Array.from({ length: 48 }, (_, i) => `c${i % 4}`);

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'taskmap-api-labels-'));
  data = join(tmp, 'data');
  await writeZooFixture(join(data, 'zoo', 'features'));
  members = (await loadFeatureSet(join(data, 'zoo', 'features'))).members;
  await writeFile(join(data, 'zoo', 'labels.csv'), `label\n${classes.join('\n')}\n`);
  await writeFile(join(data, 'zoo', 'values.txt'), classes.map((c, i) => String(Number(c.slice(1)) + i / 100)).join('\n'));
  run = await startServer({ dataRoots: [data], uploadDir: join(tmp, 'uploads'), uiDir: join(tmp, 'ui'), maxUploadBytes: 256 * 1024 });
});

afterAll(async () => {
  await run?.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('/api/rank with labelsFile', () => {
  const base = { featureSet: 'data/zoo/features', target: 'pose-a', measure: 'rsa' };

  it('adds the ranking by the score and by both places summed, as the library gives it', async () => {
    const job = await runJob(run.base, '/api/rank', { ...base, labelsFile: 'data/zoo/labels.csv' });
    expect(job.status, JSON.stringify(job.error)).toBe('done');
    const r = job.result as any;
    const similarity = await rankSources(members, { kind: 'member', label: 'pose-a' }, { measure: 'rsa' });
    const labels = { kind: 'labels' as const, labels: classes, labelKind: 'class' as const, label: 'data/zoo/labels.csv' };
    expect(r.withLabels).toEqual(await rankWithLabels(members, similarity, labels, {}));
    expect(r.withLabels.score).toBe('logme');
    expect(r.withLabels.labels).toBe('data/zoo/labels.csv');
    expect(r.withLabels.ranking).toHaveLength(Object.values(ZOO_FAMILIES).flat().length - 1);
    expect(r.ranking).toEqual(similarity.ranking);
    // Another score, and regression values read as targetKind says.
    const knn = (await runJob(run.base, '/api/rank', { ...base, labelsFile: 'data/zoo/labels.csv', labelScore: 'knn:k=5' })).result as any;
    expect(knn.withLabels).toEqual(await rankWithLabels(members, similarity, labels, { score: 'knn:k=5' }));
    const reg = await runJob(run.base, '/api/rank', { ...base, labelsFile: 'data/zoo/values.txt', targetKind: 'regression' });
    expect(reg.status, JSON.stringify(reg.error)).toBe('done');
    expect((reg.result as any).withLabels.labelKind).toBe('regression');
    expect((reg.result as any).withLabels.ranking.map((e: { scorePlace: number }) => e.scorePlace).sort((a: number, b: number) => a - b)).toEqual(
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
  });

  it('reads a .npy targetFile as regression values with targetKind "regression": LogME rates it, a measure sees the same features', async () => {
    const npy = { featureSet: 'data/zoo/features', targetFile: 'data/zoo/features/pose-a.npy' };
    const logme = await runJob(run.base, '/api/rank', { ...npy, targetKind: 'regression', measure: 'logme' });
    expect(logme.status, JSON.stringify(logme.error)).toBe('done');
    const r = logme.result as any;
    expect(r.target.kind).toBe('labels');
    expect(r.ranking).toHaveLength(members.length);
    // pose-a's own features predict its values best.
    expect(r.ranking[0].label).toBe('pose-a');
    const asLabels = (await runJob(run.base, '/api/rank', { ...npy, targetKind: 'regression', measure: 'cka' })).result as any;
    const asFeatures = (await runJob(run.base, '/api/rank', { ...npy, measure: 'cka' })).result as any;
    // Two jobs, not one cached answer: the kind of target differs.
    expect(asLabels.target.kind).toBe('labels');
    expect(asFeatures.target.kind).toBe('representation');
    const byLabel = (x: any) => Object.fromEntries(x.ranking.map((e: { label: string; score: number }) => [e.label, e.score]));
    for (const [label, v] of Object.entries(byLabel(asFeatures))) expect(byLabel(asLabels)[label]).toBeCloseTo(v as number, 12);
    const bad = await call(run.base, 'POST', '/api/rank', { ...npy, targetKind: 'class', measure: 'logme' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('targetFile: a .npy holds labels only as regression values');
  });

  it('refuses what it cannot combine', async () => {
    const post = (body: unknown) => call(run.base, 'POST', '/api/rank', body);
    const cases: [Record<string, unknown>, string][] = [
      [{ ...base, labelScore: 'logme' }, '"labelScore" scores the "labelsFile"'],
      [{ ...base, labelsFile: 'data/zoo/labels.csv', labelScore: 'rsa' }, 'labelScore: "rsa" is not a label-based score'],
      [{ ...base, labelsFile: 'data/zoo/labels.csv', measure: 'all' }, 'not with a score or "all"'],
      [{ ...base, target: undefined, targetFile: 'data/zoo/labels.csv', labelsFile: 'data/zoo/labels.csv' }, 'not beside a labels target'],
      [{ ...base, labelsFile: 'data/zoo/features/pose-a.npy' }, 'labelsFile: a .npy holds labels only as regression values'],
      [{ ...base, labelsFile: 'data/zoo/features/manifest.json' }, 'labelsFile: a labels file is .csv or .txt'],
    ];
    for (const [body, message] of cases) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.message).toContain(message);
    }
    // LEEP beside the similarity takes the sources' class probabilities (here not probabilities: the job says so).
    const leep = await runJob(run.base, '/api/rank', { ...base, labelsFile: 'data/zoo/labels.csv', labelScore: 'leep', probabilities: 'data/zoo/features' });
    expect(leep.status).toBe('failed');
    expect(JSON.stringify(leep.error)).toMatch(/probabilit/);
    const missing = await post({ ...base, labelsFile: 'data/zoo/nothing.csv' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).not.toContain(data);
  });
});
