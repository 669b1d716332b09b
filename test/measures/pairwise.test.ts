/**
 * The pairwise-family plumbing (src/measures/pairwise.ts): ids, metadata, and the pair runner behind
 * similarityMatrix / crossSimilarity / pairSimilarity, checked with two toy families registered for this file — a
 * symmetric distance (Frobenius distance of the centred features) and an asymmetric similarity — whose values are
 * worked out directly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Representation } from '../../src/features/types.js';
import type { Matrix } from '../../src/linalg/dense.js';
import type { PairwiseFamily } from '../../src/measures/pairwise.js';
import { PAIRWISE_FAMILIES } from '../../src/measures/pairwiseFamilies.js';
import { canonicalMeasureId, describeMeasure, invariancesOf, parseMeasure, pipelineOf } from '../../src/measures/registry.js';
import { crossSimilarity, pairSimilarity, PreparedCache, similarityMatrix } from '../../src/measures/similarity.js';
import { centerColumns } from '../../src/measures/subspace.js';
import { randomRep } from '../helpers/random.js';
import { setMaxMemory } from '../../src/io/limits.js';

let prepared = 0;
let compared = 0;

/** ‖Xc − Yc‖_F · scale (same p on both sides). */
const toyDistance: PairwiseFamily<Matrix> = {
  id: 'toydist',
  name: 'Toy distance',
  description: 'Frobenius distance of the centred features (test only)',
  reference: 'test',
  params: [{ name: 'scale', type: 'number', default: 1, min: 0, max: 10, description: 'multiplier' }],
  largerIsMoreSimilar: false,
  symmetric: true,
  metric: true,
  invariances: ['translation'],
  cost: { tier: 'cheap', scaling: 'M²·n·p' },
  fewImages: 'no special case',
  self: 0,
  prepare(x) {
    prepared++;
    return centerColumns(x);
  },
  compare(a, b, params) {
    compared++;
    if (a.cols !== b.cols) throw new Error('toydist needs equal widths');
    let s = 0;
    for (let k = 0; k < a.data.length; k++) s += (a.data[k] - b.data[k]) ** 2;
    return Math.sqrt(s) * (params.scale as number);
  },
};

/** Σ_ij a_ij·b_ij / ‖a‖² (asymmetric; 1 for a model with itself, computed). */
const toyAsym: PairwiseFamily<Matrix> = {
  id: 'toyasym',
  name: 'Toy asymmetric',
  description: 'inner product over the first argument’s squared norm (test only)',
  reference: 'test',
  params: [{ name: 'both', type: 'flag', default: false, description: 'symmetrise' }],
  largerIsMoreSimilar: true,
  symmetric: (p) => p.both === true,
  metric: false,
  invariances: (p) => (p.both ? ['orthogonal'] : []),
  cost: { tier: 'cheap', scaling: 'M²·n·p' },
  fewImages: '—',
  prepare: (x) => x,
  compare(a, b, params) {
    compared++;
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let k = 0; k < a.data.length; k++) {
      ab += a.data[k] * b.data[k];
      aa += a.data[k] ** 2;
      bb += b.data[k] ** 2;
    }
    return params.both ? (ab / aa + ab / bb) / 2 : ab / aa;
  },
};

beforeAll(() => {
  PAIRWISE_FAMILIES.push(toyDistance as PairwiseFamily, toyAsym as PairwiseFamily);
});
afterAll(() => {
  PAIRWISE_FAMILIES.splice(PAIRWISE_FAMILIES.indexOf(toyDistance as PairwiseFamily), 2);
});

function frob(a: Representation, b: Representation): number {
  const n = a.n;
  const p = a.p;
  let s = 0;
  for (let j = 0; j < p; j++) {
    let ma = 0;
    let mb = 0;
    for (let i = 0; i < n; i++) {
      ma += a.data[i * p + j];
      mb += b.data[i * p + j];
    }
    ma /= n;
    mb /= n;
    for (let i = 0; i < n; i++) s += (a.data[i * p + j] - ma - (b.data[i * p + j] - mb)) ** 2;
  }
  return Math.sqrt(s);
}

const reps = [0, 1, 2, 3].map((s) => randomRep(`m${s}`, 9, [4], 40 + s));

describe('pairwise ids and metadata', () => {
  it('parse with defaults, canonicalise, and keep the direction and per-setting metadata', () => {
    expect(parseMeasure('toydist')).toEqual({ family: 'pairwise', measure: 'toydist', params: { scale: 1 } });
    expect(canonicalMeasureId('toydist:scale=1')).toBe('toydist');
    expect(canonicalMeasureId('toydist:scale=2.5')).toBe('toydist:scale=2.5');
    expect(canonicalMeasureId('toydist:scale=0')).toBe('toydist:scale=0');
    const d = describeMeasure('toydist:scale=2');
    expect([d.family, d.largerIsMoreSimilar, d.symmetric, d.metric, d.invariances]).toEqual(['toydist', false, true, true, ['translation']]);
    expect(describeMeasure('toyasym').symmetric).toBe(false);
    expect(describeMeasure('toyasym:both').symmetric).toBe(true);
    expect(invariancesOf(parseMeasure('toyasym:both'))).toEqual(['orthogonal']);
  });
  it('reject bad values with the range, and have no batched pipeline', () => {
    expect(() => parseMeasure('toydist:scale=11')).toThrow('measure "toydist:scale=11": scale="11" must be a number from 0 to 10');
    expect(() => parseMeasure('toydist:scale=-1')).toThrow(/from 0 to 10/);
    expect(() => parseMeasure('toydist:alpha=1')).toThrow(/unknown parameter "alpha" for toydist \(known: scale\)/);
    expect(() => pipelineOf(parseMeasure('toydist'))).toThrow(/compared pair by pair/);
    expect(() => parseMeasure('nosuch')).toThrow(/unknown measure "nosuch" \(known: rsa, dds, cka, .*toydist, toyasym\)/);
  });
});

describe('pairwise runner', () => {
  it('similarityMatrix: upper triangle computed once per pair, mirrored, the family’s self value on the diagonal', async () => {
    prepared = 0;
    compared = 0;
    const steps: [number, number, string][] = [];
    const m = await similarityMatrix(reps, 'toydist:scale=2', { onProgress: (d, t, l) => steps.push([d, t, l]) });
    expect(m.measure).toBe('toydist:scale=2');
    expect([prepared, compared]).toEqual([4, 6]);
    expect(steps.map((s) => s[0])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(steps.every((s) => s[1] === 10)).toBe(true);
    expect(steps[4][2]).toBe('m0 × m1');
    for (let i = 0; i < 4; i++) {
      expect(m.matrix.data[i * 4 + i]).toBe(0);
      for (let j = 0; j < 4; j++) {
        if (i !== j) expect(m.matrix.data[i * 4 + j]).toBeCloseTo(2 * frob(reps[i], reps[j]), 12);
        expect(m.matrix.data[i * 4 + j]).toBe(m.matrix.data[j * 4 + i]);
      }
    }
  });
  it('an asymmetric family fills both triangles, entry (i, j) = compare(row i, column j); the diagonal is computed', async () => {
    compared = 0;
    const m = await similarityMatrix(reps.slice(0, 3), 'toyasym');
    expect(compared).toBe(9);
    const direct = (a: Representation, b: Representation) => {
      let ab = 0;
      let aa = 0;
      for (let k = 0; k < a.data.length; k++) {
        ab += a.data[k] * b.data[k];
        aa += a.data[k] ** 2;
      }
      return ab / aa;
    };
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(m.matrix.data[i * 3 + j]).toBeCloseTo(direct(reps[i], reps[j]), 12);
    expect(m.matrix.data[1]).not.toBeCloseTo(m.matrix.data[3], 6);
  });
  it('crossSimilarity prepares a shared representation once and reuses symmetric pairs; the cache keeps prepared forms', async () => {
    prepared = 0;
    compared = 0;
    const cache = new PreparedCache();
    const c = await crossSimilarity([reps[0], reps[1], reps[2]], [reps[1], reps[0]], 'toydist', { cache });
    expect([prepared, compared]).toEqual([3, 3]); // (0,1) once for both orders, (2,1), (2,0); (1,1) is the self value
    const want = [frob(reps[0], reps[1]), 0, 0, frob(reps[1], reps[0]), frob(reps[2], reps[1]), frob(reps[2], reps[0])];
    want.forEach((v, k) => expect(c.matrix.data[k]).toBeCloseTo(v, 12));
    expect(c.matrix.data[0]).toBe(c.matrix.data[3]);
    prepared = 0;
    await crossSimilarity([reps[0]], [reps[2]], 'toydist', { cache });
    expect(prepared).toBe(0);
  });
  it('pairSimilarity gives the pair value, and the self value for a model with itself', async () => {
    expect(await pairSimilarity(reps[0], reps[3], 'toydist')).toBeCloseTo(frob(reps[0], reps[3]), 12);
    expect(await pairSimilarity(reps[2], reps[2], 'toydist')).toBe(0);
    expect(await pairSimilarity(reps[2], reps[2], 'toyasym')).toBeCloseTo(1, 14);
  });
  it('names the member and the problem: non-finite features, a family error, mismatched images', async () => {
    const bad = { ...reps[0], label: 'bad', data: Float64Array.from(reps[0].data) };
    bad.data[5] = Number.NaN;
    await expect(similarityMatrix([reps[1], bad], 'toydist')).rejects.toThrow('bad: image 1, feature 1 is NaN; features must be finite');
    const wide = randomRep('wide', 9, [5], 3);
    await expect(similarityMatrix([reps[1], wide], 'toydist')).rejects.toThrow('toydist needs equal widths');
    const short = randomRep('short', 8, [4], 3);
    await expect(similarityMatrix([reps[1], short], 'toydist')).rejects.toThrow(/same images/);
  });
});

describe('pairwise memory check', () => {
  afterAll(() => setMaxMemory(undefined));
  it('counts each family’s prepared form: an n×n form (dcor) is refused where feature copies (procrustes) fit', async () => {
    // 6 models × 400 images × 4 features: feature copies 77 kB, two n×n working matrices 2.6 MB, six packed n×n
    // distance matrices 3.9 MB more.
    const models = Array.from({ length: 6 }, (_, i) => randomRep(`r${i}`, 400, [4], 20 + i));
    setMaxMemory(4 * 1024 * 1024);
    await expect(similarityMatrix(models.slice(0, 2), 'procrustes')).resolves.toBeDefined();
    await expect(similarityMatrix(models, 'dcor')).rejects.toThrow(/comparing 6 members pair by pair on 400 images/);
    await expect(similarityMatrix(models, 'procrustes')).resolves.toBeDefined();
  });
});

describe('consumers read the direction', () => {
  it('evaluation negates a catalogued distance (by its measure id) and leaves similarities and unknown ids alone', async () => {
    const { asSimilarity } = await import('../../src/evaluate/harness.js');
    const m = (measure?: string) => ({ rows: ['a', 'b'], cols: ['a', 'b'], matrix: { rows: 2, cols: 2, data: Float64Array.of(0, 0.3, 0.3, 0) }, measure });
    expect(Array.from(asSimilarity(m('procrustes')).matrix.data)).toEqual([-0, -0.3, -0.3, -0]);
    expect(Array.from(asSimilarity(m('shape:alpha=0.5')).matrix.data)).toEqual([-0, -0.3, -0.3, -0]);
    expect(Array.from(asSimilarity(m('cca')).matrix.data)).toEqual([0, 0.3, 0.3, 0]);
    expect(Array.from(asSimilarity(m(undefined)).matrix.data)).toEqual([0, 0.3, 0.3, 0]);
    expect(Array.from(asSimilarity(m('otherTool')).matrix.data)).toEqual([0, 0.3, 0.3, 0]);
  });
  it('rank sorts a distance ascending against a member target and against a labels target (one-hot)', async () => {
    const { rankSources } = await import('../../src/taxonomy/rank.js');
    const r = await rankSources(reps, { kind: 'member', label: 'm0' }, { measure: 'toydist' });
    expect(r.largerIsMoreSimilar).toBe(false);
    const scores = r.ranking.map((e) => e.score);
    expect(scores).toEqual([...scores].sort((a, b) => a - b));
    expect(r.ranking[0].score).toBeCloseTo(Math.min(...[1, 2, 3].map((k) => frob(reps[0], reps[k]))), 12);
    // toydist needs equal widths, so the 2-class one-hot target needs 2-feature candidates: the family's own error,
    // naming the problem, reaches the caller (the labels path itself is tested in test/taxonomy/rank-pairwise-labels.test.ts).
    await expect(
      rankSources(reps, { kind: 'labels', labels: Array.from({ length: 9 }, (_, i) => i % 2), labelKind: 'class' }, { measure: 'toydist' }),
    ).rejects.toThrow(/toydist needs equal widths/);
  });
});
