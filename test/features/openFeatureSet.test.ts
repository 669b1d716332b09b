/**
 * openFeatureSet: a folder of .npy members described from headers and read one at a time into a reused buffer
 * (issue 15: the whole-process RSA). The similarity it gives must be the loaded set's, bit for bit, for every kind
 * of measure; every check that needs no values must fire before any member is read.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadFeatureSet, openFeatureSet } from '../../src/features/featureSet.js';
import type { ReadBuffer } from '../../src/io/input.js';
import { writeNpy, type NdArray } from '../../src/io/npy.js';
import { upperTriangle } from '../../src/linalg/dense.js';
import { mulberry32 } from '../../src/linalg/resample.js';
import { prepareForComparator, preparedLength } from '../../src/measures/compare.js';
import { getGemmEngine } from '../../src/linalg/gemm.js';
import { canonicalMeasureId, parseMeasure, pipelineOf } from '../../src/measures/registry.js';
import { MIN_THREADED_VALUES, prepareOnThreads, prepareThreads } from '../../src/measures/prepareThreads.js';
import { prepareRepresentation, similarityMatrix } from '../../src/measures/similarity.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/io');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taskmap-open-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function randomArray(seed: number, n: number, shape: number[], dtype: 'float32' | 'float64' = 'float32'): NdArray {
  const u = mulberry32(seed);
  const size = n * shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'float32' ? new Float32Array(size) : new Float64Array(size);
  for (let i = 0; i < size; i++) data[i] = u() * 2 - 1 + (i % 7) * 0.1 * u();
  return { dtype, shape: [n, ...shape], data };
}

async function writeSet(seed: number, widths: number[], n = 12): Promise<void> {
  for (let m = 0; m < widths.length; m++) {
    await writeFile(join(dir, `m${m}.npy`), writeNpy(randomArray(seed * 100 + m, n, [widths[m]], m % 2 ? 'float64' : 'float32')));
  }
}

describe('openFeatureSet on a folder of .npy files', () => {
  it('describes the members as loadFeatureSet does, from the headers alone', async () => {
    const path = join(FIX, 'features/dir');
    const opened = await openFeatureSet(path);
    const loaded = await loadFeatureSet(path);
    expect(opened.n).toBe(loaded.n);
    expect(opened.members.map(({ label, n, p, shape, source }) => ({ label, n, p, shape, source }))).toEqual(
      loaded.members.map(({ label, n, p, shape, source }) => ({ label, n, p, shape, source })),
    );
    for (let i = 0; i < loaded.members.length; i++) {
      const rep = await opened.read(i);
      expect(Array.from(rep.data)).toEqual(Array.from(loaded.members[i].data));
      expect(rep.data.constructor).toBe(loaded.members[i].data.constructor);
    }
  });

  for (const seed of [1, 2, 3]) {
    it(`gives the loaded set's similarity matrix exactly, batched and pairwise measures (seed ${seed})`, async () => {
      await writeSet(seed, [5, 9, 16, 7]);
      const loaded = await loadFeatureSet(dir);
      for (const measure of ['rsa', 'cka', 'rsa:compare=pearson', 'rsa:compare=kendall', 'dds', 'procrustes']) {
        const expected = await similarityMatrix(loaded, measure);
        const streamed = await similarityMatrix(await openFeatureSet(dir), measure);
        expect(streamed.rows).toEqual(expected.rows);
        expect(Array.from(streamed.matrix.data), measure).toEqual(Array.from(expected.matrix.data));
      }
    });
  }

  it('reads members into the one buffer it is given', async () => {
    await writeSet(4, [6, 6, 6]);
    const set = await openFeatureSet(dir);
    const buffer: ReadBuffer = {};
    // m0 and m2 are both float32 (the same size, so the buffer is not grown in between).
    const a = await set.read(0, buffer);
    const first = Array.from(a.data);
    const b = await set.read(2, buffer);
    expect(b.data.buffer).toBe(a.data.buffer);
    // The first member's view now shows the second member's values: the contract is one member at a time.
    expect(Array.from(a.data)).not.toEqual(first);
    expect(Array.from((await set.read(0)).data)).toEqual(first);
  });

  it('refuses before reading any values: different image counts, a truncated file, an integer member', async () => {
    await writeSet(5, [4, 4]);
    await writeFile(join(dir, 'short.npy'), writeNpy(randomArray(9, 10, [4])));
    await expect(openFeatureSet(dir)).rejects.toThrow(/members have different numbers of images \(12 images: m0, m1; 10 images: short\)/);
    await rm(join(dir, 'short.npy'));
    const bytes = writeNpy(randomArray(9, 12, [4]));
    await writeFile(join(dir, 'cut.npy'), bytes.subarray(0, bytes.length - 8));
    await expect(openFeatureSet(dir)).rejects.toThrow(/cut\.npy: truncated: header says 12×4 float32/);
    await rm(join(dir, 'cut.npy'));
    await writeFile(join(dir, 'ints.npy'), writeNpy({ dtype: 'int32', shape: [12, 4], data: new Int32Array(48) }));
    await expect(openFeatureSet(dir)).rejects.toThrow(/unsupported dtype int32 in .*ints\.npy/);
  });

  it('names the file of a non-finite value when it reads it, and a file that changed since it was opened', async () => {
    await writeSet(6, [4, 4]);
    const bad = randomArray(7, 12, [4]);
    bad.data[4 * 3 + 2] = Number.NaN;
    await writeFile(join(dir, 'nan.npy'), writeNpy(bad));
    const set = await openFeatureSet(dir);
    await expect(similarityMatrix(set, 'rsa')).rejects.toThrow(/nan\.npy: NaN at image 3, feature 2/);
    await writeFile(join(dir, 'nan.npy'), writeNpy(randomArray(8, 12, [5])));
    await expect(set.read(set.members.findIndex((m) => m.label === 'nan'))).rejects.toThrow(
      /nan\.npy: changed while it was being used \(12 × 4 when the set was opened, 12 × 5 now\)/,
    );
  });

  it('loads other formats whole and serves their members', async () => {
    const set = await openFeatureSet(join(FIX, 'features/set.npz'));
    const loaded = await loadFeatureSet(join(FIX, 'features/set.npz'));
    expect(set.members.map((m) => m.label)).toEqual(loaded.members.map((m) => m.label));
    expect(Array.from((await set.read(2)).data)).toEqual(Array.from(loaded.members[2].data));
  });
});

describe('prepared vectors written into a given block', () => {
  it('refuse an output of the wrong length', () => {
    const m = { rows: 4, cols: 4, data: Float64Array.from({ length: 16 }, (_, i) => (i * 7) % 5) };
    expect(() => upperTriangle(m, new Float64Array(5))).toThrow('upperTriangle: the output array holds 5 values, not 6');
    expect(() => prepareForComparator(m, 'spearman', 'x', undefined, new Float64Array(5))).toThrow('the output array holds 5 values, not 6');
    expect(() => prepareForComparator(m, 'cka', 'x', undefined, new Float64Array(6))).toThrow('the output array holds 6 values, not 10');
    const into = new Float64Array(6);
    const p = prepareForComparator(m, 'spearman', 'x', undefined, into);
    expect(p.kind === 'unit' && p.vector).toBe(into);
  });
});

describe('the members prepared on several threads (prepareThreads.ts)', () => {
  it('give the one-thread vectors exactly, with members prepared by the worker too', async () => {
    for (const [seed, measure] of [
      [11, 'rsa'],
      [12, 'cka'],
      [13, 'rsa:compare=pearson'],
    ] as const) {
      await writeSet(seed, [8, 5, 13, 8, 21, 3], 16);
      const set = await openFeatureSet(dir);
      const id = canonicalMeasureId(measure);
      const pipeline = pipelineOf(parseMeasure(id));
      const engine = await getGemmEngine();
      const length = preparedLength(pipeline.compare, 16)!;
      const expected = await Promise.all(set.members.map(async (_, i) => prepareRepresentation(await set.read(i), pipeline, { engine })));
      // This thread holds its first member until the worker has finished one (or 30 s have passed), so that the
      // worker really takes members however slowly it starts on a loaded machine.
      let workerDone!: () => void;
      const firstDone = new Promise<void>((r) => (workerDone = r));
      let mine = 0;
      const { block, fromWorkers } = await prepareOnThreads(
        set.reopen!,
        set.members.length,
        { id, engine, length, threads: 2 },
        async (i, buffer, into) => {
          if (mine++ === 0) await Promise.race([firstDone, new Promise((r) => setTimeout(r, 30_000))]);
          return prepareRepresentation(await set.read(i, buffer), pipeline, { engine }, undefined, into);
        },
        () => workerDone(),
      );
      expect(fromWorkers, measure).toBeGreaterThan(0);
      for (let i = 0; i < set.members.length; i++) {
        const e = expected[i];
        expect(e.kind).toBe('unit');
        expect(Array.from(block.subarray(i * length, (i + 1) * length)), `${measure} member ${i}`).toEqual(Array.from(e.kind === 'unit' ? e.vector : []));
      }
    }
  });

  it('give the one-thread matrix through similarityMatrix', async () => {
    await writeSet(16, [8, 5, 13, 8], 16);
    const set = await openFeatureSet(dir);
    expect(Array.from((await similarityMatrix(set, 'rsa', { threads: 2 })).matrix.data)).toEqual(
      Array.from((await similarityMatrix(set, 'rsa', { threads: 1 })).matrix.data),
    );
  });

  it('report a member that fails on any thread by its file, and progress for every member', async () => {
    await writeSet(14, [4, 4, 4, 4, 4, 4]);
    const bad = randomArray(15, 12, [4]);
    bad.data[7] = Number.POSITIVE_INFINITY;
    await writeFile(join(dir, 'm3.npy'), writeNpy(bad));
    await expect(similarityMatrix(await openFeatureSet(dir), 'rsa', { threads: 2 })).rejects.toThrow(/m3\.npy: Infinity at image 1, feature 3/);
    await rm(join(dir, 'm3.npy'));
    const seen: string[] = [];
    await similarityMatrix(await openFeatureSet(dir), 'rsa', { threads: 2, onProgress: (done, total, label) => seen.push(`${done}/${total} ${label}`) });
    expect(seen.map((s) => s.split(' ')[0])).toEqual(['1/5', '2/5', '3/5', '4/5', '5/5']);
    expect(seen.map((s) => s.split(' ')[1]).sort()).toEqual(['m0', 'm1', 'm2', 'm4', 'm5']);
  });

  it('use the count given, else TASKMAP_THREADS, else every core for large sets; never more than one thread per two members', () => {
    const before = process.env.TASKMAP_THREADS;
    try {
      delete process.env.TASKMAP_THREADS;
      const big = MIN_THREADED_VALUES;
      expect(prepareThreads(20, big - 1)).toBe(1);
      expect(prepareThreads(20, big)).toBe(Math.min(availableParallelism(), 10));
      expect(prepareThreads(20, 10, 4)).toBe(4);
      expect(prepareThreads(5, 10, 4)).toBe(2);
      expect(prepareThreads(1, big, 4)).toBe(1);
      process.env.TASKMAP_THREADS = '2';
      expect(prepareThreads(20, 10)).toBe(Math.min(2, availableParallelism()));
      expect(prepareThreads(20, big, 1)).toBe(1);
    } finally {
      if (before === undefined) delete process.env.TASKMAP_THREADS;
      else process.env.TASKMAP_THREADS = before;
    }
  });
});
