/**
 * HDF5 files (h5py's format) through h5wasm, the HDF5 C library compiled to WebAssembly: it ships its WASM inside
 * the package, so it works offline and needs no native build.
 *
 * The file is read like every other input (readInputFile: a regular file, no larger than the memory budget) and
 * handed to h5wasm's in-memory file system, never opened by path, so HDF5 external links and external storage
 * cannot reach other files. Before a dataset is read, its size from the metadata (shape × element size, counted
 * twice: the WASM heap holds a copy while it is converted) is checked against the budget. Only numeric datasets
 * (integers and IEEE floats, little-endian) become arrays; strings are read only as labels, and compound,
 * enum, reference, variable-length and opaque types are refused with a message naming the dataset.
 */
import type { Dataset, Group, File as H5File, Metadata } from 'h5wasm';
import { displayPath, readInputFile } from './input.js';
import { checkAllocation, checkCount, excerpt } from './limits.js';
import { formatShape, product, type DType, type NdArray } from './npy.js';

/** HDF5 datatype classes (H5T_class_t) as h5wasm's metadata reports them. */
const H5T = { INTEGER: 0, FLOAT: 1, STRING: 3 } as const;
const CLASS_NAMES: Record<number, string> = {
  2: 'time',
  4: 'bitfield',
  5: 'opaque',
  6: 'compound',
  7: 'reference',
  8: 'enum',
  9: 'variable-length',
  10: 'array',
};

/** Most objects (groups + datasets) walked in one file: a bound on time, not memory. */
export const MAX_HDF5_OBJECTS = 100_000;

/** The signature every HDF5 file starts with (at offset 0, or 512, 1024, … when a user block precedes it). */
const SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Whether bytes look like an HDF5 file (signature at 0 or at a power-of-two user-block offset ≥ 512). */
export function isHdf5(bytes: Uint8Array): boolean {
  for (let at = 0; at + 8 <= bytes.length; at = at === 0 ? 512 : at * 2) {
    if (Buffer.from(bytes.buffer, bytes.byteOffset + at, 8).equals(SIGNATURE)) return true;
  }
  return false;
}

let counter = 0;

type H5wasm = typeof import('h5wasm');
let h5wasmModule: Promise<H5wasm> | undefined;

/** h5wasm, loaded on first use: its WASM start-up (~0.15 s) is not paid by commands that never read HDF5. */
function loadH5wasm(): Promise<H5wasm> {
  h5wasmModule ??= import('h5wasm').catch((e: unknown) => {
    h5wasmModule = undefined;
    throw e;
  });
  return h5wasmModule;
}

/** An open HDF5 file; `close` releases it (always call it, in a finally). */
export class Hdf5File {
  private constructor(
    private readonly h5wasm: H5wasm,
    private readonly file: H5File,
    private readonly memPath: string,
    /** The file as shown in messages. */
    readonly name: string,
  ) {}

  /** Open `path` (bytes read through readInputFile). */
  static async open(path: string, what = 'an HDF5 file'): Promise<Hdf5File> {
    const name = displayPath(path);
    const bytes = await readInputFile(path, what);
    return Hdf5File.fromBytes(bytes, name);
  }

  /** Open HDF5 bytes; `name` names them in messages. */
  static async fromBytes(bytes: Uint8Array, name: string): Promise<Hdf5File> {
    if (!isHdf5(bytes)) throw new Error(`${name}: not an HDF5 file (no HDF5 signature); expected a file written by h5py / HDF5`);
    // The WASM heap takes a copy of the file.
    checkAllocation(`loading this ${bytes.length.toLocaleString('en-US')}-byte HDF5 file into the HDF5 library`, bytes.length, name);
    const h5wasm = await loadH5wasm();
    const { FS } = await h5wasm.ready;
    const memPath = `/taskmap-${process.pid}-${++counter}.h5`;
    FS.writeFile(memPath, bytes);
    let file: H5File;
    try {
      file = new h5wasm.File(memPath, 'r');
    } catch (e) {
      FS.unlink(memPath);
      throw new Error(`${name}: not a readable HDF5 file (${(e as Error).message})`, { cause: e });
    }
    return new Hdf5File(h5wasm, file, memPath, name);
  }

  close(): void {
    try {
      this.file.close();
    } finally {
      void this.h5wasm.ready.then(({ FS }) => FS.unlink(this.memPath));
    }
  }

  /** The root group. */
  get root(): Group {
    return this.file;
  }

  /** The dataset or group at `path`, or undefined (links to elsewhere count as absent). */
  get(path: string): Dataset | Group | undefined {
    const e = this.file.get(path);
    return e instanceof this.h5wasm.Dataset || e instanceof this.h5wasm.Group ? e : undefined;
  }

  /**
   * Every dataset under `group` (default: the root), depth first in name order, by path without the leading `/`
   * (`features`, `layer1/conv`). Soft, external and broken links are not followed.
   */
  datasets(group: Group = this.file): { path: string; dataset: Dataset }[] {
    const out: { path: string; dataset: Dataset }[] = [];
    let seen = 0;
    const walk = (g: Group, prefix: string) => {
      for (const key of [...g.keys()].sort()) {
        checkCount('objects in the file', ++seen, MAX_HDF5_OBJECTS, 'split the file', this.name);
        const e = g.get(key);
        const path = prefix ? `${prefix}/${key}` : key;
        if (e instanceof this.h5wasm.Group) walk(e, path);
        else if (e instanceof this.h5wasm.Dataset) out.push({ path, dataset: e });
      }
    };
    walk(group, group === this.file ? '' : group.path.replace(/^\//, ''));
    return out;
  }

  /** What a dataset holds, for messages and dispatch: 'numeric', 'string', 'empty' or the refused class. */
  kindOf(dataset: Dataset): 'numeric' | 'string' | 'empty' | string {
    const m = dataset.metadata;
    if (m.shape === null) return 'empty';
    if (m.type === H5T.INTEGER || m.type === H5T.FLOAT) return 'numeric';
    if (m.type === H5T.STRING) return 'string';
    return CLASS_NAMES[m.type] ?? `class ${m.type}`;
  }

  /** A numeric dataset as an NdArray (C order), after checking its size against the memory budget. */
  readArray(path: string, dataset?: Dataset): NdArray {
    const ds = dataset ?? this.datasetAt(path);
    const where = `${this.name}:${path}`;
    const m = ds.metadata;
    if (m.shape === null) throw new Error(`${where}: an empty dataset (no data)`);
    const dtype = numericDType(m, where);
    const shape = m.shape;
    const count = product(shape);
    // Read into the WASM heap, then copied out: twice the data.
    checkAllocation(`the ${formatShape(shape)} ${dtype} dataset`, 2 * count * m.size, where);
    const value = ds.value;
    if (!ArrayBuffer.isView(value)) throw new Error(`${where}: the HDF5 library returned no array for this ${dtype} dataset`);
    const data = value as NdArray['data'];
    if (data.length !== count) throw new Error(`${where}: ${data.length} values read for shape ${formatShape(shape)}`);
    return { dtype, shape: [...shape], data };
  }

  /** A string dataset (fixed or variable length) as a flat list, size-checked; `what` says what it is for. */
  readStrings(path: string, dataset?: Dataset): string[] {
    const ds = dataset ?? this.datasetAt(path);
    const where = `${this.name}:${path}`;
    const m = ds.metadata;
    if (m.shape === null) return [];
    if (m.type !== H5T.STRING) throw new Error(`${where}: expected strings, found ${this.kindOf(ds)} data`);
    const count = product(m.shape);
    // Fixed-length strings: size bytes each; variable-length: unknown here, so count a generous 256 bytes each.
    checkAllocation(`the ${formatShape(m.shape)} string dataset`, count * (m.vlen ? 256 : Math.max(1, m.size)) * 2 + count * 64, where, true);
    const value = ds.value;
    const flat: unknown[] = Array.isArray(value) ? (value as unknown[]).flat(Infinity) : [value];
    return flat.map((v) => (typeof v === 'string' ? v : v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : String(v)));
  }

  /** A string or number attribute of `path` ('' or '/' = the root), or undefined when absent or of another type. */
  attribute(path: string, key: string): string | number | undefined {
    const e = path === '' || path === '/' ? this.file : this.file.get(path);
    if (!(e instanceof this.h5wasm.Group || e instanceof this.h5wasm.Dataset)) return undefined;
    const attrs = e.attrs as Record<string, { metadata: Metadata; value: unknown } | undefined>;
    const a = attrs[key];
    if (!a) return undefined;
    const size = a.metadata.shape ? product(a.metadata.shape) : 1;
    if (size > 1) return undefined;
    const v = a.value;
    if (typeof v === 'string' || typeof v === 'number') return v;
    if (ArrayBuffer.isView(v) && (v as Float64Array).length === 1 && typeof (v as Float64Array)[0] === 'number') return (v as Float64Array)[0];
    return undefined;
  }

  private datasetAt(path: string): Dataset {
    const e = this.file.get(path);
    if (!(e instanceof this.h5wasm.Dataset)) throw new Error(`${this.name}: no dataset ${excerpt(path)}`);
    return e;
  }
}

/** The NdArray dtype of a numeric HDF5 datatype, or a clear refusal. */
function numericDType(m: Metadata, where: string): DType {
  if (m.type !== H5T.INTEGER && m.type !== H5T.FLOAT) {
    const kind = m.type === H5T.STRING ? 'string' : (CLASS_NAMES[m.type] ?? `class ${m.type}`);
    throw new Error(`${where}: holds ${kind} data; only numeric datasets (integers, float32, float64) can be read as arrays`);
  }
  if (!m.littleEndian && m.size > 1) {
    throw new Error(`${where}: a big-endian dataset; save it little-endian (h5py's default, e.g. data.astype('<f4'))`);
  }
  if (m.type === H5T.FLOAT) {
    if (m.size === 4) return 'float32';
    if (m.size === 8) return 'float64';
    throw new Error(`${where}: ${m.size * 8}-bit floats are not supported; convert to float32 (e.g. x.astype(np.float32))`);
  }
  const bits = m.size * 8;
  if (![8, 16, 32, 64].includes(bits)) throw new Error(`${where}: ${bits}-bit integers are not supported`);
  return `${m.signed ? 'int' : 'uint'}${bits}` as DType;
}

/**
 * Run `fn` on the open file and always close it.
 */
export async function withHdf5<T>(path: string, fn: (f: Hdf5File) => T | Promise<T>, what?: string): Promise<T> {
  const f = await Hdf5File.open(path, what);
  try {
    return await fn(f);
  } finally {
    f.close();
  }
}
