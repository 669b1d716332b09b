import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Representation } from '../../src/features/types.js';
import { writeNpy } from '../../src/io/npy.js';
import { jsEngine } from '../../src/linalg/gemm.js';
import { kernelMatrix, rdmMatrix } from '../../src/measures/kernels.js';
import { normalizeFeatures, type Normalization } from '../../src/measures/normalize.js';
import { openFeatureSet } from '../../src/features/featureSet.js';
import { setMaxMemory } from '../../src/io/limits.js';
import { similarityMatrix } from '../../src/measures/similarity.js';
import { streamsMember } from '../../src/measures/prepareMemory.js';
import { streamable, streamedBytes, streamedMatrix, streamLayout, type StreamedSpec } from '../../src/measures/streamedMatrix.js';
import { gaussian } from '../helpers/random.js';

const dir = mkdtempSync(join(tmpdir(), 'streamed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const engine = jsEngine;

function save(name: string, data: Float32Array | Float64Array, n: number, p: number): string {
  const file = join(dir, name);
  writeFileSync(file, writeNpy({ dtype: data instanceof Float32Array ? 'float32' : 'float64', shape: [n, p], data }));
  return file;
}

/** The in-memory path: normalizeFeatures of the loaded values, then kernelMatrix / rdmMatrix. */
async function inMemory(data: Float32Array | Float64Array, n: number, p: number, spec: StreamedSpec): Promise<Float64Array> {
  const rep: Representation = { label: 'x', n, p, shape: [p], data, source: 'x' };
  const x = { label: 'x', n, p, data: normalizeFeatures(rep, spec.norm) };
  const m = spec.matrix;
  return (m.type === 'rdm' ? await rdmMatrix(x, m.distance, { engine }) : await kernelMatrix(x, m.kernel, { engine, t: spec.t })).data;
}

/** max |a − b| / max |b|. */
function relativeError(a: Float64Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  let s = 0;
  for (let k = 0; k < a.length; k++) {
    d = Math.max(d, Math.abs(a[k] - b[k]));
    s = Math.max(s, Math.abs(b[k]));
  }
  return d / s;
}

function features(n: number, p: number, seed: number, opts: { f32?: boolean; rowOffset?: number; mean?: number } = {}): Float32Array | Float64Array {
  const g = gaussian(seed);
  const x = opts.f32 ? new Float32Array(n * p) : new Float64Array(n * p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) x[i * p + j] = g() + (opts.mean ?? 0) + (opts.rowOffset ?? 0) * i;
  return x;
}

const n = 9;
const p = 23;
/** Blocks of 3 columns and Gram tiles of 3 rows: every seam is crossed. */
const tiny = 8 * n * 3;

const specs: StreamedSpec[] = [
  ...(['correlation', 'cosine', 'euclidean', 'sqeuclidean'] as const).flatMap((distance) =>
    (['none', 'centering'] as const).map((norm): StreamedSpec => ({ norm, matrix: { type: 'rdm', distance } })),
  ),
  ...(['linear', 'rbf', 'lap', 'pearson', 'cosine', 'euclidean'] as const).flatMap((kernel) =>
    (['none', 'centering', 'znorm'] as const).map((norm): StreamedSpec => ({ norm, matrix: { type: 'kernel', kernel }, t: 0.7 })),
  ),
];

describe('streamedMatrix', () => {
  it('uses blocks of 3 columns and tiles of 3 rows at the tiny block size', () => {
    expect(streamLayout(n, p, tiny)).toEqual({ columns: 3, tileRows: 3 });
    expect(streamLayout(n, 2, tiny)).toEqual({ columns: 2, tileRows: 3 });
    expect(streamLayout(n, p, 1)).toEqual({ columns: 1, tileRows: 1 });
  });

  it.each(specs.map((s) => [`${s.matrix.type} ${s.matrix.type === 'rdm' ? s.matrix.distance : s.matrix.kernel}, norm ${s.norm}`, s] as const))(
    '%s: the in-memory matrix to 1e-12 relative (3 seeds, float32 and float64 files)',
    async (_name, spec) => {
      for (const seed of [1, 2, 3]) {
        for (const f32 of [false, true]) {
          const x = features(n, p, seed, { f32, mean: 0.5 });
          const file = save(`${seed}-${String(f32)}.npy`, x, n, p);
          const want = await inMemory(x, n, p, spec);
          const got = (await streamedMatrix(file, spec, { engine, blockBytes: tiny })).data;
          expect(relativeError(got, want)).toBeLessThan(1e-12);
          // One block and one tile: the whole file at once.
          expect(relativeError((await streamedMatrix(file, spec, { engine })).data, want)).toBeLessThan(1e-12);
        }
      }
    },
  );

  it('keeps the correlation distance accurate when rows sit far from zero (the first-block shift)', async () => {
    for (const seed of [4, 5, 6]) {
      const x = features(n, p, seed, { mean: 1e4, rowOffset: 100 });
      const file = save(`far-${seed}.npy`, x, n, p);
      const spec: StreamedSpec = { norm: 'none', matrix: { type: 'rdm', distance: 'correlation' } };
      const want = await inMemory(x, n, p, spec);
      expect(relativeError((await streamedMatrix(file, spec, { engine, blockBytes: tiny })).data, want)).toBeLessThan(1e-12);
    }
  });

  it('differs from the in-memory matrix of other features or another distance (the comparison can fail)', async () => {
    const x = features(n, p, 1);
    const file = save('one.npy', x, n, p);
    const spec: StreamedSpec = { norm: 'centering', matrix: { type: 'rdm', distance: 'correlation' } };
    const got = (await streamedMatrix(file, spec, { engine, blockBytes: tiny })).data;
    expect(relativeError(got, await inMemory(features(n, p, 2), n, p, spec))).toBeGreaterThan(0.01);
    expect(relativeError(got, await inMemory(x, n, p, { ...spec, matrix: { type: 'rdm', distance: 'cosine' } }))).toBeGreaterThan(1e-6);
  });

  it('Euclidean distances of grid data (integers, k/256 with an offset) are the in-memory bits, ties kept (the exact path)', async () => {
    const g = gaussian(11);
    const ints = Float64Array.from({ length: n * p }, () => Math.round(g()));
    const quarters = Float32Array.from({ length: n * p }, () => 1000 + Math.round(40 * g()) / 256);
    for (const [name, x] of [
      ['ints', ints],
      ['k256', quarters],
    ] as const) {
      const file = save(`grid-${name}.npy`, x, n, p);
      for (const matrix of [
        { type: 'rdm', distance: 'euclidean' },
        { type: 'rdm', distance: 'sqeuclidean' },
        { type: 'kernel', kernel: 'euclidean' },
      ] as const) {
        const spec: StreamedSpec = { norm: 'none', matrix };
        const want = await inMemory(x, n, p, spec);
        const got = (await streamedMatrix(file, spec, { engine, blockBytes: tiny })).data;
        expect(Array.from(got), `${name} ${JSON.stringify(matrix)}`).toEqual(Array.from(want));
        // Integer data has many tied distances: all of them survive.
        expect(new Set(got).size).toBe(new Set(want).size);
      }
    }
    expect(new Set((await inMemory(ints, n, p, { norm: 'none', matrix: { type: 'rdm', distance: 'sqeuclidean' } })).subarray(0, n * n)).size).toBeLessThan(
      (n * (n - 1)) / 2,
    );
  });

  it('Euclidean distances of non-grid data give duplicated images exactly equal distances, as in memory', async () => {
    const x = features(n, p, 12, { mean: 0.5 }) as Float64Array;
    x.copyWithin(5 * p, 2 * p, 3 * p); // image 5 = image 2
    x.copyWithin(7 * p, 2 * p, 3 * p); // image 7 = image 2
    const file = save('dups.npy', x, n, p);
    for (const norm of ['none', 'centering', 'znorm'] as const) {
      const spec: StreamedSpec = { norm, matrix: { type: 'rdm', distance: 'euclidean' } };
      const got = (await streamedMatrix(file, spec, { engine, blockBytes: tiny })).data;
      expect(relativeError(got, await inMemory(x, n, p, spec))).toBeLessThan(1e-12);
      for (const i of [5, 7]) {
        expect(got[2 * n + i]).toBe(0);
        for (let j = 0; j < n; j++) expect(got[i * n + j], `d(${i}, ${j}) = d(2, ${j})`).toBe(j === i || j === 2 || j === 5 || j === 7 ? 0 : got[2 * n + j]);
      }
    }
  });

  it('refuses an image with constant features under the correlation distance, naming it', async () => {
    const x = features(n, p, 3);
    x.fill(2.5, 4 * p, 5 * p);
    const file = save('constant.npy', x, n, p);
    await expect(streamedMatrix(file, { norm: 'none', matrix: { type: 'rdm', distance: 'correlation' } }, { engine, blockBytes: tiny })).rejects.toThrow(
      `${file}: image 4 has constant features, so its Pearson correlation with other images is undefined`,
    );
  });

  it('passes on the reader’s error for a non-finite value', async () => {
    const x = features(n, p, 3);
    x[2 * p + 17] = Number.NaN;
    const file = save('nan.npy', x, n, p);
    await expect(streamedMatrix(file, { norm: 'centering', matrix: { type: 'rdm', distance: 'correlation' } }, { engine, blockBytes: tiny })).rejects.toThrow(
      `${file}: NaN at image 2, feature 17`,
    );
  });

  it('refuses the per-image normalisations, which need whole rows', async () => {
    for (const norm of ['layer_norm', 'group_norm', 'instance_norm', 'batch_norm'] as Normalization[]) {
      expect(streamable({ norm })).toContain(`the ${norm} normalisation needs all the features of an image at once`);
      await expect(streamedMatrix('unused.npy', { norm, matrix: { type: 'kernel', kernel: 'linear' } })).rejects.toThrow(
        `unused.npy: the ${norm} normalisation`,
      );
    }
    for (const norm of ['none', 'centering', 'znorm'] as Normalization[]) expect(streamable({ norm })).toBeUndefined();
  });

  it('estimates its peak: the n×n result, one block with its stored bytes and one Gram tile', () => {
    const spec: StreamedSpec = { norm: 'centering', matrix: { type: 'rdm', distance: 'correlation' } };
    // 1000 images, 8 MB blocks: 1048 columns per block.
    // Tiles of 250 rows (at least four row tiles), counted twice: the engine's product and its copy.
    expect(streamedBytes(1000, 1e6, 4, spec, 8 * 1024 ** 2)).toBe(8e6 + 1000 * 1048 * 12 + 16 * 250 * 1000);
    expect(streamedBytes(1000, 1e6, 4, { ...spec, matrix: { type: 'kernel', kernel: 'rbf' } }, 8 * 1024 ** 2)).toBe(8e6 + 1000 * 1048 * 12 + 4e6 + 16e6);
  });
});

describe('similarity of members too big to load', () => {
  it('streams them under a budget the loaded path would refuse, with the loaded result (to 1e-12)', async () => {
    const folder = join(dir, 'set');
    mkdirSync(folder);
    const [n, p] = [8, 400];
    for (const [label, seed] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as const) {
      writeFileSync(join(folder, `${label}.npy`), writeNpy({ dtype: 'float32', shape: [n, p], data: features(n, p, seed, { f32: true, mean: 0.2 }) }));
    }
    // Each file is 12.9 KB: over a 10,000-byte budget when read, while the streamed matrix needs under 2 KB.
    const set = await openFeatureSet(folder);
    for (const measure of ['rsa', 'cka', 'rsa:rdm=euclidean', 'dds:kernel=rbf']) {
      const want = await similarityMatrix(set, measure, { engine });
      try {
        setMaxMemory(10_000);
        expect(set.members.every((m, i) => streamsMember(set.file!(i), m.n, m.p, { norm: 'centering' }))).toBe(true);
        await expect(set.read(0)).rejects.toThrow(/over the memory limit of 9\.8 KiB/);
        const got = await similarityMatrix(set, measure, { engine });
        expect(relativeError(got.matrix.data, want.matrix.data)).toBeLessThan(1e-12);
      } finally {
        setMaxMemory(undefined);
      }
    }
  });
});
