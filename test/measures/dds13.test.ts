/**
 * DDS(X, Y) on the closed-form fixture (docs/measures.md#check-values), all 7 normalisations × 6 functions f with
 * unbiased-centred CKA (12 printed decimals → tolerance 1e-9), and the "other values" line.
 * The same numbers are reproduced by the independent numpy reference (test/reference/check_reference.py).
 */
import { describe, expect, it } from 'vitest';
import { pairSimilarity } from '../../src/measures/similarity.js';
import { X, Y, Z, DDS13_P } from '../fixtures/dds13.js';

const TOL = 1e-9;

function close(got: number, want: number, what: string): void {
  expect(Number.isFinite(got), `${what}: got ${got}`).toBe(true);
  expect(Math.abs(got - want), `${what}: got ${got}, want ${want}`).toBeLessThanOrEqual(TOL);
}

const COLS = ['rbf', 'lap', 'linear', 'pearson', 'euclidean', 'cosine'] as const;
const TABLE: Record<string, number[]> = {
  none: [0.989635133305, 0.985961420097, 0.978366910749, 0.978780790836, 0.982594055211, 0.978757668829],
  centering: [0.989635133305, 0.985961420097, 0.978366910749, 0.981133328299, 0.982594055211, 0.98113548003],
  znorm: [0.948566313019, 0.873557864772, 0.881471581269, 0.905996095022, 0.904309191682, 0.906256981246],
  group_norm: [0.993880137337, 0.992169317972, 0.99080740221, 0.990807402215, 0.991919691443, 0.990807402215],
  instance_norm: [0.985218092381, 0.990558287878, 0.98587370387, 0.98587370532, 0.986058675864, 0.98587370532],
  layer_norm: [0.989356407835, 0.985741208599, 0.978780790836, 0.978780790836, 0.982747866224, 0.978780790836],
  batch_norm: [0.983368737428, 0.990760479387, 0.983651539645, 0.98470909941, 0.983946625902, 0.984710561022],
};

describe('§13.1 fixture generator', () => {
  it('has the documented size and shape', () => {
    for (const r of [X, Y, Z]) {
      expect(r.n).toBe(10);
      expect(r.p).toBe(DDS13_P);
      expect(r.p).toBe(2048);
      expect(r.shape).toEqual([16, 16, 8]);
      expect(r.data.length).toBe(10 * 2048);
    }
  });
  it('reproduces the spot values X[0][0..5] and Y[1][0..5]', () => {
    expect(Array.from(X.data.subarray(0, 6))).toEqual([
      0.04509415262636274, -0.11308225966303273, -0.5745292368681865, -1.339246778989098, 2.5927651139742323, 0.25,
    ]);
    expect(Array.from(Y.data.subarray(2048, 2048 + 6))).toEqual([0, 0.17679928031722403, 0, 0, 3.192320888900194, 0]);
  });
  it('reproduces further spot values (computed with numpy from the same formulas)', () => {
    expect(Array.from(Z.data.subarray(0, 6))).toEqual([
      0.4249753208292202, -0.28005923000987165, 0.7848963474827246, -1.380157946692991, 0.22477788746298127, 0.25,
    ]);
    const last = 9 * 2048 + 2040;
    expect(Array.from(X.data.subarray(last, last + 8))).toEqual([
      -0.408820614469772, 0.24965312190287406, -1.1245787908820615, 0.46848364717542146, -1.9711595639246782, 0.5564915758176414, 4.051437066402379,
      0.5136769078295343,
    ]);
    expect(Array.from(Y.data.subarray(last, last + 8))).toEqual([0, 0.7228522272890481, 0, 0.8298982895304552, 0, 0, 0.36708082342823767, 0]);
  });
});

describe('§13.1 DDS table: unbiased-centred CKA, 7 norms × 6 functions', () => {
  for (const [norm, row] of Object.entries(TABLE)) {
    for (let k = 0; k < COLS.length; k++) {
      const id = `dds:norm=${norm},kernel=${COLS[k]}`;
      it(id, async () => {
        close(await pairSimilarity(X, Y, id), row[k], id);
      });
    }
  }
});

describe('§13.1 other values', () => {
  const cases: [string, number][] = [
    // biased-centred linear CKA (None)
    ['cka:kernel=linear', 0.9929282335311181],
    ['dds:norm=none,kernel=linear,compare=cka,centering=biased', 0.9929282335311181],
    // biased RBF CKA (t = 0.5, None)
    ['cka:kernel=rbf,t=0.5', 0.9975961631869312],
    ['dds:norm=none,kernel=rbf,compare=cka,centering=biased', 0.9975961631869312],
    // uncentred ("default") linear CKA
    ['dds:norm=none,kernel=linear,compare=cka,centering=none', 0.9121759252143907],
    // RSA: centering, pearson RDM, Spearman of upper triangles, no centring
    ['rsa', 0.9322793148880104],
    ['dds:norm=centering,kernel=pearson,compare=spearman,centering=none', 0.9322793148880104],
    // Spearman comparator on unbiased-centred cosine RDMs with znorm
    ['dds:norm=znorm,kernel=cosine,compare=spearman', 0.884584980237154],
    // the reference "pearson" comparator (cosine of the triangles) on the same
    ['dds:norm=znorm,kernel=cosine,compare=cosine-triu', 0.906256981245665],
  ];
  for (const [id, want] of cases) {
    it(id, async () => {
      close(await pairSimilarity(X, Y, id), want, id);
    });
  }
  it('DDS(X, X′) = 1 for copies of X that must be computed, and DDS is symmetric (znorm + lap)', async () => {
    // pairSimilarity(X, X) answers 1 for the identical object without computing anything, so X is compared with a
    // deep copy (new object, new data) and with a per-feature positive affine image of X, to which znorm makes DDS
    // invariant: both go through normalisation, kernel, centring and CKA.
    const id = 'dds:norm=znorm,kernel=lap';
    const copy = { ...X, label: 'X copy', shape: [...X.shape], data: Float64Array.from(X.data) };
    const affine = { ...copy, label: 'aX+b', data: Float64Array.from(X.data, (x, k) => (1 + ((k % DDS13_P) % 7)) * x + ((k % DDS13_P) % 5) - 2) };
    close(await pairSimilarity(X, copy, id), 1, 'DDS(X, copy of X)');
    close(await pairSimilarity(X, affine, id), 1, 'DDS(X, aX + b)');
    close(await pairSimilarity(Y, X, id), 0.873557864772, 'DDS(Y, X)');
  });
});
