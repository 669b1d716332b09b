/**
 * Response shapes of the taskmap API, taken from the library and server sources (type-only imports: nothing
 * from there is bundled), so the UI cannot drift from what the server sends without failing its type check.
 */
export type { MeasureFamily, MeasureInfo, ParamSpec } from '../../src/measures/registry.js';
export type { LabelledMatrixJson } from '../../src/linalg/labelled.js';
import type { ResultDictInfo } from '../../src/ops/results.js';
export type { Linkage, Merge, TreeNode } from '../../src/taxonomy/cluster.js';
export type { RankEntry } from '../../src/taxonomy/rank.js';
export type { PolicyResult, PolicyTarget, SweepRow } from '../../src/taskonomy/policy.js';
export type { TargetConsistency } from '../../src/taskonomy/ahp.js';
export type { Catalog, FeatureSetEntry, ResultEntry } from '../../src/server/catalog.js';
export type { JobView, Progress } from '../../src/server/jobs.js';
export type { PermutationPayload, RankPayload, RankTablePayload, TaxonomyPayload } from '../../src/server/routes/analysis.js';
export type { ScoreListing } from '../../src/ops/measures.js';
export type { PolicyBody } from '../../src/server/schemas.js';

import type { MeasureFamily, MeasureInfo } from '../../src/measures/registry.js';
import type { CatalogueEntry } from '../../src/measures/catalogue.js';
import type { Precision } from '../../src/linalg/gemm.js';
import type { PolicyObjective, SolverChoice } from '../../src/taskonomy/policy.js';
import type { LabelledMatrixJson } from '../../src/linalg/labelled.js';
import type { PolicyResult, SweepRow } from '../../src/taskonomy/policy.js';
import type { TargetConsistency } from '../../src/taskonomy/ahp.js';
import type { ScoreListing } from '../../src/ops/measures.js';

export type { CatalogueEntry, InputKind } from '../../src/measures/catalogue.js';

/** GET /api/measures (src/server/routes/catalog.ts): every list a form offers comes from here. */
export interface MeasuresResponse {
  families: MeasureFamily[];
  measures: MeasureInfo[];
  /** Every measure family of every input kind; a form lists the entries whose `input` it can supply. */
  catalogue: CatalogueEntry[];
  /** The label-based transferability scores (rank against labels), their standard settings, and the columns of "all". */
  scores: ScoreListing[];
  standardScores: string[];
  rankAll: string[];
  linkages: string[];
  metrics: string[];
  /** Every objective name the policy accepts (aliases included). */
  objectives: string[];
  /** The distinct policy objectives, one id each. */
  policyObjectives: PolicyObjective[];
  solvers: SolverChoice[];
  precisions: Precision[];
}

export interface FeatureSetInfo {
  path: string;
  images: number;
  members: { label: string; features: number; shape: number[]; dtype: string }[];
  families: Record<string, string> | null;
}

/** GET /api/results/info: the library's description of a result dict, with its path. */
export type ResultInfo = ResultDictInfo & { path: string };

export type PolicyResponse = PolicyResult & { cached: boolean; serverMs: number };

export interface SweepResponse {
  sweep: SweepRow[];
  policies: PolicyResult[];
}

export interface AhpResponse {
  tournaments: string;
  targets: number;
  consistency: TargetConsistency[];
  affinities: Record<string, number>;
  before: (LabelledMatrixJson & { baseline: string }) | null;
  after: LabelledMatrixJson;
  saved?: Record<string, string>;
}

export interface UploadResponse {
  saved: { path: string; kind: string; members?: string[]; images?: number; rows?: number; distinct?: number; bytes: number }[];
}
