/**
 * Feature files written by other toolkits, read as feature-set members (label → (n_images, …) array).
 *
 *   HDF5 (.h5 / .hdf5)  every numeric dataset is a member labelled by its path in the file (`features`,
 *       `layer1/conv`); string and other non-numeric datasets (e.g. image paths) are skipped. thingsvision's
 *       `save_features(…, file_format='hdf5')` writes one `features.hdf5` with the dataset `features` per module
 *       (the member `features`); when it had to split, the datasets `features_01`, `features_02`, … are stacked
 *       in order back into `features`, as thingsvision's own `merge_features` does.
 *
 *   Net2Brain folders  `FeatureExtractor.extract(…, save_path)` writes one `<image>.npz` per image whose keys are
 *       the layers, each (1, …); `consolidate_per_layer` turns them into one `<layer>.npz` per layer whose keys
 *       are the images. Both are read as one member per layer with the images sorted by name (the order is
 *       reported by neither format, so give taskmap's images list in that order). Which layout a folder is: a
 *       file whose arrays differ in shape is per image; otherwise a folder with at least as many keys per file as
 *       files is per layer (layers are few, images many), else per image.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { withHdf5 } from '../io/hdf5.js';
import { displayPath, readInputFile } from '../io/input.js';
import { checkAllocation } from '../io/limits.js';
import { formatShape, product, type NdArray } from '../io/npy.js';
import { readNpz } from '../io/npz.js';

/** The numeric datasets of an HDF5 file as members (thingsvision's split `features_NN` stacked back). */
export async function readHdf5Features(path: string): Promise<Map<string, NdArray>> {
  return withHdf5(
    path,
    (f) => {
      const numeric = f.datasets().filter((d) => f.kindOf(d.dataset) === 'numeric');
      if (numeric.length === 0) throw new Error(`${f.name}: holds no numeric datasets; features are a numeric dataset of shape (n_images, n_features, …)`);
      const split = numeric.every((d) => /^features_\d+$/.test(d.path));
      const arrays = new Map<string, NdArray>();
      if (split) {
        const parts = numeric.sort((a, b) => Number(a.path.slice(9)) - Number(b.path.slice(9))).map((d) => f.readArray(d.path, d.dataset));
        arrays.set('features', stack(parts, `${f.name}:features_*`, false));
      } else {
        for (const d of numeric) arrays.set(d.path, f.readArray(d.path, d.dataset));
      }
      return arrays;
    },
    'an HDF5 feature file',
  );
}

/**
 * Concatenate arrays along the first axis (`squeeze`: each array is one image, with or without a leading axis
 * of 1). All must share dtype and trailing shape.
 */
function stack(parts: NdArray[], name: string, squeeze: boolean): NdArray {
  const rows = parts.map((a) => (squeeze ? (a.shape.length > 1 && a.shape[0] === 1 ? a.shape.slice(1) : a.shape) : a.shape.slice(1)));
  const inner = rows[0];
  const dtype = parts[0].dtype;
  for (let i = 0; i < parts.length; i++) {
    if (parts[i].dtype !== dtype) throw new Error(`${name}: mixes ${dtype} and ${parts[i].dtype} arrays`);
    if (formatShape(rows[i]) !== formatShape(inner)) throw new Error(`${name}: part ${i + 1} has shape ${formatShape(parts[i].shape)}, unlike the first`);
  }
  if (dtype !== 'float32' && dtype !== 'float64') {
    throw new Error(`${name}: ${dtype} features; convert them to float32/float64 (e.g. x.astype(np.float32))`);
  }
  const n = squeeze ? parts.length : parts.reduce((s, a) => s + a.shape[0], 0);
  const per = product(inner);
  checkAllocation(`stacking ${n} rows of ${formatShape(inner)} ${dtype}`, n * per * (dtype === 'float32' ? 4 : 8), name);
  const data = dtype === 'float32' ? new Float32Array(n * per) : new Float64Array(n * per);
  let at = 0;
  for (const a of parts) {
    data.set(a.data as Float32Array | Float64Array, at);
    at += a.data.length;
  }
  return { dtype, shape: [n, ...inner], data };
}

/** A Net2Brain feature folder (see the module comment) as members, or undefined when `dir` holds no .npz files. */
export async function readNet2BrainDir(dir: string): Promise<Map<string, NdArray> | undefined> {
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && !e.name.startsWith('.') && e.name.toLowerCase().endsWith('.npz'))
    .map((e) => e.name)
    .sort();
  if (names.length === 0) return undefined;
  const files = new Map<string, Map<string, NdArray>>();
  for (const name of names) {
    const path = join(dir, name);
    files.set(name.slice(0, -4), readNpz(await readInputFile(path, 'a Net2Brain .npz'), displayPath(path)));
  }
  const uniform = [...files.values()].every((arrays) => new Set([...arrays.values()].map((a) => formatShape(a.shape))).size <= 1);
  const keysPerFile = Math.max(...[...files.values()].map((a) => a.size));
  const perLayer = uniform && keysPerFile >= files.size;
  const out = new Map<string, NdArray>();
  if (perLayer) {
    let images: string[] | undefined;
    for (const [layer, arrays] of files) {
      const keys = [...arrays.keys()].sort();
      if (images && keys.join('\0') !== images.join('\0')) {
        throw new Error(`${displayPath(join(dir, `${layer}.npz`))}: holds different images from the other layer files; every layer needs the same images`);
      }
      images = keys;
      out.set(
        layer,
        stack(
          keys.map((k) => arrays.get(k)!),
          `${displayPath(join(dir, `${layer}.npz`))}`,
          true,
        ),
      );
    }
  } else {
    const images = [...files.keys()];
    const layers = [...files.get(images[0])!.keys()].sort();
    for (const image of images) {
      const keys = [...files.get(image)!.keys()].sort();
      if (keys.join('\0') !== layers.join('\0')) {
        throw new Error(`${displayPath(join(dir, `${image}.npz`))}: holds layers ${keys.join(', ')}, unlike ${images[0]}.npz (${layers.join(', ')})`);
      }
    }
    for (const layer of layers) {
      out.set(
        layer,
        stack(
          images.map((i) => files.get(i)!.get(layer)!),
          `${displayPath(dir)}: layer ${layer}`,
          true,
        ),
      );
    }
  }
  return out;
}
