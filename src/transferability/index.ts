/**
 * Label-based transferability scores: one call per score on a candidate's features (or a source's class
 * probabilities) and the target labels. Ids and metadata come from the measure catalogue
 * (measures/scoreFamilies.ts); this module checks the input once, runs the scorer, and shares a per-candidate memo
 * between the scores of the same candidate.
 */
import { getGemmEngine, type GemmEngine } from '../linalg/gemm.js';
import { findScoreFamily, parseScore, scoreId, type ScoreFamilyId } from '../measures/scoreFamilies.js';
import { gbc } from './gbc.js';
import { hscore } from './hscore.js';
import { knn } from './knn.js';
import { checkScoreInput } from './labels.js';
import { leep, nce } from './leep.js';
import { linear } from './linear.js';
import { logme } from './logme.js';
import { nleep } from './nleep.js';
import { parc } from './parc.js';
import { sfda } from './sfda.js';
import { transrate } from './transrate.js';
import type { ScoreContext, ScoreInput, Scorer } from './types.js';

export { classTarget, regressionTarget, checkScoreInput } from './labels.js';
export type { ClassTarget, RegressionTarget, ScoreContext, ScoreInput, Scorer, ScoreTarget } from './types.js';

const SCORERS: Record<ScoreFamilyId, Scorer> = { logme, leep, nce, nleep, hscore, gbc, transrate, parc, sfda, knn, linear };

/** A memo shared by the scores of one candidate (keys are the scorers' own; values live as long as the memo). */
export class ScoreMemo {
  private readonly values = new Map<string, Promise<unknown>>();
  /** Matrices already scanned for NaN/Inf: the scan reads all N·D values, and every score of a candidate needs it. */
  readonly finite = new WeakSet<object>();
  get<T>(key: string, compute: () => T | Promise<T>): Promise<T> {
    let v = this.values.get(key) as Promise<T> | undefined;
    if (!v) {
      v = Promise.resolve().then(compute);
      this.values.set(key, v);
    }
    return v;
  }
}

export interface ScoreOptions {
  engine?: GemmEngine;
  /** Share work between scores of the same candidate: pass one memo per candidate (and input). */
  memo?: ScoreMemo;
}

export interface ScoreValue {
  /** Canonical id. */
  id: string;
  value: number;
  ms: number;
}

/** One score of one candidate. Throws with a clear message on bad input; never returns NaN. */
export async function computeScore(id: string, input: ScoreInput, opts: ScoreOptions = {}): Promise<ScoreValue> {
  const config = parseScore(id);
  const family = findScoreFamily(config.family)!;
  const memo = opts.memo ?? new ScoreMemo();
  checkScoreInput(family, input, memo.finite);
  const ctx: ScoreContext = {
    input,
    params: config.params,
    engine: opts.engine ?? (await getGemmEngine()),
    memo: (key, compute) => memo.get(key, compute),
  };
  const t0 = performance.now();
  const value = await SCORERS[config.family](ctx);
  const ms = performance.now() - t0;
  const canonical = scoreId(config);
  if (!Number.isFinite(value)) throw new Error(`${canonical}: ${input.name ?? 'input'}: the score came out ${value}; please report this input`);
  return { id: canonical, value, ms };
}

/** Several scores of one candidate, sharing its memo. */
export async function computeScores(ids: readonly string[], input: ScoreInput, opts: ScoreOptions = {}): Promise<ScoreValue[]> {
  const memo = opts.memo ?? new ScoreMemo();
  const engine = opts.engine ?? (await getGemmEngine());
  const out: ScoreValue[] = [];
  for (const id of ids) out.push(await computeScore(id, input, { engine, memo }));
  return out;
}
