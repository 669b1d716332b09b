/**
 * The measure catalogue: one record per measure family of every kind — representation measures (registry.ts:
 * RSA, DDS, CKA batched; the pairwise families of pairwiseFamilies.ts: Procrustes, CCA, …), task measures on labelled data sets (taskMeasures.ts: Fisher distances) and, as they are added,
 * label-based transferability scores (LogME, LEEP, … over labels or source probabilities). Every shell (CLI
 * flags, server schemas, the UI's forms, `taskmap measures`, the report) asks this module what exists, what an id
 * means and which way it points; nothing else lists measures or decides "is this a distance".
 *
 * Ids share one grammar, `family[:key=value,key=value,flag]`; each kind keeps its own parser (the record's
 * `input` says which), and this module dispatches on the family.
 */
import { byParams } from './pairwise.js';
import { PAIRWISE_FAMILIES } from './pairwiseFamilies.js';
import { FAMILIES, invariancesOf, measureId, parseMeasure, standardRepresentationIds, type Invariance, type MeasureCost, type ParamSpec } from './registry.js';
import { parseScore, SCORE_FAMILIES, scoreId, standardScoreIds } from './scoreFamilies.js';
import { parseTaskMeasure, TASK_MEASURES, taskMeasureId } from './taskMeasures.js';

/**
 * What a measure consumes:
 * - `representations`: feature matrices of several models on the same images (a feature set);
 * - `labelled-tasks`: labelled data sets, one per task (images + integer labels);
 * - `labels`: target labels of the probe images plus a source's features (label-based transferability);
 * - `source-probabilities`: a source model's class probabilities on the target images plus the target labels.
 */
export type InputKind = 'representations' | 'labelled-tasks' | 'labels' | 'source-probabilities';
export const INPUT_KINDS: readonly InputKind[] = ['representations', 'labelled-tasks', 'labels', 'source-probabilities'];

/** Target task types a measure can score. */
export type TaskType = 'classification' | 'regression';

export type { MeasureCost };

/** One measure family as the catalogue lists it (plain JSON: the API serves it as is). */
export interface CatalogueEntry {
  family: string;
  name: string;
  description: string;
  reference: string;
  input: InputKind;
  taskTypes: TaskType[];
  /** The direction: true for a similarity or a score, false for a distance (smaller = more similar). */
  largerIsMoreSimilar: boolean;
  symmetric: boolean;
  metric: boolean;
  params: ParamSpec[];
  /** Invariances shared by every setting of the family; `null` when they depend on the parameters (see describe). */
  invariances: Invariance[] | null;
  cost: MeasureCost;
  /** Representation measures computed pair by pair (no per-model vector, so no queue or label-matrix target); absent otherwise. */
  pairwise?: true;
  /** Pairwise families: what happens with fewer images than features (n ≤ p). */
  fewImages?: string;
}

const REPRESENTATION_COST: Record<string, MeasureCost> = {
  rsa: { tier: 'cheap', scaling: 'M·n²·p (one RDM per model) + M²·n² log n (rank correlations)' },
  dds: { tier: 'cheap', scaling: 'M·n²·p (one kernel per model) + M²·n² (comparisons)' },
  cka: { tier: 'cheap', scaling: 'M·n²·p (one kernel per model) + M²·n² (comparisons)' },
};

/** The fields every representation family shares in its record (a representation target may also be built from labels). */
function representationEntry(
  f: { id: string; name: string; description: string; reference: string; largerIsMoreSimilar: boolean; params: ParamSpec[] },
  rest: Pick<CatalogueEntry, 'symmetric' | 'metric' | 'invariances' | 'cost'> & Partial<Pick<CatalogueEntry, 'pairwise' | 'fewImages'>>,
): CatalogueEntry {
  const { id, name, description, reference, largerIsMoreSimilar, params } = f;
  const { symmetric, metric, invariances, cost, ...pairwise } = rest;
  // Keys in the order the records have always been served in (JSON output stays byte-identical).
  const head = { family: id, name, description, reference, input: 'representations' as const, taskTypes: ['classification', 'regression'] as TaskType[] };
  return { ...head, largerIsMoreSimilar, symmetric, metric, params, invariances, cost, ...pairwise };
}

export const CATALOGUE: readonly CatalogueEntry[] = [
  ...FAMILIES.map((f) => representationEntry(f, { symmetric: f.symmetric, metric: f.metric, invariances: null, cost: REPRESENTATION_COST[f.id] })),
  ...PAIRWISE_FAMILIES.map((f) => {
    const defaults = parseMeasure(f.id);
    const params = defaults.family === 'pairwise' ? defaults.params : {};
    // Family-level flags are those of the default setting; describe(id) gives them per setting.
    return representationEntry(f, {
      symmetric: byParams(f.symmetric, params),
      metric: byParams(f.metric, params),
      invariances: typeof f.invariances === 'function' ? null : [...f.invariances],
      cost: f.cost,
      pairwise: true,
      fewImages: f.fewImages,
    });
  }),
  ...TASK_MEASURES.map((f): CatalogueEntry => ({
    family: f.id,
    name: f.name,
    description: f.description,
    reference: f.reference,
    input: 'labelled-tasks',
    taskTypes: ['classification'],
    largerIsMoreSimilar: f.largerIsMoreSimilar,
    symmetric: f.symmetric,
    metric: false,
    params: f.params,
    invariances: [],
    cost: { tier: 'expensive', scaling: 'T probe-network trainings (epochs × images) + T² Fisher comparisons' },
  })),
  // Scores rank one candidate against labels: higher is better, no symmetry or metric to speak of.
  ...SCORE_FAMILIES.map((f): CatalogueEntry => ({
    family: f.id,
    name: f.name,
    description: f.description,
    reference: f.reference,
    input: f.input,
    taskTypes: f.taskTypes,
    largerIsMoreSimilar: true,
    symmetric: false,
    metric: false,
    params: f.params,
    invariances: [],
    cost: f.cost,
  })),
];

function familyName(id: string): string {
  const colon = id.indexOf(':');
  return (colon < 0 ? id : id.slice(0, colon)).trim();
}

/** The record of a family, or of the family an id names; undefined when no family has that name. */
export function findEntry(id: string): CatalogueEntry | undefined {
  const family = familyName(id);
  return CATALOGUE.find((e) => e.family === family);
}

/** Like findEntry, but an unknown family is an error that lists the known ones (optionally of one input kind). */
export function catalogueEntry(id: string, input?: InputKind): CatalogueEntry {
  const e = findEntry(id);
  const known = CATALOGUE.filter((x) => input === undefined || x.input === input);
  if (!e || (input !== undefined && e.input !== input)) {
    const what = input === undefined || input === 'representations' ? 'measure' : `${input} measure`;
    throw new Error(`unknown ${what} "${familyName(id)}" (known: ${known.map((x) => x.family).join(', ')})`);
  }
  return e;
}

/** The families of one input kind. */
export function entriesFor(input: InputKind): CatalogueEntry[] {
  return CATALOGUE.filter((e) => e.input === input);
}

/** Parse and canonicalise any catalogued id (parameters at their default left out); throws with the parser's message. */
export function canonicalId(id: string): string {
  const e = catalogueEntry(id);
  switch (e.input) {
    case 'representations':
      return measureId(parseMeasure(id));
    case 'labelled-tasks':
      return taskMeasureId(parseTaskMeasure(id));
    default:
      return scoreId(parseScore(id));
  }
}

/** One id described: its canonical form, its family's record, and the invariances of this very setting. */
export interface MeasureDescription extends Omit<CatalogueEntry, 'params' | 'invariances' | 'description' | 'reference' | 'fewImages'> {
  id: string;
  invariances: Invariance[];
}

export function describe(id: string): MeasureDescription {
  const e = catalogueEntry(id);
  const canonical = canonicalId(id);
  const { params: _p, description: _d, reference: _r, invariances, fewImages: _f, ...rest } = e;
  const out: MeasureDescription = {
    ...rest,
    id: canonical,
    invariances: e.input === 'representations' ? invariancesOf(parseMeasure(canonical)) : (invariances ?? []),
  };
  const config = e.pairwise ? parseMeasure(canonical) : undefined;
  if (config?.family === 'pairwise') {
    const f = PAIRWISE_FAMILIES.find((x) => x.id === config.measure)!;
    out.symmetric = byParams(f.symmetric, config.params);
    out.metric = byParams(f.metric, config.params);
  }
  return out;
}

export type Direction = 'similarity' | 'distance';

/**
 * Which way an id points: 'similarity' (larger = more similar, also every score), 'distance' (smaller = more
 * similar), or undefined when the id is not a valid catalogued id (another tool's label; callers then take the
 * direction the user stated). The one place that decides whether a matrix is a distance.
 */
export function directionOf(id: string | undefined): Direction | undefined {
  if (id === undefined) return undefined;
  const e = findEntry(id);
  if (!e) return undefined;
  try {
    canonicalId(id);
  } catch {
    return undefined;
  }
  return e.largerIsMoreSimilar ? 'similarity' : 'distance';
}

/** Whether an id names a catalogued distance (false for similarities and for ids the catalogue does not know). */
export function isDistance(id: string | undefined): boolean {
  return directionOf(id) === 'distance';
}

/** The named settings worth listing, of one input kind or all. */
export function standardIds(input?: InputKind): string[] {
  const ids = [...standardRepresentationIds(), ...TASK_MEASURES.map((f) => f.id), ...standardScoreIds()];
  return input === undefined ? ids : ids.filter((id) => findEntry(id)!.input === input);
}

/**
 * One parameter name across the families of an input kind, for shells that expose parameters as separate options
 * (the CLI's `--norm`, `--kernel`, …): the union of the allowed values and each family's reading of it.
 */
export interface ParameterUnion {
  name: string;
  type: ParamSpec['type'];
  values?: string[];
  families: { family: string; description: string; default?: string | number | boolean; values?: readonly string[] }[];
}

export function parameterUnion(input: InputKind): ParameterUnion[] {
  const out = new Map<string, ParameterUnion>();
  for (const e of entriesFor(input)) {
    for (const p of e.params) {
      let u = out.get(p.name);
      if (!u) {
        u = { name: p.name, type: p.type, families: [] };
        out.set(p.name, u);
      }
      if (p.values) u.values = [...new Set([...(u.values ?? []), ...p.values])];
      u.families.push({ family: e.family, description: p.description, default: p.default, ...(p.values ? { values: p.values } : {}) });
    }
  }
  return [...out.values()];
}

/**
 * An entry's id grammar as help texts show it, from its parameters: `fisher-logdet[:floor=1e-10,reduce=element|first-axis]`
 * (the default first for enums; flags by name). Written from the catalogue so help never lists a stale syntax.
 */
export function idSyntax(entry: CatalogueEntry): string {
  const params = entry.params.map((p) => {
    if (p.type === 'flag') return p.name;
    if (p.type === 'enum' && p.values) {
      const values = p.default !== undefined ? [String(p.default), ...p.values.filter((v) => v !== p.default)] : [...p.values];
      return `${p.name}=${values.join('|')}`;
    }
    return `${p.name}=${p.default ?? '…'}`;
  });
  return params.length ? `${entry.family}[:${params.join(',')}]` : entry.family;
}
