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
}

/** Representations of several models on the same n images, in the order given by the user (default: by label). */
export interface FeatureSet {
  n: number;
  members: Representation[];
}
