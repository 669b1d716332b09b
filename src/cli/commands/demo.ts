import type { Command } from 'commander';
import { relative } from 'node:path';
import { computeDemo, DEMO_MEASURES } from '../../ops/demo.js';
import { writeDemoReport } from '../../report/demo.js';
import { clusterSizes } from '../../report/html.js';
import { stageBars } from '../progress.js';
import { formatTable } from '../table.js';
import { parseList, parseNumber, UsageError } from '../util.js';
import { describeSummary, modelRefs } from '../options.js';

export function register(program: Command): void {
  program
    .command('demo')
    .summary('task taxonomy of the bundled model zoo: extract, compare (RSA, DDS), cluster, report')
    .description(
      [
        'Run every zoo model on the curated probe images (the probe set, fetched with `taskmap probe fetch`',
        'when missing, without calibration frames, second stereo views and near-duplicates),',
        `compare all models with ${DEMO_MEASURES.join(' and ')}, build the average-linkage task tree`,
        'and write a self-contained HTML report (heatmap in tree order, dendrogram, MDS map coloured by',
        'task family, top-3 neighbours) plus JSON matrices, the tree (JSON, Newick) and SVG/PNG figures.',
        "Prints how well the taxonomy recovers the zoo's task families (identical exports such as",
        'blazeface-back = blazeface stay in the figures but are left out of these statistics). Features are cached in',
        '<out>/features: a second run only recomputes similarities and figures.',
      ].join('\n'),
    )
    .option('--images <dir>', 'probe image folder (default: the curated Debian probe set in $TASKMAP_CACHE/probe-curated)')
    .option('-o, --out <dir>', 'output folder', 'taskmap-demo')
    .option('--models <ids>', "comma-separated zoo ids (default: the zoo's demo set; see `taskmap zoo`)")
    .option('--measures <ids>', `similarity measures (default: ${DEMO_MEASURES.join(' ')})`)
    .option('--workers <n>', 'extraction worker threads (default: number of cores)')
    .option('--no-png', 'skip the PNG versions of the figures')
    .option('--skip-bad', 'leave out unreadable images (with a warning) instead of failing')
    .option(
      '--bootstrap <draws>',
      'also recompute each similarity on this many seeded subsets of min(200, n/2) images: split support on the trees and an interval-width heatmap in the report (docs/measures.md#inference)',
    )
    .option('--seed <s>', 'with --bootstrap: generator seed, 0…4294967295 (default 1993)')
    .option('--no-bank', "leave out the task bank's encoders (by default their taxonomy is drawn beside the zoo's when the package ships a bank)")
    .action(
      async (o: {
        images?: string;
        out: string;
        models?: string;
        measures?: string;
        workers?: string;
        png: boolean;
        skipBad?: boolean;
        bootstrap?: string;
        seed?: string;
        bank: boolean;
      }) => {
        const t0 = performance.now();
        if (o.seed !== undefined && o.bootstrap === undefined) throw new UsageError('--seed needs --bootstrap <draws>');
        const bootstrap = o.bootstrap === undefined ? undefined : parseNumber(o.bootstrap, '--bootstrap', { integer: true, min: 1 });
        const seed = o.seed === undefined ? undefined : parseNumber(o.seed, '--seed', { integer: true, min: 0 });
        // Extraction, then (with --bootstrap) the draws: one bar per stage.
        const bars = stageBars();
        const bar = { update: (d: number, t: number, l: string) => bars.update('extract', d, t, l), stop: () => bars.stop() };
        const tty = Boolean(process.stderr.isTTY);
        const data = await computeDemo({
          images: o.images,
          out: o.out,
          models: o.models ? modelRefs([o.models]) : undefined,
          measures: o.measures ? parseList(o.measures.split(/\s+/).join(',')) : undefined,
          workers: o.workers === undefined ? undefined : parseNumber(o.workers, '--workers', { integer: true, min: 0 }),
          skipBad: o.skipBad,
          bank: o.bank,
          bootstrap,
          seed,
          onDraw: (d, t, l) => bars.update('bootstrap', d, t, l),
          onProgress: (d, t, l) => bar.update(d, t, l),
          log: (m) => {
            if (!tty || /warning|FAILED|removed|probe|apt|unpack|download/.test(m)) process.stderr.write(`${tty ? '\n' : ''}${m}\n`);
          },
        });
        bar.stop();
        const result = await writeDemoReport(data, { png: o.png });
        const seconds = (performance.now() - t0) / 1000;
        const lines = [
          describeSummary(result.extract),
          '',
          `Family recovery (${result.recovery[0]?.models ?? result.models.length} models, ${result.images} images, ${result.recovery[0]?.k ?? 0} task families):`,
          formatTable(
            ['measure', 'NN family agreement', 'chance', `ARI (k=${result.recovery[0]?.k ?? 0})`, 'cluster sizes of the cut'],
            result.recovery.map((r, i) => [
              r.measure,
              r.nearestNeighbourAgreement,
              r.chance,
              r.adjustedRandIndex,
              clusterSizes(result.taxonomies[i].cut.clusters),
            ]),
          ),
        ];
        if (result.duplicates.length) {
          lines.push(
            `Identical exports left out of these statistics (kept in the figures): ${result.duplicates.map((d) => `${d.label} = ${d.of}`).join(', ')}.`,
            `With them (${result.models.length} models): ${result.recovery
              .filter((r) => r.withDuplicates)
              .map((r) => `${r.measure} NN ${r.withDuplicates!.nearestNeighbourAgreement.toFixed(3)}, ARI ${r.withDuplicates!.adjustedRandIndex.toFixed(3)}`)
              .join('; ')}.`,
          );
        }
        if (result.bankRecovery?.length) {
          lines.push(
            '',
            `Task bank (${result.bankRecovery[0].models} encoders of one architecture, one per task; ${result.bankRecovery[0].k} task families):`,
            formatTable(
              ['measure', 'NN family agreement', 'chance', `ARI (k=${result.bankRecovery[0].k})`],
              result.bankRecovery.map((r) => [r.measure, r.nearestNeighbourAgreement, r.chance, r.adjustedRandIndex]),
            ),
          );
          const t = result.bankTransfers;
          if (t) {
            const f = (x: number | null) => (x === null ? '—' : x.toFixed(3));
            lines.push(
              `Against the transfers measured when it was trained (mean per-target Spearman, ${t.targets.length} encoders), similarity alone → through the other targets' transfers: ` +
                t.measures.map((m) => `${m.measure} ${f(m.similarity)} → ${f(m.viaTransfers)}`).join(', ') +
                `; equal weights ${f(t.sourcePrior)}.`,
            );
          }
        }
        if (result.failed.length) {
          lines.push('', `${result.failed.length} model(s) failed and are not in the taxonomy:`);
          for (const f of result.failed) lines.push(`  ${f.model}: ${f.error}`);
        }
        const rel = relative(process.cwd(), result.report) || result.report;
        lines.push('', `report: ${rel} (also family-recovery.json, similarity-*.json, taxonomy-*.json/.nwk, figures/)`);
        lines.push(
          `done in ${seconds.toFixed(1)} s (${Object.entries(result.timings)
            .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
            .join(', ')})`,
        );
        process.stdout.write(`${lines.join('\n')}\n`);
      },
    );
}
