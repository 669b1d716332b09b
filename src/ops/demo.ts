/**
 * Use case: the demo's computation on the bundled zoo — probe images → features (cached in `<out>/features`) →
 * similarity under each measure (ops/similarity) → average-linkage taxonomy, MDS map and family recovery
 * (ops/taxonomy's familyTaxonomy). Writing the HTML report, JSON and figures is the report's part
 * (`src/report/demo.ts`); `taskmap demo` calls this, then the report.
 */
import { join, resolve } from 'node:path';
import { loadFeatureSet } from '../features/featureSet.js';
import { ensureProbeImages } from '../images/probe.js';
import { describeMeasure, FAMILIES } from '../measures/registry.js';
import { extractFeatures, type ExtractSummary } from '../models/extract.js';
import { ZOO, zooModel } from '../models/zoo.js';
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
  onProgress?: (done: number, total: number, label: string) => void;
  log?: (message: string) => void;
}

export interface FamilyRecovery {
  measure: string;
  nearestNeighbourAgreement: number;
  chance: number;
  adjustedRandIndex: number;
  k: number;
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
  /** Seconds per stage. */
  timings: Record<string, number>;
}

/** The family-recovery summary of each taxonomy (family-recovery.json, the CLI's table). */
export function familyRecovery(taxonomies: TaxonomyResult[]): FamilyRecovery[] {
  return taxonomies.map((t) => ({
    measure: t.measure,
    nearestNeighbourAgreement: t.neighbours.agreement,
    chance: t.neighbours.chance,
    adjustedRandIndex: t.cut.ari,
    k: t.cut.k,
  }));
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
    const probe = await time('probe images', () => ensureProbeImages({ log }));
    if (probe.fetched) log(`fetched the probe set into ${probe.dir}`);
    imagesDir = probe.dir;
    imagesDescription = `photographs from Debian packages ${probe.manifest.packages.map((p) => p.name).join(', ')}`;
  }

  const featuresDir = join(out, 'features');
  const extract = await time('extraction', () =>
    extractFeatures({
      images: imagesDir!,
      out: featuresDir,
      models: ids.map((ref) => ({ ref })),
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
  const set = await time('loading features', () => loadFeatureSet(featuresDir, { order: labels }));
  const families = labels.map((l) => zooModel(l)!.family);

  const taxonomies: TaxonomyResult[] = [];
  for (const m of opts.measures ?? DEMO_MEASURES) {
    const id = representationMeasure(m);
    const d = describeMeasure(id);
    if (directionOf(id) !== 'similarity') throw new Error(`${id}: the taxonomy needs a similarity (larger = more similar)`);
    const sim = await time(`similarity ${id}`, () => similarityOfSet(set, id));
    const family = FAMILIES.find((f) => f.id === d.family);
    taxonomies.push(familyTaxonomy(sim.matrix, families, d.name, family?.description));
  }

  const models: DemoModel[] = labels.map((l) => {
    const z = zooModel(l)!;
    const e = entries.find((x) => x.label === l)!;
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
    };
  });
  return {
    out,
    images: { dir: imagesDir, count: set.n, description: imagesDescription },
    labels,
    families,
    models,
    failed: extract.failed,
    extract,
    taxonomies,
    timings,
  };
}
