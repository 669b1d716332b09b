/**
 * Exact PCA (src/transferability/pca.ts): the goldens of test/reference/transferability_a.py (numpy thin SVD),
 * the component rules (rank cap, variance share), the sign rule, properties, memo sharing, and bad options.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Matrix } from '../../src/linalg/dense.js';
import { getGemmEngine, jsEngine } from '../../src/linalg/gemm.js';
import { classTarget } from '../../src/transferability/labels.js';
import { candidatePca, pca } from '../../src/transferability/pca.js';
import type { ScoreContext } from '../../src/transferability/types.js';

interface PcaGolden {
  input: string;
  options: { components?: number; variance?: number };
  components: number;
  explainedVariance: number[];
  explainedRatio: number[];
  scores: { rows: number; cols: number; data: number[] } | null;
}
const golden = JSON.parse(readFileSync(new URL('../fixtures/transferability/goldens_a.json', import.meta.url), 'utf8')) as {
  fixtures: Record<string, { rows: number; cols: number; data: number[] }>;
  pca: PcaGolden[];
};
const matrix = (name: string): Matrix => {
  const f = golden.fixtures[name];
  return { rows: f.rows, cols: f.cols, data: Float64Array.from(f.data) };
};

function gen(rows: number, cols: number, f: (i: number, j: number) => number): Matrix {
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[i * cols + j] = f(i, j);
  return { rows, cols, data };
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

describe('goldens (numpy thin SVD of the centred rows)', () => {
  for (const g of golden.pca) {
    it(`${g.input} ${JSON.stringify(g.options)} → ${g.components} components`, async () => {
      for (const engine of [jsEngine, await getGemmEngine()]) {
        const r = await pca(matrix(g.input), { ...g.options, engine });
        expect(r.components).toBe(g.components);
        expect([r.scores.rows, r.scores.cols]).toEqual([matrix(g.input).rows, g.components]);
        for (let j = 0; j < g.components; j++) {
          expect(Math.abs(r.explainedVariance[j] - g.explainedVariance[j])).toBeLessThanOrEqual(1e-9 * g.explainedVariance[0]);
          expect(Math.abs(r.explainedRatio[j] - g.explainedRatio[j])).toBeLessThanOrEqual(1e-9);
        }
        if (g.scores) {
          const scale = maxAbs(g.scores.data);
          for (let k = 0; k < g.scores.data.length; k++) expect(Math.abs(r.scores.data[k] - g.scores.data[k])).toBeLessThanOrEqual(1e-9 * scale);
        }
      }
    });
  }
});

describe('component rules', () => {
  const s132 = matrix('s132');
  const wide = matrix('wide');
  const degenerate = matrix('degenerate');

  it('caps components at the numerical rank: N − 1 when N < D, 6 for 9 columns with a constant, a copy and a combination', async () => {
    expect((await pca(wide, { components: 25, engine: jsEngine })).components).toBe(9);
    expect((await pca(degenerate, { components: 9, engine: jsEngine })).components).toBe(6);
    expect((await pca(degenerate, { engine: jsEngine })).components).toBe(6);
  });

  it('variance keeps the first k whose cumulative share exceeds it (1 keeps every component up to the rank)', async () => {
    const all = await pca(s132, { engine: jsEngine });
    const cumulative = Array.from(all.explainedRatio).map((_, k, r) => r.slice(0, k + 1).reduce((a, b) => a + b, 0));
    for (const v of [0.1, 0.5, 0.7, 0.8, 0.9, 0.99]) {
      const k = (await pca(s132, { variance: v, engine: jsEngine })).components;
      expect(cumulative[k - 1]).toBeGreaterThan(v);
      if (k > 1) expect(cumulative[k - 2]).toBeLessThanOrEqual(v);
    }
    expect((await pca(s132, { variance: 1, engine: jsEngine })).components).toBe(4);
    // A share exactly reached is not exceeded (scikit-learn's rule): two equal eigenvalues, variance ½ keeps both.
    const cross = gen(4, 2, (i, j) => (j === i >> 1 ? (i % 2 ? -1 : 1) : 0));
    const r = await pca(cross, { variance: 0.5, engine: jsEngine });
    expect(Array.from(r.explainedRatio)).toEqual([0.5, 0.5]);
  });

  it('explained ratios sum to 1 over all components; explained variances to the total (ddof 1) variance', async () => {
    const r = await pca(wide, { engine: jsEngine });
    expect(Array.from(r.explainedRatio).reduce((a, b) => a + b)).toBeCloseTo(1, 12);
    let total = 0;
    for (let j = 0; j < wide.cols; j++) {
      let m = 0;
      for (let i = 0; i < wide.rows; i++) m += wide.data[i * wide.cols + j] / wide.rows;
      for (let i = 0; i < wide.rows; i++) total += (wide.data[i * wide.cols + j] - m) ** 2 / (wide.rows - 1);
    }
    expect(Array.from(r.explainedVariance).reduce((a, b) => a + b)).toBeCloseTo(total, 10);
  });

  it('identical rows have no components (N×0 scores)', async () => {
    const r = await pca(
      gen(5, 3, (_, j) => j),
      { engine: jsEngine },
    );
    expect([r.components, r.scores.rows, r.scores.cols, r.explainedRatio.length]).toEqual([0, 5, 0, 0]);
  });
});

describe('properties', () => {
  const wide = matrix('wide');
  const s132 = matrix('s132');

  it('scores are uncorrelated, with squared norms (N − 1)·explained variance, and each column’s largest |entry| positive', async () => {
    for (const x of [s132, wide]) {
      const r = await pca(x, { engine: jsEngine });
      const { rows: n, cols: k, data } = r.scores;
      for (let a = 0; a < k; a++) {
        let best = 0;
        for (let i = 1; i < n; i++) if (Math.abs(data[i * k + a]) > Math.abs(data[best * k + a])) best = i;
        expect(data[best * k + a]).toBeGreaterThan(0);
        for (let b = a; b < k; b++) {
          let dot = 0;
          for (let i = 0; i < n; i++) dot += data[i * k + a] * data[i * k + b];
          if (a === b) expect(dot).toBeCloseTo((n - 1) * r.explainedVariance[a], 10);
          else expect(Math.abs(dot)).toBeLessThan(1e-10);
        }
      }
    }
  });

  it('is unchanged by a shift of the rows and scales with the features', async () => {
    const base = await pca(wide, { components: 3, engine: jsEngine });
    const shifted = await pca(
      gen(wide.rows, wide.cols, (i, j) => wide.data[i * wide.cols + j] + 100 * j),
      { components: 3, engine: jsEngine },
    );
    for (let k = 0; k < base.scores.data.length; k++) expect(shifted.scores.data[k]).toBeCloseTo(base.scores.data[k], 10);
    const scaled = await pca(
      gen(wide.rows, wide.cols, (i, j) => 1e6 * wide.data[i * wide.cols + j]),
      { components: 3, engine: jsEngine },
    );
    for (let k = 0; k < base.scores.data.length; k++) expect(scaled.scores.data[k] / 1e6).toBeCloseTo(base.scores.data[k], 10);
  });

  it('the primal (N ≥ D) and dual (N < D) routes agree on the same data padded with zero columns', async () => {
    const x = matrix('s132');
    const padded = gen(x.rows, 20, (i, j) => (j < 4 ? x.data[i * 4 + j] : 0));
    const a = await pca(x, { engine: jsEngine });
    const b = await pca(padded, { engine: jsEngine });
    expect(b.components).toBe(a.components);
    for (let k = 0; k < a.scores.data.length; k++) expect(b.scores.data[k]).toBeCloseTo(a.scores.data[k], 12);
  });
});

describe('candidatePca', () => {
  it('shares the centred features and their eigendecomposition through the score memo', async () => {
    const values = new Map<string, Promise<unknown>>();
    const computed: string[] = [];
    const ctx: ScoreContext = {
      input: { features: matrix('overlap'), target: classTarget(Array.from({ length: 60 }, (_, i) => i % 3)) },
      params: {},
      engine: jsEngine,
      memo<T>(key: string, compute: () => T | Promise<T>): Promise<T> {
        if (!values.has(key)) {
          computed.push(key);
          values.set(key, Promise.resolve().then(compute));
        }
        return values.get(key) as Promise<T>;
      },
    };
    const a = await candidatePca(ctx, { variance: 0.8 });
    const b = await candidatePca(ctx, { components: 2 });
    expect(computed.sort()).toEqual(['spectral:centred', 'spectral:eigen:centred']);
    const direct = await pca(matrix('overlap'), { variance: 0.8, engine: jsEngine });
    expect(Array.from(a.scores.data)).toEqual(Array.from(direct.scores.data));
    expect(Array.from(b.scores.data)).toEqual(Array.from(a.scores.data).filter((_, k) => k % a.components < 2));
  });
});

describe('bad options', () => {
  const x = matrix('s132');
  it('names the problem', async () => {
    await expect(pca(x, { components: 2, variance: 0.5 })).rejects.toThrow('pca: give components or variance, not both');
    await expect(pca(x, { components: 0 })).rejects.toThrow('pca: components must be an integer ≥ 1, got 0');
    await expect(pca(x, { components: 2.5 })).rejects.toThrow('pca: components must be an integer ≥ 1, got 2.5');
    await expect(pca(x, { variance: 0 })).rejects.toThrow('pca: variance must be in (0, 1], got 0');
    await expect(pca(x, { variance: 1.5 })).rejects.toThrow('pca: variance must be in (0, 1], got 1.5');
  });
});
