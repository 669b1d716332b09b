/**
 * Use case: what measures exist and what an id means — the catalogue as the shells list it (`taskmap measures`,
 * `GET /api/measures`, the UI's forms) and the checks they run on a user's measure id.
 */
import {
  CATALOGUE,
  canonicalId,
  catalogueEntry,
  describe,
  directionOf,
  entriesFor,
  findEntry,
  INPUT_KINDS,
  isDistance,
  standardIds,
  type InputKind,
} from '../measures/catalogue.js';
import { idSyntax } from '../measures/catalogue.js';
import { canonicalMeasureId, describeMeasure, FAMILIES, INVARIANCE_DESCRIPTIONS, standardRepresentationIds, type MeasureInfo } from '../measures/registry.js';
import { SCORE_FAMILIES, standardScoreIds, type ScoreFamily } from '../measures/scoreFamilies.js';
import { standardRankMeasures } from '../taxonomy/rankTable.js';

export { CATALOGUE, canonicalId, catalogueEntry, describe, directionOf, entriesFor, INPUT_KINDS, isDistance, standardIds, type InputKind, type MeasureInfo };
export { INVARIANCE_DESCRIPTIONS };
export { TASK_MEASURES } from '../measures/taskMeasures.js';

/** The input kind of the family an id names, or undefined when no family has that name. */
export function findEntryInput(id: string): InputKind | undefined {
  return findEntry(id)?.input;
}

/** A representation-measure id, canonical; unknown families (or measures of another input) are an error. */
export function canonicalRepresentationId(id: string): string {
  catalogueEntry(id, 'representations');
  return canonicalMeasureId(id);
}

/** The full description of a representation-measure id (with its parsed configuration). */
export function describeRepresentation(id: string): MeasureInfo {
  return describeMeasure(canonicalRepresentationId(id));
}

/** The description of a representation-measure id, or null for any other id (a task measure, another tool's). */
export function representationInfoOrNull(id: string | undefined): MeasureInfo | null {
  if (id === undefined) return null;
  try {
    return describeRepresentation(id);
  } catch {
    return null;
  }
}

/** A label-based score family as the shells list it: its metadata and its id grammar. */
export interface ScoreListing extends Omit<ScoreFamily, 'id'> {
  family: ScoreFamily['id'];
  /** The id grammar, e.g. `logme[:solver=fixed-point|icml]`. */
  syntax: string;
}

/** The score families with their id grammar, in catalogue order. */
export function scoreListing(): ScoreListing[] {
  return SCORE_FAMILIES.map(({ id, ...rest }) => ({ family: id, ...rest, syntax: idSyntax(catalogueEntry(id)) }));
}

/** The listing every shell shows: representation families with their standard settings, and the whole catalogue. */
export function measureListing() {
  return {
    /** Label-based transferability scores (`rank --target labels.csv --measure <id>`), with their requirements. */
    scores: scoreListing(),
    /** The standard score settings. */
    standardScores: standardScoreIds(),
    /** The columns of the score table (`rank --measure all`) for a class target. */
    rankAll: standardRankMeasures(),
    /** Representation-measure families (the feature-set forms): the registry records. */
    families: FAMILIES,
    /** The standard representation settings, described. */
    measures: standardRepresentationIds().map((id) => describeMeasure(id)),
    /** Every family of every input kind. */
    catalogue: CATALOGUE,
    invariances: INVARIANCE_DESCRIPTIONS,
  };
}
