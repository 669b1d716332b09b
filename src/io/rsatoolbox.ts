/**
 * RDMs saved by rsatoolbox (`RDMs.save(path, file_type='hdf5' | 'pkl')`), read as labelled matrices.
 *
 * Both formats hold `RDMs.to_dict()`: `dissimilarities` (n_rdm × n_pairs float, each row the upper triangle of
 * one RDM above the diagonal in row-major order, as np.triu_indices(n, k=1) and scipy's squareform list it),
 * `dissimilarity_measure` (a string, or None), `descriptors` (a dict), `rdm_descriptors` and
 * `pattern_descriptors` (dicts of per-RDM / per-pattern lists, e.g. {"index": [0, 1, …]}). In HDF5 strings are
 * attributes, dicts are groups and lists are datasets (str lists as byte strings); the pickle is the dict itself
 * (read with the restricted unpickler, so nothing in it is executed).
 *
 * Labels: the patterns (rows = columns) take the first pattern descriptor other than `index` whose values are
 * unique, else `index`, else 0…n−1; each RDM takes the same rule over the RDM descriptors.
 */
import type { LabelledMatrix } from '../linalg/labelled.js';
import { Hdf5File, isHdf5 } from './hdf5.js';
import { displayPath, readInputFile } from './input.js';
import { checkAllocation, summarize } from './limits.js';
import { formatShape, type NdArray } from './npy.js';
import { unpickle } from './pickle.js';

export interface RsatoolboxRdm {
  /** From the RDM descriptors (see the module comment). */
  label: string;
  /** Square, symmetric, zero diagonal; rows = cols = pattern labels. */
  matrix: LabelledMatrix;
}

export interface RsatoolboxRdms {
  /** `dissimilarity_measure`, when set. */
  measure?: string;
  /** The pattern descriptor the labels came from ('' when they are 0…n−1). */
  patternDescriptor: string;
  patterns: string[];
  rdms: RsatoolboxRdm[];
}

/** Whether an unpickled value is an rsatoolbox RDMs dict. */
export function isRsatoolboxDict(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'dissimilarities' in v && ('pattern_descriptors' in v || 'rdm_descriptors' in v);
}

/** Whether an open HDF5 file is an rsatoolbox RDMs file. */
export function isRsatoolboxHdf5(f: Hdf5File): boolean {
  const d = f.get('dissimilarities');
  return d !== undefined && 'metadata' in d && (f.attribute('', 'rsatoolbox_version') !== undefined || f.get('pattern_descriptors') !== undefined);
}

type Descriptors = Map<string, unknown[]>;

function asList(v: unknown): unknown[] | undefined {
  if (Array.isArray(v)) return v.flat(Infinity);
  if (typeof v === 'object' && v !== null && 'dtype' in v && 'data' in v && ArrayBuffer.isView((v as NdArray).data)) {
    return Array.from((v as NdArray).data as ArrayLike<number | bigint>, (x) => (typeof x === 'bigint' ? x.toString() : x));
  }
  if (typeof v === 'string' || typeof v === 'number') return [v];
  return undefined;
}

/** Pick labels: first unique descriptor other than "index", then "index", then 0…n−1. */
function pickLabels(desc: Descriptors, n: number): { name: string; labels: string[] } {
  const usable = (name: string) => {
    const l = desc.get(name);
    if (!l || l.length !== n) return undefined;
    const labels = l.map((x) => String(x));
    return new Set(labels).size === n ? labels : undefined;
  };
  for (const name of desc.keys()) {
    if (name === 'index') continue;
    const l = usable(name);
    if (l) return { name, labels: l };
  }
  const idx = usable('index');
  if (idx) return { name: 'index', labels: idx };
  return { name: '', labels: Array.from({ length: n }, (_, i) => String(i)) };
}

/** Build the RDMs from the vectorised dissimilarities and the descriptors; `name` names the file in errors. */
function assemble(dis: NdArray, measure: string | undefined, patternDesc: Descriptors, rdmDesc: Descriptors, name: string): RsatoolboxRdms {
  if (dis.dtype !== 'float32' && dis.dtype !== 'float64') throw new Error(`${name}: dissimilarities are ${dis.dtype}; expected float32 or float64`);
  const [nRdm, declaredPairs] = dis.shape.length === 2 ? dis.shape : dis.shape.length === 1 ? [1, dis.shape[0]] : [-1, -1];
  let pairs = declaredPairs;
  if (nRdm < 0) throw new Error(`${name}: dissimilarities have shape ${formatShape(dis.shape)}; expected (n_rdm, n_pairs) vectors`);
  const n = Math.round((1 + Math.sqrt(1 + 8 * pairs)) / 2);
  if ((n * (n - 1)) / 2 !== pairs || n < 2) {
    throw new Error(`${name}: ${pairs} dissimilarities per RDM is not n(n−1)/2 for any n; expected the vectorised upper triangle`);
  }
  pairs = (n * (n - 1)) / 2;
  checkAllocation(`${nRdm} RDMs of ${n}×${n}`, nRdm * n * n * 8, name);
  const patterns = pickLabels(patternDesc, n);
  const rdmLabels = pickLabels(rdmDesc, nRdm);
  const rdms: RsatoolboxRdm[] = [];
  for (let r = 0; r < nRdm; r++) {
    const data = new Float64Array(n * n);
    let k = r * pairs;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const v = Number(dis.data[k++]);
        data[i * n + j] = v;
        data[j * n + i] = v;
      }
    }
    const matrix: LabelledMatrix = { rows: patterns.labels, cols: patterns.labels, matrix: { rows: n, cols: n, data } };
    if (measure) matrix.measure = measure;
    rdms.push({ label: rdmLabels.labels[r], matrix });
  }
  const out: RsatoolboxRdms = { patternDescriptor: patterns.name, patterns: patterns.labels, rdms };
  if (measure) out.measure = measure;
  return out;
}

/** RDMs from an open rsatoolbox HDF5 file. */
export function rsatoolboxFromHdf5(f: Hdf5File): RsatoolboxRdms {
  const dis = f.readArray('dissimilarities');
  const measure = f.attribute('', 'dissimilarity_measure');
  const descriptors = (group: string): Descriptors => {
    const out: Descriptors = new Map();
    const g = f.get(group);
    if (!g || 'metadata' in g) return out;
    for (const { path, dataset } of f.datasets(g)) {
      const key = path.slice(group.length + 1);
      if (key.includes('/')) continue;
      const kind = f.kindOf(dataset);
      if (kind === 'string') out.set(key, f.readStrings(path, dataset));
      else if (kind === 'numeric' && dataset.metadata.shape!.length <= 1) out.set(key, asList(f.readArray(path, dataset)) ?? []);
    }
    return out;
  };
  return assemble(dis, typeof measure === 'string' ? measure : undefined, descriptors('pattern_descriptors'), descriptors('rdm_descriptors'), f.name);
}

/** RDMs from an unpickled rsatoolbox dict. */
export function rsatoolboxFromDict(d: Record<string, unknown>, name: string): RsatoolboxRdms {
  const dis = d.dissimilarities as NdArray;
  if (typeof dis !== 'object' || dis === null || !('dtype' in dis) || !ArrayBuffer.isView(dis.data)) {
    throw new Error(`${name}: "dissimilarities" is ${summarize(dis)}; expected a numpy array`);
  }
  const descriptors = (key: string): Descriptors => {
    const out: Descriptors = new Map();
    const v = d[key];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return out;
    for (const [k, list] of Object.entries(v)) {
      const l = asList(list);
      if (l) out.set(k, l);
    }
    return out;
  };
  const measure = d.dissimilarity_measure;
  return assemble(dis, typeof measure === 'string' ? measure : undefined, descriptors('pattern_descriptors'), descriptors('rdm_descriptors'), name);
}

/** The one RDM of a file as a labelled matrix; several RDMs are an error listing them. */
export function singleRdm(r: RsatoolboxRdms, name: string): LabelledMatrix {
  if (r.rdms.length === 1) return r.rdms[0].matrix;
  const shown = r.rdms
    .slice(0, 10)
    .map((x) => `"${x.label}"`)
    .join(', ');
  throw new Error(
    `${name}: holds ${r.rdms.length} RDMs (${shown}${r.rdms.length > 10 ? ', …' : ''}); a matrix argument takes one — save one with rdms[i].save(…) in rsatoolbox, or read them all with readRsatoolboxRdms`,
  );
}

/** Every RDM of an rsatoolbox file, HDF5 or pickle (told apart by content, whatever the extension). */
export async function readRsatoolboxRdms(path: string): Promise<RsatoolboxRdms> {
  const name = displayPath(path);
  const bytes = await readInputFile(path, 'an rsatoolbox RDMs file (.hdf5 or .pkl)');
  if (isHdf5(bytes)) {
    const f = await Hdf5File.fromBytes(bytes, name);
    try {
      if (!isRsatoolboxHdf5(f)) throw new Error(`${name}: an HDF5 file without rsatoolbox's "dissimilarities" and descriptors; not an RDMs file`);
      return rsatoolboxFromHdf5(f);
    } finally {
      f.close();
    }
  }
  const v = unpickle(bytes, name);
  if (!isRsatoolboxDict(v)) throw new Error(`${name}: holds ${summarize(v)}, not an rsatoolbox RDMs dict (with "dissimilarities")`);
  return rsatoolboxFromDict(v, name);
}
