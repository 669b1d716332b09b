import { readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadFeatureSet, loadRepresentation, saveFeatureSet } from '../../src/features/featureSet.js';
import type { FeatureSet } from '../../src/features/types.js';
import { writeNpy, type NdArray } from '../../src/io/npy.js';
import { writeNpz } from '../../src/io/npz.js';
import { writeSafetensors } from '../../src/io/safetensors.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/io');
const expected = JSON.parse(readFileSync(join(FIX, 'features/expected.json'), 'utf8')) as Record<string, { dtype: string; shape: number[]; data: number[] }>;

function checkAgainstNumpy(set: FeatureSet, sourcePrefix: string) {
  expect(set.n).toBe(5);
  expect(set.members.map((m) => m.label)).toEqual(['alpha', 'beta', 'sub/gamma']);
  for (const m of set.members) {
    const e = expected[m.label];
    expect(m.data).toBeInstanceOf(e.dtype === 'float32' ? Float32Array : Float64Array);
    expect([m.n, ...m.shape]).toEqual(e.shape);
    expect(m.p).toBe(e.shape.slice(1).reduce((a, b) => a * b, 1));
    expect(Array.from(m.data)).toEqual(e.data); // exact: float32 values widened to double on both sides
    expect(m.source.startsWith(sourcePrefix)).toBe(true);
  }
}

const f32 = (shape: number[], fill: (i: number) => number = (i) => i): NdArray => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype: 'float32', shape, data: Float32Array.from({ length: n }, (_, i) => fill(i)) };
};

describe('loadFeatureSet: the three container formats agree with numpy', () => {
  it('a directory of .npy files (subdirectory → "sub/name", other files ignored)', async () => {
    checkAgainstNumpy(await loadFeatureSet(join(FIX, 'features/dir')), join(FIX, 'features/dir'));
  });
  it('an .npz', async () => {
    checkAgainstNumpy(await loadFeatureSet(join(FIX, 'features/set.npz')), `${join(FIX, 'features/set.npz')}:`);
  });
  it('a .safetensors file', async () => {
    checkAgainstNumpy(await loadFeatureSet(join(FIX, 'features/set.safetensors')), `${join(FIX, 'features/set.safetensors')}:`);
  });

  it('order selects and orders members; keys selects them', async () => {
    for (const f of ['features/dir', 'features/set.npz', 'features/set.safetensors']) {
      const set = await loadFeatureSet(join(FIX, f), { order: ['sub/gamma', 'alpha'] });
      expect(set.members.map((m) => m.label)).toEqual(['sub/gamma', 'alpha']);
      const keyed = await loadFeatureSet(join(FIX, f), { keys: ['sub/gamma', 'beta'] });
      expect(keyed.members.map((m) => m.label)).toEqual(['beta', 'sub/gamma']);
      await expect(loadFeatureSet(join(FIX, f), { order: ['alpha', 'delta'] })).rejects.toThrow(
        `${join(FIX, f)}: unknown label "delta" in order; available labels: alpha, beta, sub/gamma`,
      );
      await expect(loadFeatureSet(join(FIX, f), { order: ['alpha', 'alpha'] })).rejects.toThrow('label "alpha" appears twice in order');
      await expect(loadFeatureSet(join(FIX, f), { keys: ['beta'], order: ['alpha'] })).rejects.toThrow('order lists alpha, which keys leaves out');
    }
  });

  it('keeps the decoded data in place (a view on the file bytes, no copy)', async () => {
    const set = await loadFeatureSet(join(FIX, 'features/dir'), { order: ['alpha'] });
    const m = set.members[0];
    expect(m.data.buffer.byteLength).toBeGreaterThanOrEqual(statSync(join(FIX, 'features/dir/alpha.npy')).size);
    expect(m.data.byteOffset).toBeGreaterThan(0);
  });
});

describe('loadFeatureSet: validation', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'taskmap-fs-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const put = (name: string, arr: NdArray | Uint8Array) => writeFile(join(dir, name), arr instanceof Uint8Array ? arr : writeNpy(arr));

  it('unsupported dtypes name the file and the fix', async () => {
    await put('a.npy', { dtype: 'int64', shape: [4, 2], data: new BigInt64Array(8) });
    await expect(loadFeatureSet(dir)).rejects.toThrow(`unsupported dtype int64 in ${join(dir, 'a.npy')}: convert features to float32/float64`);
  });

  it('unequal image counts list the counts', async () => {
    await put('a.npy', f32([5, 2]));
    await put('b.npy', f32([4, 2]));
    await put('c.npy', f32([5, 3]));
    await expect(loadFeatureSet(dir)).rejects.toThrow(
      `${dir}: members have different numbers of images (5 images: a, c; 4 images: b); every model must be run on the same probe images in the same order`,
    );
  });

  it('fewer than 3 images, 0-d, 1-d and featureless arrays', async () => {
    await put('a.npy', f32([2, 4]));
    await expect(loadFeatureSet(dir)).rejects.toThrow(`${join(dir, 'a.npy')}: only 2 images (shape 2×4); similarity measures need at least 3 images`);
    await put('a.npy', f32([]));
    await expect(loadFeatureSet(dir)).rejects.toThrow('a 0-d (scalar) array is not a feature matrix');
    await put('a.npy', f32([7]));
    await expect(loadFeatureSet(dir)).rejects.toThrow(
      `${join(dir, 'a.npy')}: 1-d array of shape (7,) is ambiguous; features need shape (n_images, n_features, ...) — if it holds one feature per image, save it as x[:, None], shape (7, 1)`,
    );
    await put('a.npy', f32([5, 0]));
    await expect(loadFeatureSet(dir)).rejects.toThrow('no features per image (shape 5×0)');
  });

  it('NaN and Inf give the first bad image and feature', async () => {
    await put(
      'a.npy',
      f32([4, 3], (i) => (i === 7 ? Number.NaN : i)),
    );
    await expect(loadFeatureSet(dir)).rejects.toThrow(`${join(dir, 'a.npy')}: NaN at image 2, feature 1 (the first non-finite value); features must be finite`);
    await put('a.npy', { dtype: 'float64', shape: [3, 2, 2], data: Float64Array.from({ length: 12 }, (_, i) => (i === 5 ? -Infinity : 0)) });
    await expect(loadFeatureSet(dir)).rejects.toThrow('-Infinity at image 1, feature 1');
  });

  it('empty directories, truncated and corrupt files, unknown paths', async () => {
    await writeFile(join(dir, 'notes.txt'), 'x');
    await expect(loadFeatureSet(dir)).rejects.toThrow(
      `${dir}: no .npy files found (1 other file ignored); a feature set directory holds one <label>.npy per model`,
    );
    await put('a.npy', writeNpy(f32([5, 4])).subarray(0, 150));
    await expect(loadFeatureSet(dir)).rejects.toThrow(`${join(dir, 'a.npy')}: truncated: header says 5×4 float32 (80 bytes) but only 22 data bytes present`);
    await put('a.npy', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
    await expect(loadFeatureSet(dir)).rejects.toThrow(`${join(dir, 'a.npy')}: not a .npy file`);
    await expect(loadFeatureSet(join(dir, 'nope'))).rejects.toThrow(
      'no such file or directory; a feature set is a directory of .npy files, a .npz or a .safetensors file',
    );
    await writeFile(join(dir, 'x.mat'), 'x');
    await expect(loadFeatureSet(join(dir, 'x.mat'))).rejects.toThrow('unsupported feature file ".mat"');
    // .h5 is read as HDF5 (test/io/hdf5.test.ts), so a fake one is refused as such.
    await writeFile(join(dir, 'x.h5'), 'x');
    await expect(loadFeatureSet(join(dir, 'x.h5'))).rejects.toThrow('not an HDF5 file');
  });

  it('npz and safetensors members are named file:key in errors', async () => {
    const npz = join(dir, 's.npz');
    await writeFile(
      npz,
      writeNpz(
        new Map([
          ['ok', f32([3, 2])],
          ['bad', f32([3, 2], (i) => (i === 4 ? Infinity : 0))],
        ]),
      ),
    );
    await expect(loadFeatureSet(npz)).rejects.toThrow(`${npz}:bad: Infinity at image 2, feature 0`);
    const st = join(dir, 's.safetensors');
    await writeFile(st, writeSafetensors(new Map([['m', { dtype: 'int32', shape: [3, 2], data: new Int32Array(6) } as NdArray]])));
    await expect(loadFeatureSet(st)).rejects.toThrow(`unsupported dtype int32 in ${st}:m`);
  });

  it('ignores hidden entries such as temp files of an interrupted save', async () => {
    await put('a.npy', f32([3, 2]));
    await put('.a.npy.123.tmp', f32([9, 9]));
    await mkdir(join(dir, '.cache'));
    await put('.cache/x.npy', f32([4, 1]));
    expect((await loadFeatureSet(dir)).members.map((m) => m.label)).toEqual(['a']);
  });
});

describe('loadRepresentation and saveFeatureSet', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'taskmap-fs-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loadRepresentation reads one .npy (big-endian converted), labelled by its base name', async () => {
    const r = await loadRepresentation(join(FIX, 'npy/f8_big_endian_3x2.npy'));
    expect(r.label).toBe('f8_big_endian_3x2');
    expect([r.n, r.p, r.shape]).toEqual([3, 2, [2]]);
    expect(Array.from(r.data)).toEqual(Array.from({ length: 6 }, (_, i) => i / 9));
    await expect(loadRepresentation(join(FIX, 'npz/stored.npz'))).rejects.toThrow('expected a .npy file of features');
  });

  it('saveFeatureSet round-trips through loadFeatureSet, one .npy per member', async () => {
    const set = await loadFeatureSet(join(FIX, 'features/set.npz'));
    await saveFeatureSet(join(dir, 'out'), set);
    expect((await readdir(join(dir, 'out'))).sort()).toEqual(['alpha.npy', 'beta.npy', 'sub']);
    const back = await loadFeatureSet(join(dir, 'out'));
    expect(back.members.map(({ source: _s, ...m }) => m)).toEqual(set.members.map(({ source: _s, ...m }) => m));
  });

  it('saveFeatureSet validates everything before writing anything', async () => {
    const good = { label: 'good', n: 3, p: 2, shape: [2], data: new Float32Array(6), source: 'x' };
    const escaping = { ...good, label: '../evil' };
    await expect(saveFeatureSet(join(dir, 'out'), { n: 3, members: [good, escaping] })).rejects.toThrow('label "../evil" cannot be a file name');
    const wrongN = { ...good, label: 'short', n: 2, data: new Float32Array(4) };
    await expect(saveFeatureSet(join(dir, 'out'), { n: 3, members: [good, wrongN] })).rejects.toThrow('member "short" has 2 images, the set 3');
    await expect(saveFeatureSet(join(dir, 'out'), { n: 3, members: [good, good] })).rejects.toThrow('label "good" appears twice');
    expect(await readdir(dir)).toEqual([]);
  });
});
