/**
 * The measure catalogue decides a matrix's direction on the server as in the CLI: a Fisher task-distance matrix
 * (measure fisher-frechet / fisher-logdet) posted to /api/taxonomy is clustered as a distance, giving the clusters
 * of `taskmap taxonomy --dissimilarity` (it used to be read as a similarity, 1 − value, and came out inverted).
 * And /api/rank ranks against a labels file as `taskmap rank --target labels.csv` does.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFeatureSet } from '../../src/features/featureSet.js';
import { rankSources } from '../../src/taxonomy/rank.js';
import { runCli } from '../helpers/cli.js';
import { writeZooFixture } from './fixtures.js';
import { call, runJob, startServer, type Running } from './helpers.js';

let tmp: string;
let data: string;
let run: Running;

const LABELS = ['a', 'b', 'c', 'd'];
// a–b and c–d are close (small distances); read as similarities they would be the farthest pairs.
const DIST = [
  [0, 0.1, 0.8, 0.9],
  [0.1, 0, 0.9, 0.8],
  [0.8, 0.9, 0, 0.1],
  [0.9, 0.8, 0.1, 0],
];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'taskmap-direction-'));
  data = join(tmp, 'data');
  await mkdir(data, { recursive: true });
  for (const measure of ['fisher-frechet', 'fisher-logdet', 'fisher-logdet:floor=1e-8']) {
    await writeFile(join(data, `${measure.replace(/[:=]/g, '-')}.json`), JSON.stringify({ rows: LABELS, cols: LABELS, matrix: DIST, measure }));
  }
  await writeFile(join(data, 'unlabelled.json'), JSON.stringify({ rows: LABELS, cols: LABELS, matrix: DIST }));
  await writeZooFixture(join(data, 'zoo'));
  const set = await loadFeatureSet(join(data, 'zoo'));
  await writeFile(join(data, 'labels.csv'), `label\n${Array.from({ length: set.n }, (_, i) => `c${i % 3}`).join('\n')}\n`);
  run = await startServer({ dataRoots: [data], uploadDir: join(tmp, 'uploads'), maxUploadBytes: 256 * 1024 });
});

afterAll(async () => {
  await run?.close();
  await rm(tmp, { recursive: true, force: true });
});

function groups(clusters: Record<string, number>): string[][] {
  const by = new Map<number, string[]>();
  for (const [l, c] of Object.entries(clusters)) by.set(c, [...(by.get(c) ?? []), l]);
  return [...by.values()].map((g) => g.sort()).sort((x, y) => x[0].localeCompare(y[0]));
}

describe('/api/taxonomy honours the direction of the matrix measure', () => {
  it.each(['fisher-frechet', 'fisher-logdet', 'fisher-logdet:floor=1e-8'])(
    'a %s distance matrix clusters as `taskmap taxonomy --dissimilarity`',
    async (measure) => {
      const file = `${measure.replace(/[:=]/g, '-')}.json`;
      const job = await runJob(run.base, '/api/taxonomy', { matrix: `data/${file}`, clusters: 2 });
      expect(job.status, JSON.stringify(job.error)).toBe('done');
      const t = job.result as { distance: string; clusters: Record<string, number>; leafOrder: string[]; merges: { distance: number }[] };
      expect(t.distance).toBe('given');
      expect(groups(t.clusters)).toEqual([
        ['a', 'b'],
        ['c', 'd'],
      ]);
      expect(t.merges[0].distance).toBeCloseTo(0.1, 12);

      const out = join(tmp, `cli-${file}`);
      const cli = await runCli('taxonomy', '--dissimilarity', join(data, file), '--k', '2', '--out', out);
      expect(cli.code, cli.err).toBe(0);
      const c = JSON.parse(await readFile(out, 'utf8'));
      expect(groups(c.clusters)).toEqual(groups(t.clusters));
      expect(c.leafOrder).toEqual(t.leafOrder);
      expect(c.merges).toEqual(t.merges);
    },
  );

  it('a matrix without a measure id is still read as a similarity', async () => {
    const job = await runJob(run.base, '/api/taxonomy', { matrix: 'data/unlabelled.json', clusters: 2 });
    expect(job.status).toBe('done');
    const t = job.result as { distance: string; clusters: Record<string, number> };
    expect(t.distance).toBe('1 - similarity');
    expect(groups(t.clusters)).toEqual([
      ['a', 'd'],
      ['b', 'c'],
    ]);
  });
});

describe('/api/rank with a labels file target', () => {
  it('ranks the members against class labels as rankSources does', async () => {
    const job = await runJob(run.base, '/api/rank', { featureSet: 'data/zoo', targetFile: 'data/labels.csv', measure: 'rsa' });
    expect(job.status, JSON.stringify(job.error)).toBe('done');
    const r = job.result as { ranking: unknown[]; target: { kind: string; label: string } };
    const set = await loadFeatureSet(join(data, 'zoo'));
    const labels = Array.from({ length: set.n }, (_, i) => `c${i % 3}`);
    const expected = await rankSources(set.members, { kind: 'labels', labels, labelKind: 'class', label: 'data/labels.csv' }, { measure: 'rsa' });
    expect(r.ranking).toEqual(expected.ranking);
    expect(r.target.kind).toBe('labels');
    expect(r.target.label).toBe('data/labels.csv');
  });

  it('refuses two targets, none, or a target kind without a labels file', async () => {
    const post = (body: unknown) => call(run.base, 'POST', '/api/rank', body);
    expect((await post({ featureSet: 'data/zoo', measure: 'rsa' })).status).toBe(400);
    expect((await post({ featureSet: 'data/zoo', measure: 'rsa', target: 'pose-a', targetFile: 'data/labels.csv' })).status).toBe(400);
    expect((await post({ featureSet: 'data/zoo', measure: 'rsa', target: 'pose-a', targetKind: 'class' })).status).toBe(400);
    expect((await post({ featureSet: 'data/zoo', measure: 'rsa', targetFile: 'data/unlabelled.json' })).status).toBe(400);
  });
});
