/**
 * `/api/rank` with `viaTransfers`: a real server, its second ranking checked against the library (rankSources, then
 * rankViaTransfers) on the same files, aliases, and the refusals.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFeatureSet } from '../../src/features/featureSet.js';
import type { Representation } from '../../src/features/types.js';
import { renameTasks } from '../../src/io/resultDict.js';
import { fromRows } from '../../src/linalg/dense.js';
import { evaluateViaTransfers } from '../../src/ops/evaluate.js';
import { rankViaTransfers } from '../../src/ops/rank.js';
import { truthFromResultDict } from '../../src/evaluate/evaluate.js';
import { rankSources } from '../../src/taxonomy/rank.js';
import { writeZooFixture, ZOO_FAMILIES } from './fixtures.js';
import { call, runJob, startServer, type Running } from './helpers.js';

let tmp: string;
let data: string;
let run: Running;
let members: Representation[];
let predicted: { rows: string[]; cols: string[]; matrix: number[][] };
// Measured transfers among the fixture's models: a source transfers best within its family, then by name.
const models = Object.values(ZOO_FAMILIES).flat();
const familyOf = (m: string) => Object.entries(ZOO_FAMILIES).find(([, ms]) => ms.includes(m))![0];
const affinities = Object.fromEntries(models.flatMap((t) => models.map((s, i) => [`${s}__${t}`, (familyOf(s) === familyOf(t) ? 1 : 0) + i / 100])));

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'taskmap-api-via-'));
  data = join(tmp, 'data');
  await writeZooFixture(join(data, 'zoo', 'features'));
  members = (await loadFeatureSet(join(data, 'zoo', 'features'))).members;
  await writeFile(join(data, 'zoo', 'affinities.json'), JSON.stringify(affinities));
  await writeFile(join(data, 'zoo', 'renamed.json'), JSON.stringify(renameTasks(affinities, { 'pose-b': 'task-b' })));
  // A predicted similarity of the models: same family 0.8, else 0.2, plus a little by name.
  predicted = {
    rows: models,
    cols: models,
    matrix: models.map((a, i) => models.map((b, j) => (i === j ? 1 : (familyOf(a) === familyOf(b) ? 0.8 : 0.2) + 0.001 * (i + j)))),
  };
  await writeFile(join(data, 'zoo', 'predicted.json'), JSON.stringify(predicted));
  run = await startServer({ dataRoots: [data], uploadDir: join(tmp, 'uploads'), uiDir: join(tmp, 'ui'), maxUploadBytes: 256 * 1024 });
});

afterAll(async () => {
  await run?.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('/api/rank with viaTransfers', () => {
  const base = { featureSet: 'data/zoo/features', target: 'pose-a', measure: 'rsa' };

  it('adds the ranking through the measured transfers, as the library gives it', async () => {
    const job = await runJob(run.base, '/api/rank', { ...base, viaTransfers: 'data/zoo/affinities.json' });
    expect(job.status, JSON.stringify(job.error)).toBe('done');
    const r = job.result as any;
    const expected = rankViaTransfers(await rankSources(members, { kind: 'member', label: 'pose-a' }, { measure: 'rsa' }), affinities, {
      name: 'data/zoo/affinities.json',
    });
    expect(r.viaTransfers).toEqual({ affinities: 'data/zoo/affinities.json', ...expected });
    // The target's family-mates transfer best to every pose model and are the most similar: they come first.
    expect(
      r.viaTransfers.ranking
        .slice(0, 2)
        .map((e: { source: string }) => e.source)
        .sort(),
    ).toEqual(['pose-b', 'pose-c']);
    expect(r.viaTransfers.ranking.map((e: { source: string }) => e.source)).not.toContain('pose-a');
    // Three known tasks weigh by default; viaNeighbours takes more.
    expect(r.viaTransfers.neighbours).toBe(3);
    expect(r.viaTransfers.weights.filter((w: { used: boolean }) => w.used)).toHaveLength(3);
    const wide = (await runJob(run.base, '/api/rank', { ...base, viaTransfers: 'data/zoo/affinities.json', viaNeighbours: 100 })).result as any;
    expect(wide.viaTransfers.neighbours).toBe(100);
    expect(wide.viaTransfers.weights.every((w: { used: boolean; similarity: number }) => w.used === w.similarity > 0)).toBe(true);
    const all = rankViaTransfers(await rankSources(members, { kind: 'member', label: 'pose-a' }, { measure: 'rsa' }), affinities, {
      name: 'data/zoo/affinities.json',
      neighbours: 100,
    });
    expect(wide.viaTransfers.ranking).toEqual(all.ranking);
    // "all", as the CLI's --via-neighbours all: every known task of positive weight.
    const every = (await runJob(run.base, '/api/rank', { ...base, viaTransfers: 'data/zoo/affinities.json', viaNeighbours: 'all' })).result as any;
    expect(every.viaTransfers.neighbours).toBeNull();
    expect(every.viaTransfers.ranking).toEqual(all.ranking);
    const bad = await call(run.base, 'POST', '/api/rank', { ...base, viaTransfers: 'data/zoo/affinities.json', viaNeighbours: 'most' });
    expect(bad.status).toBe(400);
  });

  it('renames the dict’s tasks with aliases; refuses aliases alone, scores and groupBy', async () => {
    const plain = (await runJob(run.base, '/api/rank', { ...base, viaTransfers: 'data/zoo/affinities.json' })).result as any;
    const job = await runJob(run.base, '/api/rank', { ...base, viaTransfers: 'data/zoo/renamed.json', aliases: { 'task-b': 'pose-b' } });
    expect(job.status, JSON.stringify(job.error)).toBe('done');
    expect((job.result as any).viaTransfers.ranking).toEqual(plain.viaTransfers.ranking);
    const post = (body: unknown) => call(run.base, 'POST', '/api/rank', body);
    const alone = await post({ ...base, aliases: { a: 'b' } });
    expect(alone.status).toBe(400);
    expect(alone.body.error.message).toContain('"aliases" renames tasks of the "viaTransfers" result dict');
    const grouped = await post({ ...base, groupBy: 'model', viaTransfers: 'data/zoo/affinities.json' });
    expect(grouped.status).toBe(400);
    expect(grouped.body.error.message).toContain('"viaTransfers" finds the known tasks among the members themselves');
    const score = await post({
      ...base,
      measure: 'logme',
      targetFile: 'data/zoo/affinities.json',
      target: undefined,
      viaTransfers: 'data/zoo/affinities.json',
    });
    expect(score.status).toBe(400);
    expect(score.body.error.message).toContain('"viaTransfers" weighs the known tasks by one representation measure');
    const distance = await post({ ...base, measure: 'procrustes', viaTransfers: 'data/zoo/affinities.json' });
    expect(distance.status).toBe(400);
    expect(distance.body.error.message).toBe('"viaTransfers" weighs the known tasks by a similarity; procrustes is a distance');
    const missing = await post({ ...base, viaTransfers: 'data/zoo/nothing.json' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).not.toContain(data);
  });

  it('/api/evaluate with viaTransfers: the predicted matrix also scored through the truth, as the library gives it', async () => {
    const body = { predicted: 'data/zoo/predicted.json', truth: 'data/zoo/affinities.json', viaTransfers: true };
    const job = await runJob(run.base, '/api/evaluate', body);
    expect(job.status, JSON.stringify(job.error)).toBe('done');
    const r = job.result as any;
    const expected = evaluateViaTransfers({ ...predicted, matrix: fromRows(predicted.matrix) }, truthFromResultDict(affinities));
    expect(r.viaTransfers).toEqual(expected);
    expect(r.viaTransfers.tasks).toHaveLength(models.length);
    expect(r.viaTransfers.mean).toBeGreaterThan(0.5);
    const two = (await runJob(run.base, '/api/evaluate', { ...body, viaNeighbours: 2 })).result as any;
    expect(two.viaTransfers.neighbours).toBe(2);
    const every = (await runJob(run.base, '/api/evaluate', { ...body, viaNeighbours: 'all' })).result as any;
    expect(every.viaTransfers).toEqual(
      JSON.parse(
        JSON.stringify(
          evaluateViaTransfers({ ...predicted, matrix: fromRows(predicted.matrix) }, truthFromResultDict(affinities), { neighbours: Number.POSITIVE_INFINITY }),
        ),
      ),
    );
    const post = (b: unknown) => call(run.base, 'POST', '/api/evaluate', b);
    const kendall = await post({ ...body, metric: 'kendall' });
    expect(kendall.status).toBe(400);
    expect(kendall.body.error.message).toContain('"viaTransfers" is scored by Spearman');
    const noVia = await post({ predicted: 'data/zoo/predicted.json', truth: 'data/zoo/affinities.json', viaNeighbours: 2 });
    expect(noVia.body.error.message).toContain('"viaNeighbours" applies to "viaTransfers"');
    const harness = await post({ featureSet: 'data/zoo/features', measures: ['rsa'], truth: 'data/zoo/affinities.json', viaTransfers: true });
    expect(harness.body.error.message).toContain('"viaTransfers" scores a "predicted" matrix');
  });
});
