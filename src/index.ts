/**
 * taskmap's library API: the same calls the CLI, the server and the reports make.
 * Data flow: feature sets → measures → similarity matrices → evaluation / taxonomy (see DESIGN.md).
 */
export type { Matrix } from './linalg/dense.js';
export { fromRows, toRows, upperTriangle, zeros } from './linalg/dense.js';
export type { LabelledMatrix, LabelledMatrixJson } from './linalg/labelled.js';
export { getGemmEngine, gram, matmulABt, jsEngine, PRECISIONS, type GemmEngine, type Precision, type EngineKind } from './linalg/gemm.js';
export { rankData, argsort } from './linalg/ranks.js';
export { pearson, spearman, kendallTauB, kendallTauA, spearmanRhoA, weightedTau, cosineSimilarity } from './linalg/correlation.js';
export { euclideanDistances, squaredEuclideanDistances, type DistanceOptions, type DistancePath } from './linalg/distances.js';
export { symmetricEigen, symmetricEigenvalues, principalEigenvector } from './linalg/eigen.js';

export type { FeatureSet, FeatureSetReopen, FeatureSetSource, Representation, RepresentationInfo } from './features/types.js';
export type { ReadBuffer } from './io/input.js';
export { loadFeatureSet, loadRepresentation, openFeatureSet, saveFeatureSet } from './features/featureSet.js';
export { checkImageIds, checkSameImages, readImagesList, type ImageList } from './features/imageIdentity.js';

export { readNpy, writeNpy, type NdArray } from './io/npy.js';
export { readNpz, writeNpz } from './io/npz.js';
export { readSafetensors, writeSafetensors } from './io/safetensors.js';
export { unpickle } from './io/pickle.js';
export { readResultDict } from './io/resultDict.js';
export { readLabelledMatrix, writeLabelledMatrix, labelledMatrixToJson, labelledMatrixFromJson } from './io/labelledMatrix.js';
export { writeFileAtomic } from './io/atomic.js';

export {
  FAMILIES,
  parseMeasure,
  measureId,
  canonicalMeasureId,
  describeMeasure,
  invariancesOf,
  standardMeasureIds,
  standardPairwiseIds,
  standardRepresentationIds,
  isPairwise,
  type MeasureConfig,
  type BatchedMeasureConfig,
  type PairwiseMeasureConfig,
  type MeasureInfo,
  type Invariance,
} from './measures/registry.js';
export {
  byParams,
  type PairwiseFamily,
  type PairwiseParams,
  type PairwiseParamValue,
  type PairwiseContext,
  type PairwiseInput,
  type PairwisePrepared,
  type ByParams,
} from './measures/pairwise.js';
export { PAIRWISE_FAMILIES } from './measures/pairwiseFamilies.js';
export { similarityMatrix, crossSimilarity, pairSimilarity, prepareRepresentation, PreparedCache, type SimilarityOptions } from './measures/similarity.js';
export { normalizeFeatures, NORMALIZATIONS, type Normalization } from './measures/normalize.js';
export { kernelMatrix, rdmMatrix, KERNELS, RDM_DISTANCES, type KernelName, type RdmDistance } from './measures/kernels.js';
export { centerMatrix, type Centering, type Comparator } from './measures/compare.js';

export { evaluatePrediction, truthFromResultDict, EVAL_METRICS, type EvalMetric, type EvaluationResult } from './evaluate/evaluate.js';
export { evaluateMeasures, type HarnessRow } from './evaluate/harness.js';

export { parseTransferKey, canonicalKey, firstOrderMatrix, renameTasks, type ResultDict } from './taskonomy/results.js';

export {
  rankSources,
  targetFromLabels,
  bootstrapSubsets,
  subsetImages,
  type Target,
  type RankOptions,
  type RankResult,
  type RankEntry,
  type ModelEntry,
  type LabelKind,
  type LabelTargetInfo,
  type LabelRepresentation,
} from './taxonomy/rank.js';
export { type LabelValue } from './taxonomy/scoreColumns.js';
export {
  rankTable,
  standardRankMeasures,
  type RankTable,
  type RankTableOptions,
  type RankTableColumn,
  type RankTableRow,
  type RankTableModel,
} from './taxonomy/rankTable.js';
export { matchProbabilities } from './taxonomy/scoreColumns.js';
// Inference on any similarity (docs/measures.md#inference): bootstrap intervals, split support, permutation tests.
export {
  bootstrapSimilarity,
  bootstrapSplitSupport,
  bootstrapDraws,
  cellIntervals,
  drawTrees,
  permutationTest,
  permutePrepared,
  randomPermutation,
  sampleWithReplacement,
  type BootstrapOptions,
  type CellIntervals,
  type PermutationOptions,
  type PermutationTest,
  type Resampling,
  type SimilarityBootstrap,
  type SplitSupportOptions,
  type TreeSupport,
} from './taxonomy/inference.js';
export { splitSupport, mergeMembers } from './taxonomy/support.js';
export { mulberry32, sampleWithoutReplacement, percentile } from './linalg/resample.js';

// Label-based transferability scores (docs/transferability.md): one call per score on a candidate's features (or a
// source's class probabilities) and the target labels; their ids and metadata in the catalogue.
export {
  computeScore,
  computeScores,
  ScoreMemo,
  classTarget,
  regressionTarget,
  checkScoreInput,
  type ScoreValue,
  type ScoreOptions,
  type ScoreInput,
  type ScoreTarget,
  type ClassTarget,
  type RegressionTarget,
} from './transferability/index.js';
// Many candidates' scores on worker threads, whole candidates per thread (values as computeScores on one thread).
export { scoreCandidates, candidateThreads, type CandidateScore, type CandidateScoresOptions } from './transferability/threads.js';
export {
  SCORE_FAMILIES,
  findScoreFamily,
  parseScore,
  scoreId,
  standardScoreIds,
  type ScoreFamily,
  type ScoreFamilyId,
  type ScoreConfig,
  type ScoreParamValue,
} from './measures/scoreFamilies.js';

export { parseLossCsv, tournamentsFromLosses, parseTournamentsJson, winRatesVs, gainAndQuality } from './taskonomy/winrates.js';
export { ahpWeights, ahpAffinities, reciprocalMatrix, type AhpResult } from './taskonomy/ahp.js';
export { rankingFromAffinities, generateCandidates } from './taskonomy/candidates.js';
export {
  solvePolicy,
  budgetSweep,
  buildPolicyModel,
  policyToLp,
  chooseSolver,
  parseObjective,
  OBJECTIVE_NAMES,
  POLICY_OBJECTIVES,
  POLICY_SOLVERS,
  type SolverChoice,
  type PolicyProblem,
  type PolicyResult,
  type PolicyObjective,
  type SweepRow,
} from './taskonomy/policy.js';
export { taskTree, taskFeatures } from './taskonomy/tree.js';
export {
  linkage,
  clusterFeatures,
  pairwiseDistances,
  leafOrder,
  toNewick,
  toTree,
  cutTree,
  similarityToDistance,
  type Dendrogram,
  type Linkage,
} from './taxonomy/cluster.js';

// Option records, results and building blocks the functions above take or return (complete API reference).
export { type ChannelOrder, type InputDType, type InputLayout, type ResizeMode } from './models/types.js';
export { type FeatureLayout, type ModelFormat, type Preprocessing } from './models/types.js';
export { type ManifestEntry, type ManifestImage } from './models/manifest.js';
export { type BatchNormOptions, type DiagonalInit } from './nsl/layers.js';
export { type Manifest } from './models/manifest.js';
export { type FisherTensor } from './nsl/fisher.js';
export { type ImageDataset } from './nsl/data.js';
export { type PolicyEdge } from './taskonomy/policyModel.js';
export { type NetworkConfig } from './nsl/network.js';
export { type FisherReduction } from './measures/taskMeasures.js';
export { CENTERINGS, COMPARATORS, RDM_ONLY_COMPARATORS, type Prepared, type RdmOnlyComparator } from './measures/compare.js';
export { RSA_COMPARATORS, type RsaComparator } from './measures/rdmComparators.js';
export { type MeasureFamily, type ParamSpec, type Pipeline, type RsaCompare } from './measures/registry.js';
export { type FisherEmbedding, type Task, type TaskEmbeddingOptions } from './nsl/fisher.js';
export { type TaskMeasureConfig, type TaskMeasureFamily } from './measures/taskMeasures.js';
export { type Direction, type MeasureCost, type MeasureDescription, type TaskType } from './measures/catalogue.js';
export { type Merge, type TreeNode } from './taxonomy/cluster.js';
export { type BootstrapInfo, type LabelEncoding, type LabelTargetOptions, type TargetInfo } from './taxonomy/rank.js';
export { type DType, type NpyReadOptions, type TypedArray } from './io/npy.js';
export { type PolicyStatus, type PolicyTarget } from './taskonomy/policyResult.js';
export { type PolicyModel } from './taskonomy/policyModel.js';
export { type Candidate, type CandidateOptions } from './taskonomy/candidates.js';
export { type LossRecord, type TournamentsJson } from './taskonomy/winrates.js';
export { type TransferKey } from './io/resultDict.js';
export { type EigenEngine, type PowerIterationOptions, type PrincipalEigen, type SymmetricEigen, type SymmetricEigenOptions } from './linalg/eigen.js';
export { type ExtractSummary } from './models/extract.js';
export { type LabelledTask } from './nsl/labelledData.js';
export { type FamilyCut, type NeighbourAgreement } from './taxonomy/agreement.js';
export { type MdsResult } from './taxonomy/mds.js';
export { type Layout, type TensorShapeOptions } from './measures/normalize.js';
export { type AhpAffinitiesOptions, type AhpOptions } from './taskonomy/ahp.js';
export { type SolveOptions } from './taskonomy/policySolvers.js';
export { type HarnessOptions } from './evaluate/harness.js';
export { type Float, type GemmOptions } from './linalg/gemm.js';
export { type FeatureMatrix, type KernelOptions } from './measures/kernels.js';
export { type LoadFeatureSetOptions, type LoadRepresentationOptions } from './features/featureSet.js';
export { type LabelledMatrixFormat, type ReadLabelledMatrixOptions } from './io/labelledMatrix.js';
export { type ReadNpzOptions, type WriteNpzOptions } from './io/npz.js';
export { type TaskTreeOptions } from './taskonomy/tree.js';
export { type TruthFromResultDictOptions } from './evaluate/evaluate.js';
export { type UnpickleOptions } from './io/pickle.js';
export { type WeightedTauOptions } from './linalg/correlation.js';
export { type TrainConfig } from './nsl/train.js';

// The measure catalogue: every measure and score with its input kind, direction, parameters, invariances and cost.
export {
  CATALOGUE,
  INPUT_KINDS,
  catalogueEntry,
  canonicalId,
  describe,
  directionOf,
  entriesFor,
  isDistance,
  standardIds,
  type CatalogueEntry,
  type InputKind,
} from './measures/catalogue.js';

// The use cases (src/ops): what the CLI, the server and the report call.
export * as ops from './ops/index.js';

// Resource limits (docs/security.md): the memory budget every reader and measure checks before allocating, and the
// structural limits of the quadratic steps.
export { DEFAULT_MAX_MEMORY, LimitError, maxMemory, parseSize, PICKLE_LIMITS, setMaxMemory } from './io/limits.js';
export { MAX_TOURNAMENT_CANDIDATES } from './taskonomy/winrates.js';
export { POLICY_LIMITS } from './taskonomy/policyModel.js';
