import type { Command } from 'commander';
import { writeLabelledMatrix } from '../../io/labelledMatrix.js';
import { convertMatrixFile } from '../../ops/convert.js';
import { formatMatrix } from '../table.js';
import { parseList, UsageError } from '../util.js';

export function register(program: Command): void {
  program
    .command('convert')
    .summary('label a published matrix (.npy incl. pickled dicts, .json) → labelled matrix')
    .description(
      'Turn a square matrix published without labels into a labelled matrix that evaluate, taxonomy and the rest ' +
        "read — e.g. the DDS authors' kernels.npy / rdms.npy (a pickled dict f → cka → debiased_centered → " +
        'normalisation → 1×20×20 array, read without executing code) or their .json twins.\n\n' +
        '--key walks into nested data, one dot-separated segment at a time (a dict key, or an index into an ' +
        "array's first dimension); leading dimensions of size 1 are dropped. --labels name the rows (= columns) in " +
        'order; --drop then removes tasks from both.\n\n' +
        'Example (the DDS 17-task protocol):\n' +
        '  taskmap convert rdms.npy --key cosine.cka.debiased_centered.znorm \\\n' +
        '    --labels autoencoder,curvature,...,inpainting_whole \\\n' +
        '    --drop colorization,class_places,inpainting_whole --out sim.json',
    )
    .argument('<file>', '.npy (numeric, or an object array holding dicts) or .json')
    .option('-k, --key <a.b.c>', 'dot-separated path to the matrix inside the file (required when it holds a dict)')
    .requiredOption('-l, --labels <a,b,...>', 'row (= column) labels, in order')
    .option('--drop <a,b,...>', 'labels to remove from rows and columns')
    .option('-m, --measure <id>', 'measure id to record in the output')
    .option('-o, --out <file>', 'write the labelled matrix here (.json, .csv, or .npy + .labels.json); default: print it')
    .action(async (file: string, o: { key?: string; labels: string; drop?: string; measure?: string; out?: string }) => {
      const labels = parseList(o.labels, '--labels') ?? [];
      const drop = parseList(o.drop);
      if (o.key !== undefined && o.key.trim() === '') throw new UsageError('--key: expected a path such as cosine.cka.debiased_centered.znorm');
      const m = await convertMatrixFile(file, { key: o.key, labels, drop, measure: o.measure });
      if (o.out) {
        await writeLabelledMatrix(o.out, m);
        process.stderr.write(`${m.rows.length}×${m.cols.length} labelled matrix → ${o.out}\n`);
        return;
      }
      process.stdout.write(`${formatMatrix(m, 4)}\n`);
    });
}
