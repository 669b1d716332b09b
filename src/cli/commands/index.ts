import type { Command } from 'commander';
import { register as measures } from './measures.js';
import { register as rdm } from './rdm.js';
import { register as similarity } from './similarity.js';

/** Every subcommand, in the order `--help` lists them. */
export const commands: Array<(program: Command) => void> = [similarity, rdm, measures];
