/**
 * The GEMM engine's float64 products on the optional OpenBLAS addon (gemm.ts): Gram matrices by dsyrk, the rest by
 * dgemm, float32 still on onnxruntime, and `TASKMAP_LAPACK=0` back to onnxruntime for everything. Skipped where the
 * addon is not installed (the engine is then onnxruntime alone, which gemm.test.ts covers).
 */
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Matrix } from '../../src/linalg/dense.js';
import { lapackUnavailableReason } from '../../src/linalg/lapack.js';
import { naiveABt } from '../helpers/naive.js';
import { rng } from '../helpers/random.js';

const missing = lapackUnavailableReason();

function random(rows: number, cols: number, seed: number): Matrix {
  const u = rng(seed);
  return { rows, cols, data: new Float64Array(rows * cols).map(() => u() - 0.5) };
}

/** A fresh copy of gemm.ts (its engines are cached per module instance), under the given environment. */
async function freshGemm(env: Record<string, string | undefined>) {
  vi.resetModules();
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  return import('../../src/linalg/gemm.js');
}

afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
});

describe.skipIf(missing !== undefined)('GEMM engine, float64 on OpenBLAS', () => {
  it('says so in its name; Gram, general A·Bᵀ, float32 inputs, shared memory and longer views match a naive loop', async () => {
    const { getGemmEngine, gram, matmulABt } = await freshGemm({ TASKMAP_LAPACK: undefined, TASKMAP_ENGINE: undefined });
    for (const kind of ['auto', 'ort'] as const) {
      const engine = await getGemmEngine(kind);
      expect(engine.name).toMatch(/^onnxruntime-node \(\d+ threads; float64 by OpenBLAS\)$/);
      for (const seed of [1, 2, 3]) {
        const a = random(37 + seed, 53, seed);
        const b = random(23, 53, seed + 10);
        const g = await gram(a, { engine });
        const gref = naiveABt(a, a);
        for (let i = 0; i < gref.length; i++) expect(Math.abs(g.data[i] - gref[i])).toBeLessThan(1e-13);
        for (let i = 0; i < a.rows; i++) for (let j = 0; j < i; j++) expect(g.data[i * a.rows + j]).toBe(g.data[j * a.rows + i]);
        const c = await matmulABt(a, b, { engine });
        const ref = naiveABt(a, b);
        for (let i = 0; i < ref.length; i++) expect(Math.abs(c.data[i] - ref[i])).toBeLessThan(1e-13);
        // The same values through a float32 array (converted exactly), shared memory and a view longer than m·k.
        const a32 = Float32Array.from(a.data);
        const exact = naiveABt({ ...a, data: Float64Array.from(a32) }, { ...a, data: Float64Array.from(a32) });
        const g32 = await engine.abt(a32, a.rows, a32, a.rows, a.cols);
        for (let i = 0; i < exact.length; i++) expect(Math.abs(g32[i] - exact[i])).toBeLessThan(1e-13);
        const shared = new Float64Array(new SharedArrayBuffer(8 * (a.data.length + 7)));
        shared.set(a.data);
        const gs = await engine.abt(shared, a.rows, shared, a.rows, a.cols);
        expect(Array.from(gs)).toEqual(Array.from(g.data));
        const cs = await engine.abt(shared, a.rows, b.data, b.rows, a.cols);
        expect(Array.from(cs)).toEqual(Array.from(c.data));
      }
      expect(Array.from(await engine.abt(new Float64Array(0), 0, new Float64Array(6), 2, 3))).toEqual([]);
      expect(Array.from(await engine.abt(new Float64Array(0), 2, new Float64Array(0), 2, 0))).toEqual([0, 0, 0, 0]);
    }
  });

  it('a float64-only process never loads onnxruntime; its first float32 product does', () => {
    // A child process: this one's module cache may hold onnxruntime from other tests.
    const script = `
      import { createRequire } from 'node:module';
      const g = await import(${JSON.stringify(new URL('../../src/linalg/gemm.ts', import.meta.url).href)});
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('onnxruntime-node'));
      const engine = await g.getGemmEngine();
      const x = { rows: 3, cols: 2, data: Float64Array.from([1, 2, 3, 4, 5, 6]) };
      await g.gram(x, { engine });
      const before = loaded();
      await g.gram(x, { engine, precision: 'float32' });
      console.log(JSON.stringify({ before, after: loaded() }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, TASKMAP_LAPACK: '', TASKMAP_ENGINE: '' },
    });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ before: false, after: true });
  });

  it('float32 precision still runs on onnxruntime (rounded like float32, not the float64 product)', async () => {
    const { getGemmEngine, matmulABt } = await freshGemm({ TASKMAP_LAPACK: undefined });
    const engine = await getGemmEngine('auto');
    const a = random(40, 300, 4);
    const b = random(30, 300, 5);
    const c64 = await matmulABt(a, b, { engine });
    const c32 = await matmulABt(a, b, { engine, precision: 'float32' });
    let diff = 0;
    for (let i = 0; i < c64.data.length; i++) diff = Math.max(diff, Math.abs(c64.data[i] - c32.data[i]));
    expect(diff).toBeGreaterThan(1e-9);
    expect(diff).toBeLessThan(1e-4);
  });

  it('TASKMAP_LAPACK=0 keeps float64 on onnxruntime; both engines agree to rounding', async () => {
    const off = await freshGemm({ TASKMAP_LAPACK: '0' });
    const ortOnly = await off.getGemmEngine('auto');
    expect(ortOnly.name).toMatch(/^onnxruntime-node \(\d+ threads\)$/);
    const a = random(60, 200, 6);
    const viaOrt = (await off.gram(a, { engine: ortOnly })).data;
    const on = await freshGemm({ TASKMAP_LAPACK: undefined });
    const viaBlas = (await on.gram(a, { engine: await on.getGemmEngine('auto') })).data;
    for (let i = 0; i < viaOrt.length; i++) expect(Math.abs(viaOrt[i] - viaBlas[i])).toBeLessThan(1e-13);
  });
});
