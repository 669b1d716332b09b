/**
 * Golden values from the independent numpy reference (test/reference/reference.py, written
 * independently of the TypeScript code, see test/reference/README.md; regenerate with `python3 test/reference/make_goldens.py`).
 *
 * Five models on n = 40 images (test/fixtures/reference/*.npy, float32 and float64), per-image shapes
 * (4, 4, 6) NHWC for m0..m3 and (2, 2, 8) NHWC for m4. For every measure id in goldens.json and every pair
 * (i ≤ j) `pairSimilarity` must match to 1e-6 relative (1e-9 absolute near 0), and `similarityMatrix` of the
 * whole set must reproduce the 5×5 matrix. `layout_variants` re-read the same bytes as NCHW.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { FeatureSet, Representation } from '../../src/features/types.js';
import { readNpy } from '../../src/io/npy.js';
import { pairSimilarity, similarityMatrix } from '../../src/measures/similarity.js';

interface GoldenModel {
  label: string;
  file: string;
  shape: number[];
  dtype: string;
  array_shape: number[];
  layout: string;
  constant_features?: number[];
}

interface Goldens {
  seed: number;
  n: number;
  models: GoldenModel[];
  measures: Record<string, string>;
  pairs: Record<string, number[][]>;
  layout_variants: Record<
    string,
    {
      stored_shapes: Record<string, number[]>;
      matrix: number[][];
      explicit_shape_id: string;
      explicit_shape_models: number[];
    }
  >;
  rdms: unknown;
  notes: Record<string, string>;
}

const DIR = new URL('../fixtures/reference/', import.meta.url);
const goldens = JSON.parse(readFileSync(new URL('goldens.json', DIR), 'utf8')) as Goldens;

function tolerance(want: number): number {
  return Math.max(1e-6 * Math.abs(want), 1e-9);
}

function expectClose(got: number, want: number, what: string): void {
  expect(Number.isFinite(got), `${what}: got ${got}`).toBe(true);
  expect(Math.abs(got - want), `${what}: got ${got}, want ${want}`).toBeLessThanOrEqual(tolerance(want));
}

function loadModel(m: GoldenModel): Representation {
  const bytes = new Uint8Array(readFileSync(new URL(m.file, DIR)));
  const arr = readNpy(bytes, m.file);
  const data = arr.data;
  if (!(data instanceof Float32Array || data instanceof Float64Array)) {
    throw new Error(`${m.file}: expected float32/float64 data, got dtype ${String(arr.dtype)}`);
  }
  const shape = arr.shape.slice(1);
  const p = shape.reduce((a, b) => a * b, 1);
  return { label: m.label, n: arr.shape[0], p, shape, data, source: m.file };
}

const models: Representation[] = goldens.models.map(loadModel);
const set: FeatureSet = { n: goldens.n, members: models };
const T = models.length;

/** Look a LabelledMatrix entry up by labels, so the test does not depend on the row order it chose. */
function entry(lm: Awaited<ReturnType<typeof similarityMatrix>>, a: string, b: string): number {
  const i = lm.rows.indexOf(a);
  const j = lm.cols.indexOf(b);
  expect(i, `row ${a} missing from ${lm.rows.join(',')}`).toBeGreaterThanOrEqual(0);
  expect(j, `column ${b} missing from ${lm.cols.join(',')}`).toBeGreaterThanOrEqual(0);
  return lm.matrix.data[i * lm.matrix.cols + j];
}

describe('reference fixtures', () => {
  it('load with the documented shapes and dtypes', () => {
    expect(T).toBe(5);
    for (let k = 0; k < T; k++) {
      const g = goldens.models[k];
      const r = models[k];
      expect(r.n).toBe(40);
      expect([r.n, ...r.shape]).toEqual(g.array_shape);
      expect(r.shape).toEqual(g.shape);
      expect(r.data.length).toBe(r.n * r.p);
      // float32 files must come through unchanged (whether kept as Float32Array or upcast to Float64Array)
      for (const v of r.data) {
        if (!Number.isFinite(v)) throw new Error(`${g.file}: non-finite value ${v}`);
        if (g.dtype === 'float32' && Math.fround(v) !== v) throw new Error(`${g.file}: ${v} is not a float32 value`);
      }
    }
    expect(models.map((r) => r.p)).toEqual([96, 96, 96, 96, 32]);
  });
  it('m3 has exactly constant features (exercises the znorm constant-feature rule)', () => {
    const r = models[3];
    const constant = goldens.models[3].constant_features ?? [];
    expect(constant.length).toBe(3);
    for (const j of constant) {
      for (let i = 1; i < r.n; i++) expect(r.data[i * r.p + j]).toBe(r.data[j]);
    }
  });
  it('goldens cover the required measure ids', () => {
    const ids = Object.keys(goldens.pairs);
    for (const id of [
      'rsa',
      'rsa:compare=pearson',
      'rsa:compare=kendall',
      'rsa:rdm=cosine',
      'dds:norm=batch_norm,kernel=euclidean',
      'dds:norm=znorm,kernel=cosine,compare=spearman,centering=none',
      'cka:kernel=rbf,t=1',
    ])
      expect(ids).toContain(id);
    expect(ids.filter((id) => /^dds:norm=[a-z_]+,kernel=[a-z]+$/.test(id)).length).toBe(42);
  });
});

describe('pairSimilarity matches the numpy reference', () => {
  for (const [id, golden] of Object.entries(goldens.pairs)) {
    it(id, async () => {
      for (let i = 0; i < T; i++) {
        for (let j = i; j < T; j++) {
          const got = await pairSimilarity(models[i], models[j], id);
          expectClose(got, golden[i][j], `${id} (${models[i].label}, ${models[j].label})`);
        }
      }
    });
  }
});

describe('similarityMatrix matches the numpy reference', () => {
  for (const [id, golden] of Object.entries(goldens.pairs)) {
    it(id, async () => {
      const lm = await similarityMatrix(set, id);
      expect(lm.matrix.rows).toBe(T);
      expect(lm.matrix.cols).toBe(T);
      for (let i = 0; i < T; i++) {
        for (let j = 0; j < T; j++) {
          const got = entry(lm, models[i].label, models[j].label);
          expectClose(got, golden[i][j], `${id} matrix[${models[i].label}][${models[j].label}]`);
        }
      }
    });
  }
});

describe('layout parameter, explicit shape: NCHW with shape=HxWxC in the id', () => {
  // Unambiguous: the id's shape parameter is always H x W x C; the representations keep their NHWC-looking
  // stored shape [4, 4, 6], which the explicit parameter overrides.
  for (const variant of Object.values(goldens.layout_variants)) {
    const ks = variant.explicit_shape_models;
    it(variant.explicit_shape_id, async () => {
      expect(ks.length).toBe(4);
      for (const i of ks) {
        for (const j of ks) {
          if (j < i) continue;
          const sid = variant.explicit_shape_id;
          const got = await pairSimilarity(models[i], models[j], sid);
          expectClose(got, variant.matrix[i][j], `${sid} (${models[i].label}, ${models[j].label})`);
        }
      }
      const members = ks.map((k) => models[k]);
      const lm = await similarityMatrix({ n: goldens.n, members }, variant.explicit_shape_id);
      for (const i of ks) {
        for (const j of ks) {
          const got = entry(lm, models[i].label, models[j].label);
          expectClose(got, variant.matrix[i][j], `${variant.explicit_shape_id} matrix[${i}][${j}]`);
        }
      }
    });
  }
});

describe('layout parameter, stored shape: NCHW features whose stored per-image shape is [C, H, W]', () => {
  // Convention of src/features/types.ts: Representation.shape is the per-image shape *as stored*, so a
  // channel-first array (e.g. a PyTorch activation saved as (n, C, H, W)) has shape [C, H, W]; with
  // layout=NCHW and no shape parameter the measure must read (H, W, C) = (shape[1], shape[2], shape[0]).
  for (const [id, variant] of Object.entries(goldens.layout_variants)) {
    const reps: Representation[] = models.map((r) => ({ ...r, shape: variant.stored_shapes[r.label] }));
    it(`${id} (pairSimilarity)`, async () => {
      for (let i = 0; i < T; i++) {
        for (let j = i; j < T; j++) {
          const got = await pairSimilarity(reps[i], reps[j], id);
          const what = `${id} (${reps[i].label} [${reps[i].shape}], ${reps[j].label} [${reps[j].shape}])`;
          expectClose(got, variant.matrix[i][j], what);
        }
      }
    });
    it(`${id} (similarityMatrix)`, async () => {
      const lm = await similarityMatrix({ n: goldens.n, members: reps }, id);
      for (let i = 0; i < T; i++) {
        for (let j = 0; j < T; j++) {
          expectClose(entry(lm, reps[i].label, reps[j].label), variant.matrix[i][j], `${id} matrix[${i}][${j}]`);
        }
      }
    });
  }
});
