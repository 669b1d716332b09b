/**
 * LogME, LEEP, NCE, NLEEP, H-score and shrinkage H-score (issue 13): the ALGORITHMS.md §13.2 check values, the
 * goldens of test/reference/transferability_a.py (written from the definitions, not from the TypeScript), closed
 * forms, invariances, the shared memo, and every bad input's message.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Matrix } from '../../src/linalg/dense.js';
import { getGemmEngine, jsEngine } from '../../src/linalg/gemm.js';
import { classTarget, computeScore, computeScores, regressionTarget, type ScoreInput } from '../../src/transferability/index.js';
import { leepOf } from '../../src/transferability/leep.js';
import { kmeansPlusPlus } from '../../src/transferability/nleep.js';
import { RecordingMemo } from './recordingMemo.js';

interface Golden {
  fixtures: Record<string, { rows: number; cols: number; data: number[] }>;
  labels: Record<string, number[]>;
  cases: { score: string; input: string; labels: string; value: number }[];
}
const golden = JSON.parse(readFileSync(new URL('../fixtures/transferability/goldens_a.json', import.meta.url), 'utf8')) as Golden;

const matrix = (name: string): Matrix => {
  const f = golden.fixtures[name];
  return { rows: f.rows, cols: f.cols, data: Float64Array.from(f.data) };
};

/** |a − b| ≤ rel·|b| + abs. */
function close(actual: number, expected: number, rel: number, abs = 1e-12): void {
  const tol = rel * Math.abs(expected) + abs;
  if (!(Math.abs(actual - expected) <= tol)) expect.fail(`${actual} differs from ${expected} by ${Math.abs(actual - expected)} (tolerance ${tol})`);
}

function gen(rows: number, cols: number, f: (i: number, j: number) => number): Matrix {
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[i * cols + j] = f(i, j);
  return { rows, cols, data };
}

// ---------------------------------------------------------------------------------------------------------------
// Closed-form fixtures, as in transferability_a.py

const y132 = Array.from({ length: 12 }, (_, i) => i % 3);
const F132 = gen(12, 4, (i, d) => (((i + 1) * (d + 2) * 37) % 17) / 17 + (d === 0 ? 0.5 * y132[i] : 0) + (d === 1 && y132[i] === 1 ? 0.3 : 0));
const theta132 = gen(12, 4, () => 0);
for (let i = 0; i < 12; i++) {
  const logits = [0, 1, 2, 3].map((z) => (((i + 2) * (z + 1) * 13) % 11) / 11 + (z === y132[i] ? 0.35 : 0));
  const max = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b);
  e.forEach((v, z) => (theta132.data[i * 4 + z] = v / s));
}
const F132w = gen(12, 14, (i, j) => {
  const f = (d: number) => F132.data[i * 4 + d];
  if (j < 4) return f(j);
  if (j < 6) return f(j - 4) ** 2;
  if (j < 10) return Math.sin(f(j - 6));
  return Math.cos(3 * f(j - 10));
});
const yWide = Array.from({ length: 10 }, (_, i) => Math.floor((3 * i) / 10));
const FWide = gen(10, 30, (i, j) => (((i + 2) * (j + 5) * 29) % 23) / 23 + (j % 3 === 0 ? 0.4 * yWide[i] : 0));
const yDeg = Array.from({ length: 24 }, (_, i) => i % 4);
const base = gen(24, 6, (i, j) => (((i + 1) * (j + 3) * 41) % 19) / 19 + (yDeg[i] === j % 4 ? 0.3 : 0));
const FDeg = gen(24, 9, (i, j) =>
  j < 6 ? base.data[i * 6 + j] : j === 6 ? 0.75 : j === 7 ? base.data[i * 6 + 1] : 2 * base.data[i * 6 + 2] - base.data[i * 6],
);
const yDup = Array.from({ length: 30 }, (_, i) => (i % 15) % 3);
const FDup = gen(30, 5, (i, j) => ((((i % 15) + 1) * (j + 2) * 7) % 11) / 11 + (j === 0 ? 0.6 * ((i % 15) % 3) : 0));
const yOverlap = Array.from({ length: 60 }, (_, i) => i % 3);
const FOverlap = gen(60, 5, (i, j) => (((i + 1) * (j + 3) * 37) % 29) / 29 + (j === yOverlap[i] ? 0.25 : 0));
const yClusters = Array.from({ length: 40 }, (_, i) => i % 4);
const FClusters = gen(40, 6, (i, j) => ((((i + 1) * (j + 1) * 53) % 31) / 31) * 0.5 + (j === yClusters[i] ? 1 : 0) + (j === (yClusters[i] + 2) % 6 ? 0.5 : 0));

const cls = (labels: readonly (number | string)[]) => classTarget(labels);
const features = (f: Matrix, labels: readonly (number | string)[]): ScoreInput => ({ features: f, target: cls(labels), name: 'fixture' });
const score = async (id: string, input: ScoreInput, engine = jsEngine) => (await computeScore(id, input, { engine })).value;

describe('fixture generators agree with the Python reference', () => {
  it('regenerates every stored input from its closed form (rational ones exactly, transcendental ones to 1 ulp)', () => {
    const same = (m: Matrix, name: string, rel = 0) => {
      const g = matrix(name);
      expect([m.rows, m.cols]).toEqual([g.rows, g.cols]);
      for (let k = 0; k < g.data.length; k++)
        if (rel === 0) expect(m.data[k]).toBe(g.data[k]);
        else close(m.data[k], g.data[k], rel, 1e-16);
    };
    same(F132, 's132');
    same(theta132, 's132_theta', 1e-15);
    same(F132w, 's132_wide', 1e-15);
    same(FWide, 'wide');
    same(FDeg, 'degenerate');
    same(FDup, 'duplicated');
    same(FOverlap, 'overlap');
    same(FClusters, 'clusters');
    expect(golden.labels.s132).toEqual(y132);
    expect(golden.labels.wide).toEqual(yWide);
    expect(golden.labels.degenerate).toEqual(yDeg);
    expect(golden.labels.duplicated).toEqual(yDup);
    expect(golden.labels.overlap).toEqual(yOverlap);
    expect(golden.labels.clusters).toEqual(yClusters);
  });
});

describe('ALGORITHMS.md §13.2 check values (published, reference code)', () => {
  const values: [string, ScoreInput, number][] = [
    ['logme', features(F132, y132), -0.7149628624308102],
    ['logme:solver=icml', features(F132, y132), -0.714971376446169],
    ['logme', features(F132w, y132), -0.2814764764997937],
    ['logme:solver=icml', features(F132w, y132), -0.5516659137821184],
    ['leep', { probabilities: theta132, target: cls(y132) }, -1.0843271078905226],
    ['nce', { probabilities: theta132, target: cls(y132) }, -0.7803552045207032],
    ['hscore', features(F132, y132), 1.2507751548023014],
    ['hscore:shrinkage', features(F132, y132), 0.13418663091766947],
  ];
  for (const [id, input, value] of values) {
    it(`${id}${input.features?.cols === 14 ? ' (wide, D > N)' : ''} = ${value}`, async () => {
      close(await score(id, input), value, 1e-12);
      close(await score(id, input, await getGemmEngine()), value, 1e-12);
    });
  }
});

describe('goldens of test/reference/transferability_a.py', () => {
  const targetOf = (name: string): ScoreInput['target'] => (name === 'regression' ? regressionTarget(matrix('regression')) : cls(golden.labels[name]));
  for (const c of golden.cases) {
    it(`${c.score} on ${c.input} (${c.labels})`, async () => {
      const m = matrix(c.input);
      const input: ScoreInput = c.input.endsWith('theta') ? { probabilities: m, target: targetOf(c.labels) } : { features: m, target: targetOf(c.labels) };
      close(await score(c.score, input), c.value, 1e-6, 1e-12);
    });
  }
  it('cover N < D, rank deficiency, huge and mixed scales, ties, regression, a never-predicted source class', () => {
    const inputs = new Set(golden.cases.map((c) => `${c.score.split(':')[0]}/${c.input}`));
    for (const s of ['logme', 'hscore'])
      for (const f of ['s132_wide', 'wide', 'degenerate', 'huge', 'mixed', 'duplicated']) expect(inputs).toContain(`${s}/${f}`);
    for (const f of ['overlap', 'duplicated', 'degenerate', 'wide']) expect(inputs).toContain(`nleep/${f}`);
    expect(inputs).toContain('leep/edge_theta');
    expect(inputs).toContain('nce/edge_theta');
    expect(golden.cases.some((c) => c.labels === 'regression')).toBe(true);
  });
});

describe('closed forms', () => {
  it('H-score is C − 1 when the centred features span all N − 1 directions (N < D), without a D×D matrix', async () => {
    const y = Array.from({ length: 20 }, (_, i) => i % 4);
    const f = gen(20, 3000, (i, j) => (((i + 3) * (j + 7) * 101) % 97) / 97 + (j === y[i] ? 0.2 : 0));
    close(await score('hscore', features(f, y), await getGemmEngine()), 3, 1e-9);
    close(await score('hscore', features(FWide, yWide)), 2, 1e-9);
  });

  it('H-score ignores constant, duplicated and collinear columns (the degenerate fixture equals its 6 free columns)', async () => {
    close(await score('hscore', features(FDeg, yDeg)), await score('hscore', features(base, yDeg)), 1e-9);
  });

  it('constant features: H-score 0, NLEEP the label entropy −H(Y); LogME finite', async () => {
    const y = [0, 0, 0, 1, 1, 2];
    const f = gen(6, 3, (_, j) => j + 0.5);
    expect(await score('hscore', features(f, y))).toBe(0);
    expect(await score('hscore:shrinkage', features(f, y))).toBe(0);
    const entropy = (3 * Math.log(3 / 6) + 2 * Math.log(2 / 6) + Math.log(1 / 6)) / 6;
    close(await score('nleep:per-class=1', features(f, y)), entropy, 1e-12);
    expect(Number.isFinite(await score('logme', features(f, y)))).toBe(true);
  });

  it('one feature: no Ledoit–Wolf shrinkage, so the shrinkage H-score is the plain one with a ddof-0 covariance (× N/(N − 1))', async () => {
    const one = gen(12, 1, (i) => F132.data[i * 4]);
    close(await score('hscore:shrinkage', features(one, y132)), ((await score('hscore', features(one, y132))) * 12) / 11, 1e-12);
  });

  it('LEEP leaves out a source class nobody predicts (same value as without that column)', async () => {
    const theta = matrix('edge_theta');
    const y = golden.labels.edge;
    const without = gen(9, 4, (i, j) => theta.data[i * 5 + (j < 3 ? j : 4)]);
    expect(Array.from({ length: 9 }, (_, i) => theta.data[i * 5 + 3])).toEqual(new Array(9).fill(0));
    close(await score('leep', { probabilities: theta, target: cls(y) }), await score('leep', { probabilities: without, target: cls(y) }), 1e-14);
  });

  it('LEEP of one-hot θ equal to the labels is 0; NCE of a perfect top-1 predictor is 0', async () => {
    const y = [0, 1, 2, 1, 0, 2];
    const theta = gen(6, 3, (i, z) => (z === y[i] ? 1 : 0));
    close(await score('leep', { probabilities: theta, target: cls(y) }), 0, 0, 1e-15);
    close(await score('nce', { probabilities: theta, target: cls(y) }), 0, 0, 1e-15);
  });

  it('NCE breaks top-1 ties by the first source class (numpy argmax)', async () => {
    const y = [0, 1, 0, 1];
    const tie = gen(4, 2, () => 0.5);
    // All images go to source class 0: −H(Y | Z) = −H(Y) = log ½.
    close(await score('nce', { probabilities: tie, target: cls(y) }), Math.log(0.5), 1e-12);
  });

  it('LogME fixed point vs ICML: equal sums when D ≤ N; ICML adds −½(D−N)·log α per column when D > N', async () => {
    // Both solvers share ‖m‖², ‖y − Fm‖²; on the tall §13.2 features they differ only through the stopping rule
    // and the 1e-5 terms (1e-5 relative), on the wide ones by the missing log-determinant terms (§11.1).
    const tall = [await score('logme', features(F132, y132)), await score('logme:solver=icml', features(F132, y132))];
    close(tall[0], tall[1], 1e-4);
    const wideValues = [await score('logme', features(F132w, y132)), await score('logme:solver=icml', features(F132w, y132))];
    expect(wideValues[0] - wideValues[1]).toBeGreaterThan(0.2);
  });
});

describe('invariances', () => {
  const relabel = (y: number[]) => y.map((v) => ['cat', 'ant', 'dog', 'bee'][v]);
  const permuteRows = <T>(xs: T[], order: number[]) => order.map((i) => xs[i]);
  const rowsOf = (m: Matrix, order: number[]): Matrix => gen(order.length, m.cols, (i, j) => m.data[order[i] * m.cols + j]);
  const order12 = [5, 2, 11, 0, 7, 3, 9, 1, 10, 4, 8, 6];

  for (const id of ['logme', 'logme:solver=icml', 'hscore', 'hscore:shrinkage', 'nleep:per-class=1']) {
    it(`${id}: label names and their order do not matter`, async () => {
      close(await score(id, features(F132, relabel(y132))), await score(id, features(F132, y132)), 1e-12);
    });
  }
  for (const id of ['logme', 'logme:solver=icml', 'hscore', 'hscore:shrinkage']) {
    it(`${id}: image order does not matter`, async () => {
      close(await score(id, features(rowsOf(F132w, order12), permuteRows(y132, order12))), await score(id, features(F132w, y132)), 1e-9);
    });
  }
  for (const id of ['leep', 'nce']) {
    it(`${id}: image order, label names and source-class order do not matter`, async () => {
      const ref = await score(id, { probabilities: theta132, target: cls(y132) });
      close(await score(id, { probabilities: rowsOf(theta132, order12), target: cls(permuteRows(relabel(y132), order12)) }), ref, 1e-12);
      const swapped = gen(12, 4, (i, z) => theta132.data[i * 4 + [2, 0, 3, 1][z]]);
      close(await score(id, { probabilities: swapped, target: cls(y132) }), ref, 1e-12);
    });
  }

  it('LogME is invariant to a rotation of the feature space (F·Q, Q orthogonal)', async () => {
    const c = Math.cos(0.7);
    const s = Math.sin(0.7);
    const rotated = gen(12, 4, (i, j) => {
      const r = F132.data.subarray(i * 4, i * 4 + 4);
      if (j === 0) return c * r[0] - s * r[2];
      if (j === 2) return s * r[0] + c * r[2];
      return r[j];
    });
    for (const id of ['logme', 'logme:solver=icml']) close(await score(id, features(rotated, y132)), await score(id, features(F132, y132)), 1e-9);
  });

  it('scaling F by 3: the ICML LogME hardly moves; the fixed point on D > N moves by (D − N)/(2N)·log 9, the missing −½(D−N)·log α', async () => {
    const times3 = (m: Matrix) => gen(m.rows, m.cols, (i, j) => 3 * m.data[i * m.cols + j]);
    // α scales by 9 with σ: (D/2)·log α − ½ Σ_k log(α + βσ) changes by (D − k)/2 · log 9; only the 1e-5 terms do not scale.
    for (const f of [F132, F132w]) {
      const icml = [await score('logme:solver=icml', features(f, y132)), await score('logme:solver=icml', features(times3(f), y132))];
      close(icml[1], icml[0], 1e-3);
    }
    close(await score('logme', features(times3(F132), y132)), await score('logme', features(F132, y132)), 1e-4);
    const wide = [await score('logme', features(F132w, y132)), await score('logme', features(times3(F132w), y132))];
    close(wide[1] - wide[0], ((14 - 12) / (2 * 12)) * Math.log(9), 1e-3);
  });

  it('H-score is invariant to an invertible linear map and a shift of the features; shrinkage H-score to scaling and shift', async () => {
    const a = [
      [2, 1, 0, 0],
      [0, 1, 3, 0],
      [1, 0, 1, 1],
      [0, 0, 0, 5],
    ];
    const mapped = gen(12, 4, (i, j) => a.reduce((s, row, k) => s + F132.data[i * 4 + k] * row[j], 0) + 7);
    close(await score('hscore', features(mapped, y132)), 1.2507751548023014, 1e-9);
    const scaled = gen(12, 4, (i, j) => 1e6 * F132.data[i * 4 + j] - 4e6);
    close(await score('hscore:shrinkage', features(scaled, y132)), 0.13418663091766947, 1e-9);
    // The shrinkage estimate is not invariant to a non-isotropic map:
    expect(Math.abs((await score('hscore:shrinkage', features(mapped, y132))) - 0.13418663091766947)).toBeGreaterThan(1e-3);
  });

  it('NLEEP is unchanged by scaling the features by a power of two and by a shift (PCA centres, the floor is relative)', async () => {
    const ref = await score('nleep', features(FOverlap, yOverlap));
    const scaled = gen(60, 5, (i, j) => 2 ** 20 * FOverlap.data[i * 5 + j] + 1024);
    close(await score('nleep', features(scaled, yOverlap)), ref, 1e-9);
  });
});

describe('NLEEP mixture', () => {
  it('depends on the seed only through the initialisation, and reproducibly', async () => {
    const a = await score('nleep:seed=11', features(FOverlap, yOverlap));
    expect(await score('nleep:seed=11', features(FOverlap, yOverlap))).toBe(a);
    const values = new Set<number>();
    for (const seed of [0, 1, 2, 3]) values.add(await score(`nleep:seed=${seed}`, features(FOverlap, yOverlap)));
    expect(values.size).toBeGreaterThan(1);
  });

  it('k-means++ picks distinct rows while distinct rows remain, then repeats (15 distinct rows, 20 centres)', () => {
    const seeds = Array.from(kmeansPlusPlus(FDup, 20, 0));
    const distinct = new Set(seeds.slice(0, 15).map((r) => r % 15));
    expect(distinct.size).toBe(15);
    expect(seeds.every((r) => r >= 0 && r < 30)).toBe(true);
  });

  it('gives the same value with the JS and the default GEMM engines', async () => {
    close(await score('nleep', features(FOverlap, yOverlap), await getGemmEngine()), await score('nleep', features(FOverlap, yOverlap)), 1e-9);
  });

  it('LEEP of the posteriors: leepOf agrees with the leep score on the same θ', async () => {
    close(leepOf(theta132, cls(y132).codes, 3), await score('leep', { probabilities: theta132, target: cls(y132) }), 1e-15);
  });
});

describe('shared per-candidate work', () => {
  it('one eigendecomposition per centring for all scores of a candidate', async () => {
    const memo = new RecordingMemo();
    const computed = memo.computed;
    const ids = ['logme', 'logme:solver=icml', 'hscore', 'hscore:shrinkage', 'nleep'];
    const values = await computeScores(ids, features(FOverlap, yOverlap), { engine: jsEngine, memo });
    expect(computed.sort()).toEqual(['spectral:centred', 'spectral:eigen:centred', 'spectral:eigen:raw']);
    for (const [k, v] of values.entries()) close(v.value, await score(ids[k], features(FOverlap, yOverlap)), 1e-12);
  });
});

describe('bad input', () => {
  const reject = (id: string, input: ScoreInput, message: RegExp) => expect(computeScore(id, input, { engine: jsEngine })).rejects.toThrow(message);

  it('one class', async () => {
    for (const id of ['logme', 'hscore', 'nleep'])
      await reject(id, features(F132, new Array(12).fill(4)), new RegExp(`^${id}: fixture: only one class \\("4"\\)`));
    await reject('leep', { probabilities: theta132, target: cls(new Array(12).fill('a')) }, /^leep: input: only one class \("a"\)/);
  });

  it('non-finite features or probabilities name the image and column', async () => {
    const bad = gen(12, 4, (i, j) => (i === 1 && j === 2 ? NaN : F132.data[i * 4 + j]));
    for (const id of ['logme', 'hscore:shrinkage', 'nleep'])
      await reject(id, features(bad, y132), /fixture: value at image 2, column 3 is NaN; inputs must be finite/);
    const inf = gen(12, 4, (i, j) => (i === 0 && j === 0 ? Infinity : theta132.data[i * 4 + j]));
    await reject('nce', { probabilities: inf, target: cls(y132) }, /^nce: input: value at image 1, column 1 is Infinity/);
  });

  it('row counts that disagree with the labels', async () => {
    await reject('logme', features(F132, y132.slice(1)), /^logme: fixture: 12 images of features but 11 labels/);
    await reject('leep', { probabilities: theta132, target: cls(y132.slice(2)) }, /^leep: input: 12 rows of probabilities but 10 labels/);
  });

  it('the wrong kind of input', async () => {
    await reject('leep', features(F132, y132), /^leep: fixture: needs the source model's class probabilities/);
    await reject('hscore', { probabilities: theta132, target: cls(y132) }, /^hscore: input: needs the candidate's features/);
    const logits = gen(12, 4, (i, j) => theta132.data[i * 4 + j] * 3);
    await reject('nce', { probabilities: logits, target: cls(y132) }, /sum to .*not 1; pass softmax outputs, not logits/);
  });

  it('regression targets: LogME takes them, the classification scores refuse them', async () => {
    const target = regressionTarget(matrix('regression'));
    expect(Number.isFinite(await score('logme', { features: F132, target }))).toBe(true);
    for (const id of ['hscore', 'nleep']) await reject(id, { features: F132, target }, new RegExp(`^${id}: input: a regression target was given`));
  });

  it('NLEEP with more mixture components than images', async () => {
    await reject('nleep', features(F132, y132), /^nleep: fixture: 15 mixture components \(per-class 5 × 3 classes\) for 12 images/);
  });

  it('bad parameters', async () => {
    await reject('logme:solver=svd', features(F132, y132), /solver="svd" is not one of fixed-point, icml/);
    await reject('nleep:variance=0', features(FOverlap, yOverlap), /variance must be in \(0, 1\]/);
    await reject('nleep:per-class=0', features(FOverlap, yOverlap), /per-class must be an integer ≥ 1/);
  });
});
