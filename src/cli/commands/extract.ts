import type { Command } from 'commander';
import { extractFeatures, type ExtractOptions, type ModelRequest } from '../../models/extract.js';
import { extractQueued } from '../../queue/extract.js';
import { progressBar } from '../progress.js';
import { addPreprocessingOptions, describeSummary, modelRefs, preprocessingOverrides, type PreprocessingFlags } from '../options.js';
import { collect, parseNumber, UsageError } from '../util.js';

export function register(program: Command): void {
  addPreprocessingOptions(
    program
      .command('extract')
      .summary('run models on a folder of images and save their layer activations as a feature set')
      .description(
        [
          'Run each model on every image of --images and save the tapped layers as a feature set:',
          'one <label>.npy per model/layer (rows = images in manifest order) plus manifest.json',
          '(model, layer, reduction, preprocessing, image list with sha256). Read it with',
          '`taskmap similarity <out>`.',
          '',
          'Models: zoo ids (`taskmap zoo`; `zoo` = all of them), .onnx files, or TF.js model.json.',
          'Taps: layer names or glob patterns (`taskmap layers <model>`), each optionally with',
          "@reduction: none | gap | pool:K | proj:D[:SEED]. Default: the zoo card's tap.",
          '',
          'Cached and resumable: a re-run computes only what is missing — new or changed images,',
          'models, layers, reductions or preprocessing; an interrupted run resumes where it stopped.',
          '',
          'With --queue redis://HOST:PORT the work is split into (model × image shard) jobs for `taskmap worker`',
          'processes on any number of machines (they must see --images, --out and model files at the same',
          'paths); this command enqueues them, follows them and writes the same files a local run writes.',
        ].join('\n'),
      )
      .requiredOption('--images <dir>', 'folder of JPEG/PNG/WebP images (searched recursively)')
      .requiredOption('-o, --out <dir>', 'output feature-set folder')
      .option('--model <ref>', 'zoo id, model file, or `zoo`; repeatable / comma-separated', collect, [])
      .option('--tap <layer>', 'layer name or glob, optionally @reduction; repeatable (applies to every --model)', collect, [])
      .option('--reduce <r>', 'reduction for taps without their own: none | gap | pool:K | proj:D[:SEED]'),
  )
    .option('--batch <n>', 'images per forward pass for models that accept batches', '8')
    .option('--workers <n>', 'worker threads (default: number of cores; 0 = in-process)')
    .option('--skip-bad', 'skip unreadable images with a warning instead of failing')
    .option('--keep-going', 'go on with the other models when one fails (failures are listed at the end)')
    .option('--queue <url>', 'run the jobs on `taskmap worker` processes through this Redis queue (redis://[:password@]host[:port] or rediss://…)')
    .option('--shard <n>', 'with --queue: images per job (rounded up to a multiple of --batch)', '256')
    .action(
      async (
        o: PreprocessingFlags & {
          images: string;
          out: string;
          model: string[];
          tap: string[];
          reduce?: string;
          batch: string;
          workers?: string;
          skipBad?: boolean;
          keepGoing?: boolean;
          queue?: string;
          shard: string;
        },
      ) => {
        const refs = modelRefs(o.model);
        if (refs.length === 0) throw new UsageError('give at least one --model (a zoo id, a model file, or `zoo`; see `taskmap zoo`)');
        const overrides = preprocessingOverrides(o);
        const models: ModelRequest[] = refs.map((ref) => ({ ref, taps: o.tap.length ? o.tap : undefined, reduce: o.reduce, overrides }));
        const bar = progressBar('extract');
        const tty = Boolean(process.stderr.isTTY);
        const shardSize = parseNumber(o.shard, '--shard', { integer: true, min: 1 });
        const run = (opts: ExtractOptions) => (o.queue ? extractQueued({ ...opts, queue: o.queue, shardSize }) : extractFeatures(opts));
        const summary = await run({
          images: o.images,
          out: o.out,
          models,
          batchSize: parseNumber(o.batch, '--batch', { integer: true, min: 1 }),
          workers: o.workers === undefined ? undefined : parseNumber(o.workers, '--workers', { integer: true, min: 0 }),
          skipBad: o.skipBad,
          continueOnError: o.keepGoing,
          onProgress: (d, t, l) => bar.update(d, t, l),
          // With a live bar, per-model lines would tear it; show only warnings and failures then.
          onLog: (m) => {
            if (!tty || /warning|FAILED|removed/.test(m)) process.stderr.write(`${tty ? '\n' : ''}${m}\n`);
          },
          tool: `taskmap ${process.env.npm_package_version ?? ''}`.trim(),
        });
        bar.stop();
        process.stderr.write(`${describeSummary(summary)}\n`);
        for (const f of summary.failed) process.stderr.write(`  failed: ${f.model}: ${f.error}\n`);
        if (summary.failed.length) process.exitCode = 1;
      },
    );
}
