/**
 * The vocabulary of model extraction: how an image becomes a model input (Preprocessing), which intermediate
 * tensors are read (taps) and how each is shrunk (Reduction), and the runner interface every model format
 * (ONNX, TF.js graph, TF.js layers) implements.
 */

export type ModelFormat = 'onnx' | 'tfjs-graph' | 'tfjs-layers';

export type ResizeMode = 'stretch' | 'crop' | 'pad';
export type ChannelOrder = 'rgb' | 'bgr' | 'gray';
export type InputLayout = 'NHWC' | 'NCHW';
export type InputDType = 'float32' | 'int32';

/**
 * How one image becomes a model input (a model card's input spec).
 * Pixel value v ∈ 0…255 of channel c becomes (range[0] + (range[1] − range[0])·v/255 − mean[c]) / std[c];
 * for int32 inputs the value is rounded. `gray` is the luminance 0.2989 R + 0.5870 G + 0.1140 B (the weights the
 * zoo's grey-scale models were trained with) as one channel.
 */
export interface Preprocessing {
  width: number;
  height: number;
  /** stretch: resize to width×height ignoring aspect; crop: shorter side to fit, centre crop; pad: letterbox (black). */
  resize: ResizeMode;
  channels: ChannelOrder;
  range: [number, number];
  mean?: number[];
  std?: number[];
  layout: InputLayout;
  dtype: InputDType;
}

/** Per-tap reduction of one image's activation tensor. */
export type Reduction = { kind: 'none' } | { kind: 'gap' } | { kind: 'pool'; k: number } | { kind: 'proj'; d: number; seed: number };

/** Where the channel axis of a feature map is: last (TF.js) or first after the batch axis (ONNX / PyTorch). */
export type FeatureLayout = 'channels-last' | 'channels-first';

export interface TensorInfo {
  name: string;
  /** With the batch axis; null for a dynamic dimension. */
  shape: (number | null)[];
  dtype: string;
}

/** A tappable tensor of a model: a graph node output or a layer output. */
export interface LayerInfo {
  name: string;
  /** Operator (ONNX op type, TF op, or Keras layer class). */
  op: string;
  /** Shape with the batch axis, when known without running the model (Keras layers), or after `probeShapes`. */
  shape?: (number | null)[];
}

/** One batch of preprocessed images for the main input. */
export interface InputBatch {
  /** Batch size. */
  n: number;
  /** n × (per-image input size) values, laid out as the model input expects. */
  data: Float32Array | Int32Array;
  /** Full input shape including the batch axis. */
  shape: number[];
}

export interface TapValue {
  /** Shape including the batch axis (first dimension = batch size). */
  shape: number[];
  data: Float32Array;
}

/** A loaded model, ready to run and to have intermediate tensors read. */
export interface ModelRunner {
  readonly format: ModelFormat;
  /** The main (image) input first. */
  readonly inputs: TensorInfo[];
  readonly outputs: string[];
  /** Every tappable tensor, in execution (topological) order. */
  layers(): LayerInfo[];
  /** Run on one batch and return the requested tensors in `taps` order. */
  run(batch: InputBatch, taps: string[]): Promise<TapValue[]>;
  dispose(): void;
}

/** Constant values fed to a model's non-image inputs (recurrent states, scalar parameters). */
export type ExtraInputs = Record<string, number>;
