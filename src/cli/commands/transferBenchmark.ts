/**
 * `taskmap benchmark transfer`: the command (options, progress, summary). The work is in src/benchmark/transfer.ts,
 * the files it writes in src/report/transfer.ts.
 */
import type { Command } from 'commander';
import { relative } from 'node:path';
import { runTransferBenchmark, TRANSFER_REPRESENTATION_MEASURES } from '../../benchmark/transfer.js';
import { TRANSFER_TARGETS, type TransferDatasetId, type TransferTargetId } from '../../benchmark/transferData.js';
import { LAYER_STUDY_MODELS } from '../../benchmark/transferSources.js';
import { HEADS, type HeadKind } from '../../benchmark/transferTruth.js';
import { summaryTable, writeTransferReport } from '../../report/transfer.js';
import { stageBars } from '../progress.js';
import { formatTable } from '../table.js';
import { parseList, parseMeasureList, parseNumber, shellQuote, UsageError } from '../util.js';

interface Flags {
  out: string;
  sources: string;
  targets?: string;
  measures?: string;
  perClass: string;
  draws: string;
  seed: string;
  heads?: string;
  layerStudy: string;
  layerMeasures?: string;
  sizes?: string;
  workers?: string;
  resamples: string;
  rescore?: boolean;
}

/** `fmnist=5000:2000,digits=3000:2000` → pool sizes. */
function parseSizes(s: string | undefined): Partial<Record<TransferDatasetId, { train: number; test: number }>> | undefined {
  if (s === undefined) return undefined;
  const out: Partial<Record<TransferDatasetId, { train: number; test: number }>> = {};
  for (const item of s.split(',').map((x) => x.trim())) {
    const m = /^(fmnist|digits)=(\d+):(\d+)$/.exec(item);
    if (!m) throw new UsageError(`--sizes: "${item}" is not DATASET=TRAIN:TEST (DATASET fmnist or digits), e.g. fmnist=5000:2000`);
    out[m[1] as TransferDatasetId] = { train: Number(m[2]), test: Number(m[3]) };
  }
  return out;
}

/** `transfer` under `benchmark`: registered after benchmark.ts (index.ts), so no command imports another. */
export function register(program: Command): void {
  const bench = program.commands.find((c) => c.name() === 'benchmark');
  if (!bench) throw new Error('benchmark transfer: register the benchmark command first');
  bench
    .command('transfer')
    .summary('judge every transferability score and measure against measured transfer accuracy on real labelled data')
    .description(
      [
        'Ground truth: for each zoo source and labelled target, the test accuracy of a head (L2 logistic regression and',
        'a one-hidden-layer MLP) trained on the frozen features of a large training pool, regularisation chosen by',
        'cross-validation inside the pool. Targets: Fashion-MNIST (Debian dataset-fashion-mnist) and the OpenCV digits',
        '(Debian opencv-doc), plus derived label structures: ' + TRANSFER_TARGETS.join(', ') + '.',
        'Each score then sees only a small labelled draw (--per-class images per class, --draws seeded draws) and is',
        'judged by weighted Kendall τ, Kendall τ, Spearman, top-1 and regret against the ground truth. Representation',
        "measures compare each source with the draw's labels: RSA, DDS and CKA with the label RDM, a pairwise family",
        '(procrustes, cca, predictivity, …) with the one-hot label matrix; a distance is judged smaller = better.',
        '',
        'Data: the two Debian packages are used where installed, else fetched with `apt-get download` and unpacked',
        'into $TASKMAP_CACHE (default ./.taskmap-cache; nothing is installed). Images, features, ground truth and every',
        "draw's scores are cached there (keyed by their inputs), so a re-run only computes what changed (--rescore:",
        'compute the scores again). Default sources: the distinct zoo networks that extract in',
        '≤ 25 ms per image on the development machine, plus nsfw-mobilenet-v2; "all" takes every distinct network',
        '(hours). Writes <out>/report.md, transfer.json and figures/.',
      ].join('\n'),
    )
    .option('-o, --out <dir>', 'output folder', 'taskmap-transfer')
    .option('--sources <which>', 'default, all, or comma-separated zoo ids', 'default')
    .option('--targets <ids>', `comma-separated targets (default all: ${TRANSFER_TARGETS.join(', ')})`)
    .option(
      '--measures <ids>',
      `score / measure ids separated by ";", any catalogued id with parameters (default: every standard score plus ${TRANSFER_REPRESENTATION_MEASURES.join(', ')})`,
    )
    .option('--per-class <list>', 'labelled images per class of the draws', '10,50')
    .option('--draws <n>', 'seeded draws per target and size', '5')
    .option('--seed <n>', 'seed of the draws and the bootstrap', '0')
    .option('--heads <list>', `ground-truth heads (default: ${HEADS.join(',')})`)
    .option('--layer-study <models>', `networks whose every tap is ranked too, or "none"`, LAYER_STUDY_MODELS.join(','))
    .option('--layer-measures <ids>', 'measures of the layer study, ";"-separated (default: --measures without the slow linear probe)')
    .option('--sizes <spec>', 'pool sizes, e.g. fmnist=5000:2000,digits=3000:2000 (train:test)')
    .option('--workers <n>', 'extraction worker threads (default: number of cores)')
    .option('--resamples <n>', 'bootstrap resamples of the draws for the intervals', '1000')
    .option('--rescore', "compute every draw's scores again instead of reading them from the cache")
    .action(async (o: Flags) => {
      const t0 = performance.now();
      const targets = parseList(o.targets);
      for (const t of targets ?? []) {
        if (!(TRANSFER_TARGETS as readonly string[]).includes(t))
          throw new UsageError(`--targets: unknown target "${t}" (known: ${TRANSFER_TARGETS.join(', ')})`);
      }
      const heads = parseList(o.heads);
      for (const h of heads ?? [])
        if (!(HEADS as readonly string[]).includes(h)) throw new UsageError(`--heads: unknown head "${h}" (known: ${HEADS.join(', ')})`);
      const bars = stageBars();
      const result = await runTransferBenchmark({
        out: o.out,
        command: shellQuote(['taskmap', ...process.argv.slice(2)]),
        sources: o.sources === 'default' || o.sources === 'all' ? o.sources : parseList(o.sources)!,
        targets: targets as TransferTargetId[] | undefined,
        measures: parseMeasureList(o.measures),
        perClass: parseList(o.perClass)!.map((k) => parseNumber(k, '--per-class', { integer: true, min: 1 })),
        draws: parseNumber(o.draws, '--draws', { integer: true, min: 1 }),
        seed: parseNumber(o.seed, '--seed', { integer: true, min: 0 }),
        heads: heads as HeadKind[] | undefined,
        layerStudy: o.layerStudy === 'none' ? [] : parseList(o.layerStudy)!,
        layerMeasures: parseMeasureList(o.layerMeasures),
        sizes: parseSizes(o.sizes),
        workers: o.workers === undefined ? undefined : parseNumber(o.workers, '--workers', { integer: true, min: 0 }),
        resamples: parseNumber(o.resamples, '--resamples', { integer: true, min: 10 }),
        rescore: o.rescore,
        onProgress: bars.update,
        log: (m) => process.stderr.write(`${m}\n`),
      });
      bars.stop();
      await writeTransferReport(result);
      const lines: string[] = [];
      for (const k of result.evaluation.perClass) {
        const t = summaryTable(result.evaluation, k);
        lines.push(
          `${k} labelled images per class (mean over ${result.targets.length} targets, ${result.evaluation.draws} draws):`,
          formatTable(t.head, t.rows),
          '',
        );
      }
      lines.push(`report: ${relative(process.cwd(), result.out) || '.'}/report.md (also transfer.json, figures/)`);
      lines.push(
        `done in ${((performance.now() - t0) / 1000).toFixed(1)} s (${Object.entries(result.timings)
          .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
          .join(', ')})`,
      );
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
