/**
 * LogME with N < D from the centred features' spectrum (Woodbury / determinant lemma, logme.ts) against the direct
 * route — the eigendecomposition of the raw features' own N×N Gram matrix (logmeFromSpectrum) — on seeded inputs,
 * including a large common offset, duplicated and constant columns, and regression targets; and the memo shows
 * that no raw-feature eigendecomposition happens for N < D.
 */
import { describe, expect, it } from 'vitest';
import type { Matrix } from '../../src/linalg/dense.js';
import { getGemmEngine } from '../../src/linalg/gemm.js';
import { mulberry32 } from '../../src/linalg/resample.js';
import { classTarget, computeScore, regressionTarget, type ScoreInput } from '../../src/transferability/index.js';
import { logmeFromSpectrum } from '../../src/transferability/logme.js';
import { indicatorRows, spectrumOf } from '../../src/transferability/spectral.js';
import { RecordingMemo } from './recordingMemo.js';

function wide(seed: number, n: number, d: number, offset: number): { x: Matrix; y: number[] } {
  const u = mulberry32(seed);
  const y = Array.from({ length: n }, (_, i) => i % 3);
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) data[i * d + j] = offset * (1 + (j % 7)) + (u() - 0.5) * (1 + j / d) + (j % 3 === y[i] ? 0.4 : 0);
    data[i * d + 3] = data[i * d + 2]; // a duplicated column
    data[i * d + 5] = 2.5; // a constant one
  }
  return { x: { rows: n, cols: d, data }, y };
}

async function direct(x: Matrix, columns: Matrix, solver: 'fixed-point' | 'icml'): Promise<number> {
  const engine = await getGemmEngine();
  return logmeFromSpectrum(await spectrumOf(x, engine), x, columns, solver, engine);
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('LogME, N < D, from the centred spectrum', () => {
  for (const seed of [1, 2, 3]) {
    for (const offset of [0, 3, 1e3]) {
      it(`equals the raw-spectrum route (seed ${seed}, common offset ${offset})`, async () => {
        const { x, y } = wide(seed, 30, 70, offset);
        const target = classTarget(y);
        for (const solver of ['fixed-point', 'icml'] as const) {
          const id = solver === 'icml' ? 'logme:solver=icml' : 'logme';
          const got = (await computeScore(id, { features: x, target })).value;
          const want = await direct(x, indicatorRows(target.codes, 3), solver);
          // The direct route loses digits to the offset (its Gram entries are offset²-sized): compare at 1e-6.
          expect(rel(got, want)).toBeLessThan(offset >= 1e3 ? 1e-6 : 1e-10);
        }
      });
    }
  }

  it('equals the raw-spectrum route for a regression target', async () => {
    const { x } = wide(4, 25, 60, 1);
    const u = mulberry32(9);
    const values = { rows: 25, cols: 2, data: Float64Array.from({ length: 50 }, () => u() * 4 - 1) };
    const columns = { rows: 2, cols: 25, data: Float64Array.from({ length: 50 }, (_, k) => values.data[(k % 25) * 2 + Math.floor(k / 25)]) };
    const got = (await computeScore('logme', { features: x, target: regressionTarget(values) })).value;
    expect(rel(got, await direct(x, columns, 'fixed-point'))).toBeLessThan(1e-10);
  });

  it('differs between candidates that differ (a test that can fail)', async () => {
    const a = wide(5, 30, 70, 0);
    const b = wide(6, 30, 70, 0);
    const score = async (x: Matrix) => (await computeScore('logme', { features: x, target: classTarget(a.y) })).value;
    expect(Math.abs((await score(a.x)) - (await score(b.x)))).toBeGreaterThan(1e-6);
  });

  it('decomposes only the centred Gram matrix, shared with the other scores', async () => {
    const { x, y } = wide(7, 30, 70, 2);
    const input: ScoreInput = { features: x, target: classTarget(y) };
    const memo = new RecordingMemo();
    const computed = memo.computed;
    for (const id of ['logme', 'logme:solver=icml', 'hscore', 'transrate']) await computeScore(id, input, { memo });
    expect(computed.sort()).toEqual(['gram:centred', 'spectral:centred', 'spectral:eigen:centred']);
  });
});
