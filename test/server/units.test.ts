/** The server's own pieces without HTTP: the data-root sandbox and the job queue's caching rules. */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipMessage, HttpError, MAX_MESSAGE_CHARS } from '../../src/server/errors.js';
import { canonicalJson, inputHash, JobQueue } from '../../src/server/jobs.js';
import { Sandbox } from '../../src/server/sandbox.js';

let tmp: string;
let sandbox: Sandbox;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'taskmap-sandbox-'));
  await mkdir(join(tmp, 'ro', 'sub'), { recursive: true });
  await mkdir(join(tmp, 'outside'));
  await writeFile(join(tmp, 'ro', 'sub', 'a.json'), '{}');
  await writeFile(join(tmp, 'outside', 'x.json'), '{}');
  await mkdir(join(tmp, 'up'));
  await symlink(join(tmp, 'outside', 'x.json'), join(tmp, 'up', 'link.json'));
  await symlink(join(tmp, 'outside'), join(tmp, 'up', 'out'));
  await symlink(join(tmp, 'ro', 'sub'), join(tmp, 'ro', 'inner')); // stays inside: allowed
  sandbox = await Sandbox.create([{ dir: join(tmp, 'ro') }, { dir: join(tmp, 'ro') }, { dir: join(tmp, 'up'), name: 'uploads', writable: true }]);
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (e) {
    if (e instanceof HttpError) return e.statusCode;
    throw e;
  }
}

describe('Sandbox', () => {
  it('names roots by folder, once per real folder', () => {
    expect(sandbox.roots.map((r) => r.name)).toEqual(['ro', 'uploads']);
  });

  it('resolves references inside a root, following symlinks that stay inside', async () => {
    expect((await sandbox.resolveExisting('ro/sub/a.json')).abs).toBe(join(sandbox.roots[0].dir, 'sub', 'a.json'));
    expect((await sandbox.resolveExisting('ro/inner/a.json')).ref).toBe('ro/inner/a.json');
    expect((await sandbox.resolveExisting('ro/')).rel).toBe('');
  });

  it('refuses every way out', async () => {
    for (const [ref, code] of [
      ['ro/../outside/x.json', 403],
      ['ro/sub/../../outside', 403],
      ['/etc/passwd', 403],
      ['C:/Windows', 403],
      ['ro\\..\\outside', 400],
      ['ro//sub', 400],
      ['', 400],
      ['other/x', 404],
      ['uploads/link.json', 403],
      ['uploads/out/x.json', 403],
    ] as const) {
      expect(await status(sandbox.resolveExisting(ref)), ref).toBe(code);
    }
  });

  it('writes only to writable roots, never through a symlink or into a folder outside', async () => {
    expect(await status(sandbox.resolveForWrite('ro/new.json'))).toBe(403);
    expect(await status(sandbox.resolveForWrite('uploads/link.json'))).toBe(403);
    expect(await status(sandbox.resolveForWrite('uploads/out/new.json'))).toBe(403);
    expect(await status(sandbox.resolveForWrite('uploads/missing/new.json'))).toBe(404);
    expect((await sandbox.resolveForWrite('uploads/new.json')).ref).toBe('uploads/new.json');
  });

  it('redacts root folders from messages', () => {
    expect(sandbox.redact(`cannot read ${sandbox.roots[0].dir}/sub/a.json`)).toBe('cannot read ro/sub/a.json');
  });
});

describe('JobQueue', () => {
  it('hashes inputs independently of key order', () => {
    expect(canonicalJson({ b: 1, a: [2, { d: 3, c: undefined }] })).toBe('{"a":[2,{"d":3}],"b":1}');
    expect(inputHash('k', { a: 1, b: 2 })).toBe(inputHash('k', { b: 2, a: 1 }));
    expect(inputHash('k', { a: 1 })).not.toBe(inputHash('other', { a: 1 }));
  });

  it('runs one job at a time, reuses finished ones, and retries failed ones', async () => {
    const q = new JobQueue();
    let runs = 0;
    let active = 0;
    let maxActive = 0;
    const work = async () => {
      runs++;
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      return runs;
    };
    const a = q.submit('k', { x: 1 }, work);
    const b = q.submit('k', { x: 2 }, work);
    expect(q.submit('k', { x: 1 }, work).id).toBe(a.id);
    expect((await q.wait(a.id)).result).toBe(1);
    expect((await q.wait(b.id)).result).toBe(2);
    expect(maxActive).toBe(1);
    expect(q.submit('k', { x: 1 }, work).status).toBe('done');
    expect(runs).toBe(2);

    let fail = true;
    const flaky = async () => {
      if (fail) throw new Error('input refused');
      return 'ok';
    };
    const f = q.submit('f', {}, flaky);
    const failed = await q.wait(f.id);
    expect(failed.error).toEqual({ status: 422, code: 'unprocessable', message: 'input refused' });
    fail = false;
    expect((await q.wait(q.submit('f', {}, flaky).id)).result).toBe('ok');
  });

  it('reports internal errors without their details and forgets the oldest finished jobs', async () => {
    const q = new JobQueue({ maxJobs: 2 });
    const bug = q.submit('bug', {}, async () => {
      throw new TypeError('x is undefined');
    });
    expect((await q.wait(bug.id)).error).toMatchObject({ status: 500, code: 'internal' });
    for (const i of [1, 2, 3]) await q.wait(q.submit('n', { i }, async () => i).id);
    expect(q.list().map((j) => j.kind)).toEqual(['n', 'n']);
  });

  it('refuses work beyond the cap with 429, and cancels queued and running jobs at once', async () => {
    const q = new JobQueue({ maxActive: 2 });
    let sawAbort = false;
    const forever = (_report: unknown, signal: AbortSignal) =>
      new Promise((_resolve, reject) => signal.addEventListener('abort', () => ((sawAbort = true), reject(signal.reason))));
    const a = q.submit('slow', { i: 1 }, forever);
    const b = q.submit('slow', { i: 2 }, forever);
    let refused: unknown;
    try {
      q.submit('slow', { i: 3 }, forever);
    } catch (e) {
      refused = e;
    }
    expect(refused).toMatchObject({ statusCode: 429, code: 'too_many_requests' });
    expect(q.submit('slow', { i: 1 }, forever).id).toBe(a.id); // the same work is not new work
    await new Promise((r) => setTimeout(r, 5));
    expect(q.get(a.id)?.status).toBe('running');
    expect(q.cancel(b.id)).toMatchObject({ status: 'failed', error: { code: 'cancelled' } });
    const done = q.wait(a.id);
    expect(q.cancel(a.id)?.status).toBe('failed');
    expect((await done).error?.code).toBe('cancelled');
    expect(sawAbort).toBe(true);
    expect(q.cancel('nope')).toBeUndefined();
    // A cancelled job frees its place and can be submitted again.
    expect(q.submit('n', {}, async () => 1).status).toBe('queued');
  });
});

describe('error messages', () => {
  it('are cut to a bounded size keeping the file name and the reason at both ends', () => {
    const long = `bad.csv: line 2: ${'x'.repeat(100_000)}: refusing it`;
    const clipped = clipMessage(long);
    expect(clipped.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS + 40);
    expect(clipped.startsWith('bad.csv: line 2:')).toBe(true);
    expect(clipped.endsWith(': refusing it')).toBe(true);
    expect(clipMessage('short')).toBe('short');
  });
});
