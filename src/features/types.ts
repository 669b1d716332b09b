import type { FeatureLayout } from '../models/types.js';
import type { ReadBuffer } from '../io/input.js';
import type { ImageList } from './imageIdentity.js';

/**
 * One model's (or one model/layer's) features on the probe images: the input of every measure.
 * `data` is n×p row-major (image i's features are data[i*p .. (i+1)*p)); trailing dimensions of the stored
 * array are flattened in C order, so `shape` is the per-image shape as stored (e.g. [H, W, C] channel-last).
 */
export interface Representation {
  label: string;
  n: number;
  p: number;
  shape: number[];
  data: Float32Array | Float64Array;
  /** Where it came from (file path, or `file.npz:key`), for error messages. */
  source: string;
  /**
   * Which image each row is, in row order, when known (src/features/imageIdentity.ts): the image's SHA-256 from
   * the extraction's manifest.json, or the ids of an images list (SHA-256 of the listed files, or names).
   * Representations whose ids differ are never compared.
   */
  images?: string[];
  /** Where `images` came from (the manifest or the list file), for messages. */
  imagesFrom?: string;
  /**
   * Where the channel axis of `shape` is, when the extraction's manifest recorded it (ONNX / PyTorch maps are
   * channel-first, TF.js maps channel-last); measures that need channels and are not told otherwise use it.
   */
  featureLayout?: FeatureLayout;
  /**
   * The feature set it was loaded from (the folder or file as given). Members of one origin are trusted to share
   * their images; different origins without ids are compared with a warning. Set by the loaders as a
   * non-enumerable property (setOrigin), so it is not part of a representation's value or its JSON.
   */
  origin?: string;
}

/** Representations of several models on the same n images, in the order given by the user (default: by label). */
export interface FeatureSet {
  n: number;
  members: Representation[];
  /** The members' image ids when every member carries them (they are then equal). */
  images?: string[];
}

/** What is known of a member before its values are read: a representation without its `data`. */
export type RepresentationInfo = Omit<Representation, 'data'>;

/**
 * A feature set whose members are read when needed (openFeatureSet): `members` come from the files' headers and
 * manifests, already checked to share their images. `read(i, buffer)` reads member i; with a ReadBuffer its values
 * may live in that buffer, valid until the next read into it. A caller that reduces each member before reading the
 * next (similarity's batched measures) then holds one member's values at a time instead of all of them, and reuses
 * one allocation for all.
 */
export interface FeatureSetSource {
  n: number;
  members: RepresentationInfo[];
  images?: string[];
  read(i: number, buffer?: ReadBuffer): Promise<Representation>;
  /**
   * How another thread opens the same members in the same order, when they are files it can read itself: worker
   * threads then read their members instead of being sent them.
   */
  reopen?: FeatureSetReopen;
  /** Member i's own .npy file, when it has one (a folder member; not a member of an .npz or .safetensors file). */
  file?: (i: number) => Buffer;
}

/** openFeatureSet(path, { order, images }) gives the same members in the same order, in any thread. */
export interface FeatureSetReopen {
  path: string;
  order: string[];
  images?: ImageList;
}
