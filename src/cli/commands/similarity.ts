import type { Command } from 'commander';
import { readImagesList } from '../../features/imageIdentity.js';
import { writeLabelledMatrix } from '../../io/labelledMatrix.js';
import { getGemmEngine, type EngineKind } from '../../linalg/gemm.js';
import { canonicalId, entriesFor, findEntry, idSyntax } from '../../measures/catalogue.js';
import { PRECISIONS, similarityOfPath, type Precision } from '../../ops/similarity.js';
import { addInferenceOptions, inferenceMode, runBootstrap, runPermutation, SEED_HELP, type InferenceFlags } from '../inference.js';
import { addMeasureOptions, givenParameterFlags, measureIdFromOptions, type MeasureOptions } from '../measureOptions.js';
import { addDryRunOption, memoryGate } from '../memory.js';
import { similarityMemory, type MemberShape } from '../../ops/memory.js';
import { addProbeOptions, probeTrainConfig, type ProbeOptions } from '../options.js';
import { progressBar } from '../progress.js';
import { formatMatrix } from '../table.js';
import { parseList, parseNumber, UsageError } from '../util.js';

/**
 * The task measure `--measure` names (the catalogue says which input a family takes), or undefined for a
 * representation measure.
 */
function taskMeasureOf(measure: string): string | undefined {
  if (findEntry(measure)?.input !== 'labelled-tasks') return undefined;
  try {
    return canonicalId(measure);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

type SimilarityOptions = MeasureOptions &
  ProbeOptions &
  InferenceFlags & {
    order?: string;
    imagesList?: string;
    out?: string;
    format?: string;
    precision: string;
    engine?: string;
    threads?: string;
    queue?: string;
    work?: string;
    block?: string;
    dryRun?: boolean;
  };

function outputFormat(o: { out?: string; format?: string }): 'json' | 'csv' | 'npy' {
  const format = (o.format ?? o.out!.split('.').pop()) as 'json' | 'csv' | 'npy';
  if (!['json', 'csv', 'npy'].includes(format)) throw new UsageError(`--format must be json, csv or npy, got "${format}"`);
  return format;
}

/** `similarity <dir> --measure fisher-…`: Fisher task distances between the labelled data sets in `dir`. */
async function taskDistances(dir: string, measure: string, o: SimilarityOptions): Promise<void> {
  const given = givenParameterFlags(o);
  if (given.length > 0)
    throw new UsageError(
      `${given.join(', ')}: representation-measure options; ${findEntry(measure)!.family} is a task measure (see the Fisher options in --help)`,
    );
  const format = o.out ? outputFormat(o) : undefined;
  const config = await probeTrainConfig(o);
  const t0 = performance.now();
  const bar = progressBar('fisher');
  // Loaded here, not at start-up: the Fisher measures train probe networks on TF.js.
  const { fisherMatrix } = await import('../../ops/fisher.js');
  let r;
  try {
    r = await fisherMatrix(dir, measure, config, {
      order: parseList(o.order, '--order'),
      onProgress: (d, t, l) => (d < t ? bar.update(d, t, l) : bar.stop()),
      onTask: (t, emb) =>
        process.stderr.write(`${t.name}: ${t.train.n} images, ${t.train.numClasses} classes; probe train accuracy ${(100 * emb.trainAccuracy).toFixed(1)} %\n`),
    });
  } catch (e) {
    if ((e as Error).message.startsWith('--order:')) throw new UsageError((e as Error).message);
    throw e;
  }
  const { id, matrix, tasks } = r;
  const ms = performance.now() - t0;
  if (o.out) {
    await writeLabelledMatrix(o.out, matrix, format);
    process.stderr.write(`${id} (a distance: smaller = more similar): ${tasks.length} tasks in ${ms.toFixed(0)} ms → ${o.out}\n`);
  } else {
    process.stdout.write(`${id} (${tasks.length} tasks; a distance: rows = source, columns = target, smaller = more similar)\n${formatMatrix(matrix, 4)}\n`);
  }
}

/** `similarity <set> --queue URL`: the same matrix, its members prepared and its blocks multiplied by workers. */
async function queuedSimilarity(featureset: string, measure: string, o: SimilarityOptions): Promise<void> {
  if (o.imagesList)
    throw new UsageError('--images-list is not supported with --queue; use a feature set written by `taskmap extract` (its manifest names the images)');
  const engine = (o.engine ?? process.env.TASKMAP_ENGINE ?? 'auto') as EngineKind;
  if (!['auto', 'ort', 'js'].includes(engine)) throw new UsageError(`--engine must be auto, ort or js, got "${engine}"`);
  const format = o.out ? outputFormat(o) : undefined;
  const bar = progressBar(measure);
  const t0 = performance.now();
  // Loaded here, not at start-up: the queue client (bullmq, Redis) is only for --queue.
  const { similarityQueued } = await import('../../queue/similarity.js');
  const r = await similarityQueued(featureset, measure, {
    queue: o.queue!,
    work: o.work,
    order: parseList(o.order, '--order'),
    precision: o.precision as Precision,
    engine,
    blockSize: o.block === undefined ? undefined : parseNumber(o.block, '--block', { integer: true, min: 1 }),
    onProgress: (d, t, l) => bar.update(d, t, l),
  });
  bar.stop();
  const ms = performance.now() - t0;
  if (o.out) {
    await writeLabelledMatrix(o.out, r.matrix, format);
    process.stderr.write(`${r.measure.name} (${measure}): ${r.members} models × ${r.images} images in ${ms.toFixed(0)} ms on the queue → ${o.out}\n`);
  } else {
    process.stdout.write(`${measure} (${r.members} models, ${r.images} images, queue)\n${formatMatrix(r.matrix)}\n`);
  }
}

/** Help sections: the representation measures' parameters apart from the Fisher probe's training options. */
export const SIMILARITY_HELP_GROUPS = {
  measure: 'Representation measures (RSA, DDS, CKA, … — see `taskmap measures`):',
  probe: `Fisher task measures (--measure ${entriesFor('labelled-tasks')
    .map((e) => e.family)
    .join(' | ')}): probe network training:`,
  io: 'Input and output:',
} as const;

export function register(program: Command): void {
  const cmd = program
    .command('similarity')
    .summary('similarity matrix of all models in a feature set (or Fisher distances between labelled data sets)')
    .description(
      [
        'Compute the M×M similarity matrix of the models (or model/layer entries) in a feature set: a directory',
        'of .npy files, one .npz or one .safetensors file, each entry n_images × features on the same images.',
        '',
        `Task measures: with --measure ${entriesFor('labelled-tasks').map(idSyntax).join(' or ')}`,
        'the argument is a directory of labelled data sets, one NAME.npz per task with',
        'x (N×H×W or N×H×W×C; uint8 0–255 or float 0–1) and y (N integer labels, ≥ 2 classes), all tasks of one',
        'image shape. Each task is embedded by the diagonal Fisher of a probe network trained on it from a shared',
        'initialisation (the --variant/--epochs/--batch/--lr/--seed/--width-scale… options, as for',
        '`taskmap nsl fisher`), and the output is a task-DISTANCE matrix (rows = source, columns = target;',
        'smaller = more similar; log-det is not symmetric). Pass it to `taskmap taxonomy --dissimilarity`.',
        '',
        'Example:',
        '  taskmap similarity tasks/ --measure fisher-logdet --epochs 2 --out fisher.json',
        '',
        'Inference on any representation measure (docs/measures.md#inference):',
        '  taskmap similarity feats/ --measure cka --bootstrap 200 --out sim.json',
        '      sim.json, sim.lower.json and sim.upper.json (95% percentile intervals',
        '      over 200 seeded draws of images, all recomputed per draw), and',
        '      sim.bootstrap.json (every draw) for `taskmap taxonomy --support`.',
        '  taskmap similarity feats/ --measure rsa --pair a,b --permutations 999',
        '      p-value of RSA(a, b) against 999 shuffles of the image order of b.',
      ].join('\n'),
    )
    .argument('<featureset>', 'directory of .npy files, a .npz or a .safetensors file (task measures: directory of labelled .npz)');
  cmd.optionsGroup(SIMILARITY_HELP_GROUPS.measure);
  addMeasureOptions(cmd);
  cmd.optionsGroup(SIMILARITY_HELP_GROUPS.probe);
  addProbeOptions(cmd, SEED_HELP);
  cmd
    .optionsGroup(SIMILARITY_HELP_GROUPS.io)
    .option('--order <labels>', 'comma-separated labels: order (and subset) of the matrix rows')
    .option(
      '--images-list <file>',
      'image ids when the feature set has no extraction manifest: a file with one image per line (path, SHA-256 or name) or a JSON list',
    )
    .option('-o, --out <file>', 'write the matrix here (.json, .csv or .npy); default: print a table')
    .option('--format <fmt>', 'json | csv | npy (default: from the --out extension)')
    .option('--precision <p>', 'GEMM precision for the n×n matrices: float64 (default) or float32', 'float64')
    .option('--engine <kind>', 'GEMM engine: auto (default), ort, js')
    .option(
      '--threads <n>',
      "threads for preparing the members (a folder of .npy files) or a pairwise measure's pairs (procrustes, cca, …); default: TASKMAP_THREADS, else 1",
    );
  addDryRunOption(cmd)
    .optionsGroup('Distributed (for big sets; see `taskmap worker`):')
    .option('--queue <url>', 'prepare each member and compute blocks of the matrix on `taskmap worker` processes through this Redis queue')
    .option('--work <dir>', 'with --queue: shared folder for prepared vectors and blocks (default: .taskmap-work in the feature-set folder)')
    .option('--block <n>', 'with --queue: members per block side (default: what fits 2 GiB per block job; a pairwise measure: 1, one pair per job)');
  addInferenceOptions(cmd);
  cmd.optionsGroup('Options:');
  cmd.action(async (featureset: string, o: SimilarityOptions) => {
    // --seed is shared with the Fisher probe, whose default it carries; only a seed the user gave applies here.
    const inference = inferenceMode({ ...o, seed: cmd.getOptionValueSource('seed') === 'cli' ? o.seed : undefined });
    const task = taskMeasureOf(o.measure);
    if (task && inference) throw new UsageError(`--bootstrap and --permutations apply to representation measures, not to the task measure ${task}`);
    if (task) return taskDistances(featureset, task, o);
    const measure = measureIdFromOptions(o);
    if (!(PRECISIONS as readonly string[]).includes(o.precision)) throw new UsageError(`--precision must be ${PRECISIONS.join(' or ')}, got "${o.precision}"`);
    if (o.queue && inference) throw new UsageError('--bootstrap and --permutations run in this process, not on --queue workers');
    if (o.threads !== undefined && (o.queue || inference))
      throw new UsageError(
        `--threads spreads the pairs of one matrix computed here; ${o.queue ? '--queue workers' : '--bootstrap and --permutations'} take their threads from TASKMAP_THREADS`,
      );
    if (o.queue) return queuedSimilarity(featureset, measure, o);
    const threads = o.threads === undefined ? undefined : parseNumber(o.threads, '--threads', { integer: true, min: 1 });
    // A folder is read member by member (openFeatureSet), except by --bootstrap / --permutations, which load the set.
    const gate = (members: MemberShape[], { folder }: { folder: boolean }) => similarityMemory(members, measure, { threads, oneAtATime: folder && !inference });
    if (await memoryGate(featureset, o.dryRun, parseList(o.order, '--order'), gate)) return;
    const engine = await getGemmEngine((o.engine ?? process.env.TASKMAP_ENGINE ?? 'auto') as EngineKind);
    if (inference) {
      const context = {
        featureset,
        measure,
        order: parseList(o.order, '--order'),
        images: await readImagesList(o.imagesList),
        engine,
        precision: o.precision as Precision,
        out: o.out,
      };
      if (inference.kind === 'permutation') return runPermutation(inference, context);
      return runBootstrap(inference, { ...context, format: o.out ? outputFormat(o) : undefined });
    }
    const bar = progressBar(measure);
    const t0 = performance.now();
    const {
      matrix: sim,
      measure: info,
      images,
      members,
    } = await similarityOfPath(featureset, measure, {
      order: parseList(o.order, '--order'),
      images: await readImagesList(o.imagesList),
      engine,
      precision: o.precision as Precision,
      threads,
      onProgress: (d, t, l) => bar.update(d, t, l),
    });
    bar.stop();
    const ms = performance.now() - t0;
    if (o.out) {
      const format = outputFormat(o);
      await writeLabelledMatrix(o.out, sim, format);
      process.stderr.write(`${info.name} (${measure}): ${members} models × ${images} images in ${ms.toFixed(0)} ms → ${o.out}\n`);
    } else {
      process.stdout.write(`${measure} (${members} models, ${images} images, ${engine.name})\n${formatMatrix(sim)}\n`);
    }
  });
}
