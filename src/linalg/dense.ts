/**
 * Dense row-major float64 matrices: the one matrix type passed between taskmap modules.
 * Kept as plain data (no class) so it crosses worker, JSON and HTTP boundaries unchanged.
 */
export interface Matrix {
  rows: number;
  cols: number;
  /** Row-major: element (i, j) is data[i * cols + j]. */
  data: Float64Array;
}

export function zeros(rows: number, cols: number): Matrix {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

export function fromRows(rows: ArrayLike<number>[]): Matrix {
  const r = rows.length;
  const c = r === 0 ? 0 : rows[0].length;
  const m = zeros(r, c);
  for (let i = 0; i < r; i++) {
    if (rows[i].length !== c) throw new Error(`fromRows: row ${i} has ${rows[i].length} values, expected ${c}`);
    for (let j = 0; j < c; j++) m.data[i * c + j] = rows[i][j];
  }
  return m;
}

export function toRows(m: Matrix): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < m.rows; i++) out.push(Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
  return out;
}

export function get(m: Matrix, i: number, j: number): number {
  return m.data[i * m.cols + j];
}

export function transpose(m: Matrix): Matrix {
  const t = zeros(m.cols, m.rows);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) t.data[j * m.rows + i] = m.data[i * m.cols + j];
  return t;
}

/** Upper triangle without the diagonal, row-major (numpy triu_indices(n, 1)); written into `into` when given. */
export function upperTriangle(m: Matrix, into?: Float64Array): Float64Array {
  if (m.rows !== m.cols) throw new Error(`upperTriangle: matrix is ${m.rows}×${m.cols}, not square`);
  const n = m.rows;
  const size = (n * (n - 1)) / 2;
  if (into && into.length !== size) throw new Error(`upperTriangle: the output array holds ${into.length} values, not ${size}`);
  const out = into ?? new Float64Array(size);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const row = i * n;
    for (let j = i + 1; j < n; j++) out[k++] = m.data[row + j];
  }
  return out;
}

/** Copy the upper triangle onto the lower one (GEMM results are symmetric only up to rounding). */
export function symmetrizeFromUpper(m: Matrix): Matrix {
  const n = m.rows;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) m.data[j * n + i] = m.data[i * n + j];
  return m;
}

/** The first index (flat) of a NaN or ±Inf value, or -1. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}
