/**
 * `taskmap demo`'s report: from what the demo computed (`computeDemo` in src/ops/demo.ts: features, RSA and DDS
 * similarity, average-linkage taxonomy, MDS map, family recovery) to the HTML report, JSON and SVG/PNG figures.
 * `runDemo` is both steps in one call. A second run reuses the cached features and only recomputes the (cheap)
 * similarities and figures.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFilesAtomic } from '../io/atomic.js';
import { labelledMatrixToJson } from '../io/labelledMatrix.js';
import type { ExtractSummary } from '../models/extract.js';
import { FAMILY_DESCRIPTIONS } from '../models/zoo.js';
import {
  computeDemo,
  familyRecovery,
  type BankTransferPrediction,
  type DemoComputeOptions,
  type DemoData,
  type DemoDuplicate,
  type FamilyRecovery,
} from '../ops/demo.js';
import { dendrogramSvg, heatmapSvg, intervalHeatmapSvg, mdsSvg, svgToPng } from './figures.js';
import { renderReport, type RunTimings } from './html.js';
import { taxonomyJson, type TaxonomyResult } from './taxonomy.js';
import { stageTimer } from '../util/timing.js';

export { DEMO_MEASURES, type DemoData, type FamilyRecovery } from '../ops/demo.js';

export interface DemoOptions extends DemoComputeOptions {
  /** Also write PNG versions of the figures. */
  png?: boolean;
}

export interface DemoResult {
  out: string;
  report: string;
  models: string[];
  images: number;
  failed: { model: string; error: string }[];
  recovery: FamilyRecovery[];
  /** Identical exports among the models, left out of `recovery` (whose `withDuplicates` has the all-model numbers). */
  duplicates: DemoDuplicate[];
  extract: ExtractSummary;
  timings: Record<string, number>;
  taxonomies: TaxonomyResult[];
  /** The task bank's family recovery per measure, when the demo ran its encoders. */
  bankRecovery?: FamilyRecovery[];
  /** How the bank's similarities predict its shipped measured transfers, when it ships them. */
  bankTransfers?: BankTransferPrediction;
}

/** `timings.json` in the output folder: the last run's stages, and those of the last run that extracted features. */
export const TIMINGS_FILE = 'timings.json';

interface TimingsRecord {
  last: { at: string; timings: Record<string, number>; computed: number; reused: number };
  cold?: { at: string; timings: Record<string, number>; computed: number };
}

async function readTimings(out: string): Promise<TimingsRecord | null> {
  try {
    const j = JSON.parse(await readFile(join(out, TIMINGS_FILE), 'utf8')) as TimingsRecord;
    return j && typeof j === 'object' ? j : null;
  } catch {
    return null;
  }
}

function measureSlug(id: string): string {
  return id.replace(/^dds:norm=(\w+),kernel=(\w+)$/, 'dds-$1-$2').replace(/[^A-Za-z0-9]+/g, '-');
}

/**
 * Writes the demo's outputs into `data.out`: similarity-*.json, taxonomy-*.json/.nwk, figures/ (replaced), the
 * family recovery, the model list and report.html. The report's own time is added to the result's timings as
 * 'report' (the HTML lists the computing stages only).
 */
export async function writeDemoReport(data: DemoData, opts: { png?: boolean } = {}): Promise<DemoResult> {
  const { out, taxonomies, models, extract } = data;
  const labels = data.labels;
  const families = data.families;
  const timings = { ...data.timings };
  const time = stageTimer(timings);

  // Outputs, collected and then written as one commit: their fsyncs overlap, and the PNGs render side by side on
  // libuv's threads while this thread draws the next figure.
  const written: string[] = [];
  const outputs: { rel: string; data: string | Uint8Array | Promise<Uint8Array> }[] = [];
  const write = (rel: string, data: string | Uint8Array | Promise<Uint8Array>) => {
    if (data instanceof Promise) data.catch(() => undefined); // awaited below; only keeps an early failure from counting as unhandled
    outputs.push({ rel, data });
    written.push(rel);
  };
  // Cold (features extracted in this run) or warm (all reused): a warm run's header also shows the cold run's stages.
  const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const computed = extract.computed.length;
  const run: RunTimings = { computed, reused: extract.reused.length + extract.reassembled.length };
  if (computed > 0) run.cold = { at, timings: { ...timings }, computed };
  else {
    const previous = (await readTimings(out))?.cold;
    if (previous && typeof previous.at === 'string' && previous.timings && typeof previous.computed === 'number') run.cold = previous;
  }
  await time('report', async () => {
    await rm(join(out, 'figures'), { recursive: true, force: true });
    // A previous run's bank files go too, so a run without the bank leaves none behind.
    for (const f of await readdir(out).catch(() => [] as string[])) if (/^(similarity|taxonomy)-bank-/.test(f)) await rm(join(out, f), { force: true });
    await mkdir(join(out, 'figures'), { recursive: true });
    for (const t of taxonomies) {
      const slug = measureSlug(t.measure);
      write(`similarity-${slug}.json`, `${JSON.stringify(labelledMatrixToJson(t.similarity, t.measure))}\n`);
      write(`taxonomy-${slug}.json`, `${JSON.stringify(taxonomyJson(t), null, 1)}\n`);
      write(`taxonomy-${slug}.nwk`, `${t.newick}\n`);
      const figures: [string, string][] = [
        ['heatmap', heatmapSvg(t)],
        ['dendrogram', dendrogramSvg(t)],
        ['mds', mdsSvg(t)],
      ];
      const intervals = intervalHeatmapSvg(t);
      if (intervals) figures.push(['intervals', intervals]);
      for (const [name, svgText] of figures) {
        write(`figures/${name}-${slug}.svg`, svgText);
        if (opts.png !== false) write(`figures/${name}-${slug}.png`, svgToPng(svgText));
      }
    }
    const bank = data.bank;
    for (const t of bank?.taxonomies ?? []) {
      const slug = `bank-${measureSlug(t.measure)}`;
      write(`similarity-${slug}.json`, `${JSON.stringify(labelledMatrixToJson(t.similarity, t.measure))}\n`);
      write(`taxonomy-${slug}.json`, `${JSON.stringify(taxonomyJson(t), null, 1)}\n`);
      write(`taxonomy-${slug}.nwk`, `${t.newick}\n`);
      for (const [name, svgText] of [
        ['heatmap', heatmapSvg(t)],
        ['dendrogram', dendrogramSvg(t)],
      ] as const) {
        write(`figures/${name}-${slug}.svg`, svgText);
        if (opts.png !== false) write(`figures/${name}-${slug}.png`, svgToPng(svgText));
      }
    }
    write(
      'family-recovery.json',
      `${JSON.stringify(
        {
          models: labels.length,
          images: data.images.count,
          families: Object.fromEntries(labels.map((l, i) => [l, families[i]])),
          duplicates: data.duplicates,
          results: familyRecovery(taxonomies, data.distinct),
          ...(bank
            ? {
                bank: {
                  models: bank.labels.length,
                  families: Object.fromEntries(bank.labels.map((l, i) => [l, bank.families[i]])),
                  results: familyRecovery(bank.taxonomies),
                  ...(bank.transfers ? { transfers: bank.transfers } : {}),
                },
              }
            : {}),
        },
        null,
        1,
      )}\n`,
    );
    write(
      'models.json',
      `${JSON.stringify({ models, failed: extract.failed, images: { dir: data.images.dir, count: data.images.count, files: extract.manifest.images.files, skipped: extract.manifest.images.skipped } }, null, 1)}\n`,
    );
    const record: TimingsRecord = { last: { at, timings: { ...timings }, computed, reused: run.reused } };
    if (run.cold) record.cold = run.cold;
    write(TIMINGS_FILE, `${JSON.stringify(record, null, 1)}\n`);
    const html = renderReport({
      title: `taskmap — task taxonomy of ${labels.length} pre-trained models`,
      created: at,
      images: data.images,
      models,
      failed: extract.failed,
      taxonomies,
      timings: { ...timings },
      run,
      files: [...written, { path: 'features/', note: 'one .npy per model + manifest.json' }],
      familyDescriptions: FAMILY_DESCRIPTIONS,
      duplicates: data.duplicates,
      distinct: data.distinct,
      ...(data.bank ? { bank: { models: data.bank.models, taxonomies: data.bank.taxonomies, transfers: data.bank.transfers } } : {}),
    });
    write('report.html', html);
    await writeFilesAtomic(await Promise.all(outputs.map(async (o) => ({ path: join(out, o.rel), data: await o.data }))));
  });
  return {
    out,
    report: join(out, 'report.html'),
    models: labels,
    images: data.images.count,
    failed: data.failed,
    recovery: familyRecovery(taxonomies, data.distinct),
    duplicates: data.duplicates,
    extract,
    timings,
    taxonomies,
    ...(data.bank ? { bankRecovery: familyRecovery(data.bank.taxonomies) } : {}),
    ...(data.bank?.transfers ? { bankTransfers: data.bank.transfers } : {}),
  };
}

/** The whole demo: `computeDemo` (ops), then `writeDemoReport`. */
export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const { png, ...compute } = opts;
  return writeDemoReport(await computeDemo(compute), { png });
}
