/**
 * Neural Similarity Learning (docs/nsl.md) and Fisher-information task similarity (docs/measures.md#fisher-task-measures) on TF.js/WASM.
 * Importing this module loads TF.js and registers the NSL layer classes for (de)serialisation.
 */
export { conv2d, unfold3x3, patchNorm, shiftedMix, type Padding } from './conv.js';
export {
  NslConv2D,
  NslStaticUNS,
  NslStaticDNS,
  NslDynamicDNS,
  NslDynamicUNS,
  NslBatchNorm,
  DIAGONAL_INITS,
  DEFAULT_WEIGHT_DECAY,
  DEFAULT_MATRIX_DECAY,
  type BatchNormOptions,
  type DiagonalInit,
} from './layers.js';
export { buildNetwork, resolveNetworkConfig, countParameters, finalMapSize, isVariant, VARIANTS, type Variant, type NetworkConfig } from './network.js';
export {
  parseIdx,
  loadFashionMnist,
  datasetFromIdx,
  fewShot,
  selectClasses,
  subset,
  head,
  makeBatch,
  permutation,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_INSTALL,
  type ImageDataset,
  type IdxArray,
} from './data.js';
export {
  train,
  evaluate,
  nslLoss,
  weightPenalty,
  learningRateAt,
  REFERENCE_LR_STEPS,
  type TrainConfig,
  type TrainOptions,
  type TrainResult,
  type EpochRecord,
} from './train.js';
export { directoryIO, loadModel, modelArtifacts } from './io.js';
export {
  diagonalFisher,
  taskEmbedding,
  logDetDistance,
  frechetDistance,
  alignEmbeddings,
  type FisherEmbedding,
  type FisherOptions,
  type Task,
  type LogDetResult,
} from './fisher.js';
export { TASK_MEASURES, parseTaskMeasure, taskMeasureId, taskDistance, taskDistanceMatrix, type TaskMeasureConfig } from './taskMeasures.js';
export { runBench, summarise, benchMarkdown, DEFAULT_BENCH, type BenchSettings, type BenchRun, type BenchResult } from './bench.js';
