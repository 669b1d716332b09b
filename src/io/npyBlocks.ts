/**
 * Column blocks of a feature file read straight from its `.npy` data (issue 15, goal 6): a file of n images × D
 * features that does not fit in memory (10⁶ features × 5,000 images in float32 is 20 GB) is read a block of
 * columns at a time, with positional reads into ONE reused byte buffer, and decoded into a caller's float64 block.
 *
 * In a C-order (row-major) file a block of columns is n segments, one per image; in a Fortran-order file it is one
 * contiguous run (each stored column holds one feature of every image), transposed on decode. A Fortran file with
 * more than two axes stores its features in the reverse axis order: the blocks then follow the storage order, and
 * `featureIndex` names a stored column by its C-order index. Every consumer of these blocks (Gram matrices, row sums,
 * per-feature centring) is invariant to the order of the features, so the two orders give the same results.
 *
 * Synchronous reads: a block is thousands of small segments, and one `readSync` costs a fraction of an awaited read;
 * the caller has nothing else to do meanwhile.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { displayPath } from './input.js';
import { LimitError } from './limits.js';
import { formatCount, formatShape, HOST_LITTLE_ENDIAN, MAX_NPY_HEADER_BYTES, parseNpyHeader, product, type NpyHeader } from './npy.js';

/** An open `.npy` feature file read by column blocks; `close()` when done. */
export interface NpyColumnReader {
  /** The path as it starts error messages (input.ts displayPath). */
  readonly file: string;
  readonly n: number;
  /** Features per image (the product of the per-image shape). */
  readonly p: number;
  /** The per-image shape as stored, e.g. [2048] or [7, 7, 512]. */
  readonly shape: number[];
  readonly dtype: 'float32' | 'float64';
  readonly fortranOrder: boolean;
  /**
   * Columns [c0, c0 + cb) in storage order as float64, row-major n × cb, into `out` (at least n·cb long; the block is
   * its first n·cb values). Throws on a non-finite value, naming the file, image and feature.
   */
  readBlock(c0: number, cb: number, out: Float64Array): Float64Array;
  /** The C-order feature index of stored column `c` (the same number unless the file is Fortran-order with > 2 axes). */
  featureIndex(c: number): number;
  close(): void;
}

/**
 * Open `path` and check its header as a float32/float64 feature file whose data is all present. A Buffer path (a
 * file name that is not UTF-8) is opened as it is and shown as input.ts displayPath shows it.
 */
export function openNpyColumns(path: string | Buffer): NpyColumnReader {
  const file = displayPath(path);
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(MAX_NPY_HEADER_BYTES + 12);
    const got = readSync(fd, head, 0, head.length, 0);
    const h = parseNpyHeader(head.subarray(0, got), file);
    const dtype = h.type.kind === 'f' && h.type.size === 4 ? 'float32' : h.type.kind === 'f' && h.type.size === 8 ? 'float64' : undefined;
    if (!dtype) {
      throw new Error(
        `${file}: dtype ${h.descr} cannot be read in column blocks (float32 or float64 only); convert it with x.astype(np.float32), or load it whole`,
      );
    }
    if (h.shape.length < 2) throw new Error(`${file}: features need shape (n_images, n_features, ...), got (${h.shape.join(', ')})`);
    const expected = h.dataOffset + product(h.shape) * h.type.size;
    const size = fstatSync(fd).size;
    if (size !== expected) {
      throw new Error(
        `${file}: ${size < expected ? 'truncated' : 'has extra bytes'}: the header says ${formatShape(h.shape)} ${dtype} (${formatCount(expected)} bytes with the header) but the file has ${formatCount(size)} bytes; re-create it`,
      );
    }
    return new Reader(file, fd, h, dtype);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

class Reader implements NpyColumnReader {
  readonly n: number;
  readonly p: number;
  readonly shape: number[];
  readonly fortranOrder: boolean;
  private readonly size: number;
  private readonly little: boolean;
  private readonly dataOffset: number;
  private bytes = Buffer.alloc(0);
  private open = true;

  constructor(
    readonly file: string,
    private readonly fd: number,
    h: NpyHeader,
    readonly dtype: 'float32' | 'float64',
  ) {
    this.n = h.shape[0];
    this.shape = h.shape.slice(1);
    this.p = product(this.shape);
    this.fortranOrder = h.fortranOrder;
    this.size = h.type.size;
    this.little = h.type.byteOrder === '<' || (h.type.byteOrder !== '>' && HOST_LITTLE_ENDIAN);
    this.dataOffset = h.dataOffset;
  }

  readBlock(c0: number, cb: number, out: Float64Array): Float64Array {
    const { n, p, size } = this;
    if (!this.open) throw new Error(`${this.file}: read after close`);
    if (!(Number.isSafeInteger(c0) && Number.isSafeInteger(cb) && c0 >= 0 && cb > 0 && c0 + cb <= p)) {
      throw new RangeError(`${this.file}: columns ${c0}..${c0 + cb} are outside its ${p} features`);
    }
    if (out.length < n * cb) throw new RangeError(`${this.file}: the block array holds ${out.length} values, not ${n}×${cb}`);
    const need = n * cb * size;
    if (this.bytes.length < need) {
      if (need > 2 ** 31 - 1) throw new LimitError(`${this.file}: a block of ${formatCount(cb)} columns is over 2 GiB; use narrower blocks`);
      this.bytes = Buffer.allocUnsafeSlow(need);
    }
    const bytes = this.bytes;
    if (this.fortranOrder) {
      this.readFully(bytes, 0, need, this.dataOffset + c0 * n * size);
    } else if (cb === p) {
      this.readFully(bytes, 0, need, this.dataOffset);
    } else {
      const seg = cb * size;
      for (let i = 0; i < n; i++) this.readFully(bytes, i * seg, seg, this.dataOffset + (i * p + c0) * size);
    }
    const block = out.subarray(0, n * cb);
    this.decode(bytes, need, cb, block);
    this.checkFinite(block, c0, cb);
    return block;
  }

  /** Stored bytes → float64 row-major n × cb (transposed from column runs for a Fortran-order file). */
  private decode(bytes: Buffer, length: number, cb: number, out: Float64Array): void {
    const { n } = this;
    const native = this.little === HOST_LITTLE_ENDIAN;
    let src: ArrayLike<number>;
    if (native) {
      // The buffer starts on its own allocation, so the view is aligned.
      src =
        this.dtype === 'float32' ? new Float32Array(bytes.buffer, bytes.byteOffset, length / 4) : new Float64Array(bytes.buffer, bytes.byteOffset, length / 8);
    } else {
      const view = new DataView(bytes.buffer, bytes.byteOffset, length);
      const values = new Float64Array(length / this.size);
      for (let k = 0; k < values.length; k++) values[k] = this.dtype === 'float32' ? view.getFloat32(4 * k, this.little) : view.getFloat64(8 * k, this.little);
      src = values;
    }
    if (!this.fortranOrder) {
      out.set(src);
      return;
    }
    for (let c = 0; c < cb; c++) {
      const base = c * n;
      for (let i = 0; i < n; i++) out[i * cb + c] = src[base + i];
    }
  }

  private checkFinite(block: Float64Array, c0: number, cb: number): void {
    for (let k = 0; k < block.length; k++) {
      const v = block[k];
      if (v - v !== 0) {
        const i = Math.floor(k / cb);
        const feature = this.featureIndex(c0 + (k - i * cb));
        throw new Error(
          `${this.file}: ${v} at image ${i}, feature ${feature} (the first non-finite value in that block of features); features must be finite — check the extraction (e.g. log of 0, overflow in float16) or drop that image from every model`,
        );
      }
    }
  }

  featureIndex(c: number): number {
    if (!this.fortranOrder || this.shape.length < 2) return c;
    // Stored column c is the Fortran-order flat index over the per-image axes: unravel it (first axis fastest), ravel C-order.
    const idx: number[] = [];
    let rest = c;
    for (const d of this.shape) {
      idx.push(rest % d);
      rest = Math.floor(rest / d);
    }
    let f = 0;
    for (let a = 0; a < this.shape.length; a++) f = f * this.shape[a] + idx[a];
    return f;
  }

  private readFully(buf: Buffer, offset: number, length: number, position: number): void {
    let done = 0;
    while (done < length) {
      const got = readSync(this.fd, buf, offset + done, length - done, position + done);
      if (got === 0) throw new Error(`${this.file}: truncated while reading (the file shrank after it was opened); run again`);
      done += got;
    }
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    closeSync(this.fd);
  }
}
