/**
 * The bootstrap option of /api/taxonomy and /api/similarity (docs/measures.md#inference): the same draws, intervals
 * and split support as the library (and so as `taskmap similarity --bootstrap` / `taxonomy --support`), and 400s for
 * options that do not fit together. /api/permutation: the library's permutation test of a pair (observed value, p,
 * every shuffled value), for a batched and a pairwise measure; bad requests refused before or by the job.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFeatureSet } from '../../src/features/featureSet.js';
import { bootstrapSimilarity, bootstrapSplitSupport, permutationTest } from '../../src/taxonomy/inference.js';
import { writeZooFixture } from './fixtures.js';
import { call, runJob, startServer, type Running } from './helpers.js';

let tmp: string;
let data: string;
let run: Running;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'taskmap-inference-api-'));
  data = join(tmp, 'data');
  await mkdir(data, { recursive: true });
  await writeZooFixture(join(data, 'zoo'));
  run = await startServer({ dataRoots: [data], uploadDir: join(tmp, 'uploads'), maxUploadBytes: 256 * 1024 });
});

afterAll(async () => {
  await run?.close();
  await rm(tmp, { recursive: true, force: true });
});

interface Iv {
  level: number;
  resampling: { draws: number; size: number; seed: number };
  lower: { rows: string[]; matrix: number[][] };
  upper: { rows: string[]; matrix: number[][] };
}

describe('bootstrap over the API', () => {
  it('/api/taxonomy returns split support on the tree and cell intervals, as the library computes them', async () => {
    const body = { featureSet: 'data/zoo/features', measure: 'cka', linkage: 'average', bootstrap: 5, subset: 20, seed: 9 };
    const job = await runJob(run.base, '/api/taxonomy', { ...body, featureSet: 'data/zoo' });
    expect(job.status, JSON.stringify(job.error)).toBe('done');
    const t = job.result as { support: number[]; tree: { support?: number }; newick: string; intervals: Iv; similarity: { rows: string[] } };
    const set = await loadFeatureSet(join(data, 'zoo'));
    const b = await bootstrapSimilarity(set.members, 'cka', { draws: 5, subset: 20, seed: 9 });
    expect(t.similarity.rows).toEqual(b.labels);
    expect(t.support).toEqual(bootstrapSplitSupport(b.point, b.matrices, { linkage: 'average' }).support);
    expect(t.tree.support).toBe(1);
    expect(t.newick).toMatch(/\)1;$/);
    expect(t.intervals.resampling).toMatchObject({ draws: 5, size: 20, seed: 9 });
    expect(t.intervals.level).toBe(0.95);
    const m = b.labels.length;
    t.intervals.lower.matrix.forEach((row, i) => row.forEach((v, j) => expect(v).toBe(b.lower.data[i * m + j])));
    t.intervals.upper.matrix.forEach((row, i) => row.forEach((v, j) => expect(v).toBe(b.upper.data[i * m + j])));
  });

  it('/api/similarity adds intervals with "bootstrap" and keeps its answer without', async () => {
    const job = await runJob(run.base, '/api/similarity', { featureSet: 'data/zoo', measure: 'rsa', bootstrap: 3, subset: 16 });
    expect(job.status, JSON.stringify(job.error)).toBe('done');
    const r = job.result as { intervals: Iv; matrix: { matrix: number[][] } };
    expect(r.intervals.resampling).toMatchObject({ draws: 3, size: 16, seed: 1993 });
    r.intervals.lower.matrix.forEach((row, i) => row.forEach((v, j) => expect(v).toBeLessThanOrEqual(r.intervals.upper.matrix[i][j])));
    const plain = await runJob(run.base, '/api/similarity', { featureSet: 'data/zoo', measure: 'rsa' });
    expect((plain.result as Record<string, unknown>).intervals).toBeUndefined();
    expect((plain.result as { matrix: unknown }).matrix).toEqual(r.matrix);
  });

  it('refuses options that do not fit together', async () => {
    const post = (path: string, body: unknown) => call(run.base, 'POST', path, body);
    const bad = async (path: string, body: unknown, message: RegExp) => {
      const r = await post(path, body);
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.body)).toMatch(message);
    };
    await bad('/api/taxonomy', { featureSet: 'data/zoo', measure: 'cka', subset: 10 }, /need \\"bootstrap\\"/);
    await bad('/api/taxonomy', { featureSet: 'data/zoo', measure: 'cka', bootstrap: 2, subset: 10, replacement: true }, /with \\"replacement\\" every draw/);
    await bad('/api/taxonomy', { matrix: 'data/zoo/x.json', bootstrap: 2 }, /give \\"featureSet\\"/);
    await bad('/api/similarity', { featureSet: 'data/zoo', measure: 'cka', bootstrap: 0 }, /bootstrap/);
  });
});

describe('permutation test over the API', () => {
  it.each([
    ['rsa', 7],
    ['procrustes', 11],
  ])('/api/permutation (%s) returns the library’s observed value, p and null values for the seed', async (measure, seed) => {
    const set = await loadFeatureSet(join(data, 'zoo'));
    const [a, b] = [set.members[0], set.members[1]];
    const job = await runJob(run.base, '/api/permutation', { featureSet: 'data/zoo', measure, a: a.label, b: b.label, permutations: 20, seed });
    expect(job.status, JSON.stringify(job.error)).toBe('done');
    const r = job.result as {
      featureSet: string;
      measure: { id: string; largerIsMoreSimilar: boolean };
      a: string;
      b: string;
      observed: number;
      pValue: number;
      extreme: number;
      permutations: number;
      seed: number;
      null: number[];
    };
    const t = await permutationTest(a, b, measure, { permutations: 20, seed });
    expect(r).toMatchObject({ featureSet: 'data/zoo', a: a.label, b: b.label, permutations: 20, seed, extreme: t.extreme });
    expect(r.measure.id).toBe(measure);
    expect(r.measure.largerIsMoreSimilar).toBe(measure === 'rsa');
    expect(r.observed).toBe(t.observed);
    expect(r.pValue).toBe(t.pValue);
    expect(r.null).toEqual(Array.from(t.null));
    // Related members of one family: the shuffles never reach the observed value (p = 1/(P + 1)).
    expect(r.pValue).toBeCloseTo(1 / 21, 12);
    expect(new Set(r.null).size).toBe(20);
  });

  it('refuses bad requests: schema (400) before queuing, unknown members in the job', async () => {
    const post = (body: unknown) => call(run.base, 'POST', '/api/permutation', body);
    const base = { featureSet: 'data/zoo', measure: 'cka', a: 'x', b: 'y', permutations: 10 };
    const bad = async (body: unknown, status: number, message: RegExp) => {
      const r = await post(body);
      expect(r.status).toBe(status);
      expect(JSON.stringify(r.body)).toMatch(message);
    };
    await bad({ ...base, permutations: 0 }, 400, /permutations must be >= 1/);
    await bad({ ...base, permutations: 10_001 }, 400, /permutations must be <= 10000/);
    await bad({ ...base, b: undefined }, 400, /missing required field \\"b\\"/);
    await bad({ ...base, seed: -1 }, 400, /seed/);
    await bad({ ...base, measure: 'nope' }, 400, /unknown measure \\"nope\\"/);
    await bad({ ...base, featureSet: '../etc' }, 403, /./);
    const job = await runJob(run.base, '/api/permutation', base);
    expect(job.status).toBe('failed');
    expect(job.error?.message).toMatch(/"x"/);
  });
});
