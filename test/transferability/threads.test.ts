/**
 * Candidates scored on worker threads (transferability/threads.ts) give the values computeScores gives on this
 * thread, in candidate order, and a bad candidate's error comes back naming it.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/linalg/resample.js';
import { classTarget, computeScores, ScoreMemo, type ScoreInput, type ScoreValue } from '../../src/transferability/index.js';
import { candidateThreads, scoreCandidates } from '../../src/transferability/threads.js';

const N = 60;
const D = 90;
const C = 3;
const IDS = ['logme', 'hscore:shrinkage', 'transrate', 'parc', 'sfda', 'knn:k=5', 'nleep:per-class=2', 'leep', 'linear'];

function candidate(m: number): ScoreInput {
  const u = mulberry32(77 + m);
  const y = Array.from({ length: N }, (_, i) => i % C);
  const data = new Float64Array(N * D);
  for (let i = 0; i < N; i++) for (let j = 0; j < D; j++) data[i * D + j] = u() - 0.5 + (j % C === y[i] ? 0.2 * (m + 1) : 0);
  const probabilities = new Float64Array(N * 2);
  for (let i = 0; i < N; i++) {
    const p = 0.2 + 0.6 * u();
    probabilities[2 * i] = p;
    probabilities[2 * i + 1] = 1 - p;
  }
  return { features: { rows: N, cols: D, data }, probabilities: { rows: N, cols: 2, data: probabilities }, target: classTarget(y), name: `candidate ${m}` };
}

describe('scoreCandidates', () => {
  it('gives the in-thread values of every candidate, in candidate order, on two threads', async () => {
    const count = 5;
    const expected: ScoreValue[][] = [];
    for (let m = 0; m < count; m++) expected.push(await computeScores(IDS, candidate(m), { memo: new ScoreMemo() }));
    const done: number[] = [];
    const got = await scoreCandidates(IDS, count, candidate, { threads: 2, onDone: (m) => done.push(m) });
    expect(done.sort()).toEqual([0, 1, 2, 3, 4]);
    for (let m = 0; m < count; m++) {
      expect(got[m].map((v) => v.id)).toEqual(expected[m].map((v) => v.id));
      got[m].forEach((v, k) => expect(v.value).toBeCloseTo(expected[m][k].value, 10));
    }
    // Candidates differ (the class signal grows with m): a mix-up of candidates would show.
    expect(new Set(got.map((g) => g[0].value)).size).toBe(count);
  }, 20_000);

  it('scores on this thread with threads = 1, with per-candidate ids', async () => {
    const got = await scoreCandidates((m) => (m === 0 ? ['knn'] : ['knn', 'hscore']), 2, candidate, { threads: 1 });
    expect(got.map((g) => g.map((v) => v.id))).toEqual([['knn'], ['knn', 'hscore']]);
  });

  it("reports a candidate's bad input with its name", async () => {
    const bad = (m: number) => {
      const c = candidate(m);
      if (m === 2) c.features!.data[7] = Number.NaN;
      return c;
    };
    await expect(scoreCandidates(['knn'], 4, bad, { threads: 2 })).rejects.toThrow(/candidate 2.*NaN|NaN.*candidate 2/);
  }, 20_000);

  it('never uses more threads than candidates', () => {
    expect(candidateThreads(1, 4)).toBe(1);
    expect(candidateThreads(10, 3)).toBe(3);
    expect(candidateThreads(10, 0)).toBe(1);
  });
});

describe("scoreCandidates with onError: 'record'", () => {
  it('returns a failing score as its error and still computes the others, on threads and on this thread', async () => {
    // knn:k=60 needs 60 other images: it fails on every candidate (60 images), the other scores do not.
    for (const threads of [1, 2]) {
      const got = await scoreCandidates(['knn', 'knn:k=60', 'hscore'], 3, candidate, { threads, onError: 'record' });
      for (const g of got) {
        expect(g.map((v) => v.id)).toEqual(['knn', 'knn:k=60', 'hscore']);
        expect('value' in g[0] && Number.isFinite(g[0].value)).toBe(true);
        expect('error' in g[1] && g[1].error).toMatch(/k = 60 neighbours need at least 61 images; there are 60/);
        expect('value' in g[2]).toBe(true);
      }
    }
  }, 20_000);
});

describe('scoreCandidates with transfer', () => {
  it('hands the feature arrays over (detached here) and gives the same values', async () => {
    const made: ScoreInput[] = [];
    const make = (m: number) => {
      const c = candidate(m);
      made.push(c);
      return c;
    };
    const got = await scoreCandidates(['knn', 'hscore'], 3, make, { threads: 2, transfer: true });
    for (const c of made) expect(c.features!.data.length).toBe(0); // detached
    const again = await scoreCandidates(['knn', 'hscore'], 3, candidate, { threads: 2 });
    expect(got.map((g) => g.map((v) => v.value))).toEqual(again.map((g) => g.map((v) => v.value)));
  }, 20_000);
});
