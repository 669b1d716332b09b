import type { Command } from 'commander';
import { EVAL_METRICS, type EvalMetric } from '../../evaluate/evaluate.js';
import { evaluateMeasures } from '../../evaluate/harness.js';
import { loadFeatureSet } from '../../features/featureSet.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { readLabelledMatrix } from '../../io/labelledMatrix.js';
import { standardMeasureIds } from '../../measures/registry.js';
import { progressBar } from '../progress.js';
import { formatTable } from '../table.js';
import { collect, parseKeyValues, parseList, UsageError } from '../util.js';

export function register(program: Command): void {
  const bench = program.command('benchmark').summary('evaluation harnesses (judge every measure the same way)');
  bench
    .command('measures')
    .summary('score every measure on a feature set against measured transfer results')
    .description(
      'For each measure (default: all standard settings from `taskmap measures`), compute the similarity matrix of\n' +
        'the feature set and evaluate it against the ground truth with one protocol (see `taskmap evaluate`).\n' +
        'Measures that cannot apply (e.g. a tensor norm on features without a 3-d shape) are listed with the reason.',
    )
    .argument('<featureset>', 'directory of .npy files, a .npz or a .safetensors file')
    .requiredOption('-t, --truth <file>', 'ground truth: labelled matrix (rows = sources, cols = targets) or Taskonomy dict')
    .option('--measures <ids>', 'measure ids separated by ";" (ids contain commas), or repeat --measure; default: all standard ids')
    .option('--measure <id>', 'a measure id (repeatable)', collect, [])
    .option('--order <labels>', 'comma-separated labels: subset/order of the feature set')
    .option('--targets <a,b,...>', 'targets to score (default: all shared)')
    .option('--sources <a,b,...>', 'candidate sources (default: all shared)')
    .option('--include-self', 'keep the target itself among its candidate sources (DDS protocol)')
    .option('--alias <old=new>', 'rename a task in both matrices (repeatable)', collect, [])
    .option('-m, --metric <name>', `${EVAL_METRICS.join(' | ')}`, 'spearman')
    .option('-o, --out <file.json>', 'write the table as JSON')
    .action(
      async (
        featureset: string,
        o: {
          truth: string;
          measures?: string;
          measure: string[];
          order?: string;
          targets?: string;
          sources?: string;
          includeSelf?: boolean;
          alias: string[];
          metric: string;
          out?: string;
        },
      ) => {
        if (!(EVAL_METRICS as readonly string[]).includes(o.metric)) {
          throw new UsageError(`--metric must be one of ${EVAL_METRICS.join(', ')}, got "${o.metric}"`);
        }
        // Measure ids contain commas, so lists of them are separated by ";".
        const ids = [...(o.measures?.split(';').map((s) => s.trim()).filter(Boolean) ?? []), ...o.measure];
        const measures = ids.length ? ids : standardMeasureIds();
        const set = await loadFeatureSet(featureset, { order: parseList(o.order) });
        const truth = await readLabelledMatrix(o.truth);
        const bar = progressBar('measures');
        const result = await evaluateMeasures(set, truth, measures, {
          metric: o.metric as EvalMetric,
          targets: parseList(o.targets),
          sources: parseList(o.sources),
          includeSelf: Boolean(o.includeSelf),
          aliases: parseKeyValues(o.alias, '--alias'),
          onMeasure: (d, t, id) => bar.update(d, t, id),
        });
        bar.stop();
        const rows = result.rows.map((r) => [r.measure, r.mean ?? Number.NaN, `${r.ms.toFixed(0)} ms`, r.error ?? '']);
        process.stdout.write(
          `${set.members.length} models × ${set.n} images; mean ${result.metric} over ${result.targets.length} targets` +
            `${result.includeSelf ? ' (self included)' : ''}\n${formatTable(['measure', `mean ${result.metric}`, 'time', 'note'], rows, 4)}\n`,
        );
        if (o.out) await writeFileAtomic(o.out, `${JSON.stringify({ featureset, truth: o.truth, ...result }, null, 2)}\n`);
      },
    );
}
