/**
 * Every subcommand, in the order `--help` lists them, loaded only when it runs: a command module pulls in its
 * library (onnxruntime, TF.js, sharp, h5wasm, HiGHS, Fastify, bullmq, …), and `taskmap --help` or `taskmap rdm`
 * should not pay for all of them (issue 15: start-up). `listed` is what the top-level help shows for each
 * command a module registers; test/cli/lazy.test.ts checks it against the modules themselves.
 */
import type { Command } from 'commander';

export type Register = (program: Command) => void;

/** A top-level command as `taskmap --help` lists it without loading its module. */
export interface ListedCommand {
  name: string;
  /** Name and usage, as commander writes it (`similarity [options] <featureset>`). */
  term: string;
  summary: string;
}

export interface CommandModule {
  listed: ListedCommand[];
  /** The module's register functions (benchmark's subcommands live in three modules). */
  load: () => Promise<Register[]>;
}

const one = (m: Promise<{ register: Register }>): Promise<Register[]> => m.then((x) => [x.register]);

export const COMMANDS: CommandModule[] = [
  {
    listed: [{ name: 'demo', term: 'demo [options]', summary: 'task taxonomy of the bundled model zoo: extract, compare (RSA, DDS), cluster, report' }],
    load: () => one(import('./demo.js')),
  },
  {
    listed: [
      {
        name: 'similarity',
        term: 'similarity [options] <featureset>',
        summary: 'similarity matrix of all models in a feature set (or Fisher distances between labelled data sets)',
      },
    ],
    load: () => one(import('./similarity.js')),
  },
  {
    listed: [{ name: 'rdm', term: 'rdm [options] <file>', summary: 'representational dissimilarity matrix of one feature file' }],
    load: () => one(import('./rdm.js')),
  },
  {
    listed: [{ name: 'evaluate', term: 'evaluate [options]', summary: 'score a predicted similarity matrix against measured transfer results' }],
    load: () => one(import('./evaluate.js')),
  },
  {
    listed: [{ name: 'convert', term: 'convert [options] <file>', summary: 'label a published matrix (.npy incl. pickled dicts, .json) → labelled matrix' }],
    load: () => one(import('./convert.js')),
  },
  {
    listed: [{ name: 'benchmark', term: 'benchmark', summary: 'evaluation harnesses (judge every measure the same way)' }],
    // zooTransfer, transferBenchmark and taskbankBenchmark add `benchmark zoo-transfer`, `benchmark transfer` and
    // `benchmark taskbank`, so they follow benchmark.
    load: async () => [
      (await import('./benchmark.js')).register,
      (await import('./zooTransfer.js')).register,
      (await import('./transferBenchmark.js')).register,
      (await import('./taskbankBenchmark.js')).register,
    ],
  },
  {
    listed: [
      { name: 'measures', term: 'measures [options]', summary: 'list the similarity measures and transferability scores, their parameters and invariances' },
    ],
    load: () => one(import('./measures.js')),
  },
  {
    listed: [{ name: 'taxonomy', term: 'taxonomy [options]', summary: 'task tree: agglomerative clustering of tasks (JSON tree + Newick)' }],
    load: () => one(import('./taxonomy.js')),
  },
  {
    listed: [{ name: 'rank', term: 'rank [options] <featureset>', summary: 'rank candidate sources (models or layers) for a new task' }],
    load: () => one(import('./rank.js')),
  },
  {
    listed: [{ name: 'ahp', term: 'ahp [options]', summary: 'Taskonomy affinities from transfer results (win rates + AHP)' }],
    load: () => one(import('./ahp.js')),
  },
  {
    listed: [{ name: 'candidates', term: 'candidates [options]', summary: 'higher-order transfers to train next (Taskonomy candidate generation)' }],
    load: () => one(import('./candidates.js')),
  },
  {
    listed: [{ name: 'policy', term: 'policy [options]', summary: 'Taskonomy supervision policy: which tasks to label, which to transfer (BIP, HiGHS)' }],
    load: () => one(import('./policy.js')),
  },
  {
    listed: [{ name: 'extract', term: 'extract [options]', summary: 'run models on a folder of images and save their layer activations as a feature set' }],
    load: () => one(import('./extract.js')),
  },
  {
    listed: [{ name: 'layers', term: 'layers [options] <model>', summary: 'list the tappable layers of a model with their shapes' }],
    load: () => one(import('./layers.js')),
  },
  {
    listed: [{ name: 'zoo', term: 'zoo [options]', summary: 'list the bundled pre-trained models and whether they load' }],
    load: () => one(import('./zoo.js')),
  },
  {
    listed: [{ name: 'probe', term: 'probe', summary: 'the default probe images (real photographs from Debian packages)' }],
    load: () => one(import('./probe.js')),
  },
  {
    listed: [
      {
        name: 'taskbank',
        term: 'taskbank',
        summary: 'the task bank: its image pool of Debian photographs and its tasks (training and transfers: benchmark taskbank)',
      },
    ],
    load: () => one(import('./taskbank.js')),
  },
  {
    listed: [{ name: 'serve', term: 'serve [options]', summary: 'HTTP API and web UI: similarity explorer and Taskonomy explorer' }],
    load: () => one(import('./serve.js')),
  },
  {
    listed: [
      { name: 'worker', term: 'worker [options]', summary: 'take extraction and similarity jobs from a Redis queue (run one or more on each machine)' },
      { name: 'queue', term: 'queue', summary: 'inspect a Redis job queue: `taskmap queue status --queue URL`' },
    ],
    load: () => one(import('./worker.js')),
  },
  {
    listed: [{ name: 'nsl', term: 'nsl', summary: 'Neural Similarity Learning layers: train, benchmark; Fisher task distances' }],
    load: () => one(import('./nsl.js')),
  },
];
