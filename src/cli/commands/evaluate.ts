import type { Command } from 'commander';
import { writeFileAtomic } from '../../io/atomic.js';
import { describeUnmatched, evaluateFiles } from '../../ops/evaluate.js';
import { formatTable } from '../table.js';
import { addEvaluationOptions, addViaNeighboursOption, evaluationOptionsFrom, viaNeighboursFrom, type EvaluationFlags } from '../options.js';
import { parseList, UsageError } from '../util.js';

export function register(program: Command): void {
  const cmd = program
    .command('evaluate')
    .summary('score a predicted similarity matrix against measured transfer results')
    .description(
      'Per target, correlate the predicted column (similarity of every source to the target) with the measured ' +
        'column (transfer affinity / win rate of every source to the target) over the shared sources; report each ' +
        'target and the mean. With --include-self and --metric spearman this is the DDS Taskonomy protocol.\n\n' +
        'Both matrices: rows = sources, cols = targets; a symmetric similarity matrix works as-is. Files: labelled ' +
        'JSON {"rows","cols","matrix"}, CSV (header row + label column), .npy with --labels, or a Taskonomy result ' +
        'dict {"src__dst": value} as JSON or Taskonomy\'s Python pickle (read without executing code).',
    )
    .requiredOption('-p, --predicted <file>', 'predicted similarity matrix')
    .option('--labels <a,b,...>', 'row/column labels for a .npy predicted matrix');
  addViaNeighboursOption(
    addEvaluationOptions(cmd)
      .option('-o, --out <file.json>', 'write {"metric","per_target","mean",...} here')
      .option(
        '--via-transfers',
        "also score the prediction used through the truth's other targets' transfers: per task t that is a source and a target of both matrices, the other tasks ranked by their measured ranks on the tasks most similar to t (docs/taskbank.md; Spearman, self excluded)",
      ),
  ).action(async (o: EvaluationFlags & { predicted: string; labels?: string; out?: string; viaTransfers?: boolean; viaNeighbours?: string }) => {
    const opts = evaluationOptionsFrom(o);
    const neighbours = viaNeighboursFrom(o.viaNeighbours, Boolean(o.viaTransfers));
    if (o.viaTransfers && opts.metric !== 'spearman') throw new UsageError('--via-transfers is scored by Spearman: leave --metric at spearman');
    const result = await evaluateFiles(o.predicted, o.truth, {
      ...opts,
      labels: parseList(o.labels),
      ...(o.viaTransfers ? { viaTransfers: { neighbours } } : {}),
    });
    for (const line of describeUnmatched(result.unmatched)) process.stderr.write(`taskmap: warning: ${line}\n`);
    const via = result.via_transfers;
    const rows = result.targets.map((t) => [t, result.per_target[t] ?? Number.NaN, ...(via ? [via.per_target[t] ?? Number.NaN] : [])]);
    const mean = result.mean === null ? 'undefined' : result.mean.toFixed(4);
    const head = ['target', result.metric, ...(via ? ['through the transfers (self excluded)'] : [])];
    process.stdout.write(
      `${formatTable(head, rows, 4)}\nmean ${result.metric} over ${result.targets.length - result.undefined_targets.length} targets: ${mean}` +
        `${result.includeSelf ? ' (self included)' : ''}\n`,
    );
    if (via) {
      process.stdout.write(
        `through the truth's other targets' transfers (${via.neighbours ?? 'all'} most similar, self excluded): mean spearman over ` +
          `${via.tasks.length - via.undefined_targets.length} targets: ${via.mean === null ? 'undefined' : via.mean.toFixed(4)}\n`,
      );
    }
    if (result.undefined_targets.length) {
      process.stderr.write(`undefined (constant column) for: ${result.undefined_targets.join(', ')}\n`);
    }
    if (o.out) await writeFileAtomic(o.out, `${JSON.stringify({ ...result, predicted: o.predicted, truth: o.truth }, null, 2)}\n`);
  });
}
