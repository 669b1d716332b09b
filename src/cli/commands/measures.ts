import type { Command } from 'commander';
import type { ParamSpec } from '../../measures/registry.js';
import { entriesFor, measureListing, TASK_MEASURES, type ScoreListing } from '../../ops/measures.js';

export function register(program: Command): void {
  program
    .command('measures')
    .summary('list the similarity measures and transferability scores, their parameters and invariances')
    .description(
      'List every measure family of the catalogue with its parameters: the representation measures, the task measures, and ' +
        'the label-based transferability scores (input, target types, cost); then the standard ids.',
    )
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const { families, measures, catalogue, invariances, scores, standardScores, rankAll } = measureListing();
      const standard = measures.map((d) => ({
        id: d.id,
        family: d.family,
        largerIsMoreSimilar: d.largerIsMoreSimilar,
        symmetric: d.symmetric,
        invariances: d.invariances,
      }));
      if (o.json) {
        process.stdout.write(
          `${JSON.stringify({ families, standard, invariances, taskMeasures: TASK_MEASURES, scores, standardScores, rankAll, catalogue }, null, 2)}\n`,
        );
        return;
      }
      const lines: string[] = [];
      for (const f of entriesFor('representations')) {
        lines.push(`${f.family} — ${f.name}`, `  ${f.description}`, `  reference: ${f.reference}`);
        if (f.pairwise) {
          const direction = f.largerIsMoreSimilar ? 'similarity' : 'distance (smaller = more similar)';
          lines.push(`  ${direction}${f.metric ? ', a metric' : ''}; computed pair by pair; cost ${f.cost.tier}: ${f.cost.scaling}`);
          if (f.fewImages) lines.push(`  fewer images than features: ${f.fewImages}`);
        }
        lines.push(...paramLines(f.params));
        lines.push('');
      }
      lines.push('Task measures (labelled data sets: `taskmap similarity <dir of .npz tasks> --measure <id>`; distances, smaller = more similar):');
      for (const f of entriesFor('labelled-tasks')) {
        lines.push(`${f.family} — ${f.name}`, `  ${f.description}`, `  reference: ${f.reference}`);
        lines.push(...paramLines(f.params));
      }
      lines.push('');
      lines.push(
        'Transferability scores (labelled targets: `taskmap rank <features> --target labels.csv --measure <id>`; higher = better ' +
          'predicted transfer; docs/transferability.md):',
      );
      for (const f of scores) lines.push(...scoreLines(f), '');
      lines.push('');
      const distances = standard.some((s) => !s.largerIsMoreSimilar);
      lines.push(distances ? 'Standard ids (larger = more similar, except those marked distance):' : 'Standard ids (larger = more similar for all):');
      for (const s of standard) {
        const mark = s.largerIsMoreSimilar ? '' : ' (distance: smaller = more similar)';
        lines.push(`  ${s.id.padEnd(42)} invariant to: ${s.invariances.join(', ') || '—'}${mark}`);
      }
      lines.push('');
      lines.push(`Standard score ids: ${standardScores.join(', ')}`);
      lines.push(`\`rank --measure all\` columns (class target): ${rankAll.join(', ')}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

const INPUT_TEXT: Record<ScoreListing['input'], string> = {
  labels: "the candidate's features on the target images + the target labels",
  'source-probabilities': "the source model's class probabilities on the target images + the target labels (rank --probabilities)",
};

function scoreLines(f: ScoreListing): string[] {
  const perClass = f.minPerClass > 1 ? ` · at least ${f.minPerClass} images per class` : '';
  return [
    `${f.syntax} — ${f.name}`,
    `  ${f.description}`,
    `  input: ${INPUT_TEXT[f.input]}`,
    `  targets: ${f.taskTypes.join(', ')}${perClass} · cost: ${f.cost.tier} (${f.cost.scaling})`,
    `  reference: ${f.reference}`,
    ...paramLines(f.params),
  ];
}

function paramLines(params: ParamSpec[]): string[] {
  return params.map((p) => {
    const values = p.values ? ` {${p.values.join(', ')}}` : '';
    const def = p.default !== undefined ? ` (default ${String(p.default)})` : '';
    return `    ${p.name}${values}${def}: ${p.description}`;
  });
}
