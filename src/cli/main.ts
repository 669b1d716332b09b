/**
 * The `taskmap` command: a thin shell over the library. Each subcommand lives in ./commands/<name>.ts and
 * exports `register(program)`; actions throw on failure and main() turns that into one clear line + exit 1.
 * Only the module of the command being run is loaded (see ./commands/index.ts); the others appear as stubs that
 * carry what the top-level help lists.
 */
import { Command, CommanderError, Help } from './commander.js';
import { COMMANDS, type ListedCommand } from './commands/index.js';
import { refuseOutputsOverInputs } from './outputs.js';
import { setMaxMemory } from '../io/limits.js';

let warningsInstalled = false;

/**
 * The library reports soft problems (unknown image identity, a missing fast engine) with process.emitWarning;
 * on the command line they read as taskmap's own lines, without Node's "(node:PID)" prefix and trace hint.
 */
function printWarningsAsTaskmap(): void {
  if (warningsInstalled) return;
  warningsInstalled = true;
  process.removeAllListeners('warning');
  process.on('warning', (w) => process.stderr.write(`taskmap: warning: ${w.message}\n`));
}

/** Global options that take a value: the scan for the command name skips their argument. */
const GLOBAL_VALUE_OPTIONS = new Set(['--max-memory']);

/**
 * The top-level command argv runs (the `help <command>` form included), found the way commander will find it:
 * the first operand after the global options. Undefined when there is none (top-level help, version, errors).
 */
export function invokedCommand(argv: readonly string[]): string | undefined {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') return args[i + 1];
    if (GLOBAL_VALUE_OPTIONS.has(a)) i++;
    else if (a === '-h' || a === '--help' || a === '-V' || a === '--version') return undefined;
    else if (!a.startsWith('-')) return a === 'help' ? args[i + 1] : a;
  }
  return undefined;
}

/** Thrown by a stub when commander dispatched to a command the argv scan did not recognise: main() then loads all. */
class StubReached extends Error {}

/** Usage terms of the stubs, for the top-level help (a stub declares no options or arguments of its own). */
const stubTerms = new WeakMap<Command, string>();

function addStub(program: Command, c: ListedCommand): void {
  const stub = program
    .command(c.name)
    .summary(c.summary)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(() => {
      throw new StubReached(c.name);
    });
  stubTerms.set(stub, c.term);
}

/**
 * The program with the module of `command` loaded and every other command as a stub; `'all'` loads every module
 * (what a stub falls back to, and what the tests compare the stubs with).
 */
export async function buildProgram(command: string | undefined): Promise<Command> {
  const program = new Command('taskmap')
    .description(
      'Map the space of tasks learned by pre-trained networks: representation similarity (RSA, DDS, CKA), ' +
        'evaluation against measured transfer, Taskonomy affinities and supervision policies.',
    )
    .version(await packageVersion())
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  taskmap demo                                         the bundled model zoo → task taxonomy report\n' +
        '  taskmap similarity features/ --measure dds --out sim.json\n' +
        '  taskmap rank features/ --target labels.csv --bootstrap 100\n' +
        '  taskmap evaluate --predicted sim.json --truth all_affinities.pkl --include-self\n' +
        '  taskmap policy --affinities all_affinities.pkl --budget 3 --out policy.json\n' +
        '\nRun `taskmap <command> --help` for the options of each command.',
    )
    .exitOverride()
    // Descriptions are written with source-code line breaks; re-flow them so the terminal width decides.
    .configureHelp({
      commandDescription: (cmd) => reflow(cmd.description()),
      subcommandTerm: (cmd) => stubTerms.get(cmd) ?? new Help().subcommandTerm(cmd),
    });
  program.option(
    '--max-memory <size>',
    'memory budget for reading and computing (e.g. 512M, 16G; default: half the memory available at start, or TASKMAP_MAX_MEMORY)',
  );
  for (const m of COMMANDS) {
    if (command === 'all' || m.listed.some((c) => c.name === command)) for (const register of await m.load()) register(program);
    else for (const c of m.listed) addStub(program, c);
  }
  // Set on every run (undefined restores the default), so one main() call's option never leaks into the next.
  program.hook('preAction', () => setMaxMemory(program.opts<{ maxMemory?: string }>().maxMemory));
  // Before any command computes or writes anything: its outputs must not replace its inputs.
  program.hook('preAction', (_program, action) => refuseOutputsOverInputs(action));
  return program;
}

export async function main(argv: string[]): Promise<number> {
  printWarningsAsTaskmap();
  try {
    try {
      await (await buildProgram(invokedCommand(argv))).parseAsync(argv);
    } catch (err) {
      if (!(err instanceof StubReached)) throw err;
      await (await buildProgram('all')).parseAsync(argv);
    }
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed the message (or the help / version text).
      return err.exitCode;
    }
    process.stderr.write(`taskmap: ${(err as Error).message ?? String(err)}\n`);
    if (process.env.TASKMAP_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    return 1;
  }
}

/**
 * Join soft line breaks into paragraphs: a line continues the previous one unless either is blank or indented
 * (indented lines are lists and examples, kept as written).
 */
export function reflow(text: string): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const prev = out[out.length - 1];
    const joins = prev !== undefined && prev.trim() !== '' && line.trim() !== '' && !/^\s/.test(line) && !/^\s/.test(prev);
    if (joins) out[out.length - 1] = `${prev} ${line}`;
    else out.push(line);
  }
  return out.join('\n');
}

async function packageVersion(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const url = new URL('../../package.json', import.meta.url);
  return (JSON.parse(await readFile(url, 'utf8')) as { version: string }).version;
}
