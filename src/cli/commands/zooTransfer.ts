/**
 * `taskmap benchmark zoo-transfer`: the command (options, progress, summary). The work is in
 * src/benchmark/zooTransfer.ts, the files it writes in src/report/zooTransfer.ts.
 */
import type { Command } from 'commander';
import { relative } from 'node:path';
import { runZooTransfer, ZOO_TRANSFER_MODELS } from '../../benchmark/zooTransfer.js';
import { ZOO } from '../../models/zoo.js';
import { bestSources, writeZooTransferReport } from '../../report/zooTransfer.js';
import { stageBars } from '../progress.js';
import { formatTable } from '../table.js';
import { parseList, parseMeasureList, parseNumber } from '../util.js';

interface Flags {
  images?: string;
  out: string;
  models?: string;
  folds: string;
  seed: string;
  bootstrap: string;
  measures?: string;
  budgets?: string;
  workers?: string;
  skipBad?: boolean;
}

/** `zoo-transfer` under `benchmark`: registered after benchmark.ts (index.ts), so no command imports another. */
export function register(program: Command): void {
  const bench = program.commands.find((c) => c.name() === 'benchmark');
  if (!bench) throw new Error('zoo-transfer: register the benchmark command first');
  registerZooTransfer(bench);
}

export function registerZooTransfer(bench: Command): void {
  bench
    .command('zoo-transfer')
    .summary('a Taskonomy of the bundled zoo: measured transfers, AHP affinities, policy, and how well each measure predicts them')
    .description(
      [
        "Every zoo model's own outputs on the probe images are a task; model T itself is T's fully supervised",
        "network (`self`). Each source → target transfer is a closed-form ridge readout from the source's tapped",
        "features to the target's outputs, cross-fitted over seeded folds and scored per image (z-scored output",
        'space, 1 = predicting the mean), with `pixels` and `random` baselines. The per-image losses give win rates,',
        'Gain and Quality, AHP affinities, a supervision policy for a few budgets and the task tree; then every',
        'standard measure is scored against the affinities with the DDS protocol (mean per-target Spearman, self',
        'excluded and included) with bootstrap CIs over images. Features and outputs are cached in <out>/features.',
        `Default models: ${ZOO_TRANSFER_MODELS.join(', ')}.`,
      ].join('\n'),
    )
    .option('--images <dir>', 'probe image folder (default: the Debian probe set, fetched when missing)')
    .option('-o, --out <dir>', 'output folder', 'taskmap-zoo-transfer')
    .option('--models <ids>', 'comma-separated zoo ids, or "all" (default: a fast subset covering every task family)')
    .option('--folds <k>', 'cross-fitting folds', '5')
    .option('--seed <n>', 'seed of the folds, the random encoder and the bootstrap', '1')
    .option('--bootstrap <n>', 'bootstrap draws over images for the CIs (0 = none)', '200')
    .option(
      '--measures <ids>',
      'measure ids separated by ";" (default: every standard measure but permutation and softmatch over features; their channel settings are in)',
    )
    .option('--budgets <list>', 'comma-separated supervision budgets for the policy')
    .option('--workers <n>', 'extraction worker threads (default: number of cores)')
    .option('--skip-bad', 'leave out unreadable images (with a warning) instead of failing')
    .action(async (o: Flags) => {
      const t0 = performance.now();
      const tty = Boolean(process.stderr.isTTY);
      const bars = stageBars();
      const models = o.models === 'all' ? ZOO.map((m) => m.id) : parseList(o.models);
      const run = await runZooTransfer({
        images: o.images,
        out: o.out,
        models,
        folds: parseNumber(o.folds, '--folds', { integer: true, min: 2 }),
        seed: parseNumber(o.seed, '--seed', { integer: true, min: 0 }),
        bootstrap: parseNumber(o.bootstrap, '--bootstrap', { integer: true, min: 0 }),
        measures: parseMeasureList(o.measures),
        budgets: parseList(o.budgets)?.map((b) => parseNumber(b, '--budgets', { min: 0 })),
        workers: o.workers === undefined ? undefined : parseNumber(o.workers, '--workers', { integer: true, min: 0 }),
        skipBad: o.skipBad,
        onProgress: bars.update,
        log: (m) => {
          if (!tty || /warning|FAILED|removed|probe|apt|unpack|download/.test(m)) process.stderr.write(`${tty ? '\n' : ''}${m}\n`);
        },
      });
      await writeZooTransferReport(
        run,
        ['taskmap', ...process.argv.slice(2)].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' '),
      );
      const { result } = run;
      bars.stop();
      const best = bestSources(result);
      const top = [...result.prediction].filter((p) => p.mean !== null).sort((a, b) => b.mean! - a.mean!);
      const fmtCi = (c: [number, number] | null) => (c ? `[${c[0].toFixed(3)}, ${c[1].toFixed(3)}]` : '');
      const lines = [
        `${result.models.length} tasks × ${result.images.length} images, ${result.folds}-fold ridge readouts`,
        formatTable(
          ['target', 'best source', 'loss best', 'loss self', 'loss pixels', 'Quality', 'Gain'],
          result.models.map((t) => [
            t,
            best[t],
            result.meanLoss[t][best[t]],
            result.meanLoss[t].self,
            result.meanLoss[t].pixels,
            result.winsVsTask[`${best[t]}__${t}`],
            result.winsVsPixels[`${best[t]}__${t}`],
          ]),
          3,
        ),
        '',
        'Prediction of the measured affinities (mean per-target Spearman), best 10 measures:',
        formatTable(
          ['measure', 'self excluded', '95% CI', 'self included', '95% CI'],
          top.slice(0, 10).map((p) => [p.measure, p.mean!, fmtCi(p.ci), p.meanWithSelf ?? Number.NaN, fmtCi(p.ciWithSelf)]),
          3,
        ),
      ];
      if (result.failed.length) lines.push('', `left out: ${result.failed.map((f) => `${f.model} (${f.error})`).join('; ')}`);
      lines.push(
        '',
        `report: ${relative(process.cwd(), result.out) || '.'}/report.html (also report.md, zoo-transfer.json, losses.csv, affinities.json, figures/)`,
      );
      lines.push(
        `done in ${((performance.now() - t0) / 1000).toFixed(1)} s (${Object.entries(result.timings)
          .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
          .join(', ')})`,
      );
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
