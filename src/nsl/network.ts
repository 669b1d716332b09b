/**
 * The NSL paper's small "VGG" network (docs/nsl.md#network), with the layer type of its nine 3×3 layers chosen by
 * `variant`:
 *   root: plain conv3×3 → w₀, BN, ReLU
 *   stage s = 1, 2, 3: `layersPerStage` × (variant layer → w_s, BN, ReLU), max-pool 2×2 stride 2 SAME
 *   score: plain conv VALID over the whole remaining map → classes, no BN/ReLU/bias; flattened to logits.
 * The reference's CIFAR sizes are 32×32×3 → 4×4 after three pools, widths (32, 32, 64, 128). Fashion-MNIST is
 * 28×28×1: SAME pooling gives 14, 7, 4, so the score layer is the same 4×4 VALID conv; only the input channel
 * count differs. `widthScale` multiplies every width (and the predictor widths) for runs that must be fast.
 */
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../linalg/resample.js';
import {
  DEFAULT_MATRIX_DECAY,
  DEFAULT_WEIGHT_DECAY,
  NslBatchNorm,
  NslConv2D,
  NslDynamicDNS,
  NslDynamicUNS,
  NslStaticDNS,
  NslStaticUNS,
  type BatchNormOptions,
  type DiagonalInit,
} from './layers.js';

export const VARIANTS = ['conv', 'static-uns', 'static-dns', 'dynamic-dns', 'dynamic-uns'] as const;
export type Variant = (typeof VARIANTS)[number];

export interface NetworkConfig {
  variant: Variant;
  /** [height, width, channels] of the input images. */
  inputShape: [number, number, number];
  numClasses: number;
  /** Widths of root and the three stages; default (32, 32, 64, 128) × widthScale. */
  widths?: [number, number, number, number];
  /** Multiplies the default widths and predictor widths (rounded, at least 1); default 1. */
  widthScale?: number;
  /** NSL layers per stage (reference 3). */
  layersPerStage?: number;
  /** Hidden channels of the dynamic predictors; default 64 (DNS) / 128 (UNS) × widthScale. */
  predictorWidth?: number;
  weightDecay?: number;
  matrixDecay?: number;
  diagonalInit?: DiagonalInit;
  batchNorm?: BatchNormOptions;
  /** Seeds every initialiser (one derived seed per layer). */
  seed?: number;
}

export function isVariant(v: string): v is Variant {
  return (VARIANTS as readonly string[]).includes(v);
}

/** All defaults filled in: what a checkpoint records and what `buildNetwork` builds. */
export type ResolvedNetworkConfig = Required<Omit<NetworkConfig, 'predictorWidth'>> & { predictorWidth: number };

export function resolveNetworkConfig(c: NetworkConfig): ResolvedNetworkConfig {
  if (!isVariant(c.variant)) throw new Error(`unknown NSL variant "${c.variant}" (known: ${VARIANTS.join(', ')})`);
  const scale = c.widthScale ?? 1;
  if (!(scale > 0)) throw new Error(`widthScale must be positive, got ${scale}`);
  const scaled = (w: number) => Math.max(1, Math.round(w * scale));
  const widths = c.widths ?? ([32, 32, 64, 128].map(scaled) as [number, number, number, number]);
  if (widths.length !== 4 || widths.some((w) => !Number.isInteger(w) || w <= 0))
    throw new Error(`widths must be four positive integers, got ${widths.join(',')}`);
  const layersPerStage = c.layersPerStage ?? 3;
  if (!Number.isInteger(layersPerStage) || layersPerStage < 1) throw new Error(`layersPerStage must be a positive integer, got ${layersPerStage}`);
  if (!Number.isInteger(c.numClasses) || c.numClasses < 2) throw new Error(`numClasses must be an integer ≥ 2, got ${c.numClasses}`);
  return {
    variant: c.variant,
    inputShape: [...c.inputShape],
    numClasses: c.numClasses,
    widths: [...widths],
    widthScale: scale,
    layersPerStage,
    predictorWidth: c.predictorWidth ?? scaled(c.variant === 'dynamic-uns' ? 128 : 64),
    weightDecay: c.weightDecay ?? DEFAULT_WEIGHT_DECAY,
    matrixDecay: c.matrixDecay ?? DEFAULT_MATRIX_DECAY,
    diagonalInit: c.diagonalInit ?? 'identity',
    batchNorm: { decay: 0.999, epsilon: 1e-3, debias: true, ...(c.batchNorm ?? {}) },
    seed: c.seed ?? 0,
  };
}

/** Spatial size after the three SAME 2×2/2 pools: ⌈⌈⌈s/2⌉/2⌉/2⌉. */
export function finalMapSize(size: number): number {
  return Math.ceil(Math.ceil(Math.ceil(size / 2) / 2) / 2);
}

/** The layer of `variant` with `filters` outputs (name and seed given). */
export function nslLayer(variant: Variant, filters: number, name: string, seed: number, c: ResolvedNetworkConfig): tf.layers.Layer {
  const common = { filters, name, seed, weightDecay: c.weightDecay };
  switch (variant) {
    case 'conv':
      return new NslConv2D(common);
    case 'static-uns':
      return new NslStaticUNS({ ...common, matrixDecay: c.matrixDecay });
    case 'static-dns':
      return new NslStaticDNS({ ...common, diagonalInit: c.diagonalInit });
    case 'dynamic-dns':
      return new NslDynamicDNS({ ...common, predictorWidth: c.predictorWidth, batchNorm: c.batchNorm });
    case 'dynamic-uns':
      return new NslDynamicUNS({ ...common, predictorWidth: c.predictorWidth });
  }
}

export const SCORE_LAYER = 'score';

/** Build the network (untrained, seeded). Layer names are fixed (root, conv1_0, …, score) so weights can be matched. */
export function buildNetwork(config: NetworkConfig): tf.Sequential {
  const c = resolveNetworkConfig(config);
  const [h, w, ch] = c.inputShape;
  if (h !== w) throw new Error(`square images only (the score layer is a square VALID conv), got ${h}×${w}`);
  const rng = mulberry32(c.seed);
  const seed = () => Math.floor(rng() * 4294967296);
  const bn = (name: string) => new NslBatchNorm({ name, weightDecay: c.weightDecay, ...c.batchNorm });
  const model = tf.sequential({ name: `nsl_${c.variant.replace('-', '_')}` });
  model.add(new NslConv2D({ name: 'root', filters: c.widths[0], seed: seed(), weightDecay: c.weightDecay, inputShape: [h, w, ch] }));
  model.add(bn('root_bn'));
  model.add(tf.layers.activation({ activation: 'relu', name: 'root_relu' }));
  for (let s = 1; s <= 3; s++) {
    for (let i = 0; i < c.layersPerStage; i++) {
      const name = `conv${s}_${i}`;
      model.add(nslLayer(c.variant, c.widths[s], name, seed(), c));
      model.add(bn(`${name}_bn`));
      model.add(tf.layers.activation({ activation: 'relu', name: `${name}_relu` }));
    }
    model.add(tf.layers.maxPooling2d({ name: `pool${s}`, poolSize: 2, strides: 2, padding: 'same' }));
  }
  const k = finalMapSize(h);
  model.add(new NslConv2D({ name: SCORE_LAYER, filters: c.numClasses, kernelSize: k, padding: 'valid', seed: seed(), weightDecay: c.weightDecay }));
  model.add(tf.layers.flatten({ name: 'logits' }));
  return model;
}

/** Number of scalar parameters in the trainable weights. */
export function countParameters(model: tf.LayersModel): number {
  return model.trainableWeights.reduce((s, w) => s + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}
