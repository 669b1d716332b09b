import { access } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { loadFeatureSet, loadRepresentation } from '../../features/featureSet.js';
import { applyImageList, readImagesList } from '../../features/imageIdentity.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { parseCsv } from '../../io/labelledMatrix.js';
import { getGemmEngine, type EngineKind, type Precision } from '../../linalg/gemm.js';
import { describeMeasure } from '../../measures/registry.js';
import { rankSources, type LabelKind, type RankEntry, type RankResult, type Target } from '../../taxonomy/rank.js';
import { progressBar } from '../progress.js';
import { formatTable } from '../table.js';
import { parseNumber, UsageError } from '../util.js';
import { addMeasureOptions, measureIdFromOptions, type MeasureOptions } from './similarity.js';
import { readInputText } from '../../io/input.js';

const LABEL_FILES = new Set(['.csv', '.txt']);

/**
 * One label per image, in the feature set's image order: a single column, or `image,label` (the image column is
 * not used to reorder). A header row is recognised by the count: n + 1 rows means the first is a header.
 */
export async function readTargetLabels(path: string, n: number): Promise<string[]> {
  const records = parseCsv(await readInputText(path, 'a labels file'), path);
  const width = records[0]?.length ?? 0;
  const bad = records.findIndex((r) => r.length !== width);
  if (width < 1 || width > 2) {
    throw new Error(`${path}: expected one label per line, or two columns "image,label"; line 1 has ${width} fields`);
  }
  if (bad >= 0) throw new Error(`${path}: line ${bad + 1} has ${records[bad].length} fields but line 1 has ${width}`);
  const body = records.length === n + 1 ? records.slice(1) : records;
  if (body.length !== n) {
    throw new Error(`${path}: ${records.length} rows, but the feature set has ${n} images (one label per image, optionally after a header row)`);
  }
  return body.map((r) => r[width - 1].trim());
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * `--target` is a member label if one matches, else a file: .npy features or a .csv/.txt of labels. Anything else
 * is passed on as a member label so that the library's error lists close matches.
 */
async function resolveTarget(value: string, members: string[], n: number, kind: string | undefined): Promise<Target> {
  const ext = extname(value).toLowerCase();
  const isFile = !members.includes(value) && (await exists(value));
  if (kind !== undefined && !(isFile && LABEL_FILES.has(ext))) {
    throw new UsageError('--target-kind applies only when --target is a labels file (.csv or .txt)');
  }
  if (!isFile) {
    if (!members.includes(value) && (ext === '.npy' || LABEL_FILES.has(ext))) {
      throw new UsageError(`--target ${value}: no such file (and no member has that label)`);
    }
    return { kind: 'member', label: value };
  }
  if (ext === '.npy') return { kind: 'representation', representation: await loadRepresentation(value) };
  if (LABEL_FILES.has(ext)) {
    const labelKind = kind ?? 'class';
    if (labelKind !== 'class' && labelKind !== 'regression') throw new UsageError(`--target-kind must be class or regression, got "${labelKind}"`);
    return { kind: 'labels', labels: await readTargetLabels(value, n), labelKind: labelKind as LabelKind, label: value };
  }
  throw new UsageError(`--target ${value}: a target file must be .npy (features) or .csv / .txt (one label per image)`);
}

function fmt(x: number | null, digits = 4): string {
  return x === null ? '' : x.toFixed(digits);
}

function ci(x: [number, number] | null): string {
  return x === null ? '' : `[${fmt(x[0])}, ${fmt(x[1])}]`;
}

/** Left-align the label column (formatTable right-aligns every column but the first). */
function padLabels(header: string[], rows: string[][], col: number): void {
  const w = Math.max(header[col].length, ...rows.map((r) => r[col].length));
  header[col] = header[col].padEnd(w);
  for (const r of rows) r[col] = r[col].padEnd(w);
}

export function formatRanking(result: RankResult): string {
  const boot = result.bootstrap !== null;
  const t = result.target;
  const what =
    t.kind === 'labels'
      ? t.labels!.kind === 'class'
        ? `class labels ${t.label} (${t.labels!.classes!.length} classes; label RDM: same class 0, different 1)`
        : `regression target ${t.label}`
      : `${t.kind === 'member' ? 'member' : 'features'} ${t.label}`;
  const lines = [
    `${result.measure} · target: ${what} · ${result.n_images} images · ` +
      (boot ? `${result.bootstrap!.draws} draws of ${result.bootstrap!.subset} images (seed ${result.bootstrap!.seed})` : 'no bootstrap'),
  ];
  if (t.excluded) lines.push(`(${t.excluded} is the target and is not ranked)`);
  const header = ['rank', 'label', 'score', ...(boot ? ['mean', '95% interval', 'P(best)'] : [])];
  const row = (e: RankEntry, label: string): string[] => [
    String(e.rank),
    label,
    fmt(e.score),
    ...(boot ? [fmt(e.mean), ci(e.ci95), fmt(e.pBest, 3)] : []),
  ];
  if (result.groups) {
    const gh = ['rank', 'model', 'best layer', 'score', ...(boot ? ['mean', '95% interval', 'P(best)', 'P(best layer)'] : [])];
    const gr = result.groups.map((g) => [
      String(g.rank),
      g.model,
      `${g.bestLayer} (of ${g.layers})`,
      fmt(g.score),
      ...(boot ? [fmt(g.mean), ci(g.ci95), fmt(g.pBest, 3), fmt(g.pBestLayer, 3)] : []),
    ]);
    padLabels(gh, gr, 1);
    padLabels(gh, gr, 2);
    lines.push('', 'models, ranked by their best layer:', formatTable(gh, gr), '', 'all layers:');
  } else lines.push('');
  const rows = result.ranking.map((e) => row(e, e.label));
  padLabels(header, rows, 1);
  lines.push(formatTable(header, rows));
  if (boot) {
    lines.push(
      '',
      `mean and 95% interval: over the draws (each on ${result.bootstrap!.subset} images); P(best): share of draws in which the entry scored best.`,
    );
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  addMeasureOptions(
    program
      .command('rank')
      .summary('rank candidate sources (models or layers) for a new task')
      .description(
        'Rank every member of a feature set by the similarity of its representation to a target on the same ' +
          'probe images: which pre-trained model, and which layer, to transfer from. The target is a member label, ' +
          'a .npy of features from a model trained on the new task (even a small one), or a .csv/.txt with one ' +
          'label per image in the feature set order (a single column or "image,label"; a header row is allowed). ' +
          'Class labels are compared as the label RDM (same class 0, different 1); regression values as one ' +
          'feature per image.\n\n' +
          'With --bootstrap, the DDS Pascal protocol: that many random subsets of --subset images, drawn without ' +
          'replacement from a seeded generator (mulberry32, same seed → same output), everything recomputed per ' +
          'subset; per entry the mean, a 95% interval (2.5/97.5 percentiles) and the probability of being the best.',
      )
      .argument('<featureset>', 'directory of .npy files, a .npz or a .safetensors file'),
  )
    .requiredOption('-t, --target <target>', 'member label, features.npy, or labels.csv/.txt')
    .option('--target-kind <kind>', 'for a labels file: class (default) or regression')
    .option('--bootstrap <draws>', 'number of random image subsets (e.g. 100)')
    .option('--subset <k>', 'images per subset (default min(200, n/2))')
    .option('--seed <s>', 'generator seed, 0…4294967295 (default 1993)')
    .option('--group-by <what>', 'model: group "model/layer" members and rank models by their best layer')
    .option('--separator <sep>', 'between model and layer in member labels', '/')
    .option('-o, --out <file.json>', 'write the ranking as JSON')
    .option('--keep-draws', 'with --out: include every draw\'s scores')
    .option('--precision <p>', 'GEMM precision for the n×n matrices: float64 (default) or float32', 'float64')
    .option('--engine <kind>', 'GEMM engine: auto (default), ort, js')
    .option('--images-list <file>', 'image ids when the feature set has no extraction manifest: a file with one image per line (path, SHA-256 or name) or a JSON list')
    .option('--target-images <file>', 'image ids of a .npy target outside an extracted folder (same format as --images-list)')
    .action(
      async (
        featureset: string,
        o: MeasureOptions & {
          target: string;
          targetKind?: string;
          bootstrap?: string;
          subset?: string;
          seed?: string;
          groupBy?: string;
          separator: string;
          out?: string;
          keepDraws?: boolean;
          precision: string;
          engine?: string;
          imagesList?: string;
          targetImages?: string;
        },
      ) => {
        const measure = measureIdFromOptions(o);
        if (o.precision !== 'float64' && o.precision !== 'float32') throw new UsageError(`--precision must be float64 or float32, got "${o.precision}"`);
        if (o.groupBy !== undefined && o.groupBy !== 'model') throw new UsageError(`--group-by must be "model", got "${o.groupBy}"`);
        if ((o.subset !== undefined || o.seed !== undefined) && o.bootstrap === undefined) {
          throw new UsageError('--subset and --seed need --bootstrap <draws>');
        }
        const draws = o.bootstrap === undefined ? 0 : parseNumber(o.bootstrap, '--bootstrap', { integer: true, min: 1 });
        const subset = o.subset === undefined ? undefined : parseNumber(o.subset, '--subset', { integer: true, min: 4 });
        const seed = o.seed === undefined ? undefined : parseNumber(o.seed, '--seed', { integer: true, min: 0 });
        const set = await loadFeatureSet(featureset, { images: await readImagesList(o.imagesList) });
        const target = await resolveTarget(
          o.target,
          set.members.map((m) => m.label),
          set.n,
          o.targetKind,
        );
        if (o.targetImages !== undefined && target.kind !== 'representation') throw new UsageError('--target-images applies only to a .npy target');
        if (target.kind === 'representation') applyImageList(target.representation, await readImagesList(o.targetImages));
        const engine = await getGemmEngine((o.engine ?? process.env.TASKMAP_ENGINE ?? 'auto') as EngineKind);
        const bar = progressBar(`rank ${measure}`);
        const t0 = performance.now();
        let result: RankResult;
        try {
          result = await rankSources(set.members, target, {
            measure,
            bootstrap: draws,
            subset,
            seed,
            groupBy: o.groupBy as 'model' | undefined,
            separator: o.separator,
            engine,
            precision: o.precision as Precision,
            keepDraws: Boolean(o.keepDraws),
            onProgress: (d, t) => bar.update(d, t, 'draws'),
          });
        } finally {
          bar.stop();
        }
        const ms = performance.now() - t0;
        process.stdout.write(`${formatRanking(result)}\n`);
        if (o.out) {
          const json = { featureset, ...result, measure_name: describeMeasure(measure).name };
          await writeFileAtomic(o.out, `${JSON.stringify(json, null, 2)}\n`);
          process.stderr.write(`${result.ranking.length} candidates ranked in ${(ms / 1000).toFixed(1)} s → ${o.out}\n`);
        }
      },
    );
}
