/**
 * Use case: the demo's computation on the bundled zoo — probe images → features (cached in `<out>/features`) →
 * similarity under each measure (ops/similarity) → average-linkage taxonomy, MDS map and family recovery
 * (ops/taxonomy's familyTaxonomy). Writing the HTML report, JSON and figures is the report's part
 * (`src/report/demo.ts`); `taskmap demo` calls this, then the report.
 *
 * The default images are the curated probe set (no calibration frames, second stereo views or near-duplicate
 * photographs; images/probe.ts). Identical exports in the zoo (ZooModel.duplicateOf) stay in the tree, heatmap and
 * map, but the family statistics are computed without them: a copy is always its original's nearest neighbour and
 * would inflate the agreement. Those with them are kept beside, for comparison.
 *
 * When the package ships a trained task bank (models/taskbank; docs/taskbank.md), its encoders run on the same probe
 * images and get their own taxonomy under each measure, scored against the bank's four task families: networks of
 * one architecture and one training pool that differ by task alone, beside a zoo whose networks differ in
 * architecture and training data as much as in task.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sourcePriorScore, transferPrediction } from '../benchmark/taskbankEval.js';
import { readResultDict, resultTargets } from '../io/resultDict.js';
import { loadFeatureSet, openFeatureSet } from '../features/featureSet.js';
import { ensureCuratedProbeImages } from '../images/probe.js';
import { fromRows } from '../linalg/dense.js';
import type { LabelledMatrix } from '../linalg/labelled.js';
import { describeMeasure, FAMILIES } from '../measures/registry.js';
import { extractFeatures, type ExtractSummary } from '../models/extract.js';
import { BANK_AFFINITIES, bankDir, bankModels, ZOO, zooDuplicates, zooModel } from '../models/zoo.js';
import type { FamilyCut, NeighbourAgreement } from '../taxonomy/agreement.js';
import { bootstrapOfSet, withBootstrap } from './inference.js';
import { directionOf } from './measures.js';
import { representationMeasure, similarityOfSet } from './similarity.js';
import { familyTaxonomy, type TaxonomyResult } from './taxonomy.js';
import { stageTimer } from '../util/timing.js';

export const DEMO_MEASURES = ['rsa', 'dds:norm=znorm,kernel=cosine'];

export interface DemoComputeOptions {
  /** Probe image folder; default: the Debian probe set (fetched when missing). */
  images?: string;
  /** Output folder; the features are cached in its `features/`. */
  out: string;
  /** Zoo ids; default: the zoo's demo set. */
  models?: string[];
  measures?: string[];
  workers?: number;
  batchSize?: number;
  /** Leave out undecodable images (with a warning) instead of failing. */
  skipBad?: boolean;
  /**
   * Bootstrap draws per measure (docs/measures.md#inference): split support on each tree and per-cell intervals in the
   * report. Subsets of min(200, n/2) images, seeded by `seed` (default 1993).
   */
  bootstrap?: number;
  seed?: number;
  /** Called after each bootstrap draw (done, total, label). */
  onDraw?: (done: number, total: number, label: string) => void;
  onProgress?: (done: number, total: number, label: string) => void;
  log?: (message: string) => void;
  /** Also the task bank's shipped encoders, as a second taxonomy (default: when the package ships a bank). */
  bank?: boolean;
}

/** The task bank's part of the demo: its encoders on the same probe images, one taxonomy per measure. */
export interface BankDemo {
  labels: string[];
  families: string[];
  models: DemoModel[];
  taxonomies: TaxonomyResult[];
  /** How its similarities on these images predict its shipped measured transfers (absent when none are shipped). */
  transfers?: BankTransferPrediction;
}

/**
 * The bank's similarities on the demo's images against the affinities measured when it was trained (shipped as
 * models/taskbank/affinities.json): mean per-target Spearman of the similarity alone and through the other targets'
 * transfers (docs/taskbank.md), and the same average with equal weights.
 */
export interface BankTransferPrediction {
  /** The affinities file read. */
  affinities: string;
  /** The encoders scored as targets (each against the others as sources). */
  targets: string[];
  measures: { measure: string; name: string; similarity: number | null; viaTransfers: number | null }[];
  sourcePrior: number | null;
}

export interface FamilyRecovery {
  measure: string;
  /** Models the statistics are over (identical exports left out). */
  models: number;
  nearestNeighbourAgreement: number;
  chance: number;
  adjustedRandIndex: number;
  k: number;
  /** With identical exports among the models: the same statistics over all of them. */
  withDuplicates?: { models: number; nearestNeighbourAgreement: number; chance: number; adjustedRandIndex: number; k: number };
}

/** A model left out of the family statistics as an identical export of another model of the run. */
export interface DemoDuplicate {
  label: string;
  of: string;
}

/** One measure's family statistics over the models without identical exports. */
export interface DistinctStatistics {
  measure: string;
  labels: string[];
  neighbours: NeighbourAgreement;
  cut: FamilyCut;
}

/** One model of the demo as the report lists it (the zoo card and the extraction's manifest entry). */
export interface DemoModel {
  label: string;
  family: string;
  description?: string;
  layer: string;
  reduce: string;
  /** Per-image feature shape. */
  features: number[];
  source: string;
  licence?: string;
  msPerImage?: number;
  /** The model of the run this one is an identical export of. */
  duplicateOf?: string;
}

/** Everything the demo computed: what the report writes. */
export interface DemoData {
  /** The output folder, resolved. */
  out: string;
  images: { dir: string; count: number; description: string };
  /** The models that produced features, in the requested order. */
  labels: string[];
  families: string[];
  models: DemoModel[];
  failed: { model: string; error: string }[];
  extract: ExtractSummary;
  taxonomies: TaxonomyResult[];
  /** Identical exports among the models (empty when none). */
  duplicates: DemoDuplicate[];
  /** With duplicates: per taxonomy, its family statistics without them. */
  distinct?: DistinctStatistics[];
  /** The task bank's encoders (absent when no bank is shipped or `bank: false`). */
  bank?: BankDemo;
  /** Seconds per stage. */
  timings: Record<string, number>;
}

/**
 * The family-recovery summary of each taxonomy (family-recovery.json, the CLI's table): over the models without
 * identical exports when `distinct` is given, with the all-model numbers beside.
 */
export function familyRecovery(taxonomies: TaxonomyResult[], distinct?: DistinctStatistics[]): FamilyRecovery[] {
  return taxonomies.map((t, i) => {
    const all = {
      models: t.similarity.rows.length,
      nearestNeighbourAgreement: t.neighbours.agreement,
      chance: t.neighbours.chance,
      adjustedRandIndex: t.cut.ari,
      k: t.cut.k,
    };
    const d = distinct?.[i];
    if (!d) return { measure: t.measure, ...all };
    if (d.measure !== t.measure) throw new Error(`familyRecovery: statistics of ${d.measure} given for the taxonomy of ${t.measure}`);
    return {
      measure: t.measure,
      models: d.labels.length,
      nearestNeighbourAgreement: d.neighbours.agreement,
      chance: d.neighbours.chance,
      adjustedRandIndex: d.cut.ari,
      k: d.cut.k,
      withDuplicates: all,
    };
  });
}

/** The rows and columns of `keep` (labels of `m`), in `keep`'s order. */
function subMatrix(m: LabelledMatrix, keep: string[]): LabelledMatrix {
  const n = m.rows.length;
  const at = keep.map((l) => m.rows.indexOf(l));
  return {
    rows: [...keep],
    cols: [...keep],
    matrix: fromRows(at.map((i) => at.map((j) => m.matrix.data[i * n + j]))),
    ...(m.measure ? { measure: m.measure } : {}),
  };
}

/** Runs the demo's computing stages; models outside the zoo, fewer than 3 models or a distance measure are errors. */
export async function computeDemo(opts: DemoComputeOptions): Promise<DemoData> {
  const log = opts.log ?? (() => undefined);
  const out = resolve(opts.out);
  const timings: Record<string, number> = {};
  const time = stageTimer(timings);

  const ids = opts.models ?? ZOO.filter((m) => m.demo).map((m) => m.id);
  const unknown = ids.filter((id) => !zooModel(id));
  if (unknown.length) throw new Error(`not zoo models: ${unknown.join(', ')} (the demo scores the taxonomy against zoo task families; see \`taskmap zoo\`)`);
  if (ids.length < 3) throw new Error('the demo needs at least 3 models');

  let imagesDir = opts.images;
  let imagesDescription = 'user folder';
  if (!imagesDir) {
    const probe = await time('probe images', () => ensureCuratedProbeImages({ log }));
    if (probe.fetched) log(`fetched the probe set into ${probe.full.dir}`);
    imagesDir = probe.dir;
    imagesDescription =
      `photographs from Debian packages ${probe.manifest.packages.map((p) => p.name).join(', ')}: the curated probe set, ` +
      `${probe.manifest.images.length} of ${probe.full.count} (without calibration frames, second stereo views and near-duplicates)`;
  }

  const bankIds = opts.bank === false ? [] : bankModels().map((m) => m.id);
  const featuresDir = join(out, 'features');
  const extract = await time('extraction', () =>
    extractFeatures({
      images: imagesDir!,
      out: featuresDir,
      models: [...ids, ...bankIds.filter((b) => !ids.includes(b))].map((ref) => ({ ref })),
      workers: opts.workers,
      batchSize: opts.batchSize,
      continueOnError: true,
      skipBad: opts.skipBad,
      onProgress: opts.onProgress,
      onLog: log,
      tool: 'taskmap demo',
    }),
  );
  const entries = extract.manifest.entries.filter((e) => ids.includes(e.label) && e.model.id === e.label);
  const labels = ids.filter((id) => entries.some((e) => e.label === id));
  if (labels.length < 3)
    throw new Error(
      `only ${labels.length} models produced features; the taxonomy needs at least 3 (failures: ${extract.failed.map((f) => `${f.model}: ${f.error}`).join('; ')})`,
    );
  // Opened, not loaded, unless bootstrapped: the measures then read and prepare the members on every core
  // (prepareThreads.ts) instead of this thread checking and holding all of them first.
  const loaded = opts.bootstrap ? await time('loading features', () => loadFeatureSet(featuresDir, { order: labels })) : undefined;
  const set = loaded ?? (await time('opening features', () => openFeatureSet(featuresDir, { order: labels })));
  const families = labels.map((l) => zooModel(l)!.family);

  const duplicates = zooDuplicates(labels);
  const distinctLabels = labels.filter((l) => !duplicates.some((d) => d.label === l));
  const taxonomies: TaxonomyResult[] = [];
  const distinct: DistinctStatistics[] = [];
  for (const m of opts.measures ?? DEMO_MEASURES) {
    const id = representationMeasure(m);
    const d = describeMeasure(id);
    if (directionOf(id) !== 'similarity') throw new Error(`${id}: the taxonomy needs a similarity (larger = more similar)`);
    const sim = await time(`similarity ${id}`, () => similarityOfSet(set, id));
    const family = FAMILIES.find((f) => f.id === d.family);
    let t = familyTaxonomy(sim.matrix, families, d.name, family?.description);
    if (opts.bootstrap && loaded) {
      const draws = opts.bootstrap;
      const { bootstrap } = await time(`bootstrap ${id}`, () =>
        bootstrapOfSet(loaded, id, { draws, seed: opts.seed, point: sim.matrix, onProgress: opts.onDraw }),
      );
      t = withBootstrap(t, bootstrap);
    }
    taxonomies.push(t);
    if (duplicates.length && distinctLabels.length >= 3) {
      const u = familyTaxonomy(
        subMatrix(sim.matrix, distinctLabels),
        distinctLabels.map((l) => zooModel(l)!.family),
        d.name,
      );
      distinct.push({ measure: t.measure, labels: distinctLabels, neighbours: u.neighbours, cut: u.cut });
    }
  }

  const demoModel = (l: string): DemoModel => {
    const z = zooModel(l)!;
    const e = extract.manifest.entries.find((x) => x.label === l)!;
    return {
      label: l,
      family: z.family,
      description: z.description,
      layer: e.layer,
      reduce: e.reduce,
      features: e.shape.slice(1),
      source: e.model.source,
      licence: `package ${z.package.licence}${z.weightsLicence ? `; weights ${z.weightsLicence}` : ''}`,
      msPerImage: e.msPerImage,
      ...(duplicates.some((x) => x.label === l) ? { duplicateOf: z.duplicateOf } : {}),
    };
  };
  const models = labels.map(demoModel);

  let bank: BankDemo | undefined;
  const bankLabels = bankIds.filter((id) => extract.manifest.entries.some((e) => e.label === id && e.model.id === id));
  if (bankLabels.length >= 3) {
    const bankSet = await time('loading bank features', () => loadFeatureSet(featuresDir, { order: bankLabels }));
    const bankFamilies = bankLabels.map((l) => zooModel(l)!.family);
    const bankTaxonomies: TaxonomyResult[] = [];
    const bankSims: { measure: string; name: string; matrix: LabelledMatrix }[] = [];
    for (const m of opts.measures ?? DEMO_MEASURES) {
      const id = representationMeasure(m);
      const d = describeMeasure(id);
      // The bank is a second look, not the demo's subject: a measure it cannot compute (e.g. an encoder whose
      // features are constant on some of the user's images) is skipped with a warning, not fatal.
      try {
        const sim = await time(`bank similarity ${id}`, () => similarityOfSet(bankSet, id));
        bankTaxonomies.push(familyTaxonomy(sim.matrix, bankFamilies, d.name, 'task bank: one encoder architecture trained per task'));
        if (d.largerIsMoreSimilar) bankSims.push({ measure: id, name: d.name, matrix: sim.matrix });
      } catch (e) {
        log(`warning: task bank: ${id} left out: ${(e as Error).message}`);
      }
    }
    if (bankTaxonomies.length) {
      bank = { labels: bankLabels, families: bankFamilies, models: bankLabels.map(demoModel), taxonomies: bankTaxonomies };
      const transfers = await bankTransfers(bankLabels, bankSims, log);
      if (transfers) bank.transfers = transfers;
    }
  } else if (bankIds.length) log(`task bank: only ${bankLabels.length} of ${bankIds.length} encoders produced features; no bank taxonomy`);
  return {
    out,
    images: { dir: imagesDir, count: set.n, description: imagesDescription },
    labels,
    families,
    models,
    failed: extract.failed,
    extract,
    taxonomies,
    duplicates,
    ...(distinct.length ? { distinct } : {}),
    ...(bank ? { bank } : {}),
    timings,
  };
}

/** BankDemo.transfers, when the bank ships its affinities; a file that does not fit is a warning, not fatal. */
async function bankTransfers(
  labels: string[],
  sims: { measure: string; name: string; matrix: LabelledMatrix }[],
  log: (message: string) => void,
): Promise<BankTransferPrediction | undefined> {
  const path = join(bankDir(), BANK_AFFINITIES);
  if (!existsSync(path) || sims.length === 0) return undefined;
  try {
    const affinities = await readResultDict(path);
    const measured = new Set(resultTargets(affinities));
    const targets = labels.filter((l) => measured.has(l));
    if (targets.length < 4) throw new Error(`${targets.length} of the ${labels.length} encoders are targets of it; at least 4 are needed`);
    return {
      affinities: path,
      targets,
      measures: sims.map((s) => {
        const p = transferPrediction(s.matrix, affinities, targets);
        return { measure: s.measure, name: s.name, similarity: p.similarity.mean, viaTransfers: p.viaTransfers.mean };
      }),
      sourcePrior: sourcePriorScore(affinities, targets).mean,
    };
  } catch (e) {
    log(`warning: task bank: its measured transfers (${path}) left out: ${(e as Error).message}`);
    return undefined;
  }
}
