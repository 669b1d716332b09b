import type { Command } from 'commander';
import type { ParamSpec } from '../../measures/registry.js';
import { entriesFor, measureListing, TASK_MEASURES } from '../../ops/measures.js';

export function register(program: Command): void {
  program
    .command('measures')
    .summary('list the similarity measures, their parameters and invariances')
    .description('List every measure family of the registry with its parameters, and the standard measure ids.')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const { families, measures, catalogue, invariances } = measureListing();
      const standard = measures.map((d) => ({
        id: d.id,
        family: d.family,
        largerIsMoreSimilar: d.largerIsMoreSimilar,
        symmetric: d.symmetric,
        invariances: d.invariances,
      }));
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ families, standard, invariances, taskMeasures: TASK_MEASURES, catalogue }, null, 2)}\n`);
        return;
      }
      const lines: string[] = [];
      for (const f of entriesFor('representations')) {
        lines.push(`${f.family} — ${f.name}`, `  ${f.description}`, `  reference: ${f.reference}`);
        lines.push(...paramLines(f.params));
        lines.push('');
      }
      lines.push('Task measures (labelled data sets: `taskmap similarity <dir of .npz tasks> --measure <id>`; distances, smaller = more similar):');
      for (const f of entriesFor('labelled-tasks')) {
        lines.push(`${f.family} — ${f.name}`, `  ${f.description}`, `  reference: ${f.reference}`);
        lines.push(...paramLines(f.params));
      }
      lines.push('');
      lines.push('Standard ids (larger = more similar for all):');
      for (const s of standard) lines.push(`  ${s.id.padEnd(42)} invariant to: ${s.invariances.join(', ') || '—'}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

function paramLines(params: ParamSpec[]): string[] {
  return params.map((p) => {
    const values = p.values ? ` {${p.values.join(', ')}}` : '';
    const def = p.default !== undefined ? ` (default ${String(p.default)})` : '';
    return `    ${p.name}${values}${def}: ${p.description}`;
  });
}
