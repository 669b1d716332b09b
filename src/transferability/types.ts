/**
 * Plain data between the transferability modules: a candidate's features (or a source's class probabilities) on
 * the target images, and the target itself — integer class codes, or regression values.
 */
import type { GemmEngine } from '../linalg/gemm.js';
import type { Matrix } from '../linalg/dense.js';
import type { ScoreParamValue } from '../measures/scoreFamilies.js';

/** Class labels encoded as codes 0…C−1 (C = number of distinct labels, never max + 1; see labels.ts). */
export interface ClassTarget {
  kind: 'class';
  codes: Int32Array;
  /** The original label of each code, in code order. */
  classes: string[];
  /** Images per code. */
  counts: number[];
}

/** Regression values: N×T (T target columns). */
export interface RegressionTarget {
  kind: 'regression';
  values: Matrix;
}

export type ScoreTarget = ClassTarget | RegressionTarget;

export interface ScoreInput {
  /** N×D features of the candidate on the target images (every score but LEEP and NCE). */
  features?: Matrix;
  /** N×C_s class probabilities of the source model on the target images (LEEP, NCE). */
  probabilities?: Matrix;
  target: ScoreTarget;
  /** How errors name the input (a file or a member label). */
  name?: string;
}

/**
 * What a scorer gets: a checked input (finite, shapes agree, the family's class requirements met), the parsed
 * parameters, the GEMM engine, and a memo shared by every score of the same candidate (e.g. the centred Gram
 * matrix and its eigendecomposition are computed once for LogME, H-score and TransRate).
 */
export interface ScoreContext {
  input: ScoreInput;
  params: Record<string, ScoreParamValue>;
  engine: GemmEngine;
  memo<T>(key: string, compute: () => T | Promise<T>): Promise<T>;
}

export type Scorer = (ctx: ScoreContext) => number | Promise<number>;
