import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as h5wasm from 'h5wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFeatureSet } from '../../src/features/featureSet.js';
import { Hdf5File } from '../../src/io/hdf5.js';
import { readLabelledMatrix } from '../../src/io/labelledMatrix.js';
import { setMaxMemory } from '../../src/io/limits.js';
import { writeNpz } from '../../src/io/npz.js';
import { readRsatoolboxRdms } from '../../src/io/rsatoolbox.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'taskmap-hdf5-'));
});
afterAll(async () => {
  setMaxMemory(undefined);
  await rm(root, { recursive: true, force: true });
});

let seq = 0;
/** Write an HDF5 file with h5wasm (as h5py would lay it out) and copy it to `path`. */
async function writeH5(path: string, build: (f: h5wasm.File) => void): Promise<void> {
  const { FS } = await h5wasm.ready;
  const mem = `/test-${++seq}.h5`;
  const f = new h5wasm.File(mem, 'w');
  build(f);
  f.close();
  await writeFile(path, FS.readFile(mem));
  FS.unlink(mem);
}

const feats = (n: number, p: number, k = 0) => Float32Array.from({ length: n * p }, (_, i) => Math.sin(i + k));

describe('HDF5 feature files', () => {
  it("reads thingsvision's features.hdf5 (dataset `features`) and skips string datasets", async () => {
    const path = join(root, 'features.hdf5');
    await writeH5(path, (f) => {
      f.create_dataset({ name: 'features', data: feats(5, 4), shape: [5, 4] });
      f.create_dataset({ name: 'image_paths', data: ['a', 'b', 'c', 'd', 'e'] });
    });
    const set = await loadFeatureSet(path);
    expect(set.members.map((m) => [m.label, m.n, m.p])).toEqual([['features', 5, 4]]);
    expect(Array.from(set.members[0].data)).toEqual(Array.from(feats(5, 4)));
  });

  it("stacks thingsvision's split features_01, features_02 … back in order, and reads nested groups by path", async () => {
    const split = join(root, 'split.h5');
    const all = feats(6, 3);
    await writeH5(split, (f) => {
      f.create_dataset({ name: 'features_02', data: all.slice(9), shape: [3, 3] });
      f.create_dataset({ name: 'features_01', data: all.slice(0, 9), shape: [3, 3] });
    });
    const s = await loadFeatureSet(split);
    expect(s.members.map((m) => [m.label, m.n])).toEqual([['features', 6]]);
    expect(Array.from(s.members[0].data)).toEqual(Array.from(all));
    const nested = join(root, 'nested.h5');
    await writeH5(nested, (f) => {
      f.create_group('layer1');
      (f.get('layer1') as h5wasm.Group).create_dataset({ name: 'conv', data: Float64Array.from(feats(4, 2, 1)), shape: [4, 1, 2] });
      f.create_dataset({ name: 'fc', data: feats(4, 3), shape: [4, 3] });
    });
    const t = await loadFeatureSet(nested);
    expect(t.members.map((m) => [m.label, m.n, m.p, m.shape])).toEqual([
      ['fc', 4, 3, [3]],
      ['layer1/conv', 4, 2, [1, 2]],
    ]);
  });

  it('refuses a non-HDF5 file, non-numeric data and datasets over the memory budget, before reading them', async () => {
    const fake = join(root, 'fake.h5');
    await writeFile(fake, 'not hdf5 at all');
    await expect(loadFeatureSet(fake)).rejects.toThrow(/not an HDF5 file/);
    const strings = join(root, 'strings.h5');
    await writeH5(strings, (f) => f.create_dataset({ name: 'names', data: ['a', 'b', 'c'] }));
    await expect(loadFeatureSet(strings)).rejects.toThrow(/no numeric datasets/);
    const f = await Hdf5File.open(strings);
    try {
      expect(() => f.readArray('names')).toThrow(/holds string data; only numeric datasets/);
    } finally {
      f.close();
    }
    const big = join(root, 'big.h5');
    await writeH5(big, (g) => g.create_dataset({ name: 'x', data: new Float64Array(64 * 1024), shape: [1024, 64] }));
    setMaxMemory(600 * 1024);
    try {
      await expect(loadFeatureSet(big)).rejects.toThrow(/1024×64 float64 dataset would need 1\.0 MiB, over the memory limit/);
    } finally {
      setMaxMemory(undefined);
    }
  });
});

describe('Net2Brain feature folders', () => {
  const layers = { 'layer1.0': [2, 3], fc: [4] } as const;
  const value = (img: number, layer: string, i: number) => img * 10 + i + (layer === 'fc' ? 0.5 : 0);
  const arr = (img: number, layer: keyof typeof layers) => {
    const shape = [1, ...layers[layer]];
    const n = shape.reduce((a, b) => a * b, 1);
    return { dtype: 'float32' as const, shape, data: Float32Array.from({ length: n }, (_, i) => value(img, layer, i)) };
  };
  const images = ['img_a', 'img_b', 'img_c', 'img_d'];

  const check = async (dir: string) => {
    const set = await loadFeatureSet(dir);
    expect(set.members.map((m) => [m.label, m.n, m.shape])).toEqual([
      ['fc', 4, [4]],
      ['layer1.0', 4, [2, 3]],
    ]);
    expect(Array.from(set.members[0].data.slice(4, 8))).toEqual([10.5, 11.5, 12.5, 13.5]);
  };

  it('reads the per-image layout (<image>.npz, keys = layers, each (1, …))', async () => {
    const dir = join(root, 'n2b-images');
    await mkdir(dir);
    for (const [i, img] of images.entries())
      await writeFile(
        join(dir, `${img}.npz`),
        writeNpz(
          new Map([
            ['layer1.0', arr(i, 'layer1.0')],
            ['fc', arr(i, 'fc')],
          ]),
        ),
      );
    await check(dir);
  });

  it('reads the consolidated per-layer layout (<layer>.npz, keys = images)', async () => {
    const dir = join(root, 'n2b-layers');
    await mkdir(dir);
    for (const layer of ['layer1.0', 'fc'] as const) {
      await writeFile(join(dir, `${layer}.npz`), writeNpz(new Map(images.map((img, i) => [img, arr(i, layer)]))));
    }
    await check(dir);
  });
});

/** A minimal protocol-4 pickle writer: dicts, lists, str, bool, ints and float64 numpy arrays (as numpy 1.x pickles them with _frombuffer). */
function pickle(v: unknown): Uint8Array {
  const out: number[] = [0x80, 4];
  const str = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    out.push(0x8c, b.length, ...b);
  };
  const put = (x: unknown): void => {
    if (typeof x === 'string') str(x);
    else if (typeof x === 'boolean') out.push(x ? 0x88 : 0x89);
    else if (typeof x === 'number')
      out.push(0x4b, x); // BININT1
    else if (x instanceof Float64Array) {
      out.push(...Buffer.from('cnumpy.core.numeric\n_frombuffer\n', 'latin1'), 0x28);
      const b = Buffer.from(x.buffer, x.byteOffset, x.byteLength);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.length);
      out.push(0x42, ...len, ...b); // BINBYTES
      out.push(...Buffer.from('cnumpy\ndtype\n', 'latin1'), 0x28);
      str('f8');
      out.push(0x89, 0x88, 0x74, 0x52); // False, True, TUPLE, REDUCE
      const shape = (x as Float64Array & { shape?: number[] }).shape ?? [x.length];
      out.push(0x28);
      for (const d of shape) out.push(0x4b, d);
      out.push(0x74);
      str('C');
      out.push(0x74, 0x52);
    } else if (Array.isArray(x)) {
      out.push(0x28);
      x.forEach(put);
      out.push(0x6c); // LIST
    } else if (typeof x === 'object' && x !== null) {
      out.push(0x7d, 0x28);
      for (const [k, val] of Object.entries(x)) {
        str(k);
        put(val);
      }
      out.push(0x75);
    } else out.push(0x4e); // None
  };
  put(v);
  out.push(0x2e);
  return Uint8Array.from(out);
}

describe('rsatoolbox RDMs', () => {
  // Two 4×4 RDMs, vectorised upper triangles (0,1) (0,2) (0,3) (1,2) (1,3) (2,3).
  const vectors = Float64Array.from([1, 2, 3, 4, 5, 6, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
  const conds = ['face', 'house', 'car', 'tree'];

  it('reads RDMs.save(…, file_type="hdf5"): labels from the pattern descriptors, measure from the attribute', async () => {
    const path = join(root, 'rdms.hdf5');
    await writeH5(path, (f) => {
      f.create_attribute('rsatoolbox_version', '0.0.1');
      f.create_attribute('dissimilarity_measure', 'correlation');
      f.create_dataset({ name: 'dissimilarities', data: vectors, shape: [2, 6] });
      f.create_group('descriptors');
      f.create_group('rdm_descriptors');
      (f.get('rdm_descriptors') as h5wasm.Group).create_dataset({ name: 'index', data: new Float64Array([0, 1]) });
      (f.get('rdm_descriptors') as h5wasm.Group).create_dataset({ name: 'subject', data: ['s01', 's02'] });
      f.create_group('pattern_descriptors');
      (f.get('pattern_descriptors') as h5wasm.Group).create_dataset({ name: 'index', data: new Float64Array([0, 1, 2, 3]) });
      (f.get('pattern_descriptors') as h5wasm.Group).create_dataset({ name: 'conds', data: conds });
    });
    const r = await readRsatoolboxRdms(path);
    expect(r.measure).toBe('correlation');
    expect(r.patternDescriptor).toBe('conds');
    expect(r.rdms.map((x) => x.label)).toEqual(['s01', 's02']);
    const m = r.rdms[0].matrix;
    expect(m.rows).toEqual(conds);
    expect(Array.from(m.matrix.data)).toEqual([0, 1, 2, 3, 1, 0, 4, 5, 2, 4, 0, 6, 3, 5, 6, 0]);
    // A matrix argument takes one RDM.
    await expect(readLabelledMatrix(path)).rejects.toThrow(/holds 2 RDMs \("s01", "s02"\)/);
    const one = join(root, 'one.h5');
    await writeH5(one, (f) => {
      f.create_attribute('rsatoolbox_version', '0.0.1');
      f.create_dataset({ name: 'dissimilarities', data: vectors.slice(0, 6), shape: [1, 6] });
      f.create_group('pattern_descriptors');
    });
    const lm = await readLabelledMatrix(one);
    expect(lm.rows).toEqual(['0', '1', '2', '3']);
    expect(lm.matrix.data[1 * 4 + 3]).toBe(5);
  });

  it('reads RDMs.save(…, file_type="pkl") with the restricted unpickler', async () => {
    const dis = Object.assign(vectors.slice(0, 6), { shape: [1, 6] });
    const bytes = pickle({
      dissimilarities: dis,
      descriptors: {},
      rdm_descriptors: { index: [0] },
      pattern_descriptors: { index: [0, 1, 2, 3], conds },
      dissimilarity_measure: 'euclidean',
      rsatoolbox_version: '0.0.1',
    });
    const path = join(root, 'rdm.pkl');
    await writeFile(path, bytes);
    const r = await readRsatoolboxRdms(path);
    expect(r.rdms.map((x) => x.label)).toEqual(['0']);
    const m = await readLabelledMatrix(path);
    expect(m.rows).toEqual(conds);
    expect(m.measure).toBe('euclidean');
    expect(m.matrix.data[2 * 4 + 3]).toBe(6);
  });
});
