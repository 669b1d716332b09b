/**
 * commander, loaded through require: Node's ESM wrapper around a CommonJS package (lexing its exports, the extra
 * module records) cost ~10–15 ms of the ~35 ms that `taskmap --help` spends beyond Node's own start-up, and that
 * start-up budget is the whole of issue 15's `--help` goal. Same module instance either way, so `instanceof`
 * against errors and options holds whichever form a caller imports.
 */
import { createRequire } from 'node:module';
import type * as CommanderModule from 'commander';

const commander = createRequire(import.meta.url)('commander') as typeof CommanderModule;

export const Command = commander.Command;
export type Command = CommanderModule.Command;
export const CommanderError = commander.CommanderError;
export type CommanderError = CommanderModule.CommanderError;
export const Help = commander.Help;
export type Help = CommanderModule.Help;
export const Option = commander.Option;
export type Option = CommanderModule.Option;
