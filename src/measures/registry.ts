/**
 * The measure registry: every representation-similarity measure with its metadata, and the id grammar
 * `family[:key=value,key=value,flag]` (e.g. `rsa`, `dds:norm=znorm,kernel=cosine`, `cka:kernel=linear,debiased`).
 * The CLI, the server and the reports list measures from here; nothing else hard-codes them.
 */
import { CENTERINGS, COMPARATORS, type Centering, type Comparator, type RdmOnlyComparator } from './compare.js';
import { KERNELS, RDM_DISTANCES, type KernelName, type RdmDistance } from './kernels.js';
import { NORMALIZATIONS, type Layout, type Normalization } from './normalize.js';
import { RSA_COMPARATORS, type RsaComparator } from './rdmComparators.js';
import { byParams, type PairwiseFamily, type PairwiseParams, type PairwiseParamValue } from './pairwise.js';
import { PAIRWISE_FAMILIES } from './pairwiseFamilies.js';

export type Invariance = 'orthogonal' | 'isotropic-scaling' | 'translation' | 'feature-permutation' | 'per-feature-affine' | 'invertible-linear';

export const INVARIANCE_DESCRIPTIONS: Record<Invariance, string> = {
  orthogonal: 'X → XQ for any orthogonal Q (rotation / reflection of feature space)',
  'isotropic-scaling': 'X → cX for c > 0',
  translation: 'X → X + 1bᵀ (the same offset added to every image)',
  'feature-permutation': 'features reordered',
  'per-feature-affine': 'x_j → a_j x_j + b_j with a_j > 0 for every feature j',
  'invertible-linear': 'X → XA for any invertible A (any change of basis of feature space)',
};

/** RSA's RDM comparators: taskmap's spearman / pearson / kendall and rsatoolbox's cosine, cosine-cov, corr-cov, rho-a, tau-a. */
export type RsaCompare = RsaComparator;

/**
 * A pairwise family's setting (pairwise.ts): `measure` is the family id as written in ids (`procrustes`, `shape`),
 * `params` every parameter with its default filled in. The `pairwise` tag keeps the batched families' unions narrow.
 */
export interface PairwiseMeasureConfig {
  family: 'pairwise';
  measure: string;
  params: PairwiseParams;
}

/** A batched family's setting: one prepared vector per model, all pairs from one GEMM (similarity.ts). */
export type BatchedMeasureConfig =
  | { family: 'rsa'; rdm: RdmDistance; compare: RsaCompare }
  | {
      family: 'dds';
      norm: Normalization;
      kernel: KernelName;
      compare: Comparator;
      centering: Centering;
      t: number;
      shape?: number[];
      layout: Layout;
      groups: number;
    }
  | { family: 'cka'; kernel: 'linear' | 'rbf'; debiased: boolean; t: number };

export type MeasureConfig = BatchedMeasureConfig | PairwiseMeasureConfig;

/** Whether a configuration is of a pairwise family (compared pair by pair, not by one GEMM). */
export function isPairwise(config: MeasureConfig): config is PairwiseMeasureConfig {
  return config.family === 'pairwise';
}

export interface ParamSpec {
  name: string;
  type: 'enum' | 'number' | 'flag' | 'shape';
  values?: readonly string[];
  default?: string | number | boolean;
  description: string;
  /** Numbers: the smallest value allowed (inclusive). Without min or max a number must be positive. */
  min?: number;
  /** Numbers: the largest value allowed (inclusive). */
  max?: number;
  /** Numbers: whole numbers only. */
  integer?: boolean;
}

/** How the work of a measure grows, for ordering and warnings in the shells. */
export interface MeasureCost {
  /** Coarse tier. */
  tier: 'cheap' | 'moderate' | 'expensive';
  /** How the work grows: n images, p features, M models, T tasks. */
  scaling: string;
}

export interface MeasureFamily {
  id: 'rsa' | 'dds' | 'cka';
  name: string;
  description: string;
  largerIsMoreSimilar: boolean;
  symmetric: boolean;
  /** Whether 1 − value (or the value) is a metric. None of the similarity families is. */
  metric: boolean;
  params: ParamSpec[];
  reference: string;
}

export const FAMILIES: MeasureFamily[] = [
  {
    id: 'rsa',
    name: 'Representational similarity analysis',
    description:
      'Centre each feature over the images, build the RDM (default 1 − Pearson between images), and correlate two ' +
      'RDMs over their upper triangles (default Spearman). Exactly the task-similarity of Dwivedi & Roig, CVPR 2019.',
    largerIsMoreSimilar: true,
    symmetric: true,
    metric: false,
    params: [
      { name: 'rdm', type: 'enum', values: RDM_DISTANCES, default: 'correlation', description: 'image-pair dissimilarity' },
      {
        name: 'compare',
        type: 'enum',
        values: RSA_COMPARATORS,
        default: 'spearman',
        description: 'RDM comparator (upper triangle, diagonal excluded; rsatoolbox names for cosine, cosine-cov, corr-cov, rho-a, tau-a)',
      },
    ],
    reference: 'Dwivedi & Roig, Representation Similarity Analysis for Efficient Task Taxonomy & Transfer Learning, CVPR 2019',
  },
  {
    id: 'dds',
    name: 'Duality diagram similarity',
    description:
      'Normalise features, form an n×n kernel or distance matrix f, compare the two matrices with g (default CKA ' +
      'with unbiased centring). The published best setting is norm=znorm,kernel=cosine.',
    largerIsMoreSimilar: true,
    symmetric: true,
    metric: false,
    params: [
      { name: 'norm', type: 'enum', values: NORMALIZATIONS, default: 'znorm', description: 'feature normalisation' },
      {
        name: 'kernel',
        type: 'enum',
        values: KERNELS,
        default: 'cosine',
        description: 'f: kernel (linear, rbf, lap) or distance (pearson, euclidean, cosine)',
      },
      { name: 'compare', type: 'enum', values: COMPARATORS, default: 'cka', description: 'g: comparator of the two n×n matrices' },
      { name: 'centering', type: 'enum', values: CENTERINGS, default: 'unbiased', description: 'matrix centring before g' },
      { name: 't', type: 'number', default: 0.5, description: 'rbf bandwidth as a fraction of the median squared distance' },
      { name: 'shape', type: 'shape', description: 'per-image H×W×C for the tensor norms (default: the stored shape)' },
      { name: 'layout', type: 'enum', values: ['NHWC', 'NCHW'], default: 'NHWC', description: 'feature order of the flattened tensor' },
      { name: 'groups', type: 'number', default: 2, description: 'number of channel groups for group_norm' },
    ],
    reference: 'Dwivedi, Huang, Cichy & Roig, Duality Diagram Similarity, ECCV 2020',
  },
  {
    id: 'cka',
    name: 'Centred kernel alignment',
    description: 'CKA of the raw features with a linear or RBF kernel; biased (HKH) or debiased (unbiased HSIC) centring.',
    largerIsMoreSimilar: true,
    symmetric: true,
    metric: false,
    params: [
      { name: 'kernel', type: 'enum', values: ['linear', 'rbf'], default: 'linear', description: 'feature kernel' },
      { name: 'debiased', type: 'flag', default: false, description: 'unbiased HSIC estimator (U-centring)' },
      { name: 't', type: 'number', default: 0.5, description: 'rbf bandwidth as a fraction of the median squared distance' },
    ],
    reference: 'Kornblith, Norouzi, Lee & Hinton, Similarity of Neural Network Representations Revisited, ICML 2019',
  },
];

/** Every representation-measure family name: the batched ones, then the pairwise ones. */
export function representationFamilyIds(): string[] {
  return [...FAMILIES.map((x) => x.id), ...PAIRWISE_FAMILIES.map((x) => x.id)];
}

function unknownFamily(id: string): Error {
  return new Error(`unknown measure "${id}" (known: ${representationFamilyIds().join(', ')})`);
}

export function getFamily(id: string): MeasureFamily {
  const f = FAMILIES.find((x) => x.id === id);
  if (!f) throw unknownFamily(id);
  return f;
}

/** The pairwise family of that name, or undefined. */
export function findPairwiseFamily(id: string): PairwiseFamily | undefined {
  return PAIRWISE_FAMILIES.find((x) => x.id === id);
}

/** The pairwise family of a configuration (its own registration). */
export function pairwiseFamilyOf(config: PairwiseMeasureConfig): PairwiseFamily {
  const f = findPairwiseFamily(config.measure);
  if (!f) throw unknownFamily(config.measure);
  return f;
}

function parseShape(value: string): number[] {
  const dims = value.split(/[x×]/).map((s) => Number(s.trim()));
  if (dims.length !== 3 || dims.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new Error(`shape "${value}" must be three positive integers H x W x C (e.g. 16x16x8)`);
  }
  return dims;
}

/** Check a number against its spec; without min or max it must be positive (the batched families' rule). */
function checkNumber(id: string, spec: ParamSpec, v: string): number {
  const x = Number(v);
  const finite = v.trim() !== '' && Number.isFinite(x);
  if (spec.min === undefined && spec.max === undefined) {
    if (!finite || x <= 0) throw new Error(`measure "${id}": ${spec.name}="${v}" must be a positive number`);
  } else if (!finite || (spec.min !== undefined && x < spec.min) || (spec.max !== undefined && x > spec.max)) {
    const range = spec.max === undefined ? `at least ${spec.min}` : spec.min === undefined ? `at most ${spec.max}` : `from ${spec.min} to ${spec.max}`;
    throw new Error(`measure "${id}": ${spec.name}="${v}" must be a number ${range}`);
  }
  if (spec.integer && !Number.isInteger(x)) throw new Error(`measure "${id}": ${spec.name}="${v}" must be a whole number`);
  return x;
}

/** The `key=value,flag` list of an id checked against a family's parameters: a reader with defaults filled in. */
function parseParams(id: string, familyId: string, params: ParamSpec[], rest: string | undefined): (name: string) => PairwiseParamValue | undefined {
  const given = new Map<string, string | true>();
  if (rest !== undefined) {
    for (const item of rest.split(',')) {
      const s = item.trim();
      if (!s) continue;
      const eq = s.indexOf('=');
      const key = eq < 0 ? s : s.slice(0, eq);
      const value: string | true = eq < 0 ? true : s.slice(eq + 1);
      const spec = params.find((p) => p.name === key);
      if (!spec) {
        const known = params.length ? `known: ${params.map((p) => p.name).join(', ')}` : 'it takes none';
        throw new Error(`measure "${id}": unknown parameter "${key}" for ${familyId} (${known})`);
      }
      if (given.has(key)) throw new Error(`measure "${id}": parameter "${key}" given twice`);
      given.set(key, value);
    }
  }
  return (name) => {
    const spec = params.find((p) => p.name === name)!;
    const v = given.get(name);
    if (v === undefined) return spec.default;
    if (spec.type === 'flag') {
      if (v === true || v === 'true') return true;
      if (v === 'false') return false;
      throw new Error(`measure "${id}": ${name} is a flag (write "${name}" or "${name}=false")`);
    }
    if (v === true) throw new Error(`measure "${id}": ${name} needs a value (${name}=...)`);
    if (spec.type === 'enum') {
      if (!spec.values!.includes(v)) throw new Error(`measure "${id}": ${name}="${v}" is not one of ${spec.values!.join(', ')}`);
      return v;
    }
    if (spec.type === 'number') return checkNumber(id, spec, v);
    return parseShape(v);
  };
}

/** Parse and validate a measure id; every parameter not given takes its default. */
export function parseMeasure(id: string): MeasureConfig {
  const colon = id.indexOf(':');
  const familyId = (colon < 0 ? id : id.slice(0, colon)).trim();
  const rest = colon < 0 ? undefined : id.slice(colon + 1);
  const pairwise = findPairwiseFamily(familyId);
  if (pairwise) {
    const get = parseParams(id, familyId, pairwise.params, rest);
    const params: Record<string, PairwiseParamValue> = {};
    for (const spec of pairwise.params) {
      const v = get(spec.name);
      if (v !== undefined) params[spec.name] = v;
    }
    pairwise.validate?.(params, id);
    return { family: 'pairwise', measure: pairwise.id, params };
  }
  const family = getFamily(familyId);
  const get = parseParams(id, familyId, family.params, rest);
  switch (family.id) {
    case 'rsa':
      return { family: 'rsa', rdm: get('rdm') as RdmDistance, compare: get('compare') as RsaCompare };
    case 'dds': {
      const groups = get('groups') as number;
      if (!Number.isInteger(groups)) throw new Error(`measure "${id}": groups must be an integer`);
      const shape = get('shape') as number[] | undefined;
      return {
        family: 'dds',
        norm: get('norm') as Normalization,
        kernel: get('kernel') as KernelName,
        compare: get('compare') as Comparator,
        centering: get('centering') as Centering,
        t: get('t') as number,
        ...(shape ? { shape } : {}),
        layout: get('layout') as Layout,
        groups,
      };
    }
    default:
      return { family: 'cka', kernel: get('kernel') as 'linear' | 'rbf', debiased: get('debiased') as boolean, t: get('t') as number };
  }
}

/**
 * The canonical id of a configuration: parameters at their default are omitted, except DDS's norm and kernel,
 * which are always written because they are what people cite.
 */
export function measureId(config: MeasureConfig): string {
  const pairwise = isPairwise(config);
  const name = pairwise ? config.measure : config.family;
  const specs = pairwise ? pairwiseFamilyOf(config).params : getFamily(config.family).params;
  const values = (pairwise ? config.params : config) as Readonly<Record<string, unknown>>;
  const parts: string[] = [];
  for (const spec of specs) {
    const value = values[spec.name];
    if (value === undefined) continue;
    const always = config.family === 'dds' && (spec.name === 'norm' || spec.name === 'kernel');
    if (!always && value === spec.default) continue;
    // Only a value other than the default reaches here: a flag that defaults to on is written `name=false`.
    if (spec.type === 'flag') parts.push(value ? spec.name : `${spec.name}=false`);
    else if (spec.type === 'shape') parts.push(`${spec.name}=${(value as number[]).join('x')}`);
    else parts.push(`${spec.name}=${String(value)}`);
  }
  return parts.length ? `${name}:${parts.join(',')}` : name;
}

export function canonicalMeasureId(id: string): string {
  return measureId(parseMeasure(id));
}

/**
 * Every measure as one pipeline: normalise → n×n matrix → centre → compare. RSA and CKA are DDS settings
 * (RSA: centring + RDM + Spearman, no matrix centring; CKA: raw features + kernel + CKA).
 */
export interface Pipeline {
  norm: Normalization;
  matrix: { type: 'kernel'; kernel: KernelName } | { type: 'rdm'; distance: RdmDistance };
  centering: Centering;
  compare: Comparator | RdmOnlyComparator;
  t: number;
  shape?: number[];
  layout: Layout;
  groups: number;
}

export function pipelineOf(config: MeasureConfig): Pipeline {
  if (isPairwise(config)) {
    throw new Error(
      `measure "${measureId(config)}" is compared pair by pair: it has no per-model vector whose inner products give the similarity, ` +
        'so this computation (which needs one) cannot use it; use rsa, dds or cka here',
    );
  }
  switch (config.family) {
    case 'rsa':
      return {
        // Centring cannot change Euclidean distances but moves integer features off their grid, where the RDM would
        // lose its exact ties (src/linalg/distances.ts); the other RDMs are defined on centred features.
        norm: config.rdm === 'euclidean' || config.rdm === 'sqeuclidean' ? 'none' : 'centering',
        matrix: { type: 'rdm', distance: config.rdm },
        centering: 'none',
        compare: config.compare,
        t: 0.5,
        layout: 'NHWC',
        groups: 2,
      };
    case 'dds':
      return {
        norm: config.norm,
        matrix: { type: 'kernel', kernel: config.kernel },
        centering: config.centering,
        compare: config.compare,
        t: config.t,
        ...(config.shape ? { shape: config.shape } : {}),
        layout: config.layout,
        groups: config.groups,
      };
    default:
      return {
        norm: 'none',
        matrix: { type: 'kernel', kernel: config.kernel },
        centering: config.debiased ? 'unbiased' : 'biased',
        compare: 'cka',
        t: config.t,
        layout: 'NHWC',
        groups: 2,
      };
  }
}

/**
 * Invariances of a configuration, derived from its pipeline (each one is property-tested for every registered
 * setting). Comparators are all invariant to positive scaling of the n×n matrices.
 */
export function invariancesOf(config: MeasureConfig): Invariance[] {
  if (isPairwise(config)) return [...byParams(pairwiseFamilyOf(config).invariances, config.params)];
  const p = pipelineOf(config);
  const f = p.matrix.type === 'kernel' ? p.matrix.kernel : p.matrix.distance;
  const distanceBased = f === 'rbf' || f === 'lap' || f === 'euclidean' || f === 'sqeuclidean';
  const rotationSafe = f === 'linear' || f === 'rbf' || f === 'euclidean' || f === 'sqeuclidean' || f === 'cosine';
  const out = new Set<Invariance>();
  if (p.norm === 'none' || p.norm === 'centering') {
    if (rotationSafe) out.add('orthogonal');
    if (f !== 'lap') out.add('isotropic-scaling');
  } else out.add('isotropic-scaling');
  if (p.norm === 'none' || p.norm === 'centering' || p.norm === 'znorm' || p.norm === 'layer_norm') out.add('feature-permutation');
  const translationFree = p.norm === 'centering' || p.norm === 'znorm' || (p.norm === 'none' && (distanceBased || (f === 'linear' && p.centering !== 'none')));
  if (translationFree) out.add('translation');
  if (p.norm === 'znorm') out.add('per-feature-affine');
  return [...out];
}

export interface MeasureInfo {
  id: string;
  /** The family name as written in ids (`rsa`, `dds`, `cka`, or a pairwise family such as `procrustes`). */
  family: string;

  name: string;
  largerIsMoreSimilar: boolean;
  symmetric: boolean;
  metric: boolean;
  invariances: Invariance[];
  config: MeasureConfig;
}

export function describeMeasure(id: string): MeasureInfo {
  const config = parseMeasure(id);
  if (isPairwise(config)) {
    const family = pairwiseFamilyOf(config);
    return {
      id: measureId(config),
      family: family.id,
      name: family.name,
      largerIsMoreSimilar: family.largerIsMoreSimilar,
      symmetric: byParams(family.symmetric, config.params),
      metric: byParams(family.metric, config.params),
      invariances: invariancesOf(config),
      config,
    };
  }
  const family = getFamily(config.family);
  return {
    id: measureId(config),
    family: family.id,
    name: family.name,
    largerIsMoreSimilar: family.largerIsMoreSimilar,
    symmetric: family.symmetric,
    metric: family.metric,
    invariances: invariancesOf(config),
    config,
  };
}

/** The named settings worth listing of the batched families: RSA variants, all 42 DDS settings (g = unbiased CKA), the CKA variants. */
export function standardMeasureIds(): string[] {
  const ids = [
    'rsa',
    ...RDM_DISTANCES.filter((d) => d !== 'correlation').map((d) => `rsa:rdm=${d}`),
    ...RSA_COMPARATORS.filter((c) => c !== 'spearman').map((c) => `rsa:compare=${c}`),
  ];
  for (const norm of NORMALIZATIONS) for (const kernel of KERNELS) ids.push(`dds:norm=${norm},kernel=${kernel}`);
  ids.push('cka', 'cka:debiased', 'cka:kernel=rbf', 'cka:kernel=rbf,debiased');
  return ids;
}

/** The pairwise families' standard settings (each family's `standard`, or its id alone), canonical. */
export function standardPairwiseIds(): string[] {
  return PAIRWISE_FAMILIES.flatMap((f) => (f.standard ?? [f.id]).map(canonicalMeasureId));
}

/** Every standard representation-measure setting: the batched ones (standardMeasureIds), then the pairwise ones. */
export function standardRepresentationIds(): string[] {
  return [...standardMeasureIds(), ...standardPairwiseIds()];
}
