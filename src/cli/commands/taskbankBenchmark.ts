/**
 * `taskmap benchmark taskbank`: the command (options, progress, summary). The work is in src/benchmark/taskbank.ts,
 * the files it writes in src/report/taskbankReport.ts.
 */
import type { Command } from 'commander';
import { join, relative } from 'node:path';
import { LABEL_SCORE_DEFAULTS, labelScoreId as checkedLabelScore, runTaskbankBenchmark, shipBank } from '../../benchmark/taskbank.js';
import { TASKBANK_MEASURES, type TaskbankEvaluation } from '../../benchmark/taskbankEval.js';
import { summariseTaskbankSeeds } from '../../benchmark/taskbankSeeds.js';
import { bankDir } from '../../models/zoo.js';
import { imageInterval, labelScoreName, unreliableTargets, writeTaskbankReport } from '../../report/taskbankReport.js';
import { meanSd, writeTaskbankSeedsReport } from '../../report/taskbankSeedsReport.js';
import { DEFAULT_TEACHER_TRAIN_CROPS } from '../../taskbank/teacherJobs.js';
import { POOL_PRESETS, POOL_SPLITS, SPLIT_HELP, type PoolPreset } from '../../taskbank/pool.js';
import { TASKS } from '../../taskbank/tasks.js';
import { TRAIN_DEFAULTS } from '../../taskbank/train.js';
import { VIA_TRANSFERS_NEIGHBOURS } from '../../taskonomy/viaTransfers.js';
import { stageBars } from '../progress.js';
import { formatTable } from '../table.js';
import { collect, parseKeyNumbers, parseKeyNumbersIn, parseList, parseMeasureList, parseNumber, shellQuote, UsageError } from '../util.js';

interface Flags {
  out: string;
  tasks?: string;
  preset: string;
  folders?: string;
  resolution: string;
  crops: string[];
  split: string[];
  teacherCrops: string;
  epochs: string;
  taskEpochs: string[];
  measures?: string;
  readoutRepeats: string;
  vectorReadoutDecay?: string;
  labelScore: string | false;
  labelCrops: string;
  workers: string;
  seed?: string;
  seeds?: string;
  debs?: string;
  ship?: boolean | string;
  png: boolean;
}

/** `taskbank` under `benchmark`: registered after benchmark.ts (index.ts), so no command imports another. */
export function register(program: Command): void {
  const bench = program.commands.find((c) => c.name() === 'benchmark');
  if (!bench) throw new Error('benchmark taskbank: register the benchmark command first');
  bench
    .command('taskbank')
    .summary("train the task bank, measure its Taskonomy, and judge RSA/DDS/CKA's task similarity against it")
    .description(
      [
        'The setting of the RSA and Taskonomy papers at laptop scale (docs/taskbank.md): one small encoder architecture',
        `trained per task (${TASKS.length} tasks in four families: low-level, 2D, global, semantic) on seeded crops of Debian`,
        'photographs; then every transfer s → t as a fresh readout on the frozen encoder of s, trained on a small share',
        "of t's labels and scored by per-image test losses (baselines: the target's own pixels and an untrained",
        "encoder; `self` is t's own trained network). The losses give win rates, AHP affinities, Gain and Quality, the",
        "supervision-policy budget sweep and the measured task tree (Taskonomy). The encoders' similarity on the probe",
        'crops under each measure is then scored against the affinities (per-target Spearman, the DDS protocol) and',
        'both trees against the task families (nearest-neighbour agreement, ARI).',
        '',
        'Everything is cached in $TASKMAP_CACHE/taskbank (training resumes from its last epoch), so a re-run only redoes',
        'the evaluation. Writes <out>/report.md, taskbank.json, tournaments.json (readable by `taskmap ahp --wins`),',
        'affinities.json and figures/. --ship copies the trained encoders into the package (models/taskbank), where `taskmap zoo` lists them',
        "as bank-<task> and `taskmap demo` draws their taxonomy beside the zoo's.",
      ].join('\n'),
    )
    .option('-o, --out <dir>', 'output folder', 'taskmap-taskbank')
    .option('--tasks <ids>', `comma-separated tasks (default all: ${TASKS.map((t) => t.id).join(', ')})`)
    .option('--preset <name>', `photographs of the crop pool: ${POOL_PRESETS.join(' | ')}`, 'default')
    .option('--folders <dirs>', 'comma-separated folders of your own photographs instead of the packages')
    .option('--resolution <px>', 'crop side in pixels (a multiple of 8)', '64')
    .option('--crops <part=n>', `crops of a part (repeatable; parts ${POOL_SPLITS.join(', ')})`, collect, [])
    .option('--split <part=w>', SPLIT_HELP, collect, [])
    .option(
      '--teacher-crops <n>',
      'training crops the distilled (semantic) tasks train on (the teachers cost 25–100 ms a crop)',
      String(DEFAULT_TEACHER_TRAIN_CROPS),
    )
    .option('--epochs <n>', 'training epochs per task', String(TRAIN_DEFAULTS.epochs))
    .option('--task-epochs <task=n>', 'epochs of one task instead of --epochs (repeatable; e.g. jigsaw=6: the global tasks learn late)', collect, [])
    .option('--measures <ids>', `measures judged against the measured affinities, ";"-separated (default: ${TASKBANK_MEASURES.join('; ')})`)
    .option(
      '--readout-repeats <n>',
      "readouts per transfer, seeded one after another; each test image's loss is their mean (the readout's own initialisation otherwise moves near-tied targets' rankings)",
      '1',
    )
    .option(
      '--vector-readout-decay <λ>',
      "decoupled weight decay of the vector targets' readouts (rotation, jigsaw, content classes; their 4,096 → 128 → K head overfits the transfer crops), cached apart from the undecayed ones (default: none)",
    )
    .option(
      '--label-score <ids>',
      "label-based scores judged beside the measures, \";\"-separated: each encoder's features of a target's labelled transfer crops against that target's labels — a transferability score that reads regression targets (logme), or a similarity measure between the features and the labels (cka, rsa:rdm=euclidean, …); each pair is also judged with ranks summed",
      LABEL_SCORE_DEFAULTS.scores.join('; '),
    )
    .option('--no-label-score', 'judge no label-based score')
    .option(
      '--label-crops <n>',
      'labelled transfer crops per target the label scores read (spread evenly over the part)',
      String(LABEL_SCORE_DEFAULTS.labelled),
    )
    .option('--workers <n>', 'worker threads for teachers, training and readouts (one TF.js WASM backend each)', '2')
    .option('--seed <n>', 'seed of the crops, the networks and the batch orders (default 0)')
    .option(
      '--seeds <list>',
      'run the whole benchmark once per seed (comma-separated, e.g. 0,1,2): a report per seed in <out>/seed-<n>/ and the mean ± SD of every statistic over the seeds in <out>/report.md',
    )
    .option('--debs <dir>', 'use these already-downloaded .deb files instead of apt-get download')
    .option('--ship [dir]', "copy the trained encoders and their manifest into the package's models/taskbank (or dir)")
    .option('--no-png', 'skip the PNG versions of the figures')
    .action(async (o: Flags) => {
      const t0 = performance.now();
      if (!POOL_PRESETS.includes(o.preset as PoolPreset)) throw new UsageError(`--preset: use ${POOL_PRESETS.join(' or ')}, got "${o.preset}"`);
      const tasks = parseList(o.tasks);
      for (const t of tasks ?? [])
        if (!TASKS.some((x) => x.id === t)) throw new UsageError(`--tasks: unknown task "${t}" (tasks: ${TASKS.map((x) => x.id).join(', ')})`);
      const counts = parseKeyNumbersIn(o.crops, '--crops', POOL_SPLITS, 'part');
      const fractions = parseKeyNumbersIn(o.split, '--split', POOL_SPLITS, 'part');
      if (o.seed !== undefined && o.seeds !== undefined) throw new UsageError('--seed and --seeds: give one of them');
      const seeds =
        o.seeds !== undefined
          ? parseList(o.seeds, '--seeds')!.map((v) => parseNumber(v, '--seeds', { integer: true, min: 0 }))
          : [o.seed === undefined ? 0 : parseNumber(o.seed, '--seed', { integer: true, min: 0 })];
      const twice = seeds.find((v, i) => seeds.indexOf(v) !== i);
      if (twice !== undefined) throw new UsageError(`--seeds: seed ${twice} is listed twice`);
      const several = o.seeds !== undefined;
      if (several && seeds.length < 2) throw new UsageError('--seeds: give at least two seeds (one seed: --seed)');
      const shipping = o.ship !== undefined && o.ship !== false;
      if (several && shipping) throw new UsageError("--ship copies one run's encoders: ship with --seed, not --seeds");
      const command = shellQuote(['taskmap', ...process.argv.slice(2)]);
      // Every option is parsed before the first seed trains anything.
      const settings = {
        tasks,
        preset: o.preset as PoolPreset,
        folders: parseList(o.folders, '--folders'),
        resolution: parseNumber(o.resolution, '--resolution', { integer: true, min: 8 }),
        counts,
        fractions,
        teacherTrainCrops: parseNumber(o.teacherCrops, '--teacher-crops', { integer: true, min: 1 }),
        train: { epochs: parseNumber(o.epochs, '--epochs', { integer: true, min: 1 }) },
        taskEpochs: parseKeyNumbers(o.taskEpochs, '--task-epochs'),
        measures: parseMeasureList(o.measures),
        readoutRepeats: parseNumber(o.readoutRepeats, '--readout-repeats', { integer: true, min: 1 }),
        vectorReadoutDecay: o.vectorReadoutDecay === undefined ? undefined : parseNumber(o.vectorReadoutDecay, '--vector-readout-decay', { min: 0 }),
        labelScores:
          o.labelScore === false
            ? null
            : { scores: labelScoreIds(o.labelScore), labelled: parseNumber(o.labelCrops, '--label-crops', { integer: true, min: 1 }) },
        workers: parseNumber(o.workers, '--workers', { integer: true, min: 0 }),
        debs: o.debs,
        log: (m: string) => process.stderr.write(`${m}\n`),
      };
      const runs: { seed: number; evaluation: TaskbankEvaluation }[] = [];
      for (const seed of seeds) {
        const t1 = performance.now();
        const bars = stageBars();
        const run = await runTaskbankBenchmark({
          ...settings,
          seed,
          onStage: several ? (stage, d, n, what) => bars.update(`seed ${seed}: ${stage}`, d, n, what) : bars.update,
        });
        bars.stop();
        const out = several ? join(o.out, `seed-${seed}`) : o.out;
        const written = await writeTaskbankReport(out, run.evaluation, {
          command,
          timings: run.timings,
          png: o.png,
          notes: [...(several ? [`Seed ${seed} of the command's ${seeds.length}; the summary over the seeds is ../report.md.`] : []), ...runNotes(run)],
        });
        runs.push({ seed, evaluation: run.evaluation });
        const lines: string[] = [];
        if (shipping) {
          const target = typeof o.ship === 'string' ? o.ship : bankDir();
          await shipBank(run, target, { command });
          lines.push(`shipped ${run.tasks.length} encoders to ${relative(process.cwd(), target) || '.'} (zoo ids bank-<task>)`);
        }
        const e = run.evaluation;
        if (several) lines.push(`seed ${seed}:`);
        const { unit } = imageInterval(e);
        const reliable = e.reliability?.reliable.length;
        lines.push(
          formatTable(
            [
              'measure',
              'mean Spearman vs affinity',
              `95% interval (test ${unit}s)`,
              ...(reliable === undefined ? [] : [`on the ${reliable} reliable targets`]),
              'with self',
              'NN family agreement',
              'ARI (4 families)',
              'note',
            ],
            e.measures.map((m) => [
              m.measure,
              m.spearman?.mean ?? Number.NaN,
              m.spearmanInterval ? `${m.spearmanInterval.low.toFixed(3)} – ${m.spearmanInterval.high.toFixed(3)}` : '—',
              ...(reliable === undefined ? [] : [m.spearmanReliable ?? Number.NaN]),
              m.spearmanWithSelf?.mean ?? Number.NaN,
              m.taxonomy?.recovery.nearestNeighbourAgreement ?? Number.NaN,
              m.taxonomy?.recovery.adjustedRandIndex ?? Number.NaN,
              m.error ?? '',
            ]),
            3,
          ),
          `measured task tree: NN family agreement ${e.tree.recovery.nearestNeighbourAgreement.toFixed(3)} (chance ${e.tree.recovery.chance.toFixed(3)}), ARI ${e.tree.recovery.adjustedRandIndex.toFixed(3)}`,
          ...(e.labelScores ?? []).map(
            (l) =>
              `label score ${labelScoreName(l)} (${l.labelled} labelled transfer crops per target, ${l.targets.length} targets): mean Spearman ${
                l.spearman.mean?.toFixed(3) ?? '—'
              } (permutation 95th pct. ${l.spearmanNull?.q95.toFixed(3) ?? '—'}), self kept ${l.spearmanWithSelf.mean?.toFixed(3) ?? '—'}; ranks summed with each similarity: ${
                (l.withSimilarity ?? []).map((c) => `${c.measure} ${c.spearman.mean?.toFixed(3) ?? '—'}`).join(', ') || '—'
              }${(l.withLabelScores ?? []).map((c) => `; with ${labelScoreName(c)} ${c.spearman.mean?.toFixed(3) ?? '—'}`).join('')}`,
          ),
          `through the transfers of the ${VIA_TRANSFERS_NEIGHBOURS} most similar other targets under each measure: ${
            e.measures
              .filter((m) => typeof m.viaTransfers?.mean === 'number')
              .map((m) => `${m.measure} ${m.viaTransfers!.mean!.toFixed(3)}`)
              .join(', ') || '—'
          }; equal weights (source prior, no representations) ${e.sourcePrior.mean?.toFixed(3) ?? '—'}`,
          ...(e.reliability
            ? [
                `targets whose measured ranking is reliable (≥ ${e.reliability.threshold}): ${e.reliability.reliable.join(', ') || 'none'}; not: ${
                  unreliableTargets(e).join(', ') || 'none'
                }`,
              ]
            : []),
          `report: ${relative(process.cwd(), out) || '.'}/report.md (${written.length} files)`,
          `${several ? `seed ${seed}` : 'done'} in ${((performance.now() - t1) / 1000).toFixed(1)} s (${Object.entries(run.timings)
            .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
            .join(', ')})`,
        );
        // Each seed's table as soon as it is done: a seed of the default bank trains for about 25 minutes.
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      if (several) {
        const summary = summariseTaskbankSeeds(runs);
        const written = await writeTaskbankSeedsReport(o.out, summary, {
          command,
          seedReports: Object.fromEntries(seeds.map((v) => [v, `seed-${v}`])),
        });
        const lines = [
          `over seeds ${seeds.join(', ')} (mean ± SD):`,
          formatTable(
            ['measure', 'mean Spearman vs affinity', 'on the reliable targets', 'ARI (families)', 'NN family agreement'],
            summary.measures.map((m) => [
              m.measure,
              meanSd(m.spearman),
              meanSd(m.spearmanReliable),
              meanSd(m.adjustedRandIndex),
              meanSd(m.nearestNeighbourAgreement),
            ]),
            3,
          ),
          `measured task tree: ARI ${meanSd(summary.tree.adjustedRandIndex)}, NN family agreement ${meanSd(summary.tree.nearestNeighbourAgreement)}`,
          `through the other targets' transfers: ${summary.measures
            .filter((m) => m.viaTransfers.mean !== null)
            .map((m) => `${m.measure} ${meanSd(m.viaTransfers)}`)
            .join(', ')}; source prior ${meanSd(summary.sourcePrior.spearman)}`,
          ...(summary.labelScores ?? []).map(
            (l) =>
              `label score ${labelScoreName(l)}: mean Spearman ${meanSd(l.spearman)}; ranks summed with each similarity: ${l.withSimilarity
                .map((c) => `${c.measure} ${meanSd(c.spearman)}`)
                .join(', ')}${l.withLabelScores.map((c) => `; with ${labelScoreName(c)} ${meanSd(c.spearman)}`).join('')}`,
          ),
          `summary: ${relative(process.cwd(), o.out) || '.'}/report.md (${written.length} files); done in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
    });
}

/** --label-score's ids, canonical; a usage error where the bank cannot judge one. */
function labelScoreIds(ids: string): string[] {
  const list = parseMeasureList(ids) ?? [];
  if (list.length === 0) throw new UsageError('--label-score: name at least one score (or --no-label-score)');
  return list.map((id) => {
    try {
      return checkedLabelScore(id);
    } catch (e) {
      throw new UsageError(`--label-score: ${(e as Error).message}`);
    }
  });
}

/** The report's notes: what was trained on what, with which budget. */
function runNotes(run: Awaited<ReturnType<typeof runTaskbankBenchmark>>): string[] {
  const s = run.settings;
  const c = run.pool.crops;
  const p = run.pool.photosPerPart;
  return [
    `Crop pool: ${run.pool.photos} photographs (train ${p.train}, transfer ${p.transfer}, test ${p.test}, probe ${p.probe}), ${run.pool.resolution}×${run.pool.resolution} crops: train ${c.train}, transfer ${c.transfer}, test ${c.test}, probe ${c.probe} (${run.pool.dir}).`,
    `Training: ${s.train.epochs} epochs${
      Object.keys(s.taskEpochs).length
        ? ` (${Object.entries(s.taskEpochs)
            .map(([t, e]) => `${t} ${e}`)
            .join(', ')})`
        : ''
    }, batch ${s.train.batchSize}, Adam lr ${s.train.learningRate}, each task from its own seeded initialisation; the distilled tasks on the first ${s.teacherTrainCrops} training crops.`,
    `Readouts: ${JSON.stringify(s.readout)} on the ${c.transfer} transfer crops, per-image losses on the ${c.test} test crops${
      s.readoutRepeats > 1 ? `, each the mean over ${s.readoutRepeats} readouts seeded ${s.readout.seed}…${s.readout.seed + s.readoutRepeats - 1}` : ''
    }${s.vectorReadoutDecay ? `; the vector targets' readouts with decoupled weight decay ${s.vectorReadoutDecay} on their kernels` : ''}.`,
    ...(s.labelScores
      ? [
          `Label scores: ${s.labelScores.scores.join('; ')} on ${Math.min(s.labelScores.labelled, c.transfer)} of the ${c.transfer} transfer crops per target (spread evenly), each task encoder's features against the target's labels (a transferability score: a map per feature cell against its 8×8 block, a vector on all the features; a similarity measure: each image's whole feature map against its whole target).`,
        ]
      : []),
    `Worker threads: ${s.workers}. Cache: ${run.dir}.`,
  ];
}
