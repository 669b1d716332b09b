/**
 * Classical (Torgerson) multidimensional scaling: points whose Euclidean distances best match a distance matrix.
 * B = −½ J D⁽²⁾ J (J the centring matrix); coordinates are the top eigenvectors scaled by √λ. Negative eigenvalues
 * (non-Euclidean distances such as 1 − similarity) are reported, not hidden, through `explained`.
 */
import { zeros, type Matrix } from '../linalg/dense.js';
import { symmetricEigen } from '../linalg/eigen.js';

export interface MdsResult {
  /** n × dims, row-major. */
  coords: Matrix;
  eigenvalues: Float64Array;
  /** Share of the sum of positive eigenvalues carried by each kept dimension. */
  explained: number[];
}

export function classicalMds(distances: Matrix, dims = 2): MdsResult {
  const n = distances.rows;
  if (distances.cols !== n) throw new Error(`classicalMds: distance matrix is ${n}×${distances.cols}, not square`);
  if (!Number.isInteger(dims) || dims < 1 || dims > n) throw new Error(`classicalMds: dims must be 1…${n}, got ${dims}`);
  const sq = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      // Average the two triangles: similarity matrices are symmetric only up to rounding.
      const d = i === j ? 0 : (distances.data[i * n + j] + distances.data[j * n + i]) / 2;
      sq[i * n + j] = d * d;
    }
  }
  const rowMean = new Float64Array(n);
  let mean = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) rowMean[i] += sq[i * n + j];
    rowMean[i] /= n;
    mean += rowMean[i];
  }
  mean /= n;
  const b = zeros(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) b.data[i * n + j] = -0.5 * (sq[i * n + j] - rowMean[i] - rowMean[j] + mean);
  const { values, vectors } = symmetricEigen(b);
  const positive = values.reduce((s, v) => s + Math.max(0, v), 0);
  const coords = zeros(n, dims);
  const explained: number[] = [];
  for (let k = 0; k < dims; k++) {
    const scale = Math.sqrt(Math.max(0, values[k]));
    explained.push(positive > 0 ? Math.max(0, values[k]) / positive : 0);
    // Fix the sign (largest-magnitude entry positive) so plots do not flip between runs.
    let big = 0;
    for (let i = 0; i < n; i++) if (Math.abs(vectors.data[i * n + k]) > Math.abs(big)) big = vectors.data[i * n + k];
    const sign = big < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) coords.data[i * dims + k] = sign * scale * vectors.data[i * n + k];
  }
  return { coords, eigenvalues: values, explained };
}
