/**
 * Neural Similarity Learning layers (Liu, Liu, Rehg & Song, NeurIPS 2019; docs/nsl.md#layers) as TF.js layers.
 *
 * Every NSL layer is a 3×3, stride-1, SAME, bias-free convolution whose inner product wᵀx (x: the 3×3 patch of one
 * input channel, w: the matching kernel slice, both flattened row-major, k = 3·kh + kw) becomes the bilinear form
 * wᵀMx with one M ∈ ℝ^{9×9} shared by all input and output channels:
 *   static UNS   M learned, initialised to I, L2 penalty matrixDecay·½‖M‖²;
 *   static DNS   M = diag(m), m learned, no penalty;
 *   dynamic DNS  m predicted at every position by a meta-network from the input patch;
 *   dynamic UNS  M predicted at every position.
 * Static layers fold M into an effective kernel and run one convolution; dynamic layers follow the reference
 * formulation (one convolution to 9·C_out channels, then a per-position mix). All trainable convolutions go
 * through `conv2d` of ./conv.ts, which trains on the WASM backend.
 *
 * Weight decay is attached to the weights as TF.js L2 regularisers with l2 = λ/2, because TF.js's l2 is λ·Σw²
 * while the reference (TensorFlow's l2_regularizer) is λ·½Σw². `weightPenalty(model)` in ./train.ts sums them.
 *
 * Each layer is registered for serialisation under the package name "taskmap" (class names Nsl…), so a saved
 * model reloads with `tf.loadLayersModel` once this module has been imported.
 */
import * as tf from '@tensorflow/tfjs';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
import type { Initializer } from '@tensorflow/tfjs-layers/dist/initializers.js';
import type { Regularizer } from '@tensorflow/tfjs-layers/dist/regularizers.js';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types.js';
import type { LayerVariable } from '@tensorflow/tfjs-layers/dist/variables.js';
import { conv2d, patchNorm, shiftedMix, type Padding } from './conv.js';

type Shape = (number | null)[];

export const DEFAULT_WEIGHT_DECAY = 5e-4;
export const DEFAULT_MATRIX_DECAY = 5e-3;

/** Batch-norm settings shared by the network's BN layers and the dynamic-DNS predictor's internal BNs. */
export interface BatchNormOptions {
  /** EMA decay of the inference statistics (reference 0.999). */
  decay?: number;
  /** Added to the variance (reference 1e-3). */
  epsilon?: number;
  /**
   * Divide the moving averages by 1 − decay^t at inference (TensorFlow's zero_debias). The reference starts its
   * averages at 0 without this, which is harmless after its 42 500 iterations but leaves a 0.999-decay average at
   * 61 % of its value after 500 — a short run would then be evaluated with wrong statistics. Default true.
   */
  debias?: boolean;
}

interface NslCommonArgs extends LayerArgs {
  /** Output channels. */
  filters: number;
  /** λ of the L2 penalty λ·½Σw² on kernels (and BN γ/β); reference 5e-4. */
  weightDecay?: number;
  /** Seed of this layer's initialisers (the network builder derives one per layer from the run seed). */
  seed?: number;
}

function l2(lambda: number): Regularizer | undefined {
  return lambda > 0 ? tf.regularizers.l2({ l2: lambda / 2 }) : undefined;
}

/** The reference initialiser: a plain (untruncated) normal with std scale·√(2 / (k²·C_in)). */
function heNormal(fanIn: number, seed: number | undefined, scale = 1): Initializer {
  return tf.initializers.randomNormal({ mean: 0, stddev: scale * Math.sqrt(2 / fanIn), seed });
}

function lastDim(shape: Shape | Shape[]): number {
  const s = (Array.isArray(shape[0]) ? shape[0] : shape) as Shape;
  const c = s[s.length - 1];
  if (typeof c !== 'number') throw new Error('NSL layers need a known channel count');
  return c;
}

function single(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor4D {
  const x = Array.isArray(inputs) ? inputs[0] : inputs;
  if (x.rank !== 4) throw new Error(`NSL layers take NHWC images, got a rank-${x.rank} tensor`);
  return x as tf.Tensor4D;
}

function subSeed(seed: number | undefined, k: number): number | undefined {
  return seed === undefined ? undefined : (seed * 31 + k) >>> 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Batch normalisation

/**
 * The weights and computation of one batch-norm: γ, β (trainable, weight-decayed — a reference quirk), the moving
 * mean and variance and an update counter (for debiasing). Training normalises with the batch statistics over
 * (N, H, W) (population variance, as tf.nn.moments) and updates the averages; inference uses the averages.
 */
class BatchNormWeights {
  readonly gamma: LayerVariable;
  readonly beta: LayerVariable;
  readonly movingMean: LayerVariable;
  readonly movingVariance: LayerVariable;
  readonly steps: LayerVariable;
  private readonly decay: number;
  private readonly epsilon: number;
  private readonly debias: boolean;

  constructor(add: AddWeight, prefix: string, channels: number, opts: BatchNormOptions, weightDecay: number) {
    this.decay = opts.decay ?? 0.999;
    this.epsilon = opts.epsilon ?? 1e-3;
    this.debias = opts.debias ?? true;
    const reg = l2(weightDecay);
    this.gamma = add(`${prefix}gamma`, [channels], 'float32', tf.initializers.ones(), reg, true);
    this.beta = add(`${prefix}beta`, [channels], 'float32', tf.initializers.zeros(), reg, true);
    this.movingMean = add(`${prefix}moving_mean`, [channels], 'float32', tf.initializers.zeros(), undefined, false);
    this.movingVariance = add(`${prefix}moving_variance`, [channels], 'float32', tf.initializers.zeros(), undefined, false);
    this.steps = add(`${prefix}steps`, [1], 'float32', tf.initializers.zeros(), undefined, false);
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const gamma = this.gamma.read() as tf.Tensor1D;
    const beta = this.beta.read() as tf.Tensor1D;
    if (training) {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const d = this.decay;
      // These writes do not lead to the loss, so the gradient tape prunes them.
      this.movingMean.write(tf.add(tf.mul(this.movingMean.read(), d), tf.mul(mean, 1 - d)));
      this.movingVariance.write(tf.add(tf.mul(this.movingVariance.read(), d), tf.mul(variance, 1 - d)));
      this.steps.write(tf.add(this.steps.read(), 1));
      // Written out rather than tf.batchNorm: its gradient tiles the per-channel factors to the full [B, H, W, C]
      // shape, which made the Tile kernel a third of a training step on WASM.
      const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, this.epsilon)));
      return tf.add(tf.mul(tf.sub(x, mean), scale), beta) as tf.Tensor4D;
    }
    let mean = this.movingMean.read() as tf.Tensor1D;
    let variance = this.movingVariance.read() as tf.Tensor1D;
    if (this.debias) {
      // 1 − d^t, and no correction before the first update (t = 0 would divide by zero).
      const correction = tf.maximum(tf.sub(1, tf.pow(this.decay, this.steps.read())), tf.scalar(1e-12));
      const started = tf.greater(this.steps.read(), 0);
      mean = tf.where(started, tf.div(mean, correction), mean) as tf.Tensor1D;
      variance = tf.where(started, tf.div(variance, correction), tf.onesLike(variance)) as tf.Tensor1D;
    }
    return tf.batchNorm(x, mean, variance, beta, gamma, this.epsilon);
  }
}

type AddWeight = (
  name: string,
  shape: number[],
  dtype: 'float32',
  initializer: Initializer,
  regularizer: Regularizer | undefined,
  trainable: boolean,
) => LayerVariable;

/** Base class: keeps the common config and exposes addWeight to the BN helper. */
abstract class NslBase extends tf.layers.Layer {
  readonly filters: number;
  readonly weightDecay: number;
  readonly seed: number | undefined;

  constructor(args: NslCommonArgs) {
    super(args);
    if (!Number.isInteger(args.filters) || args.filters <= 0)
      throw new Error(`${this.getClassName()}: filters must be a positive integer, got ${args.filters}`);
    this.filters = args.filters;
    this.weightDecay = args.weightDecay ?? DEFAULT_WEIGHT_DECAY;
    this.seed = args.seed;
  }

  protected readonly add: AddWeight = (name, shape, dtype, initializer, regularizer, trainable) =>
    this.addWeight(name, shape, dtype, initializer, regularizer, trainable);

  /** A kernel [k, k, C_in, C_out] with the reference He-normal initialiser and weight decay. */
  protected kernel(name: string, k: number, cin: number, cout: number, seedIndex: number, scale = 1): LayerVariable {
    return this.add(name, [k, k, cin, cout], 'float32', heNormal(k * k * cin, subSeed(this.seed, seedIndex), scale), l2(this.weightDecay), true);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return [s[0], s[1], s[2], this.filters];
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = { ...super.getConfig(), filters: this.filters, weightDecay: this.weightDecay };
    if (this.seed !== undefined) config.seed = this.seed;
    return config;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Plain convolution (root, score, and the `conv` baseline)

export interface NslConv2DArgs extends NslCommonArgs {
  kernelSize?: number;
  padding?: Padding;
}

/** An ordinary bias-free stride-1 convolution that trains on WASM: the baseline and the root/score layers. */
export class NslConv2D extends NslBase {
  static className = 'NslConv2D';
  readonly kernelSize: number;
  readonly padding: Padding;
  private w!: LayerVariable;

  constructor(args: NslConv2DArgs) {
    super(args);
    this.kernelSize = args.kernelSize ?? 3;
    this.padding = args.padding ?? 'same';
  }

  override build(inputShape: Shape | Shape[]): void {
    this.w = this.kernel('kernel', this.kernelSize, lastDim(inputShape), this.filters, 0);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => conv2d(single(inputs), this.w.read() as tf.Tensor4D, this.padding));
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    if (this.padding === 'same') return [s[0], s[1], s[2], this.filters];
    const k = this.kernelSize;
    return [s[0], s[1] === null ? null : s[1] - k + 1, s[2] === null ? null : s[2] - k + 1, this.filters];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), kernelSize: this.kernelSize, padding: this.padding };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Static NSL

export interface NslStaticUNSArgs extends NslCommonArgs {
  /** λ of the penalty λ·½‖M‖²_F (reference 5e-3). */
  matrixDecay?: number;
}

/**
 * Static unconstrained neural similarity: raw kernel F (stored as a [3, 3, C_in, C_out] conv kernel, i.e. row
 * ci·C_out + co of the reference's F is kernel[:, :, ci, co] flattened) and M ∈ ℝ^{9×9} (init I). Effective kernel
 * W[k, ·] = Σ_l M[l, k]·F[l, ·] — that is W = F·M in the reference's row layout, so y = Σ wᵀMx.
 */
export class NslStaticUNS extends NslBase {
  static className = 'NslStaticUNS';
  readonly matrixDecay: number;
  private f!: LayerVariable;
  private m!: LayerVariable;

  constructor(args: NslStaticUNSArgs) {
    super(args);
    this.matrixDecay = args.matrixDecay ?? DEFAULT_MATRIX_DECAY;
  }

  override build(inputShape: Shape | Shape[]): void {
    this.f = this.kernel('kernel', 3, lastDim(inputShape), this.filters, 0);
    this.m = this.add('matrix', [9, 9], 'float32', tf.initializers.identity({ gain: 1 }), l2(this.matrixDecay), true);
    this.built = true;
  }

  /** The kernel of the plain convolution this layer currently equals. */
  effectiveKernel(): tf.Tensor4D {
    return tf.tidy(() => {
      const f = this.f.read();
      const [, , cin, cout] = f.shape;
      const rows = tf.reshape(f, [9, cin * cout]) as tf.Tensor2D;
      return tf.reshape(tf.matMul(this.m.read() as tf.Tensor2D, rows, true, false), [3, 3, cin, cout]) as tf.Tensor4D;
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => conv2d(single(inputs), this.effectiveKernel()));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), matrixDecay: this.matrixDecay };
  }
}

/**
 * How static DNS initialises its diagonal m: `identity` is the reference's quirk — the flattened 3×3 identity
 * (1,0,0, 0,1,0, 0,0,1), which switches off 6 of the 9 kernel positions at the start (docs/nsl.md#layers);
 * `ones` starts as a plain convolution.
 */
export type DiagonalInit = 'identity' | 'ones';
export const DIAGONAL_INITS: readonly DiagonalInit[] = ['identity', 'ones'];

export interface NslStaticDNSArgs extends NslCommonArgs {
  diagonalInit?: DiagonalInit;
}

/** Static diagonal neural similarity: effective kernel W = F ⊙ m (m broadcast over channels), no penalty on m. */
export class NslStaticDNS extends NslBase {
  static className = 'NslStaticDNS';
  readonly diagonalInit: DiagonalInit;
  private f!: LayerVariable;
  private m!: LayerVariable;

  constructor(args: NslStaticDNSArgs) {
    super(args);
    this.diagonalInit = args.diagonalInit ?? 'identity';
    if (!DIAGONAL_INITS.includes(this.diagonalInit)) throw new Error(`NslStaticDNS: diagonalInit must be one of ${DIAGONAL_INITS.join(', ')}`);
  }

  override build(inputShape: Shape | Shape[]): void {
    this.f = this.kernel('kernel', 3, lastDim(inputShape), this.filters, 0);
    this.m = this.add('diagonal', [9], 'float32', tf.initializers.ones(), undefined, true);
    if (this.diagonalInit === 'identity') this.m.write(tf.tensor1d([1, 0, 0, 0, 1, 0, 0, 0, 1]));
    this.built = true;
  }

  effectiveKernel(): tf.Tensor4D {
    return tf.tidy(() => tf.mul(this.f.read(), tf.reshape(this.m.read(), [3, 3, 1, 1])) as tf.Tensor4D);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => conv2d(single(inputs), this.effectiveKernel()));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), diagonalInit: this.diagonalInit };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Dynamic NSL

interface NslDynamicArgs extends NslCommonArgs {
  /** Channels of the predictor's hidden layer (reference: 64 for DNS, 128 for UNS). */
  predictorWidth?: number;
}

/** One-hot [3, 3, 1, 9, 1] mask: position (kh, kw) feeds only output block k = 3·kh + kw. */
function offsetMask(): tf.Tensor {
  const m = new Float32Array(81);
  for (let k = 0; k < 9; k++) m[k * 9 + k] = 1;
  return tf.tensor(m, [3, 3, 1, 9, 1]);
}

export interface NslDynamicDNSArgs extends NslDynamicArgs {
  batchNorm?: BatchNormOptions;
}

/**
 * Dynamic diagonal neural similarity. Predictor: h = ReLU(BN(conv3×3_{C_in→P}(x) / ν(x))),
 * m(p) = 1 + BN(conv3×3_{P→9}(h))(p); output y_co(p) = Σ_k m_k(p)·Σ_ci W[k, ci, co]·x_ci(p + δ_k). Computed as the
 * reference does: one convolution with the kernel spread over 9·C_out channels (block k keeps only position k),
 * then the m-weighted sum over blocks. Predictor init: std 0.1·He and 0.001·He, so m starts ≈ 1.
 */
export class NslDynamicDNS extends NslBase {
  static className = 'NslDynamicDNS';
  readonly predictorWidth: number;
  readonly batchNorm: BatchNormOptions;
  private w!: LayerVariable;
  private p1!: LayerVariable;
  private p2!: LayerVariable;
  private bn1!: BatchNormWeights;
  private bn2!: BatchNormWeights;

  constructor(args: NslDynamicDNSArgs) {
    super(args);
    this.predictorWidth = args.predictorWidth ?? 64;
    this.batchNorm = { ...(args.batchNorm ?? {}) };
  }

  override build(inputShape: Shape | Shape[]): void {
    const cin = lastDim(inputShape);
    this.w = this.kernel('kernel', 3, cin, this.filters, 0);
    // The reference passes reg_mag = 10 for the predictor but hard-codes 1.0: ordinary weight decay.
    this.p1 = this.kernel('predictor1/kernel', 3, cin, this.predictorWidth, 1, 0.1);
    this.bn1 = new BatchNormWeights(this.add, 'predictor1/bn/', this.predictorWidth, this.batchNorm, this.weightDecay);
    this.p2 = this.kernel('predictor2/kernel', 3, this.predictorWidth, 9, 2, 0.001);
    this.bn2 = new BatchNormWeights(this.add, 'predictor2/bn/', 9, this.batchNorm, this.weightDecay);
    this.built = true;
  }

  /** The predicted diagonals m(p), [B, H, W, 9]. */
  predict(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return tf.tidy(() => {
      const h = tf.relu(this.bn1.apply(tf.div(conv2d(x, this.p1.read() as tf.Tensor4D), patchNorm(x)) as tf.Tensor4D, training));
      return tf.add(this.bn2.apply(conv2d(h, this.p2.read() as tf.Tensor4D), training), 1) as tf.Tensor4D;
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      const [b, h, w] = x.shape;
      const m = this.predict(x, Boolean(kwargs?.training));
      const wk = this.w.read();
      const [, , cin, cout] = wk.shape;
      const spread = tf.reshape(tf.mul(tf.expandDims(wk, 3), offsetMask()), [3, 3, cin, 9 * cout]) as tf.Tensor4D;
      // Rank ≤ 4 throughout: rank-5 slices and broadcasts fall off the WASM kernels' fast paths.
      const blocks = tf.reshape(conv2d(x, spread), [b * h * w, 9, cout]);
      return tf.reshape(tf.sum(tf.mul(blocks, tf.reshape(m, [b * h * w, 9, 1])), 1), [b, h, w, cout]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), predictorWidth: this.predictorWidth, batchNorm: { ...this.batchNorm } as tf.serialization.ConfigDict };
  }
}

/**
 * Dynamic unconstrained neural similarity. Predictor (no BN): h = ReLU(conv3×3_{C_in→P}(x) / ν(x)),
 * M(p) = I₉ + reshape_{9×9}(conv3×3_{P→81}(h))(p) with channel 9a + b → M[a, b]. Main weights f: a 1×1
 * convolution to 9·C_out channels (channel k·C_out + co), z = f ⋆ x; output
 * y_co(p) = Σ_l Σ_k M(p)[k, l]·z_{k,co}(p + δ_l), zero outside the map.
 */
export class NslDynamicUNS extends NslBase {
  static className = 'NslDynamicUNS';
  readonly predictorWidth: number;
  private f!: LayerVariable;
  private p1!: LayerVariable;
  private p2!: LayerVariable;

  constructor(args: NslDynamicArgs) {
    super(args);
    this.predictorWidth = args.predictorWidth ?? 128;
  }

  override build(inputShape: Shape | Shape[]): void {
    const cin = lastDim(inputShape);
    // He std of a 3×3 layer (fan-in 9·C_in), although f is stored as a 1×1 kernel: as the reference.
    this.f = this.add('kernel', [1, 1, cin, 9 * this.filters], 'float32', heNormal(9 * cin, subSeed(this.seed, 0)), l2(this.weightDecay), true);
    this.p1 = this.kernel('predictor1/kernel', 3, cin, this.predictorWidth, 1, 0.1);
    this.p2 = this.kernel('predictor2/kernel', 3, this.predictorWidth, 81, 2, 0.001);
    this.built = true;
  }

  /** The predicted matrices M(p) as [B·H·W, 9, 9] (positions in row-major NHW order). */
  predict(x: tf.Tensor4D): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, h, w] = x.shape;
      const hidden = tf.relu(tf.div(conv2d(x, this.p1.read() as tf.Tensor4D), patchNorm(x))) as tf.Tensor4D;
      return tf.add(tf.reshape(conv2d(hidden, this.p2.read() as tf.Tensor4D), [b * h * w, 9, 9]), tf.eye(9)) as tf.Tensor3D;
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      // M transposed to [9 (l), N, 9 (k)], so that each column M(p)[·, l] is a slice along the leading axis.
      const columns = tf.transpose(this.predict(x), [2, 0, 1]) as tf.Tensor3D;
      return shiftedMix(columns, conv2d(x, this.f.read() as tf.Tensor4D));
    });
  }

  /** The plain 3×3 kernel this layer equals when M ≡ I: W[kh, kw, ci, co] = f[ci, 3·kh + kw, co]. */
  identityKernel(): tf.Tensor4D {
    return tf.tidy(() => {
      const f = this.f.read();
      const cin = f.shape[2] as number;
      return tf.reshape(tf.transpose(tf.reshape(f, [cin, 9, this.filters]), [1, 0, 2]), [3, 3, cin, this.filters]) as tf.Tensor4D;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), predictorWidth: this.predictorWidth };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Network batch norm

export interface NslBatchNormArgs extends LayerArgs, BatchNormOptions {
  weightDecay?: number;
}

/** The network's batch norm (reference settings, plus optional debiasing; see BatchNormOptions). */
export class NslBatchNorm extends tf.layers.Layer {
  static className = 'NslBatchNorm';
  readonly options: BatchNormOptions;
  readonly weightDecay: number;
  private bn!: BatchNormWeights;

  constructor(args: NslBatchNormArgs = {}) {
    super(args);
    this.options = { decay: args.decay, epsilon: args.epsilon, debias: args.debias };
    this.weightDecay = args.weightDecay ?? DEFAULT_WEIGHT_DECAY;
  }

  override build(inputShape: Shape | Shape[]): void {
    const add: AddWeight = (name, shape, dtype, init, reg, trainable) => this.addWeight(name, shape, dtype, init, reg, trainable);
    this.bn = new BatchNormWeights(add, '', lastDim(inputShape), this.options, this.weightDecay);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => this.bn.apply(single(inputs), Boolean(kwargs?.training)));
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = { ...super.getConfig(), weightDecay: this.weightDecay };
    for (const [k, v] of Object.entries(this.options)) if (v !== undefined) config[k] = v;
    return config;
  }
}

for (const cls of [NslConv2D, NslStaticUNS, NslStaticDNS, NslDynamicDNS, NslDynamicUNS, NslBatchNorm]) {
  tf.serialization.registerClass(cls as unknown as tf.serialization.SerializableConstructor<tf.layers.Layer>, 'taskmap');
}
