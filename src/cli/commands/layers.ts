import type { Command } from 'commander';
import { describePreprocessing } from '../../images/preprocess.js';
import { layersWithShapes } from '../../models/inspect.js';
import { openModel, resolveModel } from '../../models/resolve.js';
import { globToRegExp, isGlob } from '../../models/taps.js';
import type { Preprocessing } from '../../models/types.js';
import { formatTable } from '../table.js';
import { parseList, UsageError } from '../util.js';

export interface PreprocessingFlags {
  inputSize?: string;
  resize?: string;
  channels?: string;
  range?: string;
  mean?: string;
  std?: string;
  layout?: string;
  inputDtype?: string;
}

/** Flags that override a model card's preprocessing (or the spec inferred for a model file). */
export function addPreprocessingOptions(cmd: Command): Command {
  return cmd
    .option('--input-size <WxH>', 'model input size, e.g. 224x224 (default: the zoo card, or the model input; 224 when dynamic)')
    .option('--resize <mode>', 'stretch | crop (shorter side + centre crop) | pad (letterbox)')
    .option('--channels <order>', 'rgb | bgr | gray')
    .option('--range <lo,hi>', 'pixel values 0…255 map linearly to lo…hi (e.g. 0,1 or -1,1 or 0,255)')
    .option('--mean <m1,m2,m3>', 'subtracted per channel after --range (e.g. 0.485,0.456,0.406)')
    .option('--std <s1,s2,s3>', 'divided per channel after --mean (e.g. 0.229,0.224,0.225)')
    .option('--layout <NHWC|NCHW>', 'input tensor layout')
    .option('--input-dtype <float32|int32>', 'input tensor type');
}

function numbers(value: string, flag: string): number[] {
  const xs = parseList(value)!.map(Number);
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x))) throw new UsageError(`${flag}: expected comma-separated numbers, got "${value}"`);
  return xs;
}

export function preprocessingOverrides(o: PreprocessingFlags): Partial<Preprocessing> {
  const out: Partial<Preprocessing> = {};
  if (o.inputSize !== undefined) {
    const m = /^(\d+)(?:[x×,](\d+))?$/.exec(o.inputSize.trim());
    if (!m) throw new UsageError(`--input-size: expected WxH (e.g. 224x224) or one number, got "${o.inputSize}"`);
    out.width = Number(m[1]);
    out.height = Number(m[2] ?? m[1]);
  }
  if (o.resize !== undefined) {
    if (!['stretch', 'crop', 'pad'].includes(o.resize)) throw new UsageError(`--resize must be stretch, crop or pad, got "${o.resize}"`);
    out.resize = o.resize as Preprocessing['resize'];
  }
  if (o.channels !== undefined) {
    if (!['rgb', 'bgr', 'gray'].includes(o.channels)) throw new UsageError(`--channels must be rgb, bgr or gray, got "${o.channels}"`);
    out.channels = o.channels as Preprocessing['channels'];
  }
  if (o.range !== undefined) {
    const r = numbers(o.range, '--range');
    if (r.length !== 2) throw new UsageError(`--range: expected lo,hi, got "${o.range}"`);
    out.range = [r[0], r[1]];
  }
  if (o.mean !== undefined) out.mean = numbers(o.mean, '--mean');
  if (o.std !== undefined) out.std = numbers(o.std, '--std');
  if (o.layout !== undefined) {
    const l = o.layout.toUpperCase();
    if (l !== 'NHWC' && l !== 'NCHW') throw new UsageError(`--layout must be NHWC or NCHW, got "${o.layout}"`);
    out.layout = l;
  }
  if (o.inputDtype !== undefined) {
    if (o.inputDtype !== 'float32' && o.inputDtype !== 'int32') throw new UsageError(`--input-dtype must be float32 or int32, got "${o.inputDtype}"`);
    out.dtype = o.inputDtype;
  }
  return out;
}

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
    .option('--filter <glob>', 'only layers whose name matches (e.g. "*Relu*")')
    .option('--json', 'machine-readable output')
    .action(async (ref: string, o: PreprocessingFlags & { filter?: string; json?: boolean }) => {
      const spec = await resolveModel(ref, preprocessingOverrides(o));
      const { runner, preprocessing } = await openModel(spec);
      try {
        let layers = await layersWithShapes(runner, preprocessing);
        if (o.filter) {
          const re = isGlob(o.filter) ? globToRegExp(o.filter) : new RegExp(o.filter.replace(/[.+^${}()|[\]\\]/g, '\\$&'));
          layers = layers.filter((l) => re.test(l.name));
        }
        if (o.json) {
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
            `${formatTable(['layer', 'op', 'shape (batch 1)'], rows)}\n`,
        );
      } finally {
        runner.dispose();
      }
    });
}
