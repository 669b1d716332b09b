import type { Command } from 'commander';
import { parseTaskMeasure, taskMeasureId } from '../../measures/taskMeasures.js';
import { embedTasks } from '../../ops/fisher.js';
import { progressBar } from '../progress.js';
import {
  addNetworkOptions,
  addProbeOptions,
  networkConfig,
  parseInteger as int,
  parsePositive as positive,
  probeTrainConfig,
  VARIANT_LIST,
  type NetworkOptions,
  type ProbeOptions,
} from '../options.js';
import { formatTable } from '../table.js';
import { collect, parseList, parseNumber, UsageError } from '../util.js';
import { entriesFor, idSyntax } from '../../measures/catalogue.js';

// The NSL modules load TF.js, so they are imported inside the actions: `taskmap --help` stays fast. The network and
// probe options are shared builders (../options.ts): `similarity` uses the probe options too.

interface DataOptions {
  data?: string;
  fewShot?: string;
  testLimit?: string;
}

interface TrainingOptions extends NetworkOptions {
  epochs: string;
  batch: string;
  lr: string;
  momentum: string;
  lrSteps?: string;
  labelSmoothing: string;
  augmentPad: string;
  inputScale: string;
  seed: string;
}

function addTrainingOptions(cmd: Command): Command {
  return addNetworkOptions(
    cmd
      .option('--epochs <n>', 'epochs', '10')
      .option('--batch <n>', 'batch size (reference 128)', '128')
      .option('--lr <rate>', 'initial learning rate (reference 0.1)', '0.1')
      .option('--momentum <μ>', 'SGD momentum, TensorFlow form (reference 0.9)', '0.9')
      .option('--lr-steps <f,f,…>', 'fractions of the run where lr × 0.1 (default: the reference 20000, 30000, 37500 of 42500)')
      .option('--label-smoothing <s>', 'target (1 − s)·onehot + s/K (reference 0.01)', '0.01')
      .option('--augment-pad <p>', 'symmetric pad + random crop + flip; 0 = off (reference 4)', '4')
      .option('--input-scale <s>', 'multiply pixels (reference feeds raw 0–255: 1)', '1')
      .option('--seed <n>', 'seed of the initialisation, shuffles and augmentation', '0'),
  );
}

function addDataOptions(cmd: Command): Command {
  return cmd
    .option(
      '--data <dir>',
      'directory of the Fashion-MNIST IDX files (default /usr/share/datasets/fashion-mnist, from `apt-get install dataset-fashion-mnist`)',
    )
    .option('--few-shot <k>', 'train on k images per class (seeded by --data-seed) instead of all 60 000')
    .option('--data-seed <n>', 'seed of the few-shot draw', '0')
    .option('--test-limit <n>', 'evaluate on the first n test images (default all 10 000)');
}

async function trainConfig(o: TrainingOptions, variant: string) {
  const { REFERENCE_LR_STEPS } = await import('../../nsl/train.js');
  return {
    network: await networkConfig(o, variant),
    epochs: int(o.epochs, '--epochs'),
    batchSize: int(o.batch, '--batch'),
    learningRate: positive(o.lr, '--lr'),
    momentum: parseNumber(o.momentum, '--momentum', { min: 0 }),
    lrSteps: o.lrSteps ? parseList(o.lrSteps)!.map((f) => parseNumber(f, '--lr-steps')) : REFERENCE_LR_STEPS,
    labelSmoothing: parseNumber(o.labelSmoothing, '--label-smoothing', { min: 0 }),
    augmentPad: int(o.augmentPad, '--augment-pad', 0),
    inputScale: positive(o.inputScale, '--input-scale'),
    seed: int(o.seed, '--seed', 0),
  };
}

async function loadData(o: DataOptions & { dataSeed: string }) {
  const { fewShot, head, loadFashionMnist } = await import('../../nsl/data.js');
  const fm = await loadFashionMnist(o.data);
  const train = o.fewShot ? fewShot(fm.train, int(o.fewShot, '--few-shot'), int(o.dataSeed, '--data-seed', 0)) : fm.train;
  const test = o.testLimit ? head(fm.test, int(o.testLimit, '--test-limit')) : fm.test;
  return { train, test };
}

function registerTrain(nsl: Command): void {
  addDataOptions(
    addTrainingOptions(
      nsl
        .command('train')
        .summary('train the NSL VGG network (or the plain-conv baseline) on Fashion-MNIST')
        .description(
          [
            "Train the NSL paper's small VGG network on Fashion-MNIST: a root conv, three stages of 3×3 layers of the",
            'chosen variant (each + BN + ReLU, then 2×2 max-pool), a 4×4 VALID score conv. SGD with momentum, step',
            'learning rate, weight decay, label smoothing 0.01. A checkpoint is written to <out>/checkpoint after every',
            'epoch; --resume continues it exactly. The trained model goes to <out>/model (TF.js layers format:',
            'model.json + weights), the history to <out>/result.json.',
            '',
            'Data: Debian package dataset-fashion-mnist (apt-get update && apt-get install -y dataset-fashion-mnist).',
            '',
            'Example (a smoke run of a few seconds):',
            '  taskmap nsl train --variant dynamic-dns --width-scale 0.125 --few-shot 20 --test-limit 500 \\',
            '    --epochs 2 --batch 32 --lr 0.02 --bn-decay 0.9 --out out/nsl-smoke',
          ].join('\n'),
        )
        .requiredOption('--variant <v>', VARIANT_LIST)
        .option('-o, --out <dir>', 'output directory (checkpoints, model, result.json)')
        .option('--resume', 'continue from <out>/checkpoint')
        .option('--eval <when>', 'test evaluation: epoch (after every epoch) | end', 'epoch'),
    ),
  ).action(async (o: TrainingOptions & DataOptions & { variant: string; out?: string; resume?: boolean; eval: string; dataSeed: string }) => {
    if (o.resume && !o.out) throw new UsageError('--resume needs --out (the directory holding the checkpoint)');
    if (o.eval !== 'epoch' && o.eval !== 'end') throw new UsageError('--eval must be epoch or end');
    const config = await trainConfig(o, o.variant);
    const { train: data, test } = await loadData(o);
    const { train, stepsPerEpoch } = await import('../../nsl/train.js');
    const steps = stepsPerEpoch(data.n, config.batchSize).steps;
    process.stderr.write(`${o.variant}: ${data.n} training images, ${test.n} test images, ${steps} iterations per epoch\n`);
    let bar = progressBar('epoch 1');
    const r = await train(data, config, {
      test,
      evalEveryEpoch: o.eval === 'epoch',
      out: o.out,
      resume: o.resume,
      onStep: (e) => bar.update(e.step, e.steps, `epoch ${e.epoch}/${e.epochs} loss ${e.loss.toFixed(4)}`),
      onEpoch: (rec) => {
        bar.stop();
        const acc = rec.testAccuracy === undefined ? '' : `, test accuracy ${(100 * rec.testAccuracy).toFixed(2)} %`;
        process.stderr.write(
          `epoch ${rec.epoch}: loss ${rec.loss.toFixed(4)}, train accuracy ${(100 * rec.trainAccuracy).toFixed(2)} %${acc}, ${rec.seconds.toFixed(1)} s\n`,
        );
        bar = progressBar(`epoch ${rec.epoch + 1}`);
      },
    });
    bar.stop();
    const rows = r.history.map((h) => [
      String(h.epoch),
      h.learningRate,
      h.loss,
      100 * h.trainAccuracy,
      h.testAccuracy === undefined ? '' : 100 * h.testAccuracy,
      h.seconds,
    ]);
    process.stdout.write(`${formatTable(['epoch', 'lr', 'loss', 'train %', 'test %', 'seconds'], rows, 4)}\n`);
    process.stdout.write(
      `${o.variant}: ${r.parameters} parameters, ${r.iterations} iterations${r.testAccuracy === undefined ? '' : `, test accuracy ${(100 * r.testAccuracy).toFixed(2)} %`}\n`,
    );
    if (o.out) process.stdout.write(`model: ${o.out}/model, history: ${o.out}/result.json\n`);
    r.model.dispose();
  });
}

function registerBench(nsl: Command): void {
  nsl
    .command('bench')
    .summary('benchmark plain conv vs every NSL variant over seeds (Markdown + JSON table)')
    .description(
      [
        'Train every variant with every seed on a Fashion-MNIST subset and report test accuracy (mean ± sd over',
        'seeds) and training seconds per epoch. Runs go to worker threads (one WASM backend each). Results are',
        'written to <out>/bench.json and <out>/bench.md after every run; --resume keeps finished runs.',
        'The defaults took 15.5 min on two shared cores (results/nsl/bench.md); dynamic UNS is ~80 % of it.',
      ].join('\n'),
    )
    .option('--variants <list>', `comma-separated subset of ${VARIANT_LIST}`)
    .option('--seeds <list>', 'seeds', '1,2,3')
    .option('--few-shot <k>', 'training images per class', '100')
    .option('--data-seed <n>', 'seed of the training subset', '0')
    .option('--test-limit <n>', 'first n test images', '2000')
    .option('--epochs <n>', 'epochs', '3')
    .option('--batch <n>', 'batch size', '32')
    .option('--lr <rate>', 'initial learning rate', '0.02')
    .option('--width-scale <f>', 'width multiplier of (32, 32, 64, 128)', '0.25')
    .option('--bn-decay <d>', 'BN moving-average decay', '0.99')
    .option('--augment-pad <p>', 'augmentation pad (0 = off)', '0')
    .option('--diagonal-init <how>', 'static DNS init: identity | ones', 'identity')
    .option('--workers <n>', 'worker threads (0 = in this thread)', '2')
    .option('--data <dir>', 'Fashion-MNIST directory')
    .option('-o, --out <dir>', 'where bench.json and bench.md go', 'results/nsl')
    .option('--resume', 'keep the runs already in <out>/bench.json (same settings)')
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const { DEFAULT_BENCH, runBench, summarise } = await import('../../nsl/bench.js');
      const { isVariant, VARIANTS } = await import('../../nsl/network.js');
      const variants = parseList(o.variants as string | undefined) ?? [...VARIANTS];
      for (const v of variants) if (!isVariant(v)) throw new UsageError(`--variants: unknown variant "${v}" (known: ${VARIANT_LIST})`);
      const diagonalInit = o.diagonalInit as string;
      if (diagonalInit !== 'identity' && diagonalInit !== 'ones') throw new UsageError('--diagonal-init must be identity or ones');
      const settings = {
        ...DEFAULT_BENCH,
        variants: variants as (typeof VARIANTS)[number][],
        seeds: parseList(o.seeds as string)!.map((s) => int(s, '--seeds', 0)),
        perClass: int(o.fewShot as string, '--few-shot'),
        dataSeed: int(o.dataSeed as string, '--data-seed', 0),
        testImages: int(o.testLimit as string, '--test-limit'),
        epochs: int(o.epochs as string, '--epochs'),
        batchSize: int(o.batch as string, '--batch'),
        learningRate: positive(o.lr as string, '--lr'),
        widthScale: positive(o.widthScale as string, '--width-scale'),
        bnDecay: parseNumber(o.bnDecay as string, '--bn-decay'),
        augmentPad: int(o.augmentPad as string, '--augment-pad', 0),
        diagonalInit: diagonalInit as 'identity' | 'ones',
        workers: int(o.workers as string, '--workers', 0),
        ...(o.data ? { data: o.data as string } : {}),
      };
      const command = `taskmap ${process.argv.slice(2).join(' ')}`;
      const bar = progressBar('nsl bench');
      const t0 = Date.now();
      const result = await runBench(settings, {
        out: o.out as string,
        resume: Boolean(o.resume),
        command,
        onRun: (r, done, total) => {
          bar.update(done, total, `${r.variant} seed ${r.seed}: ${(100 * r.testAccuracy).toFixed(2)} %`);
          if (!process.stderr.isTTY)
            process.stderr.write(
              `[${done}/${total}] ${r.variant} seed ${r.seed}: test accuracy ${(100 * r.testAccuracy).toFixed(2)} %, ${(r.epochSeconds.reduce((a, b) => a + b, 0) / r.epochSeconds.length).toFixed(1)} s/epoch\n`,
            );
        },
      });
      bar.stop();
      const rows = summarise(result.runs).map((r) => [
        r.variant,
        String(r.runs),
        100 * r.accuracyMean,
        100 * r.accuracySd,
        r.secondsPerEpochMean,
        String(r.parameters),
      ]);
      process.stdout.write(`${formatTable(['variant', 'runs', 'test % mean', 'sd', 's/epoch', 'parameters'], rows, 2)}\n`);
      process.stdout.write(`${((Date.now() - t0) / 60000).toFixed(1)} min; written to ${o.out}/bench.json and ${o.out}/bench.md\n`);
    });
}

function registerFisher(nsl: Command): void {
  addProbeOptions(
    nsl
      .command('fisher')
      .summary('Fisher-information task distances between Fashion-MNIST class subsets')
      .description(
        [
          'Embed each task (a labelled data set: a subset of Fashion-MNIST classes) by the diagonal empirical Fisher',
          'of a probe network trained on it from a shared initialisation, normalised over the network, and write the',
          'task-distance matrix (rows = sources, columns = targets) as {"rows","cols","matrix","measure"} JSON.',
          '',
          'Measures:',
          ...entriesFor('labelled-tasks').map((e) => `  ${idSyntax(e)}`),
          '(definitions: `taskmap measures`, docs/measures.md#fisher-task-measures)',
          'reduce=first-axis is the reference code’s quirk (g² averaged over each tensor’s first axis).',
          '',
          'Tasks: --task NAME=CLASSES, repeatable; classes by index (0–9) or name ("Ankle boot"), joined by "+" or ",".',
          'Tasks with the same classes but different names draw different training images (seeded by the name),',
          'so they are the "near" pairs. Default tasks:',
          '  upper=0,2,4,6  upper-again=0,2,4,6  shoes=5,7,9  shoes-again=5,7,9  other=1,3,8',
          '',
          'Example:',
          '  taskmap nsl fisher --width-scale 0.25 --per-class 200 --epochs 2 --out fisher.json',
        ].join('\n'),
      )
      .option('--task <name=classes>', 'a task (repeatable)', collect, [])
      .option(
        '-m, --measure <id>',
        `${entriesFor('labelled-tasks')
          .map((e) => e.family)
          .join(' | ')}, with parameters`,
        'fisher-logdet',
      )
      .option('--per-class <k>', 'training images per class of each task', '200')
      .option('--probe-per-class <k>', 'Fisher images per class (from the test split)', '100')
      .option('--data <dir>', 'Fashion-MNIST directory')
      .option('-o, --out <file>', 'write the distance matrix here (.json, .csv or .npy)'),
  ).action(async (o: ProbeOptions & { task: string[]; measure: string; perClass: string; probePerClass: string; data?: string; out?: string }) => {
    const measure = parseTaskMeasure(o.measure);
    const { FASHION_MNIST_CLASSES, loadFashionMnist } = await import('../../nsl/data.js');
    const { classSubsetTasks, DEFAULT_CLASS_SUBSET_TASKS, parseClassSubsetTask } = await import('../../nsl/labelledData.js');
    const specs = o.task.length > 0 ? o.task : DEFAULT_CLASS_SUBSET_TASKS;
    for (const spec of specs) {
      try {
        parseClassSubsetTask(spec);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    const perClass = int(o.perClass, '--per-class');
    const probePerClass = int(o.probePerClass, '--probe-per-class');
    const config = await probeTrainConfig(o);
    const fm = await loadFashionMnist(o.data);
    const tasks = classSubsetTasks(fm, specs, perClass, probePerClass);
    const bar = progressBar('fisher');
    const { matrix, floorHits, embeddings } = await embedTasks(tasks, measure, config, {
      onProgress: (d, t, l) => (d < t ? bar.update(d, t, l) : bar.stop()),
      onTask: (t, emb) =>
        process.stderr.write(
          `${t.name}: classes ${t.classes.map((c) => FASHION_MNIST_CLASSES[c]).join(', ')}; probe train accuracy ${(100 * emb.trainAccuracy).toFixed(1)} %\n`,
        ),
    });
    const { formatMatrix } = await import('../table.js');
    process.stdout.write(`${taskMeasureId(measure)} (rows = source, columns = target; smaller = closer)\n${formatMatrix(matrix, 4)}\n`);
    if (floorHits) {
      const total = floorHits.matrix.data.reduce((a, b) => a + b, 0);
      process.stdout.write(
        `entries at the ${measure.family === 'fisher-logdet' ? measure.floor : ''} floor on one side only: ${total} in all (${embeddings[0].parameters} parameters per task)\n`,
      );
    }
    if (o.out) {
      const { writeLabelledMatrix } = await import('../../io/labelledMatrix.js');
      await writeLabelledMatrix(o.out, matrix);
      process.stdout.write(`written to ${o.out}\n`);
    }
  });
}

export function register(program: Command): void {
  const nsl = program
    .command('nsl')
    .summary('Neural Similarity Learning layers: train, benchmark; Fisher task distances')
    .description(
      'Neural Similarity Learning (Liu et al., NeurIPS 2019) on the TF.js WASM backend: train the VGG-style network with ' +
        'plain or NSL convolutions, benchmark the variants, and compute Fisher-information (log-det) task distances.',
    );
  registerTrain(nsl);
  registerBench(nsl);
  registerFisher(nsl);
}
