/** Triple-loop products: the independent reference that the GEMM engine and its users are checked against. */
import type { Matrix } from '../../src/linalg/dense.js';

/** A·Bᵀ for row-major A (m×k) and B (n×k). */
export function naiveABt(a: Matrix, b: Matrix): Float64Array {
  const c = new Float64Array(a.rows * b.rows);
  for (let i = 0; i < a.rows; i++)
    for (let j = 0; j < b.rows; j++) {
      let s = 0;
      for (let t = 0; t < a.cols; t++) s += a.data[i * a.cols + t] * b.data[j * b.cols + t];
      c[i * b.rows + j] = s;
    }
  return c;
}

/** X·Xᵀ as a Matrix. */
export function naiveGram(x: Matrix): Matrix {
  return { rows: x.rows, cols: x.rows, data: naiveABt(x, x) };
}
