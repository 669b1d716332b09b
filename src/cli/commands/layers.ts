import type { Command } from 'commander';
import { describePreprocessing } from '../../images/preprocess.js';
import { describeNoLayerMatch, filterLayers, layersWithShapes, type LayerFilter } from '../../models/inspect.js';
import { openModel, resolveModel } from '../../models/resolve.js';
import { formatTable } from '../table.js';
import { addPreprocessingOptions, preprocessingOverrides, type PreprocessingFlags } from '../options.js';
import { parseList } from '../util.js';

function fmtShape(s: (number | null)[] | undefined): string {
  return s ? `[${s.map((d) => d ?? '?').join(', ')}]` : '—';
}

export function register(program: Command): void {
  addPreprocessingOptions(
    program
      .command('layers')
      .summary('list the tappable layers of a model with their shapes')
      .description(
        'List every intermediate tensor of a model that `taskmap extract --tap` can read, in execution order,\n' +
          'with its shape for one image (graph models are run once on a blank image to learn the shapes).\n' +
          'The model is a zoo id (see `taskmap zoo`), an .onnx file, or a TF.js model.json / its folder.',
      )
      .argument('<model>', 'zoo id or model file'),
  )
    .option('--filter <glob>', 'only layers whose name matches, case-insensitive: a glob ("*conv*") or a substring')
    .option('--op <types>', 'only layers of these operator types, comma-separated, case-insensitive, globs allowed (e.g. Conv or "Conv*,Relu")')
    .option('--json', 'machine-readable output')
    .action(async (ref: string, o: PreprocessingFlags & { filter?: string; op?: string; json?: boolean }) => {
      const spec = await resolveModel(ref, preprocessingOverrides(o));
      const filter: LayerFilter = { name: o.filter, ops: parseList(o.op, '--op') };
      const { runner, preprocessing } = await openModel(spec);
      try {
        const all = await layersWithShapes(runner, preprocessing);
        const layers = filterLayers(all, filter);
        const none = layers.length === 0 && all.length > 0 ? describeNoLayerMatch(all, filter) : undefined;
        if (o.json) {
          // stdout stays JSON (an empty list); the note goes to stderr.
          if (none) process.stderr.write(`taskmap: ${none}\n`);
          process.stdout.write(
            `${JSON.stringify({ model: spec.id, source: spec.source, format: spec.format, inputs: runner.inputs, outputs: runner.outputs, preprocessing, defaultTap: spec.defaultTap, layers }, null, 2)}\n`,
          );
          return;
        }
        const rows = layers.map((l) => [l.name + (l.name === spec.defaultTap ? '  ← default tap' : ''), l.op, fmtShape(l.shape)]);
        process.stdout.write(
          `${spec.id} (${spec.format}, ${spec.source})\n` +
            `inputs: ${runner.inputs.map((i) => `${i.name} ${fmtShape(i.shape)} ${i.dtype}`).join('; ')}\n` +
            `outputs: ${runner.outputs.join(', ')}\n` +
            `preprocessing: ${describePreprocessing(preprocessing)}\n\n` +
            (none ? `${none}\n` : `${formatTable(['layer', 'op', 'shape (batch 1)'], rows)}\n`),
        );
      } finally {
        runner.dispose();
      }
    });
}
