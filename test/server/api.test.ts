/**
 * The HTTP API end to end: a real server on an ephemeral 127.0.0.1 port, every endpoint with good and bad input,
 * results checked against direct library calls on the same files, and every way of naming a path outside the
 * data roots (.., absolute paths, symlinks to files and folders outside, encoded dots in static URLs).
 */
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluatePrediction } from '../../src/evaluate/evaluate.js';
import { loadFeatureSet } from '../../src/features/featureSet.js';
import { writeNpy } from '../../src/io/npy.js';
import { writeNpz } from '../../src/io/npz.js';
import { labelledMatrixFromJson, writeLabelledMatrix } from '../../src/io/labelledMatrix.js';
import { standardRepresentationIds } from '../../src/measures/registry.js';
import { similarityMatrix } from '../../src/measures/similarity.js';
import { ahpAffinities } from '../../src/taskonomy/ahp.js';
import { solvePolicy } from '../../src/taskonomy/policy.js';
import { parseTournamentsJson } from '../../src/taskonomy/winrates.js';
import { leafOrder, linkage, similarityToDistance } from '../../src/taxonomy/cluster.js';
import { rankSources } from '../../src/taxonomy/rank.js';
import { haveSharedData, repoRoot, sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';
import { tournamentsFixture, writeZooFixture } from './fixtures.js';
import { call, followJob, pickleResultDict, rawRequest, runJob, startServer, type Running } from './helpers.js';

const TASKONOMY = join(sharedDataDir, 'taskonomy');
const REFERENCE_TARGETS = ['rgb2sfnorm', 'reshade', 'curvature', 'keypoint3d', 'edge3d', 'rgb2depth'];

let tmp: string;
let data: string;
let outside: string;
let run: Running;
let families: Record<string, string>;
const SMALL_AFFINITIES: Record<string, number> = {};

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'taskmap-api-'));
  data = join(tmp, 'data');
  outside = join(tmp, 'outside');
  await mkdir(outside, { recursive: true });
  families = await writeZooFixture(join(data, 'zoo', 'features'));

  // The same models as one .npz (another feature-set format), and a labelled truth matrix for evaluation.
  const set = await loadFeatureSet(join(data, 'zoo', 'features'));
  await writeFile(
    join(data, 'zoo', 'set.npz'),
    writeNpz(new Map(set.members.slice(0, 5).map((m) => [m.label, { dtype: 'float32', shape: [m.n, m.p], data: m.data } as const]))),
  );
  const labels = set.members.map((m) => m.label);
  const truth = labels.map((s) => labels.map((t) => (families[s] === families[t] ? 0.8 : 0.2) + 0.01 * (s.length - t.length)));
  await writeFile(join(data, 'zoo', 'truth.json'), JSON.stringify({ rows: labels, cols: labels, matrix: truth }));
  await writeLabelledMatrix(join(data, 'zoo', 'predicted.json'), await similarityMatrix(set, 'rsa'));

  // Taskonomy-style inputs: tournaments → affinities (the policy endpoint's small case).
  await mkdir(join(data, 'tasks'), { recursive: true });
  await writeFile(join(data, 'tasks', 'wins.json'), JSON.stringify(tournamentsFixture()));
  Object.assign(SMALL_AFFINITIES, ahpAffinities(parseTournamentsJson(tournamentsFixture())).affinities);
  await writeFile(join(data, 'tasks', 'affinities.json'), JSON.stringify(SMALL_AFFINITIES));

  // Outside the root: a secret result dict and features, reachable only through symlinks planted inside.
  await writeFile(join(outside, 'secret.json'), JSON.stringify({ secret__target: 0.25 }));
  await writeFile(join(outside, 'leak.npy'), writeNpy({ dtype: 'float32', shape: [48, 24], data: set.members[0].data }));
  await symlink(outside, join(data, 'escape'));
  await symlink(join(outside, 'secret.json'), join(data, 'secret-link.json'));
  await mkdir(join(data, 'evil'));
  await writeFile(join(data, 'evil', 'ok.npy'), writeNpy({ dtype: 'float32', shape: [48, 24], data: set.members[1].data }));
  await symlink(join(outside, 'leak.npy'), join(data, 'evil', 'leak.npy'));
  await mkdir(join(data, 'evil-dir'));
  await writeFile(join(data, 'evil-dir', 'ok.npy'), writeNpy({ dtype: 'float32', shape: [48, 24], data: set.members[1].data }));
  await symlink(outside, join(data, 'evil-dir', 'sub'));

  const ui = join(tmp, 'ui');
  await mkdir(ui);
  await writeFile(join(ui, 'index.html'), '<!doctype html><title>taskmap test ui</title>');
  run = await startServer({
    dataRoots: [data, ...(haveSharedData ? [TASKONOMY] : [])],
    uploadDir: join(tmp, 'uploads'),
    uiDir: ui,
    maxUploadBytes: 256 * 1024,
  });
});

afterAll(async () => {
  await run?.close();
  await rm(tmp, { recursive: true, force: true });
});

const get = (path: string) => call(run.base, 'GET', path);
const post = (path: string, body: unknown, headers?: Record<string, string>) => call(run.base, 'POST', path, body, headers);

function expectError(r: { status: number; body: any }, status: number, pattern?: RegExp): void {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body.error.code).toEqual(expect.any(String));
  if (pattern) expect(r.body.error.message).toMatch(pattern);
  // Error messages name files by their root, never by the server's absolute paths of the roots.
  expect(r.body.error.message).not.toContain(data);
  expect(r.body.error.message).not.toContain(join(tmp, 'uploads'));
}

describe('catalog endpoints', () => {
  it('health names the roots, the upload root writable', async () => {
    const r = await get('/api/health');
    expect(r.status).toBe(200);
    expect(r.body.roots).toContainEqual({ name: 'data', writable: false });
    expect(r.body.roots).toContainEqual({ name: 'uploads', writable: true });
  });

  it('lists measures from the registry', async () => {
    const r = await get('/api/measures');
    expect(r.status).toBe(200);
    expect(r.body.families.map((f: { id: string }) => f.id)).toEqual(['rsa', 'dds', 'cka']);
    expect(r.body.measures.map((m: { id: string }) => m.id)).toEqual(standardRepresentationIds());
    expect(r.body.linkages).toContain('average');
  });

  it('describes a measure id, and refuses a bad one with the registry message', async () => {
    const ok = await get('/api/measures/describe?id=dds:norm=znorm');
    expect(ok.status).toBe(200);
    expect(ok.body.id).toBe('dds:norm=znorm,kernel=cosine');
    expectError(await get('/api/measures/describe?id=dds:kernel=nope'), 400, /kernel="nope" is not one of/);
    expectError(await get('/api/measures/describe'), 400, /missing required field "id"/);
    expectError(await get('/api/measures/describe?id=rsa&extra=1'), 400, /unknown field "extra"/);
  });

  it('lists feature sets and result files found under the roots, and nothing behind escaping symlinks', async () => {
    const r = await get('/api/datasets');
    expect(r.status).toBe(200);
    const sets = r.body.featureSets.map((s: { path: string }) => s.path);
    expect(sets).toEqual(expect.arrayContaining(['data/zoo/features', 'data/zoo/set.npz', 'data/evil', 'data/evil-dir']));
    const results = Object.fromEntries(r.body.results.map((x: { path: string; kind: string }) => [x.path, x.kind]));
    expect(results['data/tasks/affinities.json']).toBe('resultDict');
    expect(results['data/tasks/wins.json']).toBe('tournaments');
    expect(results['data/zoo/truth.json']).toBe('matrix');
    expect(Object.keys(results).some((p) => p.includes('secret') || p.startsWith('data/escape'))).toBe(false);
    if (haveSharedData) {
      const pkl = r.body.results.find((x: { path: string }) => x.path === 'taskonomy/results/affinities/all_affinities_16k.pkl');
      expect(pkl).toMatchObject({ kind: 'resultDict', format: 'pkl', transfers: 1758, targets: 22, role: 'affinities' });
    }
  });

  it('describes a feature set with its zoo families', async () => {
    const r = await get('/api/featureset?path=data/zoo/features');
    expect(r.status).toBe(200);
    expect(r.body.images).toBe(48);
    expect(r.body.members).toHaveLength(Object.keys(families).length);
    expect(r.body.families).toEqual(families);
  });

  it('refuses paths outside the data roots', async () => {
    const q = (p: string) => get(`/api/featureset?path=${encodeURIComponent(p)}`);
    expectError(await q('data/../outside'), 403, /contains "\.\."/);
    expectError(await q('data/zoo/../../outside'), 403, /contains "\.\."/);
    expectError(await q(join(outside)), 403, /absolute path/);
    expectError(await q('/etc'), 403, /absolute path/);
    expectError(await q('data\\..\\outside'), 400, /backslash/);
    expectError(await q('data/./zoo'), 400, /empty or "\." segment/);
    expectError(await q('data/zoo\0x'), 400, /NUL/);
    expectError(await q('nope/zoo'), 404, /no data root "nope"/);
    expectError(await q('data/missing'), 404, /does not exist/);
    expectError(await q('data/escape'), 403, /outside its data root/);
    // A feature-set folder holding a symlink to a file, or to a folder, outside the root.
    expectError(await q('data/evil'), 403, /symlink \(leak\.npy\) to a file outside/);
    expectError(await q('data/evil-dir'), 403, /outside its data root/);
  });
});

describe('similarity, taxonomy, ranking, evaluation jobs', () => {
  it('computes the similarity matrix in the background, streams progress, then serves it from the cache', async () => {
    const body = { featureSet: 'data/zoo/features', measure: 'rsa' };
    const first = await post('/api/similarity', body);
    expect([200, 202]).toContain(first.status);
    expect(first.headers.get('location')).toBe(`/api/jobs/${first.body.job.id}`);
    const events = await followJob(run.base, first.body.job.id);
    const last = events[events.length - 1];
    expect(last.type).toBe('done');
    if (first.status === 202) expect(events.some((e) => e.type === 'progress' && e.job.progress?.stage === 'preparing models')).toBe(true);
    const expected = await similarityMatrix(await loadFeatureSet(join(data, 'zoo', 'features')), 'rsa');
    const got = labelledMatrixFromJson((last.job.result as { matrix: unknown }).matrix);
    expect(got.rows).toEqual(expected.rows);
    expect(Array.from(got.matrix.data)).toEqual(Array.from(expected.matrix.data));

    const again = await post('/api/similarity', { measure: 'rsa:rdm=correlation', featureSet: 'data/zoo/features' });
    expect(again.status).toBe(200);
    expect(again.body.job.id).toBe(first.body.job.id); // same canonical inputs → same job
    expect(again.body.job.result.measure.id).toBe('rsa');
    const byId = await get(`/api/jobs/${first.body.job.id}`);
    expect(byId.body.job.status).toBe('done');
  });

  it('validates similarity requests before queuing anything', async () => {
    expectError(await post('/api/similarity', { featureSet: 'data/zoo/features', measure: 'nope' }), 400, /unknown measure "nope"/);
    expectError(await post('/api/similarity', { featureSet: 'data/zoo/features' }), 400, /missing required field "measure"/);
    expectError(await post('/api/similarity', { featureSet: 'data/zoo/features', measure: 'rsa', measures: 'x' }), 400, /unknown field "measures"/);
    expectError(await post('/api/similarity', { featureSet: 7, measure: 'rsa' }), 400, /featureSet must be string/);
    expectError(
      await post('/api/similarity', { featureSet: 'data/zoo/features', measure: 'rsa', precision: 'float16' }),
      400,
      /precision must be one of float64, float32/,
    );
    expectError(await post('/api/similarity', { featureSet: '../etc', measure: 'rsa' }), 403);
    expectError(
      await post('/api/similarity', JSON.stringify({ featureSet: 'data/zoo/features', measure: 'rsa' }), { 'content-type': 'text/plain' }),
      400,
      /body must be object/,
    );
    expectError(await post('/api/similarity', '<xml/>', { 'content-type': 'application/xml' }), 415);
    expectError(await post('/api/similarity', '{"featureSet": ', { 'content-type': 'application/json' }), 400);
    expectError(await post('/api/similarity', { featureSet: 'x'.repeat(2 * 1024 * 1024), measure: 'rsa' }), 413);
  });

  it('builds the taxonomy with the library: tree order, families as clusters, MDS', async () => {
    const job = await runJob(run.base, '/api/taxonomy', { featureSet: 'data/zoo/features', measure: 'dds:norm=znorm,kernel=cosine' });
    expect(job.status).toBe('done');
    const t = job.result as any;
    const sim = await similarityMatrix(await loadFeatureSet(join(data, 'zoo', 'features')), 'dds:norm=znorm,kernel=cosine');
    const tree = linkage(similarityToDistance(sim.matrix, sim.rows), 'average', sim.rows);
    expect(t.leafOrder).toEqual(leafOrder(tree).map((i) => sim.rows[i]));
    expect(t.k).toBe(4); // one cluster per task family by default
    for (const a of sim.rows) for (const b of sim.rows) expect(t.clusters[a] === t.clusters[b]).toBe(families[a] === families[b]);
    expect(Object.keys(t.mds.coords)).toHaveLength(sim.rows.length);
    expect(t.families).toEqual(families);
    expect(t.newick.endsWith(';')).toBe(true);

    const fromMatrix = await runJob(run.base, '/api/taxonomy', { matrix: 'data/zoo/predicted.json', linkage: 'complete', clusters: 2 });
    expect(fromMatrix.status).toBe('done');
    expect((fromMatrix.result as any).linkage).toBe('complete');
    expect(new Set(Object.values((fromMatrix.result as any).clusters)).size).toBe(2);

    expectError(await post('/api/taxonomy', { featureSet: 'data/zoo/features', matrix: 'data/zoo/predicted.json' }), 400, /exactly one/);
    expectError(await post('/api/taxonomy', { featureSet: 'data/zoo/features' }), 400, /"measure" is required/);
    expectError(await post('/api/taxonomy', { matrix: 'data/zoo/predicted.json', linkage: 'centroid' }), 400, /linkage must be one of/);
    expectError(await post('/api/taxonomy', { matrix: 'data/secret-link.json' }), 403, /outside its data root/);
    const capped = await runJob(run.base, '/api/taxonomy', { matrix: 'data/zoo/predicted.json', clusters: 999 });
    expect(capped.status).toBe('done');
    expect((capped.result as any).k).toBe(sim.rows.length); // k is capped at the number of items
    const asymmetric = await runJob(run.base, '/api/taxonomy', { matrix: 'data/zoo/truth.json' });
    expect(asymmetric.error?.message).toMatch(/not symmetric/);
  });

  it('ranks sources for a target with bootstrap intervals, as rankSources does', async () => {
    const body = { featureSet: 'data/zoo/features', target: 'pose-a', measure: 'rsa', bootstrap: 8, seed: 3 };
    const job = await runJob(run.base, '/api/rank', body);
    expect(job.status).toBe('done');
    const r = job.result as any;
    const set = await loadFeatureSet(join(data, 'zoo', 'features'));
    const expected = await rankSources(set.members, { kind: 'member', label: 'pose-a' }, { measure: 'rsa', bootstrap: 8, seed: 3 });
    expect(r.ranking).toEqual(expected.ranking);
    expect(families[r.ranking[0].label]).toBe('pose');
    expect(r.ranking[0].ci95).toHaveLength(2);

    const unknown = await runJob(run.base, '/api/rank', { ...body, target: 'pose-aa' });
    expect(unknown.status).toBe('failed');
    expect(unknown.error).toMatchObject({ status: 422, code: 'unprocessable' });
    expect(unknown.error!.message).toMatch(/did you mean "pose-a"/);
    expectError(await post('/api/rank', { ...body, bootstrap: -1 }), 400, /bootstrap must be >= 0/);
    expectError(await post('/api/rank', { ...body, bootstrap: 1.5 }), 400, /bootstrap must be integer/);
    expectError(await post('/api/rank', { ...body, seed: 2 ** 33 }), 400, /seed must be <=/);
    const badSubset = await runJob(run.base, '/api/rank', { ...body, subset: 48 });
    expect(badSubset.error?.message).toMatch(/bootstrap subset must be a whole number from 4 to 47/);
  });

  it('evaluates a predicted matrix or a set of measures against ground truth', async () => {
    const job = await runJob(run.base, '/api/evaluate', { predicted: 'data/zoo/predicted.json', truth: 'data/zoo/truth.json', metric: 'kendall' });
    expect(job.status).toBe('done');
    const predicted = labelledMatrixFromJson(JSON.parse(await readFile(join(data, 'zoo', 'predicted.json'), 'utf8')));
    const truth = labelledMatrixFromJson(JSON.parse(await readFile(join(data, 'zoo', 'truth.json'), 'utf8')));
    expect((job.result as any).per_target).toEqual(evaluatePrediction(predicted, truth, { metric: 'kendall' }).per_target);

    const harness = await runJob(run.base, '/api/evaluate', { featureSet: 'data/zoo/features', measures: ['rsa', 'cka'], truth: 'data/zoo/truth.json' });
    expect(harness.status).toBe('done');
    expect((harness.result as any).rows.map((r: { measure: string }) => r.measure)).toEqual(['rsa', 'cka']);
    expect((harness.result as any).rows[0].mean).toBeCloseTo((job.result as any).mean === null ? 0 : evaluatePrediction(predicted, truth).mean!, 12);

    expectError(await post('/api/evaluate', { truth: 'data/zoo/truth.json' }), 400, /exactly one of "featureSet"/);
    expectError(await post('/api/evaluate', { featureSet: 'data/zoo/features', truth: 'data/zoo/truth.json' }), 400, /"measures" is required/);
    expectError(
      await post('/api/evaluate', { predicted: 'data/zoo/predicted.json', truth: 'data/zoo/truth.json', metric: 'auc' }),
      400,
      /metric must be one of/,
    );
    const badLabels = await runJob(run.base, '/api/evaluate', { predicted: 'data/zoo/predicted.json', truth: 'data/zoo/truth.json', targets: ['nobody'] });
    expect(badLabels.error?.message).toMatch(/target "nobody" not found/);
  });

  it('answers 404 for unknown jobs and 400 for malformed ids', async () => {
    expectError(await get('/api/jobs/0123456789abcdef01234567'), 404);
    expectError(await get('/api/jobs/not-a-job'), 400, /must match pattern/);
    expectError(await get('/api/jobs/0123456789abcdef01234567/events'), 404);
    const list = await get('/api/jobs');
    expect(list.body.jobs.length).toBeGreaterThan(0);
    expect(list.body.jobs.every((j: { result?: unknown }) => j.result === undefined)).toBe(true);
  });
});

describe('Taskonomy endpoints', () => {
  it('describes a result dict with the policy default roles, and gives its first-order matrix', async () => {
    const info = await get('/api/results/info?path=data/tasks/affinities.json');
    expect(info.status).toBe(200);
    expect(info.body.targets).toEqual(['c', 'd']);
    expect(info.body.defaultRoles.targets).toEqual(['c', 'd']);
    expect(info.body.defaultRoles.sourceOnly).toEqual(['a', 'b']);
    const m = await post('/api/results/matrix', { path: 'data/tasks/affinities.json' });
    expect(m.status).toBe(200);
    expect(m.body.cols).toEqual(['c', 'd']);
    expect(m.body.matrix[m.body.rows.indexOf('a')][0]).toBe(SMALL_AFFINITIES.a__c);
    expectError(await get('/api/results/info?path=data/zoo/truth.json'), 422, /not a Taskonomy transfer key/);
    expectError(await get('/api/results/info?path=data/secret-link.json'), 403);
    const unknownTarget = await post('/api/results/matrix', { path: 'data/tasks/affinities.json', targets: ['zz'] });
    expect(unknownTarget.body.matrix.flat().every((v: number | null) => v === null)).toBe(true); // missing transfers are null
  });

  it('runs AHP on tournaments (before and after matrices) and saves affinities the policy can use', async () => {
    const r = await post('/api/ahp', { tournaments: 'data/tasks/wins.json' });
    expect(r.status).toBe(200);
    expect(r.body.affinities).toEqual(SMALL_AFFINITIES);
    expect(r.body.before.baseline).toBe('pixels');
    expect(r.body.after.cols).toEqual(['c', 'd']);
    const saved = await post('/api/ahp', { tournaments: 'data/tasks/wins.json', save: 'mine' });
    expect(saved.status).toBe(201);
    expect(saved.body.saved).toEqual({
      affinities: 'uploads/mine-affinities.json',
      wins_vs_pixels: 'uploads/mine-wins_vs_pixels.json',
      wins_vs_task: 'uploads/mine-wins_vs_task.json',
    });
    const policy = await post('/api/policy', {
      affinities: saved.body.saved.affinities,
      winsVsTask: saved.body.saved.wins_vs_task,
      budget: 1,
      objective: 'quality',
    });
    expect(policy.status).toBe(200);
    expect(policy.body.status).toBe('optimal');
    expectError(await post('/api/ahp', { tournaments: 'data/tasks/affinities.json' }), 422, /target "a__c": not a task name/);
    expectError(await post('/api/ahp', { tournaments: 'data/tasks/wins.json', clip: [0.5] }), 400, /clip must NOT have fewer than 2 items/);
  });

  it('solves a policy inline, caches it, and refuses bad options', async () => {
    const body = { affinities: 'data/tasks/affinities.json', budget: 1, sourceOnly: ['a', 'b'] };
    const r = await post('/api/policy', body);
    expect(r.status).toBe(200);
    const expected = await solvePolicy({ affinities: SMALL_AFFINITIES, budget: 1, sourceOnly: ['a', 'b'] });
    expect(r.body.objective).toBe(expected.objective);
    expect(r.body.supervised).toEqual(expected.supervised);
    expect(r.body.cached).toBe(false);
    expect((await post('/api/policy', body)).body.cached).toBe(true);

    expectError(await post('/api/policy', { ...body, budget: -1 }), 400, /budget must be >= 0/);
    expectError(await post('/api/policy', { ...body, budget: '1' }), 400, /budget must be number/);
    expectError(await post('/api/policy', { ...body, budjet: 1 }), 400, /unknown field "budjet"/);
    expectError(await post('/api/policy', { ...body, objective: 'joy' }), 400, /objective must be one of/);
    expectError(await post('/api/policy', { ...body, maxOrder: 0 }), 400, /maxOrder must be >= 1/);
    expectError(await post('/api/policy', { ...body, cost: { a: -2 } }), 400, /cost\.a must be >= 0/);
    expectError(await post('/api/policy', { ...body, targets: ['nope'] }), 422, /target "nope" has no candidate transfer/);
    expectError(await post('/api/policy', { ...body, objective: 'gain' }), 422, /needs the winsVsPixels/);
    expectError(await post('/api/policy', { ...body, affinities: 'data/escape/secret.json' }), 403, /outside its data root/);
    expectError(await post('/api/policy', { ...body, affinities: 'data/secret-link.json' }), 403, /outside its data root/);
    expectError(await post('/api/policy', { ...body, affinities: `${outside}/secret.json` }), 403, /absolute path/);
    expectError(await post('/api/policy', { ...body, affinities: 'data/tasks/../../outside/secret.json' }), 403);
  });

  it.skipIf(skipWithoutSharedData)('reproduces the published policy check on Taskonomy’s own pickle (docs/taskonomy.md#supervision-policy)', async () => {
    const body = {
      affinities: 'taskonomy/results/affinities/all_affinities_16k.pkl',
      winsVsPixels: 'taskonomy/results/winrates/wins_vs_pixels_16k.pkl',
      winsVsTask: 'taskonomy/results/winrates/wins_vs_task_16k.pkl',
      objective: 'sqrtAffinity',
      budget: 3,
      maxOrder: 2,
      targets: REFERENCE_TARGETS,
      sourceOnly: [],
    };
    const r = await post('/api/policy', body);
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('optimal');
    expect([...r.body.supervised].sort()).toEqual(['curvature', 'keypoint3d', 'rgb2sfnorm']);
    expect(r.body.objective).toBeCloseTo(1.221566380396, 9);
    const edge3d = r.body.transfers.find((t: { target: string }) => t.target === 'edge3d');
    expect([...edge3d.sources].sort()).toEqual(['curvature', 'rgb2sfnorm']);
    expect(r.body.meanQuality).toEqual(expect.any(Number));
    expect(r.body.solver).toBe('exhaustive'); // "auto": a small enumeration beats HiGHS here
    const highs = await post('/api/policy', { ...body, solver: 'highs' });
    expect(highs.body.solver).toMatch(/^highs/);
    expect(highs.body.objective).toBeCloseTo(r.body.objective, 12);
    expect([...highs.body.supervised].sort()).toEqual(['curvature', 'keypoint3d', 'rgb2sfnorm']);
  });

  it('sweeps budgets as a background job', async () => {
    const job = await runJob(run.base, '/api/policy/sweep', { affinities: 'data/tasks/affinities.json', sourceOnly: ['a', 'b'] });
    expect(job.status).toBe('done');
    const rows = (job.result as any).sweep;
    expect(rows.map((r: { budget: number }) => r.budget)).toEqual([1, 2, 3, 4]);
    for (let i = 1; i < rows.length; i++) expect(rows[i].objective).toBeGreaterThanOrEqual(rows[i - 1].objective - 1e-12);
    expectError(await post('/api/policy/sweep', { affinities: 'data/tasks/affinities.json', budgets: [] }), 400, /budgets must NOT have fewer than 1 items/);
    expectError(await post('/api/policy/sweep', { affinities: 'data/tasks/affinities.json', budget: 2 }), 400, /unknown field "budget"/);
    expectError(await post('/api/policy/sweep', { affinities: 'data/tasks/affinities.json', targets: ['zz'] }), 400, /target "zz"/);
  });
});

describe('uploads', () => {
  const form = (...files: [string, Uint8Array | string][]) => {
    const f = new FormData();
    for (const [name, bytes] of files) f.append('file', new Blob([bytes]), name);
    return f;
  };
  const upload = (f: FormData, query = '') => call(run.base, 'POST', `/api/uploads${query}`, f);

  it('accepts a .npz feature set, validated by the loader, and lists it', async () => {
    const r = await upload(form(['zoo set.npz', await readFile(join(data, 'zoo', 'set.npz'))]));
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.saved[0]).toMatchObject({ path: 'uploads/zoo_set.npz', kind: 'featureSet', images: 48 });
    const sim = await runJob(run.base, '/api/similarity', { featureSet: 'uploads/zoo_set.npz', measure: 'cka' });
    expect(sim.status).toBe('done');
    const again = await upload(form(['zoo set.npz', await readFile(join(data, 'zoo', 'set.npz'))]));
    expect(again.body.saved[0].path).toBe('uploads/zoo_set-2.npz'); // never overwrites
    const list = await get('/api/datasets');
    expect(list.body.featureSets.map((s: { path: string }) => s.path)).toContain('uploads/zoo_set.npz');
  });

  it('turns several .npy files into one feature-set folder', async () => {
    const dir = join(data, 'zoo', 'features');
    const r = await upload(
      form(['pose-a.npy', await readFile(join(dir, 'pose-a.npy'))], ['seg-a.npy', await readFile(join(dir, 'seg-a.npy'))]),
      '?name=two models',
    );
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.saved[0]).toMatchObject({ path: 'uploads/two_models', kind: 'featureSet', members: ['pose-a', 'seg-a'] });
  });

  it('accepts Taskonomy result dicts as pickles and JSON, and refuses what the readers refuse', async () => {
    const r = await upload(form(['tiny affinities.pkl', pickleResultDict(SMALL_AFFINITIES)], ['wins.json', JSON.stringify(tournamentsFixture())]));
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.saved.map((s: { kind: string }) => s.kind)).toEqual(['resultDict', 'tournaments']);
    const policy = await post('/api/policy', { affinities: r.body.saved[0].path, budget: 2 });
    expect(policy.status).toBe(200);

    const hostile = await readFile(join(repoRoot, 'test/fixtures/io/pickle/hostile_os_system.pkl'));
    expectError(await upload(form(['evil.pkl', hostile])), 422, /evil\.pkl/);
    expectError(await upload(form(['notes.json', '{"hello": "world"}'])), 422, /not a Taskonomy result dict/);
    expectError(await upload(form(['bad.npy', 'not numpy'])), 422);
    const uploads = await readdir(join(tmp, 'uploads'));
    expect(uploads.some((f) => f.startsWith('evil') || f.startsWith('notes') || f.startsWith('bad') || f.startsWith('.upload'))).toBe(false);
  });

  it('enforces the size limit, file types and the multipart format; names cannot escape the folder', async () => {
    expectError(await upload(form(['big.npz', new Uint8Array(300 * 1024)])), 413);
    expectError(await upload(form(['run.sh', 'echo hi'])), 415, /unsupported file type/);
    expectError(await post('/api/uploads', { file: 'x' }), 415, /multipart/);
    expectError(await upload(new FormData()), 400, /no file/);
    const sneaky = await upload(form(['../../../sneaky.json', JSON.stringify(SMALL_AFFINITIES)]));
    expect(sneaky.status).toBe(201);
    expect(sneaky.body.saved[0].path).toBe('uploads/sneaky.json');
    expect(await readdir(tmp)).not.toContain('sneaky.json');
  });
});

describe('HTTP hardening', () => {
  it('answers only to loopback Host names and refuses cross-site writes', async () => {
    const rebinding = await rawRequest(run.port, '/api/health', { headers: { host: 'evil.example:80' } });
    expect(rebinding.status).toBe(403);
    expect(JSON.parse(rebinding.body).error.message).toMatch(/not this machine/);
    expect((await rawRequest(run.port, '/api/health', { headers: { host: `localhost:${run.port}` } })).status).toBe(200);
    const csrf = await post('/api/policy', { affinities: 'data/tasks/affinities.json', budget: 1 }, { origin: 'http://evil.example' });
    expectError(csrf, 403, /cross-site/);
    const sameSite = await post('/api/policy', { affinities: 'data/tasks/affinities.json', budget: 1 }, { origin: run.base });
    expect(sameSite.status).toBe(200);
  });

  it('serves the UI with a strict CSP and never a file outside it', async () => {
    const index = await get('/');
    expect(index.status).toBe(200);
    expect(index.body).toContain('taskmap test ui');
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    for (const path of ['/../../../../etc/passwd', '/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2f..%2fetc%2fpasswd', '/%252e%252e/etc/passwd']) {
      const r = await rawRequest(run.port, path, { headers: { host: `127.0.0.1:${run.port}` } });
      expect(r.status, path).toBeGreaterThanOrEqual(400);
      expect(r.body).not.toContain('root:');
    }
    expectError(await get('/api/nope'), 404, /no route GET \/api\/nope/);
  });
});
