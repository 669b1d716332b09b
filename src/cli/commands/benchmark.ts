import type { Command } from 'commander';
import { loadFeatureSet } from '../../features/featureSet.js';
import { readImagesList } from '../../features/imageIdentity.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { readLabelledMatrix } from '../../io/labelledMatrix.js';
import { standardRepresentationIds } from '../../measures/registry.js';
import { describeUnmatched, evaluateMeasures } from '../../ops/evaluate.js';
import { progressBar } from '../progress.js';
import { formatTable } from '../table.js';
import { addEvaluationOptions, evaluationOptionsFrom, type EvaluationFlags } from '../options.js';
import { collect, parseList, parseMeasureList } from '../util.js';

export function register(program: Command): void {
  // `benchmark zoo-transfer` is added by zooTransfer.ts (index.ts registers it after this one).
  const bench = program.command('benchmark').summary('evaluation harnesses (judge every measure the same way)');
  const cmd = bench
    .command('measures')
    .summary('score every measure on a feature set against measured transfer results')
    .description(
      'For each measure (default: all standard settings from `taskmap measures`), compute the similarity matrix of ' +
        'the feature set and evaluate it against the ground truth with one protocol (see `taskmap evaluate`). ' +
        'Measures that cannot apply (e.g. a tensor norm on features without a 3-d shape) are listed with the reason.',
    )
    .argument('<featureset>', 'directory of .npy files, a .npz or a .safetensors file')
    .option('--measures <ids>', 'measure ids separated by ";" (ids contain commas), or repeat --measure; default: all standard ids')
    .option('--measure <id>', 'a measure id (repeatable)', collect, [])
    .option('--order <labels>', 'comma-separated labels: subset/order of the feature set')
    .option(
      '--images-list <file>',
      'image ids when the feature set has no extraction manifest: a file with one image per line (path, SHA-256 or name) or a JSON list',
    );
  addEvaluationOptions(cmd)
    .option('-o, --out <file.json>', 'write the table as JSON')
    .action(async (featureset: string, o: EvaluationFlags & { measures?: string; measure: string[]; order?: string; imagesList?: string; out?: string }) => {
      const evalOpts = evaluationOptionsFrom(o);
      // Measure ids contain commas, so lists of them are separated by ";".
      const ids = [...(parseMeasureList(o.measures) ?? []), ...o.measure];
      const measures = ids.length ? ids : standardRepresentationIds();
      const set = await loadFeatureSet(featureset, { order: parseList(o.order, '--order'), images: await readImagesList(o.imagesList) });
      const truth = await readLabelledMatrix(o.truth);
      const bar = progressBar('measures');
      const result = await evaluateMeasures(set, truth, measures, {
        ...evalOpts,
        onMeasure: (d, t, id) => bar.update(d, t, id),
      });
      bar.stop();
      if (result.unmatched) for (const line of describeUnmatched(result.unmatched)) process.stderr.write(`taskmap: warning: ${line}\n`);
      const rows = result.rows.map((r) => [r.measure, r.mean ?? Number.NaN, `${r.ms.toFixed(0)} ms`, r.error ?? '']);
      process.stdout.write(
        `${set.members.length} models × ${set.n} images; mean ${result.metric} over ${result.targets.length} targets` +
          `${result.includeSelf ? ' (self included)' : ''}\n${formatTable(['measure', `mean ${result.metric}`, 'time', 'note'], rows, 4)}\n`,
      );
      if (o.out) await writeFileAtomic(o.out, `${JSON.stringify({ featureset, truth: o.truth, ...result }, null, 2)}\n`);
    });
}
