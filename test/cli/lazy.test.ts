/**
 * Start-up (issue 15): `taskmap --help` loads no command module, and a command loads only its own. The top-level
 * help built from the stubs in commands/index.ts must read exactly as the one built from the modules themselves,
 * and the static imports of the start-up path and of the everyday commands must not reach the heavy packages.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, Help } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { buildProgram, invokedCommand } from '../../src/cli/main.js';
import { runCli } from '../helpers/cli.js';

const SRC = resolve(__dirname, '../../src');

/** Static (load-time) imports of a TS source: `import type` and all-`type` specifier lists are erased by tsc, `import()` is lazy. */
const STATIC_IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?!type\b)([^'";]*?)\s*from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;

/** Every source file and package reached through static imports from `entry` (package → first importer). */
function staticClosure(entry: string): { files: Set<string>; packages: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const stack = [resolve(SRC, entry)];
  while (stack.length) {
    const file = stack.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) {
      const clause = m[1] ?? '';
      const spec = m[2] ?? m[3];
      const braces = /^\{([\s\S]*)\}$/.exec(clause);
      if (
        braces &&
        braces[1]
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
          .every((s) => s.startsWith('type '))
      )
        continue;
      if (spec.startsWith('.')) stack.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else if (!spec.startsWith('node:')) {
        const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (!packages.has(pkg)) packages.set(pkg, file.slice(SRC.length + 1));
      }
    }
  }
  return { files, packages };
}

describe('lazy command loading', () => {
  it('the top-level help from the stubs is the help of the loaded modules, character for character', async () => {
    const lazy = await buildProgram(undefined);
    const eager = await buildProgram('all');
    expect(lazy.helpInformation()).toBe(eager.helpInformation());
    // …and the stubs are really stubs: nothing in the lazy program has options of its own.
    expect(lazy.commands.every((c) => c.options.length === 0)).toBe(true);
  });

  it('each module registers exactly the commands listed for it, with the listed usage and summary', async () => {
    const help = new Help();
    for (const m of COMMANDS) {
      const program = new Command('taskmap');
      for (const register of await m.load()) register(program);
      const got = program.commands.map((c) => ({ name: c.name(), term: help.subcommandTerm(c), summary: help.subcommandDescription(c) }));
      expect(got).toEqual(m.listed);
    }
  });

  it('a named command is loaded, the others stay stubs', async () => {
    const p = await buildProgram('rdm');
    const rdm = p.commands.find((c) => c.name() === 'rdm')!;
    expect(rdm.options.map((o) => o.long)).toContain('--distance');
    expect(p.commands.find((c) => c.name() === 'similarity')!.options).toEqual([]);
  });

  it('finds the command the way commander does', () => {
    const argv = (...a: string[]) => ['node', 'taskmap', ...a];
    expect(invokedCommand(argv('similarity', 'dir', '--measure', 'rsa'))).toBe('similarity');
    expect(invokedCommand(argv('--max-memory', '1G', 'rank', 'dir'))).toBe('rank');
    expect(invokedCommand(argv('--max-memory=1G', 'rdm', 'f.npy'))).toBe('rdm');
    expect(invokedCommand(argv('help', 'policy'))).toBe('policy');
    expect(invokedCommand(argv('--', 'zoo'))).toBe('zoo');
    expect(invokedCommand(argv())).toBeUndefined();
    expect(invokedCommand(argv('--help', 'similarity'))).toBeUndefined();
    expect(invokedCommand(argv('-V'))).toBeUndefined();
  });

  it('a stub never runs a command: reached without its module, it hands over to the fully loaded program', async () => {
    const p = await buildProgram(undefined);
    p.exitOverride();
    await expect(p.parseAsync(['node', 'taskmap', 'measures'])).rejects.toThrow(/^measures$/);
    // main() takes that hand-over, so the command still runs.
    const r = await runCli('measures');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\brsa\b/);
  });

  it('help for one command and unknown commands behave as before', async () => {
    const help = await runCli('help', 'rdm');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/Usage: taskmap rdm \[options\] <file>/);
    const bad = await runCli('bogus');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/unknown command 'bogus'/);
  });

  it('start-up imports no package statically (commander comes by require in cli/commander.ts) and no command module', () => {
    const { files, packages } = staticClosure('cli/main.ts');
    expect([...packages.keys()]).toEqual([]);
    expect([...files].some((f) => f.endsWith('/cli/commander.ts'))).toBe(true);
    const commandModules = [...files].filter((f) => f.includes('/cli/commands/') && !f.endsWith('/index.ts'));
    expect(commandModules).toEqual([]);
  });

  it('similarity, rdm and rank load no model runtime, image library, HDF5, solver, server or queue package up front', () => {
    const heavy = ['@tensorflow/tfjs', 'onnxruntime-node', 'onnx-proto', 'sharp', 'h5wasm', 'highs', 'fastify', 'bullmq', 'zod'];
    for (const cmd of ['similarity', 'rdm', 'rank']) {
      const { packages } = staticClosure(`cli/commands/${cmd}.ts`);
      const found = heavy.filter((p) => packages.has(p)).map((p) => `${p} (imported by ${packages.get(p)})`);
      expect(found, cmd).toEqual([]);
    }
  });
});
