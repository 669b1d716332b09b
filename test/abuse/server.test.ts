/**
 * The server under hostile and oversized input (issue 11): every upload below is refused with a JSON 4xx that
 * names the file and the problem, a job that would need gigabytes fails with a message naming the memory limit,
 * and the server answers `/api/health` within a second during and after each — because files are read and jobs
 * run in worker processes with memory and time limits (src/server/workers.ts). Also: CSRF refusals, the job cap
 * (429), cancellation, the job time limit, and `taskmap serve` exiting promptly on SIGTERM.
 *
 * Bounds: the workers run with a 256 MiB limit, so no case makes any process grow past that plus the test's own
 * size (RSS_CAP_MB for the test process, checked at the end); each case ends within CASE_MS. The readers' own
 * budget is lifted (TASKMAP_MAX_MEMORY=64G) so that the cases reach the server's backstop even where the readers
 * would refuse first; with the default budget they are refused earlier, which these assertions also accept.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSRF_HEADER } from '../../src/server/app.js';
import type { JobView } from '../../src/server/jobs.js';
import { repoRoot } from '../helpers/sharedData.js';
import { writeZooFixture } from '../server/fixtures.js';
import { call, followJob, runJob, startServer, type Reply, type Running } from '../server/helpers.js';
import { RSS_CAP_MB } from './bounded.js';
import {
  lossesCsv,
  npyFeatures,
  npzDeclaresHugeSize,
  npzDeflateBomb,
  pickleBillionLaughs,
  pickleCycle,
  pickleDeepNesting,
  pickleHugeLong4,
  pickleLyingLong4,
} from './serverInputs.js';

const WORKER_MB = 256;
/** tsx's loader by URL: the served folder (the child's working directory) has no node_modules. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
/** Each case (upload or job, a worker restart included) ends within this. */
const CASE_MS = 20_000;
/** `/api/health` answers within this while a case runs and after it. */
const HEALTH_MS = 1000;

let tmp: string;
let uploads: string;
let run: Running;
const savedEnv = process.env.TASKMAP_MAX_MEMORY;

beforeAll(async () => {
  process.env.TASKMAP_MAX_MEMORY = '64G';
  tmp = await mkdtemp(join(tmpdir(), 'taskmap-abuse-server-'));
  uploads = join(tmp, 'uploads');
  // A set large enough that a 2000-draw bootstrap ranking runs for many seconds: the job to cancel.
  await writeZooFixture(join(tmp, 'data', 'slow'), { images: 400, features: 64 });
  run = await startServer({
    dataRoots: [join(tmp, 'data')],
    uploadDir: uploads,
    uiDir: null,
    workerLimits: { memoryMb: WORKER_MB, jobTimeLimit: 60, readTimeLimit: 30 },
    maxActiveJobs: 3,
  });
});

afterAll(async () => {
  await run?.close();
  await rm(tmp, { recursive: true, force: true });
  if (savedEnv === undefined) delete process.env.TASKMAP_MAX_MEMORY;
  else process.env.TASKMAP_MAX_MEMORY = savedEnv;
});

async function health(): Promise<number> {
  const t0 = performance.now();
  const r = await call(run.base, 'GET', '/api/health', undefined, {});
  expect(r.status).toBe(200);
  return performance.now() - t0;
}

/** Await `work` while polling `/api/health`; the slowest health answer must stay under HEALTH_MS, and so must one after. */
async function whileHealthy<T>(work: Promise<T>): Promise<T> {
  let settled = false;
  const t0 = performance.now();
  void work.finally(() => (settled = true)).catch(() => undefined);
  let worst = 0;
  while (!settled) {
    worst = Math.max(worst, await health());
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(performance.now() - t0, 'case duration').toBeLessThan(CASE_MS);
  worst = Math.max(worst, await health());
  expect(worst, 'slowest /api/health answer, ms').toBeLessThan(HEALTH_MS);
  return work;
}

function form(name: string, bytes: Uint8Array | string): FormData {
  const f = new FormData();
  f.append('file', new Blob([bytes]), name);
  return f;
}

const upload = (f: FormData, headers: Record<string, string> = {}, query = '') => call(run.base, 'POST', `/api/uploads${query}`, f, headers);

function expectRefusal(r: Reply, file: string, reason?: RegExp): void {
  expect(r.status, JSON.stringify(r.body)).toBeGreaterThanOrEqual(400);
  expect(r.status, JSON.stringify(r.body)).toBeLessThan(500);
  expect(typeof r.body.error?.code).toBe('string');
  expect(r.body.error.message).toContain(file);
  if (reason) expect(r.body.error.message).toMatch(reason);
  expect(r.body.error.message.length).toBeLessThanOrEqual(700);
}

async function uploadedNames(): Promise<string[]> {
  return existsSync(uploads) ? readdir(uploads) : [];
}

describe('hostile uploads: a JSON 4xx naming the file and the problem, the server healthy throughout', () => {
  const cases: [string, () => Uint8Array | string, RegExp?][] = [
    ['long4.pkl', () => pickleHugeLong4()],
    ['lying-long4.pkl', () => pickleLyingLong4()],
    ['laughs.pkl', () => pickleBillionLaughs()],
    ['deep.pkl', () => pickleDeepNesting()],
    ['cycle.pkl', () => pickleCycle()],
    ['bomb.npz', () => npzDeflateBomb(), /memory|limit|large|size/i],
    ['declared.npz', () => npzDeclaresHugeSize()],
    ['losses.csv', () => lossesCsv(), /memory|limit|large/i],
  ];
  for (const [name, make, reason] of cases) {
    it(`refuses ${name}`, async () => {
      const r = await whileHealthy(upload(form(name, make())));
      expectRefusal(r, name, reason);
      expect((await uploadedNames()).filter((f) => f.startsWith(name.split('.')[0]))).toEqual([]);
    });
  }

  it('keeps the reason of a refused pickle (the global it will not load)', async () => {
    const hostile = await readFile(join(repoRoot, 'test/fixtures/io/pickle/hostile_os_system.pkl'));
    const r = await whileHealthy(upload(form('evil.pkl', hostile)));
    expectRefusal(r, 'evil.pkl', /refus\w* .*global|system/i);
    expect(r.status).toBe(422);
  });
});

describe('hostile files placed in a data root: the Taskonomy routes parse them in the reads worker', () => {
  const cases: [string, () => Uint8Array | string][] = [
    ['laughs.pkl', () => pickleBillionLaughs()],
    ['deep.pkl', () => pickleDeepNesting()],
    ['lying-long4.pkl', () => pickleLyingLong4()],
  ];
  for (const [name, make] of cases) {
    it(`GET /api/results/info refuses ${name} and the server stays healthy`, async () => {
      await mkdir(join(tmp, 'data', 'placed'), { recursive: true });
      await writeFile(join(tmp, 'data', 'placed', name), make());
      const r = await whileHealthy(call(run.base, 'GET', `/api/results/info?path=data/placed/${name}`, undefined, {}));
      expectRefusal(r, name);
    });
  }
  it('a losses CSV with 30,000 sources placed in a data root is refused by POST /api/ahp', async () => {
    await mkdir(join(tmp, 'data', 'placed'), { recursive: true });
    await writeFile(join(tmp, 'data', 'placed', 'losses.csv'), lossesCsv());
    const r = await whileHealthy(call(run.base, 'POST', '/api/ahp', { tournaments: 'data/placed/losses.csv' }));
    expectRefusal(r, 'losses.csv', /memory|limit|large/i);
  });
});

describe('CSRF: writes from other origins or without the header are refused before anything is saved', () => {
  it('refuses Origin: null, a foreign Origin and a missing header; accepts the UI request', async () => {
    const body = () => form('ok.json', JSON.stringify({ a__b: 0.5 }));
    const nullOrigin = await upload(body(), { origin: 'null' });
    expect(nullOrigin.status).toBe(403);
    expect(nullOrigin.body.error.message).toMatch(/null/);
    const foreign = await upload(body(), { origin: 'http://evil.example' });
    expect(foreign.status).toBe(403);
    const bare = await upload(body(), { [CSRF_HEADER]: '' });
    expect(bare.status).toBe(403);
    expect(bare.body.error.message).toContain(CSRF_HEADER);
    expect(await uploadedNames()).not.toContain('ok.json');
    const sameSite = await upload(body(), { origin: run.base });
    expect(sameSite.status, JSON.stringify(sameSite.body)).toBe(201);
    expect(await uploadedNames()).toContain('ok.json');
  });
});

describe('jobs past the limits', () => {
  it('fails a job whose n × n matrices would need 14 GB with a message naming the memory limit', async () => {
    const n = 42_000;
    const f = new FormData();
    for (const m of ['a', 'b']) f.append('file', new Blob([npyFeatures(n, 3, m === 'a' ? 1 : 2)]), `${m}.npy`);
    const up = await upload(f, {}, '?name=huge');
    expect(up.status, JSON.stringify(up.body)).toBe(201);
    const job = await whileHealthy(runJob(run.base, '/api/similarity', { featureSet: 'uploads/huge', measure: 'rsa' }));
    expect(job.status).toBe('failed');
    expect(job.error?.status).toBe(413);
    expect(job.error?.message).toMatch(/memory/i);
    expect(job.error?.message).toMatch(new RegExp(`${WORKER_MB} MB|limit`));
  });

  it('caps queued jobs with 429, cancels a running job and a queued one, then runs the rest', async () => {
    const slow = await call<{ job: JobView }>(run.base, 'POST', '/api/rank', { featureSet: 'data/slow', target: 'pose-a', measure: 'rsa', bootstrap: 2000 });
    expect(slow.status, JSON.stringify(slow.body)).toBe(202);
    const queued = [];
    for (const measure of ['cka', 'dds']) {
      const r = await call<{ job: JobView }>(run.base, 'POST', '/api/similarity', { featureSet: 'data/slow', measure });
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      queued.push(r.body.job.id);
    }
    const full = await call(run.base, 'POST', '/api/similarity', { featureSet: 'data/slow', measure: 'rsa' });
    expect(full.status).toBe(429);
    expect(full.body.error.code).toBe('too_many_requests');
    expect(full.body.error.message).toMatch(/3 jobs/);
    await health();

    const followed = followJob(run.base, slow.body.job.id);
    const cancel = await call<{ job: JobView }>(run.base, 'DELETE', `/api/jobs/${slow.body.job.id}`);
    expect(cancel.status).toBe(200);
    expect(cancel.body.job).toMatchObject({ status: 'failed', error: { code: 'cancelled' } });
    const events = await followed;
    expect(events[events.length - 1]).toMatchObject({ type: 'failed', job: { error: { code: 'cancelled' } } });
    const cancelQueued = await call<{ job: JobView }>(run.base, 'DELETE', `/api/jobs/${queued[1]}`);
    expect(cancelQueued.body.job.status).toBe('failed');
    // The cancelled worker was killed; the next job starts a fresh one and completes.
    const next = await whileHealthy(runJob(run.base, '/api/similarity', { featureSet: 'data/slow', measure: 'cka' }));
    expect(next.status).toBe('done');
    expect((await call(run.base, 'DELETE', '/api/jobs/000000000000000000000000')).status).toBe(404);
  });

  it('stops a job at the wall-clock limit', async () => {
    const limited = await startServer({ dataRoots: [join(tmp, 'data')], uiDir: null, workerLimits: { memoryMb: WORKER_MB, jobTimeLimit: 1 } });
    try {
      const job = await runJob(limited.base, '/api/rank', { featureSet: 'data/slow', target: 'pose-b', measure: 'rsa', bootstrap: 2000 });
      expect(job.status).toBe('failed');
      expect(job.error?.message).toMatch(/ran longer than 1 s/);
    } finally {
      await limited.close();
    }
  });

  it('stayed under the stated memory cap in this process', () => {
    expect(process.resourceUsage().maxRSS / 1024).toBeLessThan(RSS_CAP_MB);
  });
});

describe('taskmap serve and SIGTERM', () => {
  it('exits within a few seconds of SIGTERM with a job running, its worker gone too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'taskmap-serve-'));
    await mkdir(join(dir, 'data'));
    await writeZooFixture(join(dir, 'data', 'slow'), { images: 400, features: 64 });
    const main = join(repoRoot, 'src/cli/main.ts');
    const script = `const { main } = await import(${JSON.stringify(main)}); process.exitCode = await main(['node', 'taskmap', ...process.argv.slice(1)]);`;
    const child = spawn(process.execPath, ['--import', TSX, '--input-type=module', '-e', script, 'serve', '--port', '0', '--data-root', join(dir, 'data')], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    try {
      let out = '';
      const base = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no address printed: ${out}`)), 30_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /taskmap serve: (http:\/\/\S+?)\/?\n/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
      });
      const r = await call<{ job: JobView }>(base, 'POST', '/api/rank', { featureSet: 'data/slow', target: 'pose-a', measure: 'rsa', bootstrap: 2000 });
      expect(r.status).toBe(202);
      // Wait until the job's worker process exists, so SIGTERM has something to stop.
      let workers: number[] = [];
      for (let i = 0; i < 100 && workers.length === 0; i++) {
        workers = await childrenOf(child.pid!);
        if (workers.length === 0) await new Promise((res) => setTimeout(res, 100));
      }
      expect(workers.length).toBeGreaterThan(0);
      const t0 = performance.now();
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      const code = await exited;
      expect(performance.now() - t0).toBeLessThan(3000);
      expect(code).toBe(0);
      for (const pid of workers) expect(alive(pid), `worker ${pid}`).toBe(false);
    } finally {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});

async function childrenOf(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Whether a process still runs (a zombie waiting to be reaped does not). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s*Z/m.test(readFileSync(`/proc/${pid}/status`, 'latin1'));
  } catch {
    return false;
  }
}

/** A result dict of `n` first-order transfers s{i}__t{i}: a diagonal whose full matrix is n × n. */
function diagonalDict(n: number): string {
  const dict: Record<string, number> = {};
  for (let i = 0; i < n; i++) dict[`s${i}__t${i}`] = ((i * 37) % 101) / 101;
  return JSON.stringify(dict);
}

describe('large Taskonomy requests: computed in the reads worker, the server answering /api/health throughout', () => {
  beforeAll(async () => {
    await mkdir(join(tmp, 'data', 'large'), { recursive: true });
    await writeFile(join(tmp, 'data', 'large', 'diagonal.json'), diagonalDict(9000));
    await writeFile(join(tmp, 'data', 'large', 'losses-10k.csv'), lossesCsv(10_000));
    await writeFile(join(tmp, 'data', 'large', 'losses-1500.csv'), lossesCsv(1500));
  });

  it('POST /api/results/matrix refuses a 9,000 × 9,000 view with a 413 naming the file and the size, within seconds', async () => {
    const t0 = performance.now();
    const r = await whileHealthy(call(run.base, 'POST', '/api/results/matrix', { path: 'data/large/diagonal.json' }));
    expect(performance.now() - t0).toBeLessThan(5000);
    expectRefusal(r, 'diagonal.json', /9,000 sources × 9,000 targets.*display limit/);
    expect(r.status).toBe(413);
    expect(r.body.error.message).toMatch(/select sources and targets|CLI/);
    // A selection within the limit is answered.
    const some = await whileHealthy(
      call<{ rows: string[]; cols: string[] }>(run.base, 'POST', '/api/results/matrix', {
        path: 'data/large/diagonal.json',
        sources: ['s1', 's2'],
        targets: ['t1', 't2'],
      }),
    );
    expect(some.status, JSON.stringify(some.body)).toBe(200);
    expect(some.body.rows).toEqual(['s1', 's2']);
  });

  it('GET /api/results/info on the same dict answers or refuses without blocking', async () => {
    const r = await whileHealthy(call(run.base, 'GET', '/api/results/info?path=data/large/diagonal.json', undefined, {}));
    if (r.status !== 200) expectRefusal(r, 'diagonal.json');
  });

  it('POST /api/ahp on a losses CSV with 10,000 sources for one target is refused, naming the file', async () => {
    const r = await whileHealthy(call(run.base, 'POST', '/api/ahp', { tournaments: 'data/large/losses-10k.csv' }));
    expectRefusal(r, 'losses-10k.csv', /memory|limit|large/i);
  });

  it('POST /api/ahp on 1,500 sources runs in the worker while /api/health keeps answering', async () => {
    const r = await whileHealthy(call(run.base, 'POST', '/api/ahp', { tournaments: 'data/large/losses-1500.csv' }));
    if (r.status === 200) expect(r.body).toMatchObject({ tournaments: 'data/large/losses-1500.csv', targets: 1 });
    else expectRefusal(r, 'losses-1500.csv');
  });

  it('POST /api/policy on the 9,000-transfer dict is refused or solved without blocking /api/health', async () => {
    const r = await whileHealthy(call(run.base, 'POST', '/api/policy', { affinities: 'data/large/diagonal.json', budget: 3, timeLimit: 5 }));
    if (r.status !== 200) expectRefusal(r, 'diagonal.json');
  });
});
