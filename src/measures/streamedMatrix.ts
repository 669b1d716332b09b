/**
 * The n×n matrix of one representation built from its `.npy` file in column blocks (issue 15, goal 6), for feature
 * files too big to load: 10⁶ features × 5,000 images is 20 GB in float32 and 40 GB as the float64 copy the
 * in-memory path makes, while the Gram matrix it reduces to is 200 MB.
 *
 * Everything the RDMs and kernels need is a sum over features, so it accumulates block by block:
 * - the per-feature normalisations (centring, z-scoring) only look at one column at a time: they are applied to
 *   each block by the in-memory code itself (normalizeFeatures), so they are the same numbers;
 * - the Gram matrix G += B·Bᵀ, in float64, through the GEMM engine (the upper triangle only, in row tiles);
 * - the row quantities follow from G and the row sums s: the correlation distance's row-centred Gram is
 *   G − s·sᵀ/p and its row norms are that matrix's diagonal; cosine's row norms are √G_ii; squared Euclidean
 *   distances are G_ii + G_jj − 2G_ij of the centred features (centring is per feature, so block-local);
 * - L1 distances (the Laplacian kernel) are sums over features too.
 * Rows far from zero mean would make G − s·sᵀ/p cancel: for the correlation distance every row is first shifted by
 * its mean over the first block (a shift cannot change a correlation), which leaves the cancellation of the usual
 * two-pass formula.
 *
 * Results agree with kernelMatrix / rdmMatrix on the loaded features to rounding (the tests hold them to 1e-12
 * relative); Euclidean distances of grid data (integers, k/256, …) are the same bits, with their exact ties, and
 * duplicated images get exactly equal distances on either path (isEuclidean). The per-image normalisations (layer, group, instance,
 * batch norm) need every feature of an image, so they are not streamed (`streamable` says why).
 */
import type { Matrix } from '../linalg/dense.js';
import { getGemmEngine, type GemmOptions } from '../linalg/gemm.js';
import { displayPath } from '../io/input.js';
import { checkAllocation, formatBytes, maxMemory } from '../io/limits.js';
import { openNpyColumns, type NpyColumnReader } from '../io/npyBlocks.js';
import { formatCount } from '../io/npy.js';
import { exactUnit, firstOfGroups, hashGroups, lowestBitExponent, ROW_HASH_SEED, splitEqualRows, tieDuplicates, updateRowHashes } from '../linalg/distances.js';
import { l1Distances, rbfFromGram, type KernelName, type RdmDistance } from './kernels.js';
import { normalizeFeatures, type Normalization } from './normalize.js';

/** The parts of a pipeline that decide the n×n matrix (registry.ts Pipeline). */
export interface StreamedSpec {
  norm: Normalization;
  matrix: { type: 'kernel'; kernel: KernelName } | { type: 'rdm'; distance: RdmDistance };
  /** RBF bandwidth fraction (Pipeline.t), default 0.5. */
  t?: number;
}

export interface StreamOptions extends GemmOptions {
  /**
   * Bytes of one float64 column block, and of one Gram row tile's product (default: streamBlockBytes(n)). Tests pass
   * tiny values to exercise the block and tile seams.
   */
  blockBytes?: number;
  /** Called after each block: (columns done, columns in all). */
  onProgress?: (done: number, total: number) => void;
}

const MiB = 1024 ** 2;

/**
 * The default block size for n images: a sixth of the budget the n×n matrix leaves, at least a sixteenth of the
 * budget, at most 1 GiB. Wide blocks are faster: every block's Gram tiles come back from the engine in fresh
 * memory, and on a virtual machine first-touch page faults cost more than the product (10,000 images × 10⁴
 * features: 67 s with blocks of 64 MiB, 41 s with 192 MiB; 47 s loaded whole).
 */
export function streamBlockBytes(n: number): number {
  const budget = maxMemory();
  return Math.min(1024 * MiB, Math.max(Math.floor(budget / 16), Math.floor((budget - 8 * n * n) / 6)));
}

/**
 * Columns per block and rows per Gram tile for n images and p features: each piece about `blockBytes` of float64,
 * and at least four row tiles, so that the products skip most of the lower triangle (4 tiles compute 62.5% of the
 * full Gram matrix, one tile all of it).
 */
export function streamLayout(n: number, p: number, blockBytes = streamBlockBytes(n)): { columns: number; tileRows: number } {
  const per = Math.max(1, Math.floor(blockBytes / (8 * Math.max(1, n))));
  return { columns: Math.min(p, per), tileRows: Math.min(per, Math.max(1, Math.ceil(n / 4))) };
}

/** Undefined when the spec's matrix can be built from column blocks; otherwise why not. */
export function streamable(spec: Pick<StreamedSpec, 'norm'>): string | undefined {
  if (spec.norm === 'none' || spec.norm === 'centering' || spec.norm === 'znorm') return undefined;
  return `the ${spec.norm} normalisation needs all the features of an image at once, so it cannot be applied to column blocks`;
}

/** What the blocks add up to: the upper triangle of the Gram matrix (row-major n×n), row sums and per-row extremes. */
interface Sums {
  gram: Float64Array;
  rowSums: Float64Array;
  rowMin: Float64Array;
  rowMax: Float64Array;
  /** L1 distances, when asked for. */
  l1?: Float64Array;
  /** Euclidean distances: what decides the exact path (distances.ts) and finds duplicated images. */
  grid?: { lowest: number; span: number; hashes: Uint32Array };
  /** The block array, for a second pass (equalRows) within the same memory. */
  block: Float64Array;
}

/** Rows shifted by their mean over the first block: only for the correlation distance, which a row shift cannot change. */
function needsShift(spec: StreamedSpec): boolean {
  return (spec.matrix.type === 'rdm' && spec.matrix.distance === 'correlation') || (spec.matrix.type === 'kernel' && spec.matrix.kernel === 'pearson');
}

/**
 * Euclidean distances, as distances.ts forms them from the loaded features: every row is shifted by the first one
 * (exact for grid data, and it removes a common offset as centring would), and the exact path is taken when the
 * values turn out to lie on a small enough binary grid — known only once every block is seen, so the shift is the
 * conditioning of both paths. Products of grid values are exact whatever their order, so the Gram matrix of the
 * shifted rows is then exact, and so are the distances: the same bits as in memory.
 */
function isEuclidean(spec: StreamedSpec): boolean {
  const m = spec.matrix;
  return (m.type === 'rdm' && (m.distance === 'euclidean' || m.distance === 'sqeuclidean')) || (m.type === 'kernel' && m.kernel === 'euclidean');
}

/**
 * Exact products need the grid's squares in float64's normal range (a tiny unit's square would underflow, where
 * distances.ts divides by the unit first): outside it the distances take the rounded path.
 */
const EXACT_EXPONENTS = { min: -500, max: 400 };

async function accumulate(reader: NpyColumnReader, spec: StreamedSpec, opts: StreamOptions): Promise<Sums> {
  const { n, p } = reader;
  const { columns, tileRows } = streamLayout(n, p, opts.blockBytes);
  const engine = opts.engine ?? (await getGemmEngine());
  const gram = new Float64Array(n * n);
  const rowSums = new Float64Array(n);
  const rowMin = new Float64Array(n).fill(Infinity);
  const rowMax = new Float64Array(n).fill(-Infinity);
  const lap = spec.matrix.type === 'kernel' && spec.matrix.kernel === 'lap';
  const l1 = lap ? new Float64Array(n * n) : undefined;
  const block = new Float64Array(n * columns);
  const shift = needsShift(spec) ? new Float64Array(n) : undefined;
  const grid = isEuclidean(spec) ? { lowest: Infinity, span: 0, hashes: new Uint32Array(n).fill(ROW_HASH_SEED) } : undefined;
  for (let c0 = 0; c0 < p; c0 += columns) {
    const cb = Math.min(columns, p - c0);
    const b = normalizedBlock(reader, spec.norm, c0, cb, block);
    if (grid) {
      updateRowHashes(grid.hashes, b, n, cb);
      let lowest = grid.lowest;
      for (let k = 0; k < n * cb; k++) if (b[k] !== 0) lowest = Math.min(lowest, lowestBitExponent(b[k]));
      grid.lowest = lowest;
      let span = grid.span;
      for (let i = n - 1; i >= 0; i--) {
        for (let c = 0; c < cb; c++) {
          const d = b[i * cb + c] - b[c];
          span = Math.max(span, Math.abs(d));
          b[i * cb + c] = d;
        }
      }
      grid.span = span;
    }
    for (let i = 0; i < n; i++) {
      const row = i * cb;
      let lo = rowMin[i];
      let hi = rowMax[i];
      for (let c = 0; c < cb; c++) {
        const v = b[row + c];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      rowMin[i] = lo;
      rowMax[i] = hi;
      if (shift) {
        if (c0 === 0) {
          let m = 0;
          for (let c = 0; c < cb; c++) m += b[row + c];
          shift[i] = m / cb;
        }
        const a = shift[i];
        for (let c = 0; c < cb; c++) b[row + c] -= a;
      }
      let s = 0;
      for (let c = 0; c < cb; c++) s += b[row + c];
      rowSums[i] += s;
    }
    if (l1) {
      const d = l1Distances({ label: reader.file, n, p: cb, data: b });
      for (let k = 0; k < d.length; k++) l1[k] += d[k];
    } else {
      // Upper triangle only, in row tiles: rows r0..r1 against rows r0..n (each tile's product is ≤ blockBytes).
      for (let r0 = 0; r0 < n; r0 += tileRows) {
        const t = Math.min(tileRows, n - r0);
        const w = n - r0;
        // Euclidean distances need float64 products: their exact path is exact only then.
        const tile = await engine.abt(b.subarray(r0 * cb, (r0 + t) * cb), t, b.subarray(r0 * cb, n * cb), w, cb, grid ? 'float64' : opts.precision);
        for (let q = 0; q < t; q++) {
          const i = r0 + q;
          const dst = i * n;
          const src = q * w - r0;
          for (let j = i; j < n; j++) gram[dst + j] += tile[src + j];
        }
      }
    }
    opts.onProgress?.(c0 + cb, p);
  }
  return { gram, rowSums, rowMin, rowMax, l1, grid, block };
}

/** Columns c0…c0+cb of the file as float64, normalised in place as the in-memory path normalises the whole file. */
function normalizedBlock(reader: NpyColumnReader, norm: Normalization, c0: number, cb: number, into: Float64Array): Float64Array {
  const { n } = reader;
  const b = reader.readBlock(c0, cb, into);
  // Per-feature statistics are the same numbers on a block as on the whole file.
  if (norm !== 'none') normalizeFeatures({ label: reader.file, source: reader.file, n, p: cb, shape: [cb], data: b }, norm, {}, b);
  return b;
}

/**
 * Groups of exactly equal images (of the normalised features) among rows of equal hash, refined block by block: a
 * second pass over the file, made only when some hashes coincide (duplicated images, or a collision).
 */
function equalRows(reader: NpyColumnReader, norm: Normalization, hashes: Uint32Array, block: Float64Array): number[][] {
  let groups = hashGroups(hashes);
  const { n, p } = reader;
  const columns = block.length / n;
  for (let c0 = 0; c0 < p && groups.length; c0 += columns) {
    const cb = Math.min(columns, p - c0);
    groups = splitEqualRows(groups, normalizedBlock(reader, norm, c0, cb, block), cb);
  }
  return groups;
}

/** Squared Euclidean distances from the sums: exact where distances.ts takes its exact path; else with duplicates tied. */
function euclideanSquares(sums: Sums, n: number, p: number, label: string, ties: () => number[][]): void {
  const { lowest, span } = sums.grid!;
  const unit = exactUnit(lowest, span, p);
  squaredFromGram(sums.gram, n, label);
  const exact = unit !== undefined && (lowest === Infinity || (lowest >= EXACT_EXPONENTS.min && lowest <= EXACT_EXPONENTS.max));
  if (!exact) tieDuplicates(sums.gram, firstOfGroups(n, ties()));
}

function mirror(g: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) g[j * n + i] = g[i * n + j];
}

/** One minus a correlation-like ratio r_ij = G_ij · w_i · w_j over the upper triangle, mirrored (clip: into [−1, 1]). */
function oneMinusScaled(g: Float64Array, n: number, w: Float64Array, clip: boolean): void {
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const r = g[i * n + j] * w[i] * w[j];
      g[i * n + j] = 1 - (clip ? Math.min(1, Math.max(-1, r)) : r);
    }
  }
  mirror(g, n);
}

/** Pearson correlations between rows from the shifted Gram: G − s·sᵀ/p, scaled by its diagonal; 1 − r (clipped). */
function correlationFromSums(sums: Sums, n: number, p: number, label: string): void {
  const { gram: g, rowSums: s } = sums;
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = g[i * n + i] - (s[i] * s[i]) / p;
    if (sums.rowMin[i] === sums.rowMax[i] || !(v > 0)) {
      throw new Error(
        `${label}: image ${i} has constant features, so its Pearson correlation with other images is undefined (drop that image from every model, or use another distance)`,
      );
    }
    w[i] = 1 / Math.sqrt(v);
  }
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) g[i * n + j] -= (s[i] * s[j]) / p;
  oneMinusScaled(g, n, w, true);
}

/** Squared distances G_ii + G_jj − 2G_ij (clipped at 0, zero diagonal) over the upper triangle, mirrored. */
function squaredFromGram(g: Float64Array, n: number, label: string): void {
  const diag = new Float64Array(n);
  for (let i = 0; i < n; i++) diag[i] = g[i * n + i];
  for (let i = 0; i < n; i++) {
    g[i * n + i] = 0;
    for (let j = i + 1; j < n; j++) g[i * n + j] = Math.max(0, diag[i] + diag[j] - 2 * g[i * n + j]);
  }
  mirror(g, n);
  for (let k = 0; k < g.length; k++) {
    if (!Number.isFinite(g[k])) throw new Error(`${label}: a distance between images overflows float64 (features too large)`);
  }
}

/**
 * The n×n matrix of `spec` for the features in `file` (an n_images × … float32/float64 .npy), built from column
 * blocks: the same matrix kernelMatrix / rdmMatrix give for normalizeFeatures of the loaded file (RDMs with zero
 * diagonal). Holds the n×n result, one block and one Gram tile.
 */
export async function streamedMatrix(path: string | Buffer, spec: StreamedSpec, opts: StreamOptions = {}): Promise<Matrix> {
  const why = streamable(spec);
  if (why) throw new Error(`${displayPath(path)}: ${why}`);
  const reader = openNpyColumns(path);
  const { file } = reader;
  try {
    const { n, p } = reader;
    const { columns } = streamLayout(n, p, opts.blockBytes);
    checkAllocation(
      `streaming the ${formatCount(n)}×${formatCount(n)} matrix (${formatCount(n)} images; blocks of ${formatCount(columns)} of ${formatCount(p)} features)`,
      streamedBytes(n, p, reader.dtype === 'float32' ? 4 : 8, spec, opts.blockBytes),
      file,
    );
    const sums = await accumulate(reader, spec, opts);
    const g = sums.gram;
    const m = spec.matrix;
    const kind = m.type === 'rdm' ? m.distance : m.kernel;
    switch (kind) {
      case 'linear':
        mirror(g, n);
        break;
      case 'rbf': {
        mirror(g, n);
        const s = rbfFromGram({ rows: n, cols: n, data: g }, spec.t ?? 0.5);
        if (!s) throw new Error(`${file}: the median squared distance between images is 0 (most images are identical), so the RBF bandwidth is undefined`);
        return { rows: n, cols: n, data: s };
      }
      case 'lap': {
        const d = sums.l1!;
        const gamma = 1 / p;
        for (let k = 0; k < d.length; k++) d[k] = Math.exp(-gamma * d[k]);
        return { rows: n, cols: n, data: d };
      }
      case 'pearson':
      case 'correlation':
        correlationFromSums(sums, n, p, file);
        break;
      case 'cosine': {
        const w = new Float64Array(n);
        for (let i = 0; i < n; i++) w[i] = g[i * n + i] > 0 ? 1 / Math.sqrt(g[i * n + i]) : 0;
        oneMinusScaled(g, n, w, false);
        break;
      }
      case 'sqeuclidean':
        euclideanSquares(sums, n, p, file, () => equalRows(reader, spec.norm, sums.grid!.hashes, sums.block));
        break;
      case 'euclidean':
        euclideanSquares(sums, n, p, file, () => equalRows(reader, spec.norm, sums.grid!.hashes, sums.block));
        for (let k = 0; k < g.length; k++) g[k] = Math.sqrt(g[k]);
        break;
      default:
        throw new Error(`${file}: unknown matrix "${kind as string}"`);
    }
    if (m.type === 'rdm') for (let i = 0; i < n; i++) g[i * n + i] = 0;
    return { rows: n, cols: n, data: g };
  } finally {
    reader.close();
  }
}

/**
 * What streamedMatrix holds at its peak on n images × p features stored with `bytesPerValue`, part by part: the n×n
 * result, one block (float64 and its stored bytes), one Gram tile's product, and the matrix-specific extras (RBF:
 * the squared distances and the median's sorted copy; Laplacian: one block's L1 distances instead of a tile).
 */
export function streamedParts(n: number, p: number, bytesPerValue: number, spec: StreamedSpec, blockBytes?: number): { what: string; bytes: number }[] {
  const { columns, tileRows } = streamLayout(n, p, blockBytes);
  const m = spec.matrix;
  const parts = [
    { what: `the ${formatCount(n)}×${formatCount(n)} matrix, accumulated in float64`, bytes: 8 * n * n },
    { what: `one block of ${formatCount(columns)} features (float64 and as stored), reused`, bytes: n * columns * (8 + bytesPerValue) },
  ];
  if (m.type === 'kernel' && m.kernel === 'lap') return [...parts, { what: "one block's L1 distances", bytes: 8 * n * n }];
  // Twice: the engine's product and the JavaScript copy it comes back as (measured: a 200 MB tile added ~200 MB).
  parts.push({ what: `one Gram tile (${formatCount(tileRows)} rows × ${formatCount(n)}), as the engine's product and its copy`, bytes: 16 * tileRows * n });
  if (m.type === 'kernel' && m.kernel === 'rbf') parts.push({ what: 'squared distances and their sorted copy for the RBF median', bytes: 2 * 8 * n * n });
  return parts;
}

/** One block (float64 and as stored) and one Gram tile (twice, streamedParts): what streaming holds besides the n×n matrix. */
export function streamedWorkBytes(n: number, p: number, bytesPerValue: number, blockBytes?: number): number {
  const { columns, tileRows } = streamLayout(n, p, blockBytes);
  return n * columns * (8 + bytesPerValue) + 16 * tileRows * n;
}

/** Peak bytes of streamedMatrix (the sum of streamedParts). */
export function streamedBytes(n: number, p: number, bytesPerValue: number, spec: StreamedSpec, blockBytes?: number): number {
  return streamedParts(n, p, bytesPerValue, spec, blockBytes).reduce((a, x) => a + x.bytes, 0);
}

/** "60 blocks of 1,677 features (64.0 MiB)": how a stream is cut, for messages and --dry-run. */
export function describeStream(n: number, p: number, blockBytes?: number): string {
  const { columns } = streamLayout(n, p, blockBytes);
  const blocks = Math.ceil(p / columns);
  return `${formatCount(blocks)} block${blocks === 1 ? '' : 's'} of ${formatCount(columns)} feature${columns === 1 ? '' : 's'} (${formatBytes(8 * n * columns)})`;
}
