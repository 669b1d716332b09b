/**
 * Use case: Taskonomy affinities from measured transfer results — per-image losses or tournament matrices →
 * tournaments → AHP affinities with per-target consistency, and each candidate's win rate against `pixels`
 * (Gain, wins_vs_pixels) and against `self` (Quality, wins_vs_task). `taskmap ahp` and `POST /api/ahp` both call
 * this; they differ only in how they read the input and where they write the result dicts.
 */
import type { LabelledMatrix } from '../linalg/labelled.js';
import { AHP_CLIP, ahpAffinities, type TargetConsistency } from '../taskonomy/ahp.js';
import { firstOrderMatrix, type ResultDict } from '../taskonomy/results.js';
import {
  GAIN_BASELINE,
  gainAndQuality,
  parseLossCsv,
  parseTournamentsJson,
  tournamentsFromLosses,
  tournamentsToJson,
  type Tournament,
} from '../taskonomy/winrates.js';

export { AHP_CLIP, tournamentsToJson, type TargetConsistency, type Tournament };

/** The two input forms: per-image losses (CSV: target,source,image,loss) or tournaments JSON (the --wins format). */
export type TournamentsInput = 'losses' | 'wins';

/**
 * Tournaments from a file's text; `name` names the file in errors. Losses: every source of a target needs a loss
 * for every image of that target (ties count half). Wins: {"<target>": {"sources": [...], "wins": [[...]]}}.
 */
export function tournamentsFromText(text: string, kind: TournamentsInput, name: string): Tournament[] {
  if (kind === 'losses') return tournamentsFromLosses(parseLossCsv(text, name), name);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${name}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  return parseTournamentsJson(json, name);
}

export interface AhpOptions {
  /** Clip range of the win fractions; default AHP_CLIP. */
  clip?: readonly [number, number];
  /** Candidates left out of the AHP; default ["pixels"] (a baseline, not a transfer). */
  exclude?: string[];
}

export interface AhpOutcome {
  /** Taskonomy result dict {"src__target": affinity}; affinities of one target sum to 1. */
  affinities: ResultDict;
  consistency: TargetConsistency[];
  /** Each candidate's win rate vs `pixels` (Gain); empty when no target has a pixels candidate. */
  winsVsPixels: ResultDict;
  /** Each candidate's win rate vs `self` (Quality); empty when no target has a self candidate. */
  winsVsTask: ResultDict;
  /** Targets without a `pixels` candidate (no Gain). */
  missingPixels: string[];
  /** Targets without a `self` candidate (no Quality). */
  missingSelf: string[];
}

/** AHP affinities, consistency diagnostics, Gain and Quality of a set of tournaments. */
export function ahp(tournaments: Tournament[], opts: AhpOptions = {}): AhpOutcome {
  const { affinities, consistency } = ahpAffinities(tournaments, {
    clip: opts.clip ? [opts.clip[0], opts.clip[1]] : [AHP_CLIP[0], AHP_CLIP[1]],
    exclude: opts.exclude,
  });
  return { affinities, consistency, ...gainAndQuality(tournaments) };
}

/** The result dicts an AHP run produces, under their Taskonomy file roles; empty dicts are left out. */
export function ahpResultDicts(r: AhpOutcome): { role: 'affinities' | 'wins_vs_pixels' | 'wins_vs_task'; dict: ResultDict }[] {
  return (
    [
      { role: 'affinities', dict: r.affinities },
      { role: 'wins_vs_pixels', dict: r.winsVsPixels },
      { role: 'wins_vs_task', dict: r.winsVsTask },
    ] as const
  ).filter((e) => Object.keys(e.dict).length > 0);
}

/**
 * "Before AHP" and "after" as first-order source × target matrices: before, the raw win rates of each transfer
 * against the baseline (Gain when `pixels` competed, else Quality against `self`; null when neither did); after,
 * the AHP affinities.
 */
export function ahpBeforeAfter(r: AhpOutcome): { before: { baseline: string; matrix: LabelledMatrix } | null; after: LabelledMatrix } {
  const gain = Object.keys(r.winsVsPixels).length > 0;
  const before = gain ? r.winsVsPixels : r.winsVsTask;
  return {
    before: Object.keys(before).length > 0 ? { baseline: gain ? GAIN_BASELINE : 'self', matrix: firstOrderMatrix(before) } : null,
    after: firstOrderMatrix(r.affinities),
  };
}
