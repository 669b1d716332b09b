/**
 * Feature sets on disk: the features of several models (or model/layer taps) on the same probe images.
 *
 *   directory     one `<label>.npy` per member; files in subdirectories get the label `sub/name`. Other files, and
 *                 hidden (dot) files and directories, are ignored (so `.x.npy.tmp` from an interrupted save is too).
 *   file.npz      each array is a member, labelled by its key.
 *   file.safetensors  each tensor is a member, labelled by its name.
 *   file.npy      a one-member set.
 *   file.h5 / .hdf5  each numeric dataset is a member, labelled by its path (thingsvision's `features.hdf5`:
 *                 the member `features`); see external.ts.
 *   Net2Brain folder  a directory with no .npy but Net2Brain's .npz files (per image or per layer); external.ts.
 *
 * Every member must be float32 or float64 (float16 is widened to float32 on read), with shape (n_images, ...):
 * trailing dimensions are flattened in C order and kept in `shape`. A 1-d array (n,) is refused rather than read
 * as n images × 1 feature, because it is just as likely one image's feature vector; save x[:, None] to mean the
 * former. Members need the same n ≥ 3 and finite values. Data stays in the typed array the file was decoded into
 * (no copy when the file is little-endian, C order and aligned).
 *
 * Image identity (imageIdentity.ts): members of a folder written by `taskmap extract` carry the SHA-256 of their
 * images from its manifest.json; `images` (an images list) gives ids to members without them and is checked
 * against those with them. Members whose ids differ are an error.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, extname, isAbsolute, join } from 'node:path';
import { firstNonFinite } from '../linalg/dense.js';
import { writeFileAtomic } from '../io/atomic.js';
import { displayPath, readInputFile, readInputFileInto, readInputHead, type ReadBuffer } from '../io/input.js';
import { formatCount, formatShape, MAX_NPY_HEADER_BYTES, numericDType, parseNpyHeader, product, readNpy, writeNpy, type NdArray } from '../io/npy.js';
import { npzKeys, readNpz } from '../io/npz.js';
import { readHdf5Features, readNet2BrainDir } from './external.js';
import { readSafetensors } from '../io/safetensors.js';
import { applyImageList, attachManifestImages, checkImageIds, manifestOfFile, setOrigin, type ImageList } from './imageIdentity.js';
import type { FeatureSet, FeatureSetSource, Representation, RepresentationInfo } from './types.js';

export const MIN_IMAGES = 3;

export interface LoadFeatureSetOptions {
  /** Members in this order; also selects them (labels not listed are not loaded). */
  order?: string[];
  /** Load only these members (result sorted by label unless `order` is given, which must then be a subset). */
  keys?: string[];
  /** Image ids for members that carry none (e.g. from `readImagesList`); members with ids are checked against them. */
  images?: ImageList;
}

/** Options of `loadRepresentation`. */
export interface LoadRepresentationOptions {
  /** Image ids, when the file is not in an extracted folder (e.g. from `readImagesList`); checked against the manifest's otherwise. */
  images?: ImageList;
}

/** Check a stored array's type and shape as features (n ≥ MIN_IMAGES images, ≥ 1 feature); `source` names it in errors. */
function featureShape(dtype: string, stored: readonly number[], source: string): { n: number; p: number; shape: number[] } {
  if (dtype !== 'float32' && dtype !== 'float64') {
    throw new Error(`unsupported dtype ${dtype} in ${source}: convert features to float32/float64 (e.g. x.astype(np.float32))`);
  }
  if (stored.length === 0) throw new Error(`${source}: a 0-d (scalar) array is not a feature matrix; features need shape (n_images, n_features, ...)`);
  if (stored.length === 1) {
    throw new Error(
      `${source}: 1-d array of shape (${stored[0]},) is ambiguous; features need shape (n_images, n_features, ...) — if it holds one feature per image, save it as x[:, None], shape (${stored[0]}, 1)`,
    );
  }
  const n = stored[0];
  const shape = stored.slice(1);
  const p = product(shape);
  if (n < MIN_IMAGES)
    throw new Error(
      `${source}: only ${n} image${n === 1 ? '' : 's'} (shape ${formatShape(stored)}); similarity measures need at least ${MIN_IMAGES} images (typically a few hundred)`,
    );
  if (p === 0) throw new Error(`${source}: no features per image (shape ${formatShape(stored)})`);
  return { n, p, shape };
}

/** Validate one array as features and wrap it (no copy). `source` names it in errors. */
export function toRepresentation(arr: NdArray, label: string, source: string): Representation {
  const { n, p, shape } = featureShape(arr.dtype, arr.shape, source);
  const data = arr.data as Float32Array | Float64Array;
  const bad = firstNonFinite(data);
  if (bad >= 0) {
    throw new Error(
      `${source}: ${data[bad]} at image ${Math.floor(bad / p)}, feature ${bad % p} (the first non-finite value); features must be finite — check the extraction (e.g. log of 0, overflow in float16) or drop that image from every model`,
    );
  }
  return { label, n, p, shape, data, source };
}

/**
 * Read one .npy as a representation (used for single-file targets); the label defaults to the base name. A file
 * inside a folder written by `taskmap extract` takes its image ids from the manifest.
 */
export async function loadRepresentation(path: string, label?: string, opts: LoadRepresentationOptions = {}): Promise<Representation> {
  if (extname(path).toLowerCase() !== '.npy') throw new Error(`${path}: expected a .npy file of features, shape (n_images, n_features, ...)`);
  const rep = toRepresentation(
    readNpy(await readInputFile(path, 'a .npy file of features'), displayPath(path)),
    label ?? basename(path).slice(0, -4),
    displayPath(path),
  );
  setOrigin(rep, displayPath(path));
  const recorded = await checkedManifestOfFile(path, rep.n, rep.source);
  if (recorded.featureLayout) rep.featureLayout = recorded.featureLayout;
  if (recorded.images) applyImageList(rep, recorded.images);
  applyImageList(rep, opts.images);
  return rep;
}

/**
 * What a manifest beside a single .npy file records for it, checked against the file's `rows`: a folder whose
 * manifest lists another number of images is out of date, whether the file is then loaded or streamed.
 */
export async function checkedManifestOfFile(path: string, rows: number, source = displayPath(path)): Promise<Awaited<ReturnType<typeof manifestOfFile>>> {
  const recorded = await manifestOfFile(path);
  const fromManifest = recorded.images;
  if (fromManifest && fromManifest.ids.length !== rows) {
    throw new Error(
      `${source}: has ${rows} rows but ${fromManifest.from} lists ${fromManifest.ids.length} images for it; the folder is out of date (an interrupted extraction?) — re-run \`taskmap extract\` on it`,
    );
  }
  return recorded;
}

function checkDuplicates(labels: string[], name: string, what: string): void {
  const seen = new Set<string>();
  for (const l of labels) {
    if (seen.has(l)) throw new Error(`${name}: label "${l}" appears twice in ${what}`);
    seen.add(l);
  }
}

/** The labels to load, in result order. */
function selectLabels(available: string[], opts: LoadFeatureSetOptions, name: string): string[] {
  const avail = new Set(available);
  const check = (list: string[], what: string) => {
    checkDuplicates(list, name, what);
    for (const l of list) {
      if (!avail.has(l)) throw new Error(`${name}: unknown label "${l}" in ${what}; available labels: ${[...available].sort().join(', ')}`);
    }
  };
  if (opts.keys) check(opts.keys, 'keys');
  if (opts.order) {
    check(opts.order, 'order');
    const keys = opts.keys ? new Set(opts.keys) : undefined;
    const outside = keys ? opts.order.filter((l) => !keys.has(l)) : [];
    if (outside.length > 0) throw new Error(`${name}: order lists ${outside.join(', ')}, which keys leaves out`);
    return [...opts.order];
  }
  return [...(opts.keys ?? available)].sort();
}

/**
 * All `.npy` files under `dir` (label → path), skipping dot entries; symlinked directories are followed once.
 * Names are read as bytes, so a name that is not UTF-8 is still opened by its real bytes (a decoded string would
 * be lossy); its label and messages show it escaped (displayPath). Labels that differ only in the case of the
 * extension (a.npy, a.NPY) are an error naming both rather than a silent pick.
 */
async function listNpyFiles(dir: string): Promise<{ files: Map<string, Buffer>; ignored: number }> {
  const files = new Map<string, Buffer>();
  let ignored = 0;
  const visited = new Set<string>();
  const walk = async (abs: Buffer, rel: string): Promise<void> => {
    const real = await realpath(abs);
    if (visited.has(real)) return;
    visited.add(real);
    const entries = await readdir(abs, { withFileTypes: true, encoding: 'buffer' });
    for (const e of entries) {
      const raw = e.name;
      if (raw[0] === 0x2e) continue;
      const path = Buffer.concat([abs, Buffer.from(abs[abs.length - 1] === 0x2f ? '' : '/'), raw]);
      const isDir =
        e.isDirectory() ||
        (e.isSymbolicLink() &&
          (await stat(path).then(
            (s) => s.isDirectory(),
            () => false,
          )));
      const isNpy = !isDir && raw.length > 4 && raw.subarray(-4).toString('latin1').toLowerCase() === '.npy';
      const shown = displayPath(isNpy ? raw.subarray(0, -4) : raw);
      const label = rel ? `${rel}/${shown}` : shown;
      if (isDir) await walk(path, label);
      else if (isNpy) {
        const key = label;
        const clash = files.get(key);
        if (clash) {
          throw new Error(`${displayPath(clash)} and ${displayPath(path)} both give the label "${key}"; rename one of them (labels must be unique)`);
        }
        files.set(key, path);
      } else ignored++;
    }
  };
  await walk(Buffer.from(dir), '');
  return { files, ignored };
}

/** The labels of a feature-set folder's `.npy` members, sorted, exactly as the loader labels them. */
export async function featureFolderLabels(dir: string): Promise<string[]> {
  return [...(await listNpyFiles(dir)).files.keys()].sort();
}

/**
 * Check that members agree on the number of images (the error lists the counts) and, where they carry ids, on
 * the images themselves; `images` gives ids to members without them.
 */
function assembleSet<T extends RepresentationInfo>(members: T[], name: string, images?: ImageList): { n: number; members: T[]; images?: string[] } {
  const counts = new Map<number, string[]>();
  for (const m of members) counts.set(m.n, [...(counts.get(m.n) ?? []), m.label]);
  if (counts.size > 1) {
    const list = [...counts]
      .sort((a, b) => b[1].length - a[1].length)
      .map(([n, labels]) => `${formatCount(n)} images: ${labels.slice(0, 10).join(', ')}${labels.length > 10 ? ` (+${labels.length - 10} more)` : ''}`)
      .join('; ');
    throw new Error(`${name}: members have different numbers of images (${list}); every model must be run on the same probe images in the same order`);
  }
  for (const m of members) {
    setOrigin(m, name);
    applyImageList(m, images);
  }
  checkImageIds(members, `${name}: members`);
  const set: { n: number; members: T[]; images?: string[] } = { n: members[0].n, members };
  if (members.every((m) => m.images)) set.images = members[0].images;
  return set;
}

async function statFeatureSet(path: string): Promise<Stats> {
  return stat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw new Error(`${path}: no such file or directory; a feature set is a directory of .npy files, a .npz or a .safetensors file`);
    throw e;
  });
}

/**
 * A feature set whose members are read when asked for (FeatureSetSource). A folder of .npy files is described from
 * the headers and its manifest alone — every check of loadFeatureSet except that of the values is made before any
 * member is read — and `read(i, buffer)` reads one file, into the caller's buffer when given. Other formats (an
 * .npz, .safetensors or HDF5 file, a Net2Brain folder) are loaded whole, as their members share files.
 */
export async function openFeatureSet(path: string, opts: LoadFeatureSetOptions = {}): Promise<FeatureSetSource> {
  const st = await statFeatureSet(path);
  const { files } = st.isDirectory() ? await listNpyFiles(path) : { files: new Map<string, Buffer>() };
  if (files.size === 0) {
    const set = await loadFeatureSet(path, opts);
    return { ...set, read: async (i) => set.members[i] };
  }
  return openNpyFolder(path, files, opts);
}

/** openFeatureSet of a folder with .npy files (`files`: label → path, from listNpyFiles). */
async function openNpyFolder(path: string, files: Map<string, Buffer>, opts: LoadFeatureSetOptions): Promise<FeatureSetSource> {
  const labels = selectLabels([...files.keys()], opts, path);
  const infos = await Promise.all(labels.map((label) => memberInfo(files.get(label)!, label)));
  await attachManifestImages(path, infos, (label) => `${label}.npy`);
  const set = assembleSet(infos, path, opts.images);
  const read = async (i: number, buffer?: ReadBuffer): Promise<Representation> => {
    const info = set.members[i];
    const file = files.get(info.label)!;
    const bytes = buffer ? await readInputFileInto(file, buffer, NPY_FEATURES) : await readInputFile(file, NPY_FEATURES);
    const { data, n, p } = toRepresentation(readNpy(bytes, info.source), info.label, info.source);
    if (n !== info.n || p !== info.p) {
      throw new Error(
        `${info.source}: changed while it was being used (${formatCount(info.n)} × ${formatCount(info.p)} when the set was opened, ${formatCount(n)} × ${formatCount(p)} now); run again`,
      );
    }
    const rep: Representation = { ...info, data };
    if (info.origin !== undefined) setOrigin(rep, info.origin);
    return rep;
  };
  const file = (i: number): Buffer => files.get(set.members[i].label)!;
  return { ...set, read, file, reopen: { path, order: labels, ...(opts.images ? { images: opts.images } : {}) } };
}

const NPY_FEATURES = 'a .npy file of features';

/**
 * A member's description from its .npy header. A file the header alone cannot vouch for (a type other than float,
 * a size that does not match the header) is read whole, so that the error is the reader's own.
 */
async function memberInfo(file: Buffer, label: string): Promise<RepresentationInfo> {
  const source = displayPath(file);
  const { head, size } = await readInputHead(file, MAX_NPY_HEADER_BYTES + 12, NPY_FEATURES);
  const h = parseNpyHeader(head, source);
  const dtype = numericDType(h.type);
  if ((dtype !== 'float32' && dtype !== 'float64') || h.type.kind === 'O' || size !== h.dataOffset + product(h.shape) * h.type.size) {
    toRepresentation(readNpy(await readInputFile(file, NPY_FEATURES), source), label, source);
  }
  return { label, ...featureShape(dtype ?? h.descr, h.shape, source), source };
}

export async function loadFeatureSet(path: string, opts: LoadFeatureSetOptions = {}): Promise<FeatureSet> {
  const st = await statFeatureSet(path);
  const members: Representation[] = [];
  if (st.isDirectory()) {
    const { files, ignored } = await listNpyFiles(path);
    if (files.size === 0) {
      const net2brain = await readNet2BrainDir(path);
      if (net2brain) {
        for (const label of selectLabels([...net2brain.keys()], opts, path)) members.push(toRepresentation(net2brain.get(label)!, label, `${path}:${label}`));
        return assembleSet(members, path, opts.images);
      }
      throw new Error(
        `${path}: no .npy files found${ignored > 0 ? ` (${ignored} other file${ignored === 1 ? '' : 's'} ignored)` : ''}; a feature set directory holds one <label>.npy per model, shape (n_images, n_features, ...)`,
      );
    }
    // The same reader as openFeatureSet's, every member read: one path for a folder's checks and messages.
    const source = await openNpyFolder(path, files, opts);
    for (let i = 0; i < source.members.length; i++) members.push(await source.read(i));
    return { n: source.n, members, ...(source.images ? { images: source.images } : {}) };
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.h5' || ext === '.hdf5') {
    const arrays = await readHdf5Features(path);
    for (const label of selectLabels([...arrays.keys()], opts, path)) members.push(toRepresentation(arrays.get(label)!, label, `${path}:${label}`));
    return assembleSet(members, path, opts.images);
  }
  if (!['.npz', '.safetensors', '.npy'].includes(ext)) {
    throw new Error(`${path}: unsupported feature file "${ext}"; use a directory of .npy files, a .npz or a .safetensors file`);
  }
  const bytes = await readInputFile(path, 'a feature set');
  let arrays: Map<string, NdArray>;
  let sourceOf: (label: string) => string;
  if (ext === '.npz') {
    const labels = selectLabels(npzKeys(bytes, path), opts, path);
    arrays = readNpz(bytes, path, { keys: labels });
    arrays = new Map(labels.map((l) => [l, arrays.get(l)!]));
    sourceOf = (l) => `${path}:${l}`;
  } else if (ext === '.safetensors') {
    const all = readSafetensors(bytes, path);
    arrays = new Map(selectLabels([...all.keys()], opts, path).map((l) => [l, all.get(l)!]));
    sourceOf = (l) => `${path}:${l}`;
  } else if (ext === '.npy') {
    const label = basename(path).slice(0, -4);
    const labels = selectLabels([label], opts, path);
    arrays = new Map(labels.map((l) => [l, readNpy(bytes, path)]));
    sourceOf = () => path;
  } else {
    throw new Error(`${path}: unsupported feature file "${ext}"; use a directory of .npy files, a .npz or a .safetensors file`);
  }
  if (arrays.size === 0) throw new Error(`${path}: holds no arrays`);
  for (const [label, arr] of arrays) members.push(toRepresentation(arr, label, sourceOf(label)));
  return assembleSet(members, path, opts.images);
}

/** A label becomes a relative path under the save directory; refuse labels that would escape it. */
function labelPath(dir: string, label: string): string {
  const parts = label.split('/');
  if (
    label.length === 0 ||
    isAbsolute(label) ||
    label.includes('\\') ||
    label.includes('\0') ||
    parts.some((p) => p === '' || p === '.' || p === '..' || p.startsWith('.'))
  ) {
    throw new Error(
      `saveFeatureSet: label "${label}" cannot be a file name under ${dir} (use letters, digits, -, _ and / between non-empty parts not starting with ".")`,
    );
  }
  return join(dir, `${label}.npy`);
}

/**
 * Write one `<label>.npy` per member (labels with `/` go to subdirectories), each atomically. Everything is
 * validated before the first file is written, so bad input writes nothing. Existing unrelated files are kept.
 */
export async function saveFeatureSet(dir: string, set: FeatureSet): Promise<void> {
  checkDuplicates(
    set.members.map((m) => m.label),
    dir,
    'the feature set',
  );
  const files = set.members.map((m) => {
    const path = labelPath(dir, m.label);
    const shape = m.shape.length > 0 ? m.shape : [m.p];
    if (m.n !== set.n) throw new Error(`saveFeatureSet: member "${m.label}" has ${m.n} images, the set ${set.n}`);
    if (product(shape) !== m.p || m.data.length !== m.n * m.p) {
      throw new Error(`saveFeatureSet: member "${m.label}" is inconsistent (n=${m.n}, p=${m.p}, shape ${formatShape(shape)}, ${m.data.length} values)`);
    }
    return { path, shape: [m.n, ...shape], data: m.data };
  });
  // Serialised one at a time so peak memory is one member's copy, not the whole set's.
  for (const f of files) {
    await writeFileAtomic(f.path, writeNpy({ dtype: f.data instanceof Float32Array ? 'float32' : 'float64', shape: f.shape, data: f.data }));
  }
}
