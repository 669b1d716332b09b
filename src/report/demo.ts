/**
 * `taskmap demo`: the whole pipeline on the bundled zoo — probe images → features (cached) → RSA and DDS
 * similarity → average-linkage taxonomy, MDS map, family recovery → HTML report, JSON and SVG/PNG figures.
 * A second run reuses the cached features and only recomputes the (cheap) similarities and figures.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadFeatureSet } from '../features/featureSet.js';
import { writeFileAtomic } from '../io/atomic.js';
import { labelledMatrixToJson } from '../io/labelledMatrix.js';
import { ensureProbeImages } from '../images/probe.js';
import { canonicalMeasureId, describeMeasure, FAMILIES } from '../measures/registry.js';
import { similarityMatrix } from '../measures/similarity.js';
import { extractFeatures, type ExtractSummary } from '../models/extract.js';
import { FAMILY_DESCRIPTIONS, ZOO, zooModel } from '../models/zoo.js';
import { directionOf } from '../ops/measures.js';
import { dendrogramSvg, heatmapSvg, mdsSvg, svgToPng } from './figures.js';
import { renderReport, type ReportModel } from './html.js';
import { buildTaxonomy, taxonomyJson, type TaxonomyResult } from './taxonomy.js';

export const DEMO_MEASURES = ['rsa', 'dds:norm=znorm,kernel=cosine'];

export interface DemoOptions {
  /** Probe image folder; default: the Debian probe set (fetched when missing). */
  images?: string;
  out: string;
  /** Zoo ids; default: the zoo's demo set. */
  models?: string[];
  measures?: string[];
  workers?: number;
  batchSize?: number;
  /** Also write PNG versions of the figures. */
  png?: boolean;
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

export interface DemoResult {
  out: string;
  report: string;
  models: string[];
  images: number;
  failed: { model: string; error: string }[];
  recovery: FamilyRecovery[];
  extract: ExtractSummary;
  timings: Record<string, number>;
  taxonomies: TaxonomyResult[];
}

function measureSlug(id: string): string {
  return id.replace(/^dds:norm=(\w+),kernel=(\w+)$/, 'dds-$1-$2').replace(/[^A-Za-z0-9]+/g, '-');
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const log = opts.log ?? (() => undefined);
  const out = resolve(opts.out);
  const timings: Record<string, number> = {};
  const time = async <T>(stage: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      timings[stage] = (timings[stage] ?? 0) + (performance.now() - t0) / 1000;
    }
  };

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
  if (labels.length < 3) throw new Error(`only ${labels.length} models produced features; the taxonomy needs at least 3 (failures: ${extract.failed.map((f) => `${f.model}: ${f.error}`).join('; ')})`);
  const set = await time('loading features', () => loadFeatureSet(featuresDir, { order: labels }));
  const families = labels.map((l) => zooModel(l)!.family);

  const taxonomies: TaxonomyResult[] = [];
  for (const m of opts.measures ?? DEMO_MEASURES) {
    const id = canonicalMeasureId(m);
    const d = describeMeasure(id);
    if (directionOf(id) !== 'similarity') throw new Error(`${id}: the taxonomy needs a similarity (larger = more similar)`);
    const sim = await time(`similarity ${id}`, () => similarityMatrix(set, id));
    const family = FAMILIES.find((f) => f.id === d.family);
    taxonomies.push(buildTaxonomy(sim, families, d.name, family?.description));
  }

  // Outputs.
  const written: string[] = [];
  const write = async (rel: string, data: string | Uint8Array) => {
    await writeFileAtomic(join(out, rel), data);
    written.push(rel);
  };
  await time('report', async () => {
    await rm(join(out, 'figures'), { recursive: true, force: true });
    await mkdir(join(out, 'figures'), { recursive: true });
    const recovery: FamilyRecovery[] = [];
    for (const t of taxonomies) {
      const slug = measureSlug(t.measure);
      await write(`similarity-${slug}.json`, `${JSON.stringify(labelledMatrixToJson(t.similarity, t.measure))}\n`);
      await write(`taxonomy-${slug}.json`, `${JSON.stringify(taxonomyJson(t), null, 1)}\n`);
      await write(`taxonomy-${slug}.nwk`, `${t.newick}\n`);
      for (const [name, svgText] of [
        ['heatmap', heatmapSvg(t)],
        ['dendrogram', dendrogramSvg(t)],
        ['mds', mdsSvg(t)],
      ] as const) {
        await write(`figures/${name}-${slug}.svg`, svgText);
        if (opts.png !== false) await write(`figures/${name}-${slug}.png`, await svgToPng(svgText));
      }
      recovery.push({ measure: t.measure, nearestNeighbourAgreement: t.neighbours.agreement, chance: t.neighbours.chance, adjustedRandIndex: t.cut.ari, k: t.cut.k });
    }
    await write('family-recovery.json', `${JSON.stringify({ models: labels.length, images: set.n, families: Object.fromEntries(labels.map((l, i) => [l, families[i]])), results: recovery }, null, 1)}\n`);
    const models: ReportModel[] = labels.map((l) => {
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
    await write(
      'models.json',
      `${JSON.stringify({ models, failed: extract.failed, images: { dir: imagesDir, count: set.n, files: extract.manifest.images.files, skipped: extract.manifest.images.skipped } }, null, 1)}\n`,
    );
    const html = renderReport({
      title: `taskmap — task taxonomy of ${labels.length} pre-trained models`,
      created: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      images: { dir: imagesDir!, count: set.n, description: imagesDescription },
      models,
      failed: extract.failed,
      taxonomies,
      timings: { ...timings },
      files: [...written, 'features/ (one .npy per model + manifest.json)'],
      familyDescriptions: FAMILY_DESCRIPTIONS,
    });
    await write('report.html', html);
  });
  const recovery = taxonomies.map((t) => ({ measure: t.measure, nearestNeighbourAgreement: t.neighbours.agreement, chance: t.neighbours.chance, adjustedRandIndex: t.cut.ari, k: t.cut.k }));
  return {
    out,
    report: join(out, 'report.html'),
    models: labels,
    images: set.n,
    failed: extract.failed,
    recovery,
    extract,
    timings,
    taxonomies,
  };
}
