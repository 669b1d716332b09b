/**
 * Issue 16 part B against the independent numpy/scipy reference (test/reference/measures16b.py →
 * test/fixtures/measures16/b.json): neighbourhood measures (mutual k-NN, Jaccard, rank similarity, second-order
 * cosine, CKNNA) with their neighbour lists and tie order, RSM norm difference, distance correlation, eigenspace
 * overlap, the rsatoolbox RDM comparators, and exact ties in Euclidean RDMs. Tolerance 1e-6 relative unless a value
 * is exact by construction (then exact).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromRows, upperTriangle, type Matrix } from '../../src/linalg/dense.js';
import { kendallTauA, kendallTauB, spearman, spearmanRhoA } from '../../src/linalg/correlation.js';
import { euclideanDistances, squaredEuclideanDistances } from '../../src/linalg/distances.js';
import { eigenspaceOverlap, prepareEigenspace } from '../../src/measures/eigenspace.js';
import {
  cknna,
  jaccardKnn,
  mutualKnn,
  nearestNeighbours,
  cosineSimilarityMatrix,
  prepareKernelNeighbours,
  prepareNeighbours,
  prepareSimilarityNeighbours,
  rankSimilarity,
  secondOrderCosine,
} from '../../src/measures/neighbourhood.js';
import { comparePreparedRdms, prepareRdm, RSA_COMPARATORS } from '../../src/measures/rdmComparators.js';
import { distanceCorrelation, prepareDcor, prepareRsm, rsmNormDifference } from '../../src/measures/rsmMeasures.js';
import { pairSimilarity, prepareRepresentation } from '../../src/measures/similarity.js';
import { normalizeFeatures } from '../../src/measures/normalize.js';
import { rdmMatrix } from '../../src/measures/kernels.js';
import { pipelineOf, parseMeasure, type Pipeline } from '../../src/measures/registry.js';
import type { Representation } from '../../src/features/types.js';

interface Golden {
  models: Record<string, number[][]>;
  intModels: Record<string, number[][]>;
  neighbourhood: Record<string, Record<string, number | null | number[][]>>;
  duplicateNeighbours: number[][];
  cknnaFullK: { cknna: number; unbiasedCkaCosine: number };
  geometry: Record<string, Record<string, number | null>>;
  dcorCheck: { dcor2: number; frobeniusCosine: number };
  rdms: Record<string, number[]>;
  rdmSizes: Record<string, number>;
  comparators: Record<string, Record<string, number>>;
  comparatorChecks: { cosineCovSq: number; linearCka: number };
  ties: {
    int1: TieModel;
    int2: TieModel;
    quantised: TieModel;
    pairs: Record<string, Record<string, number>>;
    vectors: { x: number[]; y: number[]; self: Record<string, number>; xy: Record<string, number> };
  };
}
interface TieModel {
  distinctEuclidean: number;
  distinctSquared: number;
  distinctCentredGram: number;
  euclidean: number[];
  sqeuclidean: number[];
}

const golden = JSON.parse(readFileSync(new URL('../fixtures/measures16/b.json', import.meta.url), 'utf8')) as Golden;

const REL = 1e-6;
function close(actual: number, expected: number, what: string, tol = REL): void {
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(expected)));
}

const matrix = (rows: number[][]): Matrix => fromRows(rows);
const model = (name: string): Matrix => {
  const m = golden.models[name] ?? golden.intModels[name];
  if (m) return matrix(m);
  if (name.endsWith('huge')) return scaled(model(name.slice(0, -4)), 1e150);
  throw new Error(`no model ${name}`);
};
function scaled(x: Matrix, c: number): Matrix {
  return { ...x, data: x.data.map((v) => v * c) };
}
function rep(label: string, x: Matrix): Representation {
  return { label, n: x.rows, p: x.cols, shape: [x.cols], data: Float64Array.from(x.data), source: label };
}
function square(triangle: number[], n: number): Matrix {
  const m: Matrix = { rows: n, cols: n, data: new Float64Array(n * n) };
  let q = 0;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      m.data[i * n + j] = triangle[q];
      m.data[j * n + i] = triangle[q++];
    }
  return m;
}
const rowsOf = (index: Int32Array, k: number): number[][] => Array.from({ length: index.length / k }, (_, i) => Array.from(index.subarray(i * k, (i + 1) * k)));

describe('neighbourhood measures vs the reference', () => {
  for (const [key, expected] of Object.entries(golden.neighbourhood)) {
    const [pair, kPart] = key.split('|');
    const [a, b] = pair.split('~');
    const k = Number(kPart.slice(2));
    it(`${key}`, async () => {
      const xa = model(a);
      const xb = model(b);
      const na = await prepareNeighbours(xa, k, a);
      const nb = await prepareNeighbours(xb, k, b);
      // The neighbour lists themselves, tie order included (model Bdup has exact ties from duplicated images).
      expect(rowsOf(na.index, k)).toEqual(expected.neighboursA);
      expect(rowsOf(nb.index, k)).toEqual(expected.neighboursB);
      close(mutualKnn(na, nb), expected['mutual-knn'] as number, 'mutual-knn');
      close(jaccardKnn(na, nb), expected['jaccard-knn'] as number, 'jaccard-knn');
      close(rankSimilarity(na, nb), expected['rank-similarity'] as number, 'rank-similarity');
      const sa = await prepareSimilarityNeighbours(xa, k, a);
      const sb = await prepareSimilarityNeighbours(xb, k, b);
      close(secondOrderCosine(sa, sb), expected['second-order-cosine'] as number, 'second-order-cosine');
      if (expected.cknna !== null) {
        close(cknna(await prepareKernelNeighbours(xa, k, a), await prepareKernelNeighbours(xb, k, b)), expected.cknna as number, 'cknna');
      }
    });
  }

  it('k-NN Jaccard reproduces ALGORITHMS §13.3 (k = 5: 0.11944444444444445, k = 10: 0.30956101288918625)', async () => {
    for (const [k, value] of [
      [5, 0.11944444444444445],
      [10, 0.30956101288918625],
    ]) {
      close(jaccardKnn(await prepareNeighbours(model('A'), k, 'A'), await prepareNeighbours(model('B'), k, 'B')), value, `k=${k}`, 1e-12);
    }
  });

  it('ties: duplicated images straddling the k-th place are taken in index order', async () => {
    const x = model('Bdup');
    const lists = rowsOf((await prepareNeighbours(x, 10, 'Bdup')).index, 10);
    expect(lists).toEqual(golden.duplicateNeighbours);
    // Image 10's 9th and 10th neighbours are 3 and 7; their copy 20 is equally close and left out.
    expect(lists[10].slice(8)).toEqual([3, 7]);
    expect(lists[10]).not.toContain(20);
    // Image 3's nearest neighbours are its copies, lower index first; an image is never its own neighbour.
    expect(lists[3].slice(0, 2)).toEqual([7, 20]);
    expect(lists[7].slice(0, 2)).toEqual([3, 20]);
    lists.forEach((row, i) => expect(row).not.toContain(i));
    // Exactly equal similarities from the GEMM: duplicates give bit-identical rows and columns.
    const s = await cosineSimilarityMatrix(x, 'Bdup');
    const n = x.rows;
    for (let j = 0; j < n; j++) {
      if (j === 3 || j === 7 || j === 20) continue;
      expect(s.data[7 * n + j]).toBe(s.data[3 * n + j]);
      expect(s.data[j * n + 20]).toBe(s.data[j * n + 3]);
    }
    expect(s.data[3 * n + 7]).toBe(1);
  });

  it('the sorting path (k > 32) gives the same order as the insertion path', async () => {
    // 45 images with ties: every third image duplicates its predecessor.
    const base = model('A');
    const rows: number[][] = [];
    for (let i = 0; i < 45; i++) {
      const src = i % 3 === 2 ? rows[i - 1] : Array.from(base.data.subarray((i % 30) * 6, (i % 30) * 6 + 6), (v, j) => v + 0.01 * i * j);
      rows.push([...src]);
    }
    const sim = await cosineSimilarityMatrix(matrix(rows), 'X');
    const long = rowsOf(nearestNeighbours(sim, 40, 'X'), 40);
    const short = rowsOf(nearestNeighbours(sim, 30, 'X'), 30);
    long.forEach((row, i) => expect(row.slice(0, 30), `image ${i}`).toEqual(short[i]));
    for (let i = 0; i < 45; i++) {
      // the order really is by similarity, then index
      for (let t = 1; t < 40; t++) {
        const prev = sim.data[i * 45 + long[i][t - 1]];
        const cur = sim.data[i * 45 + long[i][t]];
        expect(prev > cur || (prev === cur && long[i][t - 1] < long[i][t])).toBe(true);
      }
    }
  });

  it('CKNNA with k = n − 1 is unbiased CKA of the cosine kernels (reference and dds:norm=none,kernel=cosine)', async () => {
    const n = model('A').rows;
    const v = cknna(await prepareKernelNeighbours(model('A'), n - 1, 'A'), await prepareKernelNeighbours(model('B'), n - 1, 'B'));
    close(v, golden.cknnaFullK.cknna, 'cknna k=n-1');
    close(golden.cknnaFullK.cknna, golden.cknnaFullK.unbiasedCkaCosine, 'reference identity', 1e-12);
    // DDS's cosine function is the distance 1 − cos; U-centring removes the constant, so unbiased CKA agrees.
    close(v, await pairSimilarity(rep('A', model('A')), rep('B', model('B')), 'dds:norm=none,kernel=cosine'), 'dds cosine', 1e-9);
  });
});

describe('RSM norm difference, distance correlation, eigenspace overlap vs the reference', () => {
  for (const [key, expected] of Object.entries(golden.geometry)) {
    const [a, b] = key.split('~');
    it(key, async () => {
      const xa = model(a);
      const xb = model(b);
      close(rsmNormDifference(await prepareRsm(xa, a), await prepareRsm(xb, b)), expected['rsm-norm-diff']!, 'rsm-norm-diff', REL);
      // dCor is scale invariant: where float64 V-statistics overflow in the reference, the unscaled pair answers.
      const dcorExpected = expected.dcor ?? golden.geometry[key.replace(/huge/g, '')]?.dcor ?? 1;
      close(distanceCorrelation(await prepareDcor(xa, a), await prepareDcor(xb, b)), dcorExpected, 'dcor');
      const ea = await prepareEigenspace(xa, a);
      const eb = await prepareEigenspace(xb, b);
      expect([ea.rank, eb.rank]).toEqual([expected.rankA, expected.rankB]);
      close(eigenspaceOverlap(ea, eb), expected['eigenspace-overlap']!, 'eigenspace-overlap');
    });
  }

  it('rsm-norm-diff scales with the features (huge inputs do not overflow)', async () => {
    const d = rsmNormDifference(await prepareRsm(model('Ahuge'), 'Ahuge'), await prepareRsm(model('Bhuge'), 'Bhuge'));
    close(d / 1e150, golden.geometry['A~B']['rsm-norm-diff']!, 'scaled');
    // 1e200 would overflow a plain sum of squared distances (1e400); the scaled accumulation does not.
    const e = rsmNormDifference(await prepareRsm(scaled(model('A'), 1e200), 'A'), await prepareRsm(scaled(model('B'), 1e200), 'B'));
    close(e / 1e200, golden.geometry['A~B']['rsm-norm-diff']!, '1e200');
    close(
      distanceCorrelation(await prepareDcor(scaled(model('A'), 1e200), 'A'), await prepareDcor(model('B'), 'B')),
      golden.geometry['A~B'].dcor!,
      'dcor 1e200',
    );
  });

  it('dCor² is the biased-centring CKA of the Euclidean distance matrices (dds:norm=none,kernel=euclidean,centering=biased)', async () => {
    close(golden.dcorCheck.dcor2, golden.dcorCheck.frobeniusCosine, 'reference identity', 1e-12);
    const v = distanceCorrelation(await prepareDcor(model('A'), 'A'), await prepareDcor(model('B'), 'B'));
    close(v * v, await pairSimilarity(rep('A', model('A')), rep('B', model('B')), 'dds:norm=none,kernel=euclidean,centering=biased'), 'dds', 1e-9);
  });

  it('eigenspace overlap with n < p: full-rank inputs span all of ℝⁿ, so the score is n / max(p, p′) whatever they are', async () => {
    const c = await prepareEigenspace(model('C'), 'C');
    const d = await prepareEigenspace(model('D'), 'D');
    expect([c.rank, d.rank]).toEqual([12, 12]);
    close(eigenspaceOverlap(c, d), 12 / 40, 'n/max(p)', 1e-9);
    // and a model against itself scores rank / p, not 1
    close(eigenspaceOverlap(d, d), 12 / 25, 'self', 1e-9);
  });
});

describe('RDM comparators vs the reference (rsatoolbox names)', () => {
  for (const [key, expected] of Object.entries(golden.comparators)) {
    const [a, b] = key.split('~');
    it(key, () => {
      const ra = square(golden.rdms[a], golden.rdmSizes[a]);
      const rb = square(golden.rdms[b], golden.rdmSizes[b]);
      for (const c of RSA_COMPARATORS) {
        const v = comparePreparedRdms(prepareRdm(ra, c, a), prepareRdm(rb, c, b));
        // cosine-cov of int1 vs the category model is 0 (below 1e-16): compare absolutely.
        close(v, expected[c], `${key} ${c}`, Math.abs(expected[c]) < 1e-12 ? 1e-12 : REL);
      }
      // rsatoolbox's default (sigma_k=None) fast path equals whitening by the RDM covariance V of iid noise.
      close(expected['cosine-cov'], expected['cosine-cov-by-V'], 'cosine-cov = V-whitened', 1e-10);
      close(expected['corr-cov'], expected['corr-cov-by-V'], 'corr-cov = V-whitened', 1e-10);
    });
  }

  it('cosine-cov of squared-Euclidean RDMs is linear CKA of the features', async () => {
    close(golden.comparatorChecks.cosineCovSq, golden.comparatorChecks.linearCka, 'reference identity', 1e-12);
    const sq = async (x: Matrix) => prepareRdm(await squaredEuclideanDistances(x), 'cosine-cov', 'x');
    const v = comparePreparedRdms(await sq(model('C')), await sq(model('D')));
    close(v, golden.comparatorChecks.linearCka, 'cosine-cov');
    close(v, await pairSimilarity(rep('C', model('C')), rep('D', model('D')), 'cka'), 'cka', 1e-9);
  });

  it('constant RDMs: rho-a and tau-a are 0, the normalised comparators refuse', () => {
    const n = 6;
    const flat = square(new Array((n * (n - 1)) / 2).fill(2.5), n);
    const other = square(golden.rdms.int1.slice(0, 15), n);
    expect(comparePreparedRdms(prepareRdm(flat, 'rho-a', 'flat'), prepareRdm(other, 'rho-a', 'other'))).toBe(0);
    expect(comparePreparedRdms(prepareRdm(flat, 'tau-a', 'flat'), prepareRdm(other, 'tau-a', 'other'))).toBe(0);
    for (const c of ['spearman', 'pearson', 'kendall', 'corr-cov'] as const) {
      expect(() => prepareRdm(flat, c, 'flat'), c).toThrow(/flat: similarity undefined/);
    }
    // a constant RDM still has a second moment (−½·c·H): cosine and cosine-cov are defined
    expect(Number.isFinite(comparePreparedRdms(prepareRdm(flat, 'cosine-cov', 'flat'), prepareRdm(other, 'cosine-cov', 'other')))).toBe(true);
    expect(() => prepareRdm(square([1], 2), 'tau-a', 'two')).toThrow(/two: tau-a needs at least 3 images/);
    expect(() => comparePreparedRdms(prepareRdm(other, 'tau-a', 'a'), prepareRdm(other, 'kendall', 'b'))).toThrow(/tau-a form with a kendall form/);
  });
});

describe('ties: exact Euclidean RDMs and the rank comparators', () => {
  for (const name of ['int1', 'int2', 'quantised'] as const) {
    it(`${name}: distances bit-identical to scipy pdist, ties kept (${golden.ties[name].distinctEuclidean} distinct values)`, async () => {
      const x = model(name);
      const d = await euclideanDistances(x, { label: name });
      const s = await squaredEuclideanDistances(x, { label: name });
      expect(d.path).toBe('exact');
      expect(Array.from(upperTriangle(d))).toEqual(golden.ties[name].euclidean);
      expect(Array.from(upperTriangle(s))).toEqual(golden.ties[name].sqeuclidean);
      expect(new Set(upperTriangle(d)).size).toBe(golden.ties[name].distinctEuclidean);
      expect(new Set(upperTriangle(s)).size).toBe(golden.ties[name].distinctSquared);
    });
  }

  it('the old construction (dot products of centred features) split ties in the reference: the fixture shows the bug', () => {
    expect(golden.ties.int2.distinctCentredGram).toBeGreaterThan(golden.ties.int2.distinctEuclidean);
    expect(golden.ties.quantised.distinctCentredGram).toBeGreaterThan(golden.ties.quantised.distinctEuclidean);
  });

  for (const [key, expected] of Object.entries(golden.ties.pairs)) {
    const [pair, rdm] = key.split('|');
    const [a, b] = pair.split('~');
    it(`${key}: every rank comparator equals scipy / the definition on the exact RDM`, async () => {
      const build = rdm === 'euclidean' ? euclideanDistances : squaredEuclideanDistances;
      const ra = await build(model(a));
      const rb = await build(model(b));
      for (const c of ['spearman', 'kendall', 'tau-a', 'rho-a'] as const) {
        close(comparePreparedRdms(prepareRdm(ra, c, a), prepareRdm(rb, c, b)), expected[c], `${key} ${c}`, 1e-12);
      }
    });
  }

  it('a larger integer case: 40 images × 6 features in 0…3, exact against integer arithmetic', async () => {
    const n = 40;
    const p = 6;
    const rows = Array.from({ length: n }, (_, i) => Array.from({ length: p }, (_, j) => ((i * 7 + j * 13 + ((i * j) % 5)) % 4) + 250));
    const d = await squaredEuclideanDistances(matrix(rows));
    expect(d.path).toBe('exact');
    let q = 0;
    const brute: number[] = [];
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) brute.push(rows[i].reduce((s, v, t) => s + (v - rows[j][t]) ** 2, 0));
    for (const v of upperTriangle(d)) expect(v).toBe(brute[q++]);
    // only squared distances 0…54 exist
    expect(new Set(brute).size).toBe(new Set(upperTriangle(d)).size);
    expect(new Set(brute).size).toBeLessThanOrEqual(55);
  });

  it('tie behaviour of each rank comparator on a hand-sized vector (scipy / definition values)', () => {
    const { x, y, self, xy } = golden.ties.vectors;
    // spearman and τ-b correct for ties: a tied vector scores 1 with itself; ρ-a and τ-a do not.
    expect(spearman(x, x)).toBe(1);
    expect(kendallTauB(x, x)).toBe(1);
    close(spearmanRhoA(x, x), self['rho-a'], 'rho-a self', 1e-12);
    close(kendallTauA(x, x), self['tau-a'], 'tau-a self', 1e-12);
    expect(self['rho-a']).toBeLessThan(1);
    expect(self['tau-a']).toBeLessThan(1);
    close(spearman(x, y), xy.spearman, 'spearman', 1e-12);
    close(kendallTauB(x, y), xy.kendall, 'kendall', 1e-12);
    close(spearmanRhoA(x, y), xy['rho-a'], 'rho-a', 1e-12);
    close(kendallTauA(x, y), xy['tau-a'], 'tau-a', 1e-12);
    // hand-worked: x = [1,2,2,3,3,3] has 1 + 3 = 4 tied pairs of 15, so τ-a(x, x) = 11/15
    expect(kendallTauA(x, x)).toBeCloseTo(11 / 15, 15);
    // ρ-a(x, x) = 12 Σ (r − 3.5)² / (6³ − 6) with ranks 1, 2.5, 2.5, 5, 5, 5: 12·15 / 210 = 6/7
    expect(spearmanRhoA(x, x)).toBeCloseTo(6 / 7, 15);
    // constant input: 0 for the -a variants (every pair tied), NaN for the tie-corrected ones (scipy)
    expect(kendallTauA([2, 2, 2], [1, 2, 3])).toBe(0);
    expect(spearmanRhoA([2, 2, 2], [1, 2, 3])).toBe(0);
    expect(kendallTauB([2, 2, 2], [1, 2, 3])).toBeNaN();
    expect(kendallTauA([1], [1])).toBeNaN();
    expect(spearmanRhoA([1, Number.NaN], [1, 2])).toBeNaN();
    expect(() => kendallTauA([1, 2], [1])).toThrow(/kendallTauA: x has 2 values but y has 1/);
  });

  it('from features through the similarity pipeline (prepareRepresentation), uncentred Euclidean RDMs give scipy’s values for every comparator', async () => {
    // The RSA pipeline with norm none for the Euclidean RDMs (centring cannot change them); only the registry's id
    // parsing is bypassed here, the rest is the code path of similarityMatrix.
    const base = pipelineOf(parseMeasure('rsa:rdm=euclidean'));
    const expected = golden.comparators['int1~int2'];
    for (const c of RSA_COMPARATORS) {
      const pipeline = { ...base, norm: 'none', compare: c } as unknown as Pipeline;
      const a = await prepareRepresentation(rep('int1', model('int1')), pipeline);
      const b = await prepareRepresentation(rep('int2', model('int2')), pipeline);
      close(comparePreparedRdms(a, b), expected[c], `int1~int2 ${c}`, 1e-12);
    }
  });

  it('centring first moves integer features off their grid: the Euclidean RDM then takes the rounded path', async () => {
    // Why the RSA pipeline should not centre before a Euclidean RDM: int2 (offset 1000, n = 15) centred has means k/15.
    const x = rep('int2', model('int2'));
    const centred = { rows: x.n, cols: x.p, data: normalizeFeatures(x, 'centering') };
    expect((await euclideanDistances(centred)).path).toBe('rounded');
    expect((await euclideanDistances(model('int2'))).path).toBe('exact');
    const viaKernels = await rdmMatrix({ label: 'int2', n: x.n, p: x.p, data: Float64Array.from(x.data) }, 'euclidean');
    expect(Array.from(upperTriangle(viaKernels))).toEqual(golden.ties.int2.euclidean);
  });
});
