/**
 * Average ranks of very long vectors with bounded scratch (issue 15, goal 6): the RDM triangle of N = 20,000 images
 * has 200 M values, and rankData's sorts need ~24 bytes of scratch per value on top of the input and the ranks
 * (4.8 GB there). Here the values are split by value into chunks of at most `chunk` values and each chunk is ranked
 * on its own by rankData; the scratch is one byte per value (which chunk it is in) plus one chunk's work.
 *
 * The chunks are value ranges (s_{b−1}, s_b] between splitters taken from a strided sample, so equal values always
 * share a chunk and every value of chunk b is above every value of the chunks before it: a value's rank is its rank
 * inside its chunk plus the sizes of the chunks before. Ranks are integers or halves far below 2^53, so that sum is
 * exact and the ranks are rankData's, bit for bit. Many equal values can make one chunk larger than `chunk`; a
 * chunk that holds one distinct value is filled without sorting.
 */
import { rankData } from './ranks.js';

/** Values per chunk by default: ~44 bytes of work each (indices, values, ranks, rankData's scratch), ~370 MB. */
export const RANK_CHUNK = 1 << 23;
/** At most this many chunks: chunk ids are bytes. */
const MAX_CHUNKS = 255;
/** Sample values per chunk from which the splitters are taken. */
const SAMPLE_PER_CHUNK = 256;

function nanError(index: number): Error {
  return new Error(`rankData: value at index ${index} is NaN; ranks of NaN are undefined — remove or impute missing values first`);
}

/**
 * rankData(x) (ranks from 1, ties averaged) with at most about `chunk` values sorted at once. `into` receives the
 * ranks and may be `x` itself: each chunk's values are read before its ranks are written, and later chunks read
 * only their own positions. Throws on NaN, as rankData does.
 */
export function rankDataChunked(x: Float64Array, into?: Float64Array, opts: { chunk?: number } = {}): Float64Array {
  const n = x.length;
  if (into && into.length !== n) throw new Error(`rankData: the output array holds ${into.length} values, not ${n}`);
  const chunk = Math.max(2, Math.floor(opts.chunk ?? RANK_CHUNK));
  const out = into ?? new Float64Array(n);
  if (n <= chunk) {
    // rankData reads all of x before it writes a rank, so this is safe in place too.
    return rankData(x, out);
  }
  for (let i = 0; i < n; i++) if (x[i] !== x[i]) throw nanError(i);
  const splitters = chooseSplitters(x, Math.min(MAX_CHUNKS, Math.ceil(n / chunk)));
  const chunks = splitters.length + 1;
  const id = new Uint8Array(n);
  const counts = new Float64Array(chunks);
  for (let i = 0; i < n; i++) {
    const v = x[i];
    // The number of splitters below v: chunk b holds (s[b−1], s[b]].
    let lo = 0;
    let hi = splitters.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (splitters[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    id[i] = lo;
    counts[lo]++;
  }
  let largest = 0;
  for (let b = 0; b < chunks; b++) largest = Math.max(largest, counts[b]);
  const index = new Uint32Array(largest);
  const values = new Float64Array(largest);
  const ranks = new Float64Array(largest);
  let before = 0;
  for (let b = 0; b < chunks; b++) {
    const c = counts[b];
    if (c === 0) continue;
    let k = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      if (id[i] !== b) continue;
      const v = x[i];
      index[k] = i;
      values[k++] = v;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo === hi) {
      const r = before + (c + 1) / 2;
      for (let q = 0; q < c; q++) out[index[q]] = r;
    } else {
      const local = rankData(values.subarray(0, c), ranks.subarray(0, c));
      for (let q = 0; q < c; q++) out[index[q]] = before + local[q];
    }
    before += c;
  }
  return out;
}

/** Up to `chunks` − 1 distinct splitters at the sample's quantiles, ascending (−0 and +0 are one value). */
function chooseSplitters(x: Float64Array, chunks: number): Float64Array {
  const n = x.length;
  const size = Math.min(n, chunks * SAMPLE_PER_CHUNK);
  const sample = new Float64Array(size);
  const stride = n / size;
  for (let k = 0; k < size; k++) sample[k] = x[Math.min(n - 1, Math.floor(k * stride + stride / 2))];
  sample.sort();
  const out: number[] = [];
  for (let b = 1; b < chunks; b++) {
    const s = sample[Math.floor((b * size) / chunks)] + 0; // + 0 folds −0 into +0
    if (out.length === 0 || s > out[out.length - 1]) out.push(s);
  }
  return Float64Array.from(out);
}
