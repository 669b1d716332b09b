import type { Command } from 'commander';
import { register as ahp } from './ahp.js';
import { register as benchmark } from './benchmark.js';
import { register as candidates } from './candidates.js';
import { register as policy } from './policy.js';
import { register as taxonomy } from './taxonomy.js';
import { register as evaluate } from './evaluate.js';
import { register as measures } from './measures.js';
import { register as rank } from './rank.js';
import { register as rdm } from './rdm.js';
import { register as similarity } from './similarity.js';

/** Every subcommand, in the order `--help` lists them. */
export const commands: Array<(program: Command) => void> = [similarity, rdm, evaluate, benchmark, measures, taxonomy, rank, ahp, candidates, policy];
