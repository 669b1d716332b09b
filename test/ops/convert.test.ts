/** `taskmap convert` / ops.convertMatrix: labelling published matrices (the DDS .npy pickled dicts and .json twins). */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { convertMatrix, convertMatrixFile } from '../../src/ops/convert.js';
import { sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';

const nested = {
  cosine: {
    cka: {
      m: [
        [
          [1, 0.5],
          [0.5, 1],
        ],
      ],
    },
  },
  bad: [[1, 2, 3]],
};

describe('convertMatrix', () => {
  it('follows the key, drops leading size-1 dimensions, labels and drops', () => {
    const m = convertMatrix(nested, { key: 'cosine.cka.m', labels: ['a', 'b'] });
    expect(m.rows).toEqual(['a', 'b']);
    expect(Array.from(m.matrix.data)).toEqual([1, 0.5, 0.5, 1]);
    expect(Array.from(convertMatrix(nested, { key: 'cosine.cka.m.0', labels: ['a', 'b'], drop: ['a'] }).matrix.data)).toEqual([1]);
  });
  it('errors name the place, the keys available and the fix', () => {
    expect(() => convertMatrix(nested, { labels: ['a'] }, 'f.npy')).toThrow('f.npy: holds a dict; choose an entry with --key (available: "cosine", "bad")');
    expect(() => convertMatrix(nested, { key: 'cosine.x', labels: ['a'] }, 'f')).toThrow('f → cosine: no key "x" (available: "cka")');
    expect(() => convertMatrix(nested, { key: 'bad', labels: ['a'] }, 'f')).toThrow(/f → bad: expected a square matrix, found shape 1×3/);
    expect(() => convertMatrix(nested, { key: 'cosine.cka.m', labels: ['a'] }, 'f')).toThrow('f: 1 labels given for a 2×2 matrix');
    expect(() => convertMatrix(nested, { key: 'cosine.cka.m', labels: ['a', 'b'], drop: ['z'] }, 'f')).toThrow('cannot drop "z": not among the labels');
    expect(() => convertMatrix(nested, { key: 'cosine.cka.m', labels: ['a', 'a'] }, 'f')).toThrow('label "a" is given twice');
  });

  it('a ragged nested array that claims a huge shape is refused before allocating it', () => {
    // 200,000 rows, the first of 200,000 numbers, the rest empty: 1.4 MB of JSON whose shape claims 320 GB.
    const ragged: unknown[] = [new Array(200_000).fill(0), ...Array.from({ length: 199_999 }, () => [])];
    expect(() => convertMatrix(ragged, { labels: ['a'] }, 'big.json')).toThrow(
      /big\.json: the 200000×200000 array would need .*over the memory limit.*--max-memory/,
    );
  });
});

describe.skipIf(skipWithoutSharedData)('convertMatrixFile on the DDS files', () => {
  it('the pickled .npy and its .json twin give the same matrix', async () => {
    const d = join(sharedDataDir, 'duality-diagram-similarity/CVPR2020_results/normcomparison_taskonomy_5000');
    const labels = Array.from({ length: 20 }, (_, i) => `t${i}`);
    const a = await convertMatrixFile(join(d, 'kernels.npy'), { key: 'lap.cka.debiased_centered.znorm', labels });
    const b = await convertMatrixFile(join(d, 'kernels.json'), { key: 'lap.cka.debiased_centered.znorm', labels });
    expect(a.matrix.rows).toBe(20);
    expect(Array.from(a.matrix.data)).toEqual(Array.from(b.matrix.data));
  });
});
