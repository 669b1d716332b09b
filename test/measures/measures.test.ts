import { describe, expect, it } from 'vitest';
import type { Representation } from '../../src/features/types.js';
import { canonicalMeasureId, describeMeasure, parseMeasure, standardMeasureIds, type Invariance } from '../../src/measures/registry.js';
import { crossSimilarity, pairSimilarity, PreparedCache, similarityMatrix } from '../../src/measures/similarity.js';
import { centerMatrix } from '../../src/measures/compare.js';
import { fromRows } from '../../src/linalg/dense.js';
import { gaussian, invertibleMatrix, mapRep, randomOrthogonal, randomRep, rotate } from '../helpers/random.js';

const N = 14;
const SHAPE = [2, 2, 4];
const P = 16;

/** Two related representations: b is a noisy nonlinear function of a, so every measure gives a value well inside (−1, 1). */
function pair(): [Representation, Representation] {
  const a = randomRep('a', N, SHAPE, 11);
  const noise = gaussian(12);
  const b = mapRep(a, (x, i, j) => Math.tanh(x + 0.3 * a.data[i * P + ((j + 1) % P)]) + 0.5 * noise() + 0.1 * j, '');
  return [a, { ...b, label: 'b' }];
}

function transform(rep: Representation, inv: Invariance): Representation {
  switch (inv) {
    case 'orthogonal':
      return rotate(rep, randomOrthogonal(P, 99));
    case 'isotropic-scaling':
      return mapRep(rep, (x) => 3.7 * x, '*c');
    case 'translation': {
      const g = gaussian(5);
      const b = Array.from({ length: P }, () => 4 * g());
      return mapRep(rep, (x, _i, j) => x + b[j], '+b');
    }
    case 'feature-permutation': {
      const perm = Array.from({ length: P }, (_, j) => (j * 5 + 3) % P);
      return mapRep(rep, (_x, i, j) => rep.data[i * P + perm[j]], '∘π');
    }
    case 'per-feature-affine':
      return mapRep(rep, (x, _i, j) => (0.5 + j) * x - 2 * j, '·a+b');
    case 'invertible-linear':
      return rotate(rep, invertibleMatrix(P, 98));
  }
}

describe('measure registry', () => {
  it('parses ids, fills defaults and writes canonical ids', () => {
    expect(parseMeasure('rsa')).toEqual({ family: 'rsa', rdm: 'correlation', compare: 'spearman' });
    expect(canonicalMeasureId('dds')).toBe('dds:norm=znorm,kernel=cosine');
    expect(canonicalMeasureId('dds:kernel=lap, norm=znorm , compare=cka')).toBe('dds:norm=znorm,kernel=lap');
    expect(canonicalMeasureId('cka:debiased,kernel=linear')).toBe('cka:debiased');
    expect(canonicalMeasureId('dds:norm=group_norm,kernel=linear,shape=16x16x8')).toBe('dds:norm=group_norm,kernel=linear,shape=16x16x8');
    expect(standardMeasureIds().filter((id) => id.startsWith('dds:'))).toHaveLength(42);
  });
  it('rejects unknown families, parameters and values with the allowed list', () => {
    expect(() => parseMeasure('nosuch')).toThrow(/unknown measure "nosuch".*rsa, dds, cka/);
    expect(() => parseMeasure('dds:kernal=rbf')).toThrow(/unknown parameter "kernal"/);
    expect(() => parseMeasure('dds:kernel=poly')).toThrow(/kernel="poly" is not one of linear, rbf/);
    expect(() => parseMeasure('cka:t=-1')).toThrow(/positive number/);
    expect(() => parseMeasure('dds:shape=4x4')).toThrow(/three positive integers/);
    expect(() => parseMeasure('rsa:rdm=cosine,rdm=euclidean')).toThrow(/given twice/);
  });
  it('describes metadata', () => {
    const m = describeMeasure('dds:norm=znorm,kernel=lap');
    expect(m.largerIsMoreSimilar).toBe(true);
    expect(m.invariances).toContain('per-feature-affine');
    expect(m.invariances).not.toContain('orthogonal');
    expect(describeMeasure('cka').invariances).toEqual(expect.arrayContaining(['orthogonal', 'isotropic-scaling', 'translation']));
  });
});

describe('every standard measure', () => {
  const [a, b] = pair();
  for (const id of standardMeasureIds()) {
    it(`${id}: self-similarity 1, symmetric, and unchanged under each declared invariance`, async () => {
      const base = await pairSimilarity(a, b, id);
      expect(Number.isFinite(base)).toBe(true);
      expect(Math.abs(base)).toBeLessThan(0.999);
      expect(await pairSimilarity(b, a, id)).toBeCloseTo(base, 12);
      const self = await similarityMatrix([a, { ...a, label: 'a2' }], id);
      expect(self.matrix.data[1]).toBeCloseTo(1, 10);
      const info = describeMeasure(id);
      for (const inv of info.invariances) {
        const v = await pairSimilarity(transform(a, inv), b, id);
        expect(v, `${id} under ${inv}`).toBeCloseTo(base, 8);
      }
    });
  }
  it('a declared non-invariance is real (guards the property test itself)', async () => {
    // lap uses a fixed γ = 1/p, so scaling the raw features changes it; linear CKA without centring sees translation.
    const lap = 'dds:norm=none,kernel=lap';
    expect(describeMeasure(lap).invariances).not.toContain('isotropic-scaling');
    expect(Math.abs((await pairSimilarity(transform(a, 'isotropic-scaling'), b, lap)) - (await pairSimilarity(a, b, lap)))).toBeGreaterThan(1e-3);
    const unc = 'dds:norm=none,kernel=linear,centering=none';
    expect(describeMeasure(unc).invariances).not.toContain('translation');
    expect(Math.abs((await pairSimilarity(transform(a, 'translation'), b, unc)) - (await pairSimilarity(a, b, unc)))).toBeGreaterThan(1e-3);
  });
});

describe('closed forms and identities', () => {
  it('linear CKA of X with its first column is a²/√(a⁴+b⁴) for orthogonal centred columns of norms a, b', async () => {
    // Columns (1,−1,1,−1)·α and (1,1,−1,−1)·β are centred and orthogonal: a² = 4α², b² = 4β².
    const alpha = 1.5;
    const beta = 0.5;
    const x = [alpha, beta, -alpha, beta, alpha, -beta, -alpha, -beta];
    const X: Representation = { label: 'X', n: 4, p: 2, shape: [2], data: Float64Array.from(x), source: '' };
    const Y: Representation = { label: 'Y', n: 4, p: 1, shape: [1], data: Float64Array.from([alpha, -alpha, alpha, -alpha]), source: '' };
    const a2 = 4 * alpha ** 2;
    const b2 = 4 * beta ** 2;
    expect(await pairSimilarity(X, Y, 'cka')).toBeCloseTo(a2 / Math.sqrt(a2 ** 2 + b2 ** 2), 14);
  });
  it('unbiased centring of any 3×3 matrix is the zero matrix is refused (n < 4), and of a 4×4 has zero row sums', () => {
    expect(() =>
      centerMatrix(
        fromRows([
          [1, 2, 3],
          [2, 5, 1],
          [3, 1, 4],
        ]),
        'unbiased',
        'm3',
      ),
    ).toThrow(/at least 4 images/);
    const c = centerMatrix(
      fromRows([
        [1, 2, 3, 0],
        [2, 5, 1, 7],
        [3, 1, 4, 2],
        [0, 7, 2, 9],
      ]),
      'unbiased',
    );
    for (let i = 0; i < 4; i++) {
      let s = 0;
      for (let j = 0; j < 4; j++) s += c.data[i * 4 + j];
      expect(s).toBeCloseTo(0, 12);
      expect(c.data[i * 5]).toBe(0);
    }
  });
  it('§2.5 identities: none = centering for rbf/lap/euclidean; layer_norm equal for linear/pearson/cosine', async () => {
    const [a, b] = pair();
    for (const k of ['rbf', 'lap', 'euclidean']) {
      expect(await pairSimilarity(a, b, `dds:norm=none,kernel=${k}`)).toBeCloseTo(await pairSimilarity(a, b, `dds:norm=centering,kernel=${k}`), 10);
    }
    const lin = await pairSimilarity(a, b, 'dds:norm=layer_norm,kernel=linear');
    expect(await pairSimilarity(a, b, 'dds:norm=layer_norm,kernel=pearson')).toBeCloseTo(lin, 8);
    expect(await pairSimilarity(a, b, 'dds:norm=layer_norm,kernel=cosine')).toBeCloseTo(lin, 8);
    // RBF is a monotone function of distance, so with uncentred Spearman it ranks exactly like euclidean.
    expect(await pairSimilarity(a, b, 'dds:norm=znorm,kernel=rbf,compare=spearman,centering=none')).toBeCloseTo(
      await pairSimilarity(a, b, 'dds:norm=znorm,kernel=euclidean,compare=spearman,centering=none'),
      12,
    );
  });
  it('NCHW layout groups channels differently from NHWC', async () => {
    const [a, b] = pair();
    const nhwc = await pairSimilarity(a, b, 'dds:norm=instance_norm,kernel=linear');
    const nchw = await pairSimilarity(a, b, 'dds:norm=instance_norm,kernel=linear,layout=NCHW');
    expect(Math.abs(nhwc - nchw)).toBeGreaterThan(1e-4);
  });
});

describe('batched matrices', () => {
  const reps = [0, 1, 2, 3, 4].map((s) => randomRep(`m${s}`, N, SHAPE, 100 + s));
  it('the M×M matrix equals the pairwise values and the cross matrix', async () => {
    for (const id of ['rsa', 'dds:norm=znorm,kernel=cosine', 'cka:kernel=rbf,debiased', 'rsa:compare=kendall']) {
      const m = await similarityMatrix(reps, id);
      expect(m.rows).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
      const cross = await crossSimilarity(reps.slice(0, 2), reps.slice(2), id);
      for (let i = 0; i < 5; i++)
        for (let j = 0; j < 5; j++) {
          expect(m.matrix.data[i * 5 + j]).toBe(m.matrix.data[j * 5 + i]);
          if (i !== j) expect(m.matrix.data[i * 5 + j]).toBeCloseTo(await pairSimilarity(reps[i], reps[j], id), 12);
        }
      for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) expect(cross.matrix.data[i * 3 + j]).toBeCloseTo(m.matrix.data[i * 5 + 2 + j], 12);
    }
  });
  it('reports progress per model and reuses the cache', async () => {
    const seen: string[] = [];
    const cache = new PreparedCache();
    await similarityMatrix(reps, 'rsa', { cache, onProgress: (d, t, l) => seen.push(`${d}/${t}:${l}`) });
    expect(seen).toEqual(['1/5:m0', '2/5:m1', '3/5:m2', '4/5:m3', '5/5:m4']);
    expect(cache.get(reps[0], 'rsa|float64')).toBeDefined();
  });
});

describe('bad input', () => {
  const a = randomRep('a', N, SHAPE, 1);
  it('mismatched image counts name both models', async () => {
    const short = randomRep('short', N - 1, SHAPE, 2);
    await expect(similarityMatrix([a, short], 'rsa')).rejects.toThrow(/a has 14 images but short has 13/);
  });
  it('a representation without variance is an error, not NaN', async () => {
    const flat: Representation = { ...a, label: 'flat', data: new Float64Array(N * P).fill(3) };
    await expect(pairSimilarity(a, flat, 'cka')).rejects.toThrow(/flat: similarity undefined/);
    await expect(pairSimilarity(a, flat, 'rsa')).rejects.toThrow(/flat: image 0 has constant features/);
  });
  it('tensor norms need a 3-d shape that matches p', async () => {
    const flat: Representation = { ...a, shape: [P] };
    await expect(pairSimilarity(flat, a, 'dds:norm=group_norm,kernel=linear')).rejects.toThrow(/pass --shape H,W,C/);
    await expect(pairSimilarity(a, a, 'dds:norm=batch_norm,kernel=linear,shape=3x3x2')).rejects.toThrow(/does not match its 16 features/);
    await expect(pairSimilarity(a, a, 'dds:norm=group_norm,kernel=linear,groups=3')).rejects.toThrow(/equal groups/);
  });
  it('debiased CKA needs 4 images', async () => {
    const tiny = randomRep('tiny', 3, [2], 4);
    await expect(pairSimilarity(tiny, { ...tiny, label: 't2' }, 'cka:debiased')).rejects.toThrow(/at least 4 images/);
  });
});
