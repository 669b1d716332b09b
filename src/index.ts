/**
 * taskmap's library API: the same calls the CLI, the server and the reports make.
 * Data flow: feature sets → measures → similarity matrices → evaluation / taxonomy (see DESIGN.md).
 */
export type { Matrix } from './linalg/dense.js';
export { fromRows, toRows, upperTriangle, zeros } from './linalg/dense.js';
export type { LabelledMatrix, LabelledMatrixJson } from './linalg/labelled.js';
export { getGemmEngine, gram, matmulABt, jsEngine, PRECISIONS, type GemmEngine, type Precision, type EngineKind } from './linalg/gemm.js';
export { rankData, argsort } from './linalg/ranks.js';
export { pearson, spearman, kendallTauB, weightedTau, cosineSimilarity } from './linalg/correlation.js';
export { symmetricEigen, principalEigenvector } from './linalg/eigen.js';

export type { FeatureSet, Representation } from './features/types.js';
export { loadFeatureSet, loadRepresentation, saveFeatureSet } from './features/featureSet.js';
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
  type MeasureConfig,
  type MeasureInfo,
  type Invariance,
} from './measures/registry.js';
export {
  similarityMatrix,
  crossSimilarity,
  pairSimilarity,
  prepareRepresentation,
  PreparedCache,
  type SimilarityOptions,
} from './measures/similarity.js';
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
export { mulberry32, sampleWithoutReplacement, percentile } from './linalg/resample.js';

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
export { linkage, clusterFeatures, pairwiseDistances, leafOrder, toNewick, toTree, cutTree, similarityToDistance, type Dendrogram, type Linkage } from './taxonomy/cluster.js';
