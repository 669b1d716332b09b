/**
 * Metadata of the label-based transferability scores (LogME, LEEP, NCE, NLEEP, H-score, GBC, TransRate, PARC,
 * SFDA, kNN, linear probe): how well one candidate source is predicted to transfer to a labelled target, from the
 * candidate's features on the target images (or, for LEEP and NCE, from the source model's class probabilities).
 * Higher is better for every score. Only ids, parameters and metadata live here, so that the measure catalogue
 * can answer for them cheaply; the computation is src/transferability/.
 *
 * Ids use the catalogue's grammar, `family[:key=value,flag]`; a canonical id leaves out parameters at their default.
 */
import type { ParamSpec } from './registry.js';

export type ScoreFamilyId = 'logme' | 'leep' | 'nce' | 'nleep' | 'hscore' | 'gbc' | 'transrate' | 'parc' | 'sfda' | 'knn' | 'linear';

export type ScoreParamValue = string | number | boolean;

export interface ScoreConfig {
  family: ScoreFamilyId;
  /** Every parameter of the family, defaults filled in. */
  params: Record<string, ScoreParamValue>;
}

export interface ScoreFamily {
  id: ScoreFamilyId;
  name: string;
  description: string;
  reference: string;
  /** `labels`: the candidate's features + target labels; `source-probabilities`: the source's class probabilities + labels. */
  input: 'labels' | 'source-probabilities';
  taskTypes: ('classification' | 'regression')[];
  /** Classes need at least this many images each (1 when the score copes with singletons). */
  minPerClass: number;
  params: ParamSpec[];
  cost: { tier: 'cheap' | 'moderate' | 'expensive'; scaling: string };
}

export const SCORE_FAMILIES: readonly ScoreFamily[] = [
  {
    id: 'logme',
    name: 'LogME (log maximum evidence)',
    description:
      'Per target column, Bayesian linear regression of the one-hot label (or regression value) on the features; the ' +
      'evidence maximised over prior and noise precision, averaged over columns and divided by N.',
    reference: 'You, Liu, Wang & Long, ICML 2021; JMLR 2022 (fixed-point solver) — docs/transferability.md#logme',
    input: 'labels',
    taskTypes: ['classification', 'regression'],
    minPerClass: 1,
    params: [
      {
        name: 'solver',
        type: 'enum',
        values: ['fixed-point', 'icml'],
        default: 'fixed-point',
        description: 'fixed-point: the LogME repository default (omits −½(D−k)·log α when D > N); icml: the ICML 2021 / TLlib iteration',
      },
    ],
    cost: { tier: 'cheap', scaling: 'min(N,D)²·max(N,D) (one SVD) + C·min(N,D)' },
  },
  {
    id: 'leep',
    name: 'LEEP (log expected empirical prediction)',
    description: "Empirical conditional P(y | z) from the source model's class probabilities θ; mean log Σ_z P(y_i | z) θ_iz.",
    reference: 'Nguyen, Hassner, Seeger & Archambeau, ICML 2020 — docs/transferability.md#leep',
    input: 'source-probabilities',
    taskTypes: ['classification'],
    minPerClass: 1,
    params: [],
    cost: { tier: 'cheap', scaling: 'N·C_s' },
  },
  {
    id: 'nce',
    name: 'NCE (negative conditional entropy)',
    description: "−H(Y | Z) with Z the source model's top-1 class; counts over the target images.",
    reference: 'Tran, Nguyen & Hassner, ICCV 2019 — docs/transferability.md#nce',
    input: 'source-probabilities',
    taskTypes: ['classification'],
    minPerClass: 1,
    params: [],
    cost: { tier: 'cheap', scaling: 'N + C·C_s' },
  },
  {
    id: 'nleep',
    name: 'NLEEP (Gaussian-mixture LEEP)',
    description:
      'LEEP with the source classifier replaced by a diagonal Gaussian mixture fitted on PCA-reduced features ' +
      '(components = per-class × classes); its posteriors play the role of θ.',
    reference: 'Li et al., CVPR 2021 (Ranking neural checkpoints); SFDA repository metrics.py — docs/transferability.md#nleep',
    input: 'labels',
    taskTypes: ['classification'],
    minPerClass: 1,
    params: [
      { name: 'variance', type: 'number', default: 0.8, description: 'PCA keeps the fewest components explaining this share of variance' },
      { name: 'per-class', type: 'number', default: 5, description: 'mixture components per target class' },
      { name: 'seed', type: 'number', default: 0, description: 'seed of the mixture initialisation' },
    ],
    cost: { tier: 'moderate', scaling: 'EM iterations × N·K·d' },
  },
  {
    id: 'hscore',
    name: 'H-score',
    description: 'tr(cov(F)⁺ · cov(class means of F)): the share of feature variance the labels explain.',
    reference: 'Bao et al., ICIP 2019; shrinkage: Ibrahim, Ponomareva & Mazumder, NeurIPS 2021 — docs/transferability.md#h-score',
    input: 'labels',
    taskTypes: ['classification'],
    minPerClass: 1,
    params: [{ name: 'shrinkage', type: 'flag', default: false, description: 'Ledoit–Wolf shrinkage covariance (the regularised H-score)' }],
    cost: { tier: 'cheap', scaling: 'N·D² + D³ (N·N dual when D > N)' },
  },
  {
    id: 'gbc',
    name: 'GBC (Gaussian Bhattacharyya coefficient)',
    description: 'Minus the summed Bhattacharyya coefficients between per-class Gaussians: class overlap in feature space.',
    reference: 'Pándy, Agostinelli, Uijlings, Ferrari & Mensink, CVPR 2022 — docs/transferability.md#gbc',
    input: 'labels',
    taskTypes: ['classification'],
    minPerClass: 1,
    params: [
      { name: 'gaussian', type: 'enum', values: ['spherical', 'diagonal'], default: 'spherical', description: 'per-class covariance model' },
      { name: 'pca', type: 'number', default: 64, description: 'PCA to this many dimensions first (0: none; capped at the rank)' },
    ],
    cost: { tier: 'cheap', scaling: 'N·D·min(N,D) (PCA) + C²·d' },
  },
  {
    id: 'transrate',
    name: 'TransRate',
    description: 'Coding rate of the centred features minus the mean coding rate within each class (TLlib variant).',
    reference: 'Huang, Huang, Chen, Dong & Jiang, ICML 2022 — docs/transferability.md#transrate',
    input: 'labels',
    taskTypes: ['classification'],
    minPerClass: 1,
    params: [{ name: 'eps', type: 'number', default: 1e-4, description: 'distortion ε of the coding rate' }],
    cost: { tier: 'cheap', scaling: '(C+1)·min(N,D)²·max(N,D)' },
  },
  {
    id: 'parc',
    name: 'PARC (pairwise annotation representation comparison)',
    description: '100 × Spearman between the feature RDM (1 − correlation of z-scored, PCA-reduced features) and the label RDM.',
    reference: 'Bolya, Mittapalli & Hoffman, NeurIPS 2021 — docs/transferability.md#parc',
    input: 'labels',
    taskTypes: ['classification'],
    minPerClass: 1,
    params: [{ name: 'dims', type: 'number', default: 32, description: 'PCA to this many dimensions first (0: none; capped at N)' }],
    cost: { tier: 'moderate', scaling: 'N²·d + N² log N' },
  },
  {
    id: 'sfda',
    name: 'SFDA (self-challenging Fisher discriminant analysis)',
    description:
      'Regularised Fisher discriminant projection of the features, then the mean probability of the true class under ' +
      'a softmax classifier in the projected space.',
    reference: 'Shao et al., ECCV 2022 (Not all models are equal) — docs/transferability.md#sfda',
    input: 'labels',
    taskTypes: ['classification'],
    minPerClass: 1,
    params: [],
    cost: { tier: 'moderate', scaling: 'N·D² + D³' },
  },
  {
    id: 'knn',
    name: 'kNN leave-one-out accuracy',
    description: '100 × leave-one-out accuracy of a k-nearest-neighbour vote (Euclidean; ties go to the nearest neighbour’s class).',
    reference: 'PARC repository baseline (kNN) — docs/transferability.md#knn',
    input: 'labels',
    taskTypes: ['classification'],
    minPerClass: 2,
    params: [{ name: 'k', type: 'number', default: 1, description: 'neighbours voting' }],
    cost: { tier: 'cheap', scaling: 'N²·D (one Gram matrix)' },
  },
  {
    id: 'linear',
    name: 'Linear probe (cross-validated L2 logistic regression)',
    description:
      '100 × the best stratified k-fold cross-validated accuracy, over a λ grid (1 … 1e-4), of an L2-regularised ' +
      'multinomial logistic regression on z-scored features.',
    reference: 'the standard linear-evaluation baseline — docs/transferability.md#linear-probe',
    input: 'labels',
    taskTypes: ['classification'],
    minPerClass: 2,
    params: [{ name: 'folds', type: 'number', default: 5, description: 'cross-validation folds (stratified, seeded)' }],
    cost: { tier: 'expensive', scaling: 'folds × grid × iterations × N·D·C' },
  },
];

export function findScoreFamily(family: string): ScoreFamily | undefined {
  return SCORE_FAMILIES.find((f) => f.id === family);
}

function familyOf(id: string): string {
  const colon = id.indexOf(':');
  return (colon < 0 ? id : id.slice(0, colon)).trim();
}

/** Parse a score id, fill in defaults, and check every value against the family's parameters. */
export function parseScore(id: string): ScoreConfig {
  const name = familyOf(id);
  const family = findScoreFamily(name);
  if (!family) throw new Error(`unknown score "${name}" (known: ${SCORE_FAMILIES.map((f) => f.id).join(', ')})`);
  const params: Record<string, ScoreParamValue> = {};
  for (const p of family.params) if (p.default !== undefined) params[p.name] = p.default;
  const seen = new Set<string>();
  const colon = id.indexOf(':');
  for (const item of colon < 0 ? [] : id.slice(colon + 1).split(',')) {
    const s = item.trim();
    if (!s) continue;
    const eq = s.indexOf('=');
    const key = eq < 0 ? s : s.slice(0, eq).trim();
    const spec = family.params.find((p) => p.name === key);
    if (!spec) throw new Error(`score "${id}": unknown parameter "${key}" for ${name} (known: ${family.params.map((p) => p.name).join(', ') || 'none'})`);
    if (seen.has(key)) throw new Error(`score "${id}": parameter "${key}" given twice`);
    seen.add(key);
    const raw = eq < 0 ? undefined : s.slice(eq + 1).trim();
    if (spec.type === 'flag') {
      if (raw !== undefined && raw !== 'true' && raw !== 'false') throw new Error(`score "${id}": ${key} is a flag (write "${key}" or "${key}=false")`);
      params[key] = raw !== 'false';
    } else if (raw === undefined || raw === '') {
      throw new Error(`score "${id}": ${key} needs a value (${key}=...)`);
    } else if (spec.type === 'enum') {
      if (!spec.values!.includes(raw)) throw new Error(`score "${id}": ${key}="${raw}" is not one of ${spec.values!.join(', ')}`);
      params[key] = raw;
    } else {
      const v = Number(raw);
      if (!Number.isFinite(v)) throw new Error(`score "${id}": ${key}="${raw}" is not a number`);
      params[key] = v;
    }
  }
  checkScoreParams(family, params, id);
  return { family: family.id, params };
}

/** Range checks the generic parser cannot know. */
function checkScoreParams(family: ScoreFamily, p: Record<string, ScoreParamValue>, id: string): void {
  const int = (key: string, min: number) => {
    const v = p[key] as number;
    if (!Number.isInteger(v) || v < min) throw new Error(`score "${id}": ${key} must be an integer ≥ ${min}, got ${v}`);
  };
  switch (family.id) {
    case 'nleep':
      if (!((p.variance as number) > 0 && (p.variance as number) <= 1)) throw new Error(`score "${id}": variance must be in (0, 1], got ${p.variance}`);
      int('per-class', 1);
      int('seed', 0);
      break;
    case 'gbc':
      int('pca', 0);
      break;
    case 'parc':
      int('dims', 0);
      break;
    case 'transrate':
      if (!((p.eps as number) > 0)) throw new Error(`score "${id}": eps must be positive, got ${p.eps}`);
      break;
    case 'knn':
      int('k', 1);
      break;
    case 'linear':
      int('folds', 2);
      break;
    default:
  }
}

/** Canonical id: parameters at their default left out, in the family's parameter order. */
export function scoreId(c: ScoreConfig): string {
  const family = findScoreFamily(c.family)!;
  const parts: string[] = [];
  for (const p of family.params) {
    const v = c.params[p.name];
    if (v === undefined || v === p.default) continue;
    parts.push(p.type === 'flag' ? (v ? p.name : `${p.name}=false`) : `${p.name}=${v}`);
  }
  return parts.length ? `${c.family}:${parts.join(',')}` : c.family;
}

/** The settings `--measure all` runs and `taskmap measures` lists: every family at its defaults plus the common variants. */
export function standardScoreIds(): string[] {
  return [
    'logme',
    'logme:solver=icml',
    'leep',
    'nce',
    'nleep',
    'hscore',
    'hscore:shrinkage',
    'gbc',
    'gbc:gaussian=diagonal',
    'transrate',
    'parc',
    'sfda',
    'knn',
    'knn:k=5',
    'linear',
  ];
}
