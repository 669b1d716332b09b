import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadFeatureSet } from '../../features/featureSet.js';
import { readImagesList } from '../../features/imageIdentity.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { getGemmEngine, type EngineKind, type Precision } from '../../linalg/gemm.js';
import { LABEL_KINDS, loadTarget, rank, targetFileKind, type TargetSpec } from '../../ops/rank.js';
import type { LabelKind, RankEntry, RankResult } from '../../taxonomy/rank.js';
import { addMeasureOptions, measureIdFromOptions, type MeasureOptions } from '../measureOptions.js';
import { progressBar } from '../progress.js';
import { formatTable } from '../table.js';
import { parseNumber, UsageError } from '../util.js';

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
async function targetSpec(value: string, members: string[], kind: string | undefined): Promise<TargetSpec> {
  const fileKind = targetFileKind(value);
  const isFile = !members.includes(value) && (await exists(value));
  if (kind !== undefined && !(isFile && fileKind === 'labels-file')) {
    throw new UsageError('--target-kind applies only when --target is a labels file (.csv or .txt)');
  }
  if (!isFile) {
    if (!members.includes(value) && fileKind !== undefined) {
      throw new UsageError(`--target ${value}: no such file (and no member has that label)`);
    }
    return { kind: 'member', label: value };
  }
  if (fileKind === 'representation-file') return { kind: 'representation-file', path: value };
  if (fileKind === 'labels-file') {
    const labelKind = kind ?? 'class';
    if (!(LABEL_KINDS as readonly string[]).includes(labelKind)) throw new UsageError(`--target-kind must be ${LABEL_KINDS.join(' or ')}, got "${labelKind}"`);
    return { kind: 'labels-file', path: value, labelKind: labelKind as LabelKind };
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
  const row = (e: RankEntry, label: string): string[] => [String(e.rank), label, fmt(e.score), ...(boot ? [fmt(e.mean), ci(e.ci95), fmt(e.pBest, 3)] : [])];
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
    .option('--keep-draws', "with --out: include every draw's scores")
    .option('--precision <p>', 'GEMM precision for the n×n matrices: float64 (default) or float32', 'float64')
    .option('--engine <kind>', 'GEMM engine: auto (default), ort, js')
    .option(
      '--images-list <file>',
      'image ids when the feature set has no extraction manifest: a file with one image per line (path, SHA-256 or name) or a JSON list',
    )
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
        const spec = await targetSpec(
          o.target,
          set.members.map((m) => m.label),
          o.targetKind,
        );
        if (o.targetImages !== undefined && spec.kind !== 'representation-file') throw new UsageError('--target-images applies only to a .npy target');
        if (spec.kind === 'representation-file') spec.images = await readImagesList(o.targetImages);
        const target = await loadTarget(spec, set.n);
        const engine = await getGemmEngine((o.engine ?? process.env.TASKMAP_ENGINE ?? 'auto') as EngineKind);
        const bar = progressBar(`rank ${measure}`);
        const t0 = performance.now();
        let result: RankResult;
        let measureName: string;
        try {
          ({ result, measureName } = await rank(set.members, target, {
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
          }));
        } finally {
          bar.stop();
        }
        const ms = performance.now() - t0;
        process.stdout.write(`${formatRanking(result)}\n`);
        if (o.out) {
          const json = { featureset, ...result, measure_name: measureName };
          await writeFileAtomic(o.out, `${JSON.stringify(json, null, 2)}\n`);
          process.stderr.write(`${result.ranking.length} candidates ranked in ${(ms / 1000).toFixed(1)} s → ${o.out}\n`);
        }
      },
    );
}
