import type { Command } from 'commander';
import { register as ahp } from './ahp.js';
import { register as benchmark } from './benchmark.js';
import { register as candidates } from './candidates.js';
import { register as convert } from './convert.js';
import { register as demo } from './demo.js';
import { register as policy } from './policy.js';
import { register as probe } from './probe.js';
import { register as taxonomy } from './taxonomy.js';
import { register as evaluate } from './evaluate.js';
import { register as extract } from './extract.js';
import { register as layers } from './layers.js';
import { register as measures } from './measures.js';
import { register as rank } from './rank.js';
import { register as rdm } from './rdm.js';
import { register as similarity } from './similarity.js';
import { register as zoo } from './zoo.js';
import { register as serve } from './serve.js';
import { register as nsl } from './nsl.js';
import { register as zooTransfer } from './zooTransfer.js';
import { register as worker } from './worker.js';
import { register as transferBenchmark } from './transferBenchmark.js';

/** Every subcommand, in the order `--help` lists them (zooTransfer adds `benchmark zoo-transfer`, so it follows benchmark). */
export const commands: Array<(program: Command) => void> = [
  demo,
  similarity,
  rdm,
  evaluate,
  convert,
  benchmark,
  zooTransfer,
  transferBenchmark,
  measures,
  taxonomy,
  rank,
  ahp,
  candidates,
  policy,
  extract,
  layers,
  zoo,
  probe,
  serve,
  worker,
  nsl,
];
