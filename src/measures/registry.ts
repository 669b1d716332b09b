/**
 * The measure registry: every representation-similarity measure with its metadata, and the id grammar
 * `family[:key=value,key=value,flag]` (e.g. `rsa`, `dds:norm=znorm,kernel=cosine`, `cka:kernel=linear,debiased`).
 * The CLI, the server and the reports list measures from here; nothing else hard-codes them.
 */
import { CENTERINGS, COMPARATORS, type Centering, type Comparator } from './compare.js';
import { KERNELS, RDM_DISTANCES, type KernelName, type RdmDistance } from './kernels.js';
import { NORMALIZATIONS, type Layout, type Normalization } from './normalize.js';

export type Invariance = 'orthogonal' | 'isotropic-scaling' | 'translation' | 'feature-permutation' | 'per-feature-affine';

export const INVARIANCE_DESCRIPTIONS: Record<Invariance, string> = {
  orthogonal: 'X → XQ for any orthogonal Q (rotation / reflection of feature space)',
  'isotropic-scaling': 'X → cX for c > 0',
  translation: 'X → X + 1bᵀ (the same offset added to every image)',
  'feature-permutation': 'features reordered',
  'per-feature-affine': 'x_j → a_j x_j + b_j with a_j > 0 for every feature j',
};

export type RsaCompare = 'spearman' | 'pearson' | 'kendall';

export type MeasureConfig =
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

export interface ParamSpec {
  name: string;
  type: 'enum' | 'number' | 'flag' | 'shape';
  values?: readonly string[];
  default?: string | number | boolean;
  description: string;
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
        values: ['spearman', 'pearson', 'kendall'],
        default: 'spearman',
        description: 'RDM comparator (upper triangle, diagonal excluded)',
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

export function getFamily(id: string): MeasureFamily {
  const f = FAMILIES.find((x) => x.id === id);
  if (!f) throw new Error(`unknown measure "${id}" (known: ${FAMILIES.map((x) => x.id).join(', ')})`);
  return f;
}

function parseShape(value: string): number[] {
  const dims = value.split(/[x×]/).map((s) => Number(s.trim()));
  if (dims.length !== 3 || dims.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new Error(`shape "${value}" must be three positive integers H x W x C (e.g. 16x16x8)`);
  }
  return dims;
}

/** Parse and validate a measure id; every parameter not given takes its default. */
export function parseMeasure(id: string): MeasureConfig {
  const colon = id.indexOf(':');
  const familyId = (colon < 0 ? id : id.slice(0, colon)).trim();
  const family = getFamily(familyId);
  const given = new Map<string, string | true>();
  if (colon >= 0) {
    for (const item of id.slice(colon + 1).split(',')) {
      const s = item.trim();
      if (!s) continue;
      const eq = s.indexOf('=');
      const key = eq < 0 ? s : s.slice(0, eq);
      const value: string | true = eq < 0 ? true : s.slice(eq + 1);
      const spec = family.params.find((p) => p.name === key);
      if (!spec) {
        throw new Error(`measure "${id}": unknown parameter "${key}" for ${familyId} (known: ${family.params.map((p) => p.name).join(', ')})`);
      }
      if (given.has(key)) throw new Error(`measure "${id}": parameter "${key}" given twice`);
      given.set(key, value);
    }
  }
  const get = (name: string): string | number | boolean | number[] | undefined => {
    const spec = family.params.find((p) => p.name === name)!;
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
    if (spec.type === 'number') {
      const x = Number(v);
      if (v.trim() === '' || !Number.isFinite(x) || x <= 0) throw new Error(`measure "${id}": ${name}="${v}" must be a positive number`);
      return x;
    }
    return parseShape(v);
  };
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
  const family = getFamily(config.family);
  const parts: string[] = [];
  for (const spec of family.params) {
    const value = (config as unknown as Record<string, unknown>)[spec.name];
    if (value === undefined) continue;
    const always = config.family === 'dds' && (spec.name === 'norm' || spec.name === 'kernel');
    if (!always && value === spec.default) continue;
    if (spec.type === 'flag') {
      if (value) parts.push(spec.name);
    } else if (spec.type === 'shape') parts.push(`${spec.name}=${(value as number[]).join('x')}`);
    else parts.push(`${spec.name}=${String(value)}`);
  }
  return parts.length ? `${config.family}:${parts.join(',')}` : config.family;
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
  compare: Comparator;
  t: number;
  shape?: number[];
  layout: Layout;
  groups: number;
}

export function pipelineOf(config: MeasureConfig): Pipeline {
  switch (config.family) {
    case 'rsa':
      return {
        norm: 'centering',
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
  family: MeasureFamily['id'];
  name: string;
  largerIsMoreSimilar: boolean;
  symmetric: boolean;
  metric: boolean;
  invariances: Invariance[];
  config: MeasureConfig;
}

export function describeMeasure(id: string): MeasureInfo {
  const config = parseMeasure(id);
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

/** The named settings worth listing: RSA variants, all 42 DDS settings (g = unbiased CKA), the CKA variants. */
export function standardMeasureIds(): string[] {
  const ids = ['rsa', ...RDM_DISTANCES.filter((d) => d !== 'correlation').map((d) => `rsa:rdm=${d}`), 'rsa:compare=pearson', 'rsa:compare=kendall'];
  for (const norm of NORMALIZATIONS) for (const kernel of KERNELS) ids.push(`dds:norm=${norm},kernel=${kernel}`);
  ids.push('cka', 'cka:debiased', 'cka:kernel=rbf', 'cka:kernel=rbf,debiased');
  return ids;
}
