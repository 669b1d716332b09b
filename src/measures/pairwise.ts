/**
 * Pairwise measure families: measures that cannot be written as an inner product of one prepared vector per model
 * (Procrustes and shape metrics, the CCA family, linear predictivity, neighbourhood measures, …). Each model is still
 * prepared once (`prepare`: centring, a reduced basis, neighbour lists, …); then every pair of prepared forms is
 * compared on its own (`compare`). similarity.ts runs them — the upper triangle only for a symmetric family, both
 * triangles otherwise — and registry.ts / catalogue.ts list them, so an id such as `procrustes` or
 * `shape:alpha=0.5` works in every shell as soon as its family is in PAIRWISE_FAMILIES (pairwiseFamilies.ts).
 */
import type { FeatureLayout } from '../models/types.js';
import type { Matrix } from '../linalg/dense.js';
import type { GemmEngine, Precision } from '../linalg/gemm.js';
import type { Invariance, MeasureCost, ParamSpec } from './registry.js';

/** A parsed parameter value: enum values as strings, numbers, flags as booleans, shapes as dimension lists. */
export type PairwiseParamValue = string | number | boolean | number[];

/** Every parameter of the family, defaults filled in (a parameter without a default and not given is absent). */
export type PairwiseParams = Readonly<Record<string, PairwiseParamValue>>;

/** What prepare and compare may use besides their inputs. */
export interface PairwiseContext {
  /** The GEMM engine of the run (batch the family's products through it). */
  engine: GemmEngine;
  /** The precision asked for; families that need float64 for correctness may ignore it. */
  precision?: Precision;
}

/** What a family may know about one member besides its feature matrix. */
export interface PairwiseInput {
  /**
   * The per-image shape as stored (e.g. [H, W, C] channel-last, [C, H, W] channel-first, [p] for a vector layer);
   * its product is the number of features. Families that treat channels as their units read it.
   */
  shape: readonly number[];
  /** Where the channel axis is, when the extraction recorded it (Representation.featureLayout). */
  featureLayout?: FeatureLayout;
}

/** A value of the metadata that may depend on the parameters (e.g. symmetric only when symmetrised). */
export type ByParams<T> = T | ((params: PairwiseParams) => T);

/** Read a ByParams value for one setting. */
export function byParams<T>(value: ByParams<T>, params: PairwiseParams): T {
  return typeof value === 'function' ? (value as (p: PairwiseParams) => T)(params) : value;
}

/**
 * One pairwise family. `P` is its per-model prepared form (kept in memory for all models of a run, and in a
 * PreparedCache across runs): keep it to what compare needs, not the features themselves when a smaller form does.
 * Keep it plain data (plain objects, arrays, numbers, strings, typed arrays), and never modify it in compare: with
 * several threads (pairThreads.ts) its typed arrays are moved into shared memory and read by every thread at once,
 * and `similarity --queue` serialises it to disk.
 */
export interface PairwiseFamily<P = unknown> {
  /** The family name in ids (`procrustes`, `shape`, …): lower case, no `:` or `,`. */
  id: string;
  name: string;
  description: string;
  reference: string;
  /** Parameters with the registry's ParamSpec (numbers may declare min / max / integer). */
  params: ParamSpec[];
  /** true for a similarity (larger = more similar), false for a distance (smaller = more similar). */
  largerIsMoreSimilar: boolean;
  /** Whether compare(a, b) = compare(b, a); when false the matrix entry (i, j) is compare(row i, column j). */
  symmetric: ByParams<boolean>;
  /** Whether the value (distances) is a metric on the equivalence classes of its invariance group. */
  metric: ByParams<boolean>;
  /** The transformations of one input that leave every value unchanged (each one property-tested). */
  invariances: ByParams<Invariance[]>;
  cost: MeasureCost;
  /** What happens with fewer images than features (n ≤ p): the value's meaning there, a regulariser, or the error. */
  fewImages: string;
  /**
   * The value of a model compared with itself, used for the matrix diagonal without computing it (1 for a
   * normalised similarity, 0 for a distance). Leave it out — or return undefined for a setting — when it depends on
   * the data (a ridge-regularised CCA, a cross-validated R²); compare(a, a) is then used.
   */
  self?: ByParams<number | undefined>;
  /**
   * Bytes one model's prepared form keeps for n images × p features, for the memory check before any work; default
   * 8·n·p (a float64 copy of the features). Families that keep an n×n form (distances, projectors) must say so.
   */
  preparedBytes?(n: number, p: number, params: PairwiseParams): number;
  /** The named settings worth listing (`taskmap measures`, `benchmark measures`); default: the family id alone. */
  standard?: string[];
  /** Checks across parameters that the per-parameter specs cannot express; throw with a message naming the fix. */
  validate?(params: PairwiseParams, id: string): void;
  /**
   * One model's prepared form from its features (n images × p features, float64, finite; a fresh copy the family
   * may modify). Throw with a message that names `label` and the problem (constant features, too few images, …).
   * `input` is absent when the caller only has a matrix (the family then takes the shape as [p]).
   */
  prepare(x: Matrix, params: PairwiseParams, label: string, ctx: PairwiseContext, input?: PairwiseInput): P | Promise<P>;
  /** The value of one pair of prepared forms (same images, same order). Never NaN: throw instead. */
  compare(a: P, b: P, params: PairwiseParams, ctx: PairwiseContext): number | Promise<number>;
}

/** The prepared form as the similarity pipeline and its cache hold it. */
export interface PairwisePrepared {
  kind: 'pairwise';
  family: string;
  value: unknown;
}

/** How a family's prepared form is cached: keyed by the canonical id, so two settings never share a form. */
export function pairwiseCacheKey(id: string, precision: Precision = 'float64'): string {
  return `pairwise|${id}|${precision}`;
}
