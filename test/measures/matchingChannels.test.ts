/**
 * Permutation and soft matching over a conv layer's channels (`units=channels`): the value is the feature-unit
 * measure on the layer re-read as (images × positions) × channels after centring each feature over the images;
 * NCHW and NHWC storage of the same tensor agree; the same channel reordering at every position changes nothing,
 * a reordering that mixes positions does; and the permutation value equals brute force over every channel
 * permutation. The square-problem offsets of maxAssignment are checked against brute force as well.
 */
import { describe, expect, it } from 'vitest';
import type { Representation } from '../../src/features/types.js';
import { pairSimilarity } from '../../src/measures/similarity.js';
import { maxAssignment } from '../../src/measures/transport.js';
import { permutation } from '../helpers/invariances.js';
import { gaussian } from '../helpers/random.js';

const N = 7;
const H = 2;
const W = 3;

/** A channel-last conv representation n×(h·w·c) whose channels share structure with `base` (so matching matters). */
function conv(label: string, c: number, seed: number, base?: Representation): Representation {
  const g = gaussian(seed);
  const p = H * W * c;
  const data = new Float64Array(N * p);
  for (let i = 0; i < data.length; i++) data[i] = g() + 0.3 * (i % 5);
  if (base) for (let i = 0; i < N; i++) for (let j = 0; j < Math.min(p, base.p); j++) data[i * p + j] += 2 * base.data[i * base.p + j];
  return { label, n: N, p, shape: [H, W, c], data, source: label };
}

/** The same tensor stored channel-first. */
function toNchw(rep: Representation): Representation {
  const [h, w, c] = rep.shape;
  const data = new Float64Array(rep.data.length);
  for (let i = 0; i < rep.n; i++) for (let s = 0; s < h * w; s++) for (let k = 0; k < c; k++) data[i * rep.p + k * h * w + s] = rep.data[i * rep.p + s * c + k];
  return { ...rep, shape: [c, h, w], data, label: `${rep.label} NCHW` };
}

/** Each feature centred over the images, then read as (images·positions) × channels vectors. */
function unfolded(rep: Representation): Representation {
  const c = rep.shape[2];
  const data = Float64Array.from(rep.data);
  for (let j = 0; j < rep.p; j++) {
    let mean = 0;
    for (let i = 0; i < rep.n; i++) mean += data[i * rep.p + j] / rep.n;
    for (let i = 0; i < rep.n; i++) data[i * rep.p + j] -= mean;
  }
  return { label: `${rep.label} unfolded`, n: (rep.n * rep.p) / c, p: c, shape: [c], data, source: rep.source };
}

function mapFeatures(rep: Representation, perm: number[], label: string): Representation {
  const data = new Float64Array(rep.data.length);
  for (let i = 0; i < rep.n; i++) for (let j = 0; j < rep.p; j++) data[i * rep.p + j] = rep.data[i * rep.p + perm[j]];
  return { ...rep, data, label };
}

/** A channel reordering applied identically at every position (the conv layer's own symmetry). */
function permuteChannels(rep: Representation, seed: number): Representation {
  const c = rep.shape[2];
  const pi = permutation(c, seed);
  return mapFeatures(
    rep,
    Array.from({ length: rep.p }, (_, j) => Math.floor(j / c) * c + pi[j % c]),
    `${rep.label}∘π_c`,
  );
}

const SEEDS = [1, 2, 3];

describe('permutation and softmatch with units=channels', () => {
  for (const seed of SEEDS) {
    const a = conv('A', 4, 10 * seed);
    const b = conv('B', 4, 10 * seed + 1, a);
    const wide = conv('B6', 6, 10 * seed + 2, a);
    for (const id of ['permutation', 'permutation:score=euclidean', 'softmatch']) {
      const channels = `${id}${id.includes(':') ? ',' : ':'}units=channels`;
      it(`${channels}, seed ${seed}: = ${id} on the unfolded layers; NCHW = NHWC; channel permutations change nothing, mixing positions does`, async () => {
        for (const other of [b, wide]) {
          const value = await pairSimilarity(a, other, channels);
          const reference = await pairSimilarity(unfolded(a), unfolded(other), `${id}${id.includes(':') ? ',' : ':'}center=false`);
          expect(value).toBeGreaterThan(1e-3);
          expect(Math.abs(value - reference)).toBeLessThanOrEqual(1e-10 * Math.max(1, reference));
          const nchw = await pairSimilarity(toNchw(a), toNchw(other), `${channels},layout=NCHW`);
          expect(Math.abs(nchw - value)).toBeLessThanOrEqual(1e-10 * Math.max(1, value));
          // layout=auto (the default) follows the layout the extraction recorded for each member.
          const recorded = await pairSimilarity({ ...toNchw(a), featureLayout: 'channels-first' }, { ...other, featureLayout: 'channels-last' }, channels);
          expect(Math.abs(recorded - value)).toBeLessThanOrEqual(1e-10 * Math.max(1, value));
          const permuted = await pairSimilarity(permuteChannels(a, seed), other, channels);
          expect(Math.abs(permuted - value)).toBeLessThanOrEqual(1e-10 * Math.max(1, value));
          const mixed = await pairSimilarity(mapFeatures(a, permutation(a.p, seed + 50), 'A∘π'), other, channels);
          expect(Math.abs(mixed - value)).toBeGreaterThan(1e-4);
          // Feature units see the mixing reordering as a symmetry; channel units must not.
          const featureUnits = await pairSimilarity(mapFeatures(a, permutation(a.p, seed + 50), 'A∘π'), other, id);
          expect(Math.abs(featureUnits - (await pairSimilarity(a, other, id)))).toBeLessThanOrEqual(1e-9 * Math.max(1, value));
        }
      });
    }
  }

  it('the angular value is the best of all 24 channel permutations (brute force, 3 seeds)', async () => {
    for (const seed of SEEDS) {
      const a = unfolded(conv('A', 4, 100 + seed));
      const b = unfolded(conv('B', 4, 200 + seed, conv('A', 4, 100 + seed)));
      const dot = (j: number, k: number) => {
        let s = 0;
        for (let i = 0; i < a.n; i++) s += a.data[i * 4 + j] * b.data[i * 4 + k];
        return s;
      };
      const norm = (r: Representation) => Math.hypot(...r.data);
      let best = -Infinity;
      const perms = (rest: number[], prefix: number[]): void => {
        if (!rest.length)
          best = Math.max(
            best,
            prefix.reduce((s, k, j) => s + dot(j, k), 0),
          );
        else rest.forEach((k, i) => perms([...rest.slice(0, i), ...rest.slice(i + 1)], [...prefix, k]));
      };
      perms([0, 1, 2, 3], []);
      const expected = Math.acos(best / (norm(a) * norm(b)));
      const value = await pairSimilarity(conv('A', 4, 100 + seed), conv('B', 4, 200 + seed, conv('A', 4, 100 + seed)), 'permutation:units=channels');
      expect(Math.abs(value - expected)).toBeLessThanOrEqual(1e-12);
    }
  });

  it('a shape that does not hold the features is refused by name', async () => {
    const a = conv('A', 4, 1);
    await expect(pairSimilarity({ ...a, shape: [5, 5] }, conv('B', 4, 2), 'permutation:units=channels')).rejects.toThrow(
      /A: the stored per-image shape \[5, 5\] does not hold its 24 features/,
    );
  });

  it('spatial=mean: the feature-unit measure on each channel averaged over positions, across different grids (3 seeds)', async () => {
    for (const seed of SEEDS) {
      const a = conv('A', 4, 300 + seed);
      // A layer on another grid (1×8 positions, 5 channels) sharing structure with A's channel means.
      const g = gaussian(400 + seed);
      const grid8: Representation = { label: 'B 1×8', n: N, p: 40, shape: [1, 8, 5], data: new Float64Array(N * 40), source: 'B' };
      for (let i = 0; i < N; i++) for (let j = 0; j < 40; j++) grid8.data[i * 40 + j] = g() + a.data[i * a.p + (j % a.p)];
      const gap = (r: Representation): Representation => {
        const c = r.shape[r.shape.length - 1];
        const positions = r.p / c;
        const data = new Float64Array(r.n * c);
        for (let i = 0; i < r.n; i++) for (let j = 0; j < r.p; j++) data[i * c + (j % c)] += r.data[i * r.p + j] / positions;
        return { label: `${r.label} gap`, n: r.n, p: c, shape: [c], data, source: r.source };
      };
      for (const id of ['permutation', 'softmatch']) {
        const value = await pairSimilarity(a, grid8, `${id}:units=channels,spatial=mean`);
        const reference = await pairSimilarity(gap(a), gap(grid8), id);
        expect(value).toBeGreaterThan(1e-3);
        expect(Math.abs(value - reference)).toBeLessThanOrEqual(1e-10 * Math.max(1, reference));
        await expect(pairSimilarity(a, grid8, `${id}:units=channels`)).rejects.toThrow(
          /units=channels pairs positions one to one, but A has 6 positions per image and B 1×8 has 8 positions per image; .*spatial=mean/,
        );
      }
    }
    await expect(pairSimilarity(conv('A', 4, 1), conv('B', 4, 2), 'permutation:spatial=mean')).rejects.toThrow(
      /layout and spatial describe channel units; add units=channels/,
    );
  });

  it('layers with more units than maxUnits are refused up front with the way out, not computed for hours', async () => {
    const a = conv('A', 4, 1);
    const b = conv('B', 4, 2);
    await expect(pairSimilarity(a, b, 'permutation:maxUnits=20')).rejects.toThrow(
      /A: 24 features to match one to one, more than maxUnits=20: .*O\(units³\).*units=channels/,
    );
    await expect(pairSimilarity(a, b, 'softmatch:units=channels,maxUnits=3')).rejects.toThrow(/A: 4 channels to match one to one, more than maxUnits=3/);
    expect(await pairSimilarity(a, b, 'permutation:maxUnits=24')).toBeCloseTo(await pairSimilarity(a, b, 'permutation'), 12);
  });

  it('a vector layer: channel units are its features', async () => {
    const g = gaussian(9);
    const vec = (label: string): Representation => ({ label, n: 8, p: 5, shape: [5], data: Float64Array.from({ length: 40 }, () => g()), source: label });
    const [x, y] = [vec('x'), vec('y')];
    expect(await pairSimilarity(x, y, 'softmatch:units=channels')).toBeCloseTo(await pairSimilarity(x, y, 'softmatch'), 12);
  });
});

describe('maxAssignment offsets on square problems', () => {
  it('per-row and per-column offsets leave the maximum unchanged (brute force over 6! assignments, 3 seeds)', () => {
    for (const seed of SEEDS) {
      const g = gaussian(seed + 40);
      const n = 6;
      const profit = Float64Array.from({ length: n * n }, () => Math.round(4 * g()) / 2); // ties on purpose
      const offsets = { rows: Array.from({ length: n }, () => 10 * g()), cols: Array.from({ length: n }, () => 10 * g()) };
      let best = -Infinity;
      const go = (rest: number[], row: number, sum: number): void => {
        if (!rest.length) best = Math.max(best, sum);
        else rest.forEach((k, i) => go([...rest.slice(0, i), ...rest.slice(i + 1)], row + 1, sum + profit[row * n + k]));
      };
      go([0, 1, 2, 3, 4, 5], 0, 0);
      expect(maxAssignment(profit, n, n, offsets)).toBeCloseTo(best, 12);
      expect(maxAssignment(profit, n, n)).toBeCloseTo(best, 12);
    }
  });
});
