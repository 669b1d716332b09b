/**
 * JSON Schemas of the request bodies and queries. Fastify validates every request against them before a
 * handler runs (unknown fields are errors, not silently dropped, so a typo such as "budjet" is reported), and the
 * TypeScript interfaces beside them are what the handlers receive. Value checks that need the data (labels,
 * measure ids, tasks of a result dict) are left to the library, whose messages name the problem.
 */
import { EVAL_METRICS, type EvalMetric } from '../ops/evaluate.js';
import { OBJECTIVE_NAMES, POLICY_SOLVERS, type PolicyProblem, type SolverChoice } from '../ops/policy.js';
import { LABEL_KINDS } from '../ops/rank.js';
import { PRECISIONS, type Precision } from '../ops/similarity.js';
import { LINKAGES, type Linkage } from '../ops/taxonomy.js';
import type { LabelKind } from '../taxonomy/rank.js';

const ref = { type: 'string', minLength: 1, maxLength: 1024 } as const;
const label = { type: 'string', minLength: 1, maxLength: 256 } as const;
const labels = { type: 'array', items: label, maxItems: 2000 } as const;
const measure = { type: 'string', minLength: 1, maxLength: 512 } as const;
const precision = { type: 'string', enum: [...PRECISIONS] } as const;
const costs = { type: 'object', additionalProperties: { type: 'number', minimum: 0 }, maxProperties: 2000 } as const;

/** Objective names the policy accepts: the library's list (ids and the paper's gain / quality). */
export { OBJECTIVE_NAMES };

function body<P extends Record<string, unknown>>(properties: P, required: string[] = []) {
  return { type: 'object', additionalProperties: false, properties, required } as const;
}

export type { Precision };

/** Bootstrap over images (docs/measures.md#inference): per-cell intervals, and split support in a taxonomy. */
export interface BootstrapBody {
  bootstrap?: number;
  subset?: number;
  replacement?: boolean;
  seed?: number;
}
// Each draw recomputes the whole M×M matrix; 2000 draws is already minutes on a large set.
const bootstrapProperties = {
  bootstrap: { type: 'integer', minimum: 1, maximum: 2000 },
  subset: { type: 'integer', minimum: 4 },
  replacement: { type: 'boolean' },
  seed: { type: 'integer', minimum: 0, maximum: 4294967295 },
} as const;

export interface SimilarityBody extends BootstrapBody {
  featureSet: string;
  measure: string;
  precision?: Precision;
}
export const similaritySchema = body({ featureSet: ref, measure, precision, ...bootstrapProperties }, ['featureSet', 'measure']);

/** Permutation test of one pair (docs/measures.md#permutation-test-of-a-pair): b's images are shuffled. */
export interface PermutationBody {
  featureSet: string;
  measure: string;
  /** Member labels of the pair. */
  a: string;
  b: string;
  /** Shuffles P. */
  permutations: number;
  seed?: number;
  precision?: Precision;
}
// A pairwise family prepares the shuffled model again for every shuffle: 10,000 is already long on a big pair.
export const permutationSchema = body(
  {
    featureSet: ref,
    measure,
    a: label,
    b: label,
    permutations: { type: 'integer', minimum: 1, maximum: 10_000 },
    seed: bootstrapProperties.seed,
    precision,
  },
  ['featureSet', 'measure', 'a', 'b', 'permutations'],
);

export interface TaxonomyBody extends BootstrapBody {
  featureSet?: string;
  matrix?: string;
  measure?: string;
  linkage?: Linkage;
  /** Flat clusters to cut the tree into (default: the number of families, else 3). */
  clusters?: number;
  precision?: Precision;
}
export const taxonomySchema = body({
  featureSet: ref,
  matrix: ref,
  measure,
  linkage: { type: 'string', enum: [...LINKAGES] },
  clusters: { type: 'integer', minimum: 1, maximum: 10_000 },
  precision,
  ...bootstrapProperties,
});

export interface RankBody {
  featureSet: string;
  /** A member label; or give targetFile. */
  target?: string;
  /** A target file in the data roots: .npy features, or .csv / .txt labels (one per image), or (targetKind "regression") a .npy of regression values. */
  targetFile?: string;
  /** For a labels file: class (default) or regression. */
  targetKind?: LabelKind;
  /** A representation measure, a label-based score (needs a labels targetFile), or "all" (the score table). */
  measure: string;
  /** With measure "all": the column the rows are ordered by (default the first). */
  sortBy?: string;
  /** A feature set of the source models' class probabilities on the target images (LEEP, NCE). */
  probabilities?: string;
  bootstrap?: number;
  subset?: number;
  seed?: number;
  groupBy?: 'model';
  separator?: string;
  precision?: Precision;
  /** A Taskonomy result dict (.json / .pkl) of measured transfers among known tasks: also rank its sources through them. */
  viaTransfers?: string;
  /** With viaTransfers: renames of the dict's tasks to the members' labels or models. */
  aliases?: Record<string, string>;
  /** With viaTransfers: how many of the most similar known tasks weigh (default 3; "all": every one). */
  viaNeighbours?: number | 'all';
  /**
   * The new task's labels (.csv / .txt, one per image, or a .npy of regression values; read as targetKind says) beside a member or .npy target:
   * also rank by a label-based score on them and by both places summed (ops LabelsRanking).
   */
  labelsFile?: string;
  /** With labelsFile: the label-based score (default logme). */
  labelScore?: string;
}
/** How many of the most similar known tasks weigh a via-transfers prediction: a count, or "all" (the CLI's --via-neighbours). */
const viaNeighbours = {
  anyOf: [
    { type: 'integer', minimum: 1, maximum: 100_000 },
    { type: 'string', enum: ['all'] },
  ],
};

export const rankSchema = body(
  {
    featureSet: ref,
    target: label,
    targetFile: ref,
    targetKind: { type: 'string', enum: [...LABEL_KINDS] },
    measure,
    sortBy: measure,
    probabilities: ref,
    // Each draw recomputes every candidate on a subset; 2000 draws is already minutes on a large set.
    bootstrap: { type: 'integer', minimum: 0, maximum: 2000 },
    subset: { type: 'integer', minimum: 1 },
    seed: { type: 'integer', minimum: 0, maximum: 4294967295 },
    groupBy: { type: 'string', enum: ['model'] },
    separator: { type: 'string', minLength: 1, maxLength: 16 },
    precision,
    viaTransfers: ref,
    aliases: { type: 'object', additionalProperties: label, maxProperties: 2000 },
    viaNeighbours,
    labelsFile: ref,
    labelScore: measure,
  },
  ['featureSet', 'measure'],
);

export interface EvaluateBody {
  featureSet?: string;
  measures?: string[];
  predicted?: string;
  truth: string;
  metric?: EvalMetric;
  includeSelf?: boolean;
  targets?: string[];
  sources?: string[];
  aliases?: Record<string, string>;
  precision?: Precision;
  /** With "predicted": also score it through the truth's other targets' transfers (ops evaluateViaTransfers). */
  viaTransfers?: boolean;
  /** With viaTransfers: how many of the most similar tasks weigh (default 3; "all": every one). */
  viaNeighbours?: number | 'all';
}
export const evaluateSchema = body(
  {
    featureSet: ref,
    measures: { type: 'array', items: measure, minItems: 1, maxItems: 200 },
    predicted: ref,
    truth: ref,
    metric: { type: 'string', enum: [...EVAL_METRICS] },
    includeSelf: { type: 'boolean' },
    targets: labels,
    sources: labels,
    aliases: { type: 'object', additionalProperties: label, maxProperties: 2000 },
    precision,
    viaTransfers: { type: 'boolean' },
    viaNeighbours,
  },
  ['truth'],
);

export interface AhpBody {
  tournaments: string;
  clip?: [number, number];
  exclude?: string[];
  /** Write the affinities as JSON to this file name in the upload root (so the policy view can use them). */
  save?: string;
}
export const ahpSchema = body(
  {
    tournaments: ref,
    clip: { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 },
    exclude: labels,
    save: { type: 'string', minLength: 1, maxLength: 128 },
  },
  ['tournaments'],
);

export interface ResultMatrixBody {
  path: string;
  sources?: string[];
  targets?: string[];
}
export const resultMatrixSchema = body({ path: ref, sources: labels, targets: labels }, ['path']);

/**
 * The library's PolicyProblem with files named instead of loaded (the route resolves them inside the data
 * roots) and the server's solver controls added.
 */
export interface PolicyBody extends Omit<PolicyProblem, 'affinities' | 'winsVsPixels' | 'winsVsTask' | 'objective'> {
  affinities: string;
  winsVsPixels?: string;
  winsVsTask?: string;
  objective?: (typeof OBJECTIVE_NAMES)[number];
  /** 'auto' (default): exhaustive enumeration when it is small, else HiGHS; both are exact. */
  solver?: SolverChoice;
  /** Seconds (HiGHS). The server applies a default so one request cannot hold the solver indefinitely. */
  timeLimit?: number;
}
const policyProperties = {
  affinities: ref,
  winsVsPixels: ref,
  winsVsTask: ref,
  objective: { type: 'string', enum: [...OBJECTIVE_NAMES] },
  budget: { type: 'number', minimum: 0, maximum: 1e6 },
  targets: labels,
  sourceOnly: labels,
  targetOnly: labels,
  maxOrder: { type: 'integer', minimum: 1, maximum: 64 },
  cost: costs,
  transferCost: costs,
  importance: costs,
  valueFloor: { type: 'number', minimum: 0, maximum: 1 },
  sourceOnlyBonus: { type: 'number', minimum: -1e6, maximum: 1e6 },
  solver: { type: 'string', enum: [...POLICY_SOLVERS] },
  timeLimit: { type: 'number', exclusiveMinimum: 0, maximum: 600 },
} as const;
export const policySchema = body(policyProperties, ['affinities', 'budget']);

export interface SweepBody extends Omit<PolicyBody, 'budget'> {
  budgets?: number[];
}
const { budget: _budget, ...sweepBase } = policyProperties;
export const sweepSchema = body({ ...sweepBase, budgets: { type: 'array', items: { type: 'number', minimum: 0, maximum: 1e6 }, minItems: 1, maxItems: 200 } }, [
  'affinities',
]);

export const pathQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { path: ref },
  required: ['path'],
} as const;

export const measureQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { id: measure },
  required: ['id'],
} as const;

/** What an upload is meant to be when its extension does not say: `labels` (a .csv / .txt of one label per image). */
export const UPLOAD_KINDS = ['labels'] as const;

export const uploadQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { name: { type: 'string', minLength: 1, maxLength: 128 }, kind: { type: 'string', enum: [...UPLOAD_KINDS] } },
} as const;

export const jobParamsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { id: { type: 'string', pattern: '^[0-9a-f]{24}$' } },
  required: ['id'],
} as const;
