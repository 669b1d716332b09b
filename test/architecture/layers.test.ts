/**
 * The dependency rule (CONTRIBUTING.md#layers): a module may import from its own layer or below, never above.
 * Lower layers are the numerical core and file formats; use cases (ops) sit above the algorithms; the CLI, the
 * server and the report are adapters at the top. An upward import fails this test with the offending line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '../../src');

/** Folder → layer, lowest first. Folders on one layer may import each other. */
export const LAYERS: Record<string, number> = {
  util: 0,
  linalg: 0,
  io: 1,
  workers: 1,
  images: 2,
  models: 2,
  features: 2,
  measures: 3,
  taxonomy: 4,
  taskonomy: 4,
  evaluate: 4,
  nsl: 4,
  transferability: 4,
  // The task bank: image pool, task targets and zoo teachers (images/models/io below); its training will reuse nsl.
  taskbank: 4,
  benchmark: 5,
  queue: 5,
  ops: 6,
  report: 7,
  cli: 8,
  server: 8,
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The top folder of a file under src/ ('' for src/index.ts and other root files: the package entry, above all). */
function folderOf(abs: string): string {
  const rel = relative(SRC, abs).split('/');
  return rel.length > 1 ? rel[0] : '';
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function upwardImports(): string[] {
  const bad: string[] = [];
  for (const file of files(SRC)) {
    const from = folderOf(file);
    if (from === '') continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      if (!spec.startsWith('.')) continue;
      const to = folderOf(resolve(dirname(file), spec));
      if (to === from) continue;
      const line = text.slice(0, m.index).split('\n').length + (m[0].startsWith('\n') ? 1 : 0);
      if (!(from in LAYERS)) bad.push(`${relative(SRC, file)}: folder "${from}" has no layer; add it to LAYERS`);
      else if (to === '' || LAYERS[to] === undefined || LAYERS[to] > LAYERS[from]) {
        bad.push(
          `src/${relative(SRC, file)}:${line} (${from}, layer ${LAYERS[from]}) imports ${spec} (${to || 'the package entry'}, layer ${LAYERS[to] ?? '?'})`,
        );
      }
    }
  }
  return bad;
}

describe('dependency rule', () => {
  it('no module imports from a layer above its own', () => {
    expect(upwardImports()).toEqual([]);
  });

  it('the check sees an upward import (it can fail)', () => {
    const IMPORT_LINE = "import { main } from '../cli/main.js';";
    const m = [...`\n${IMPORT_LINE}`.matchAll(IMPORT)][0];
    expect(m[1]).toBe('../cli/main.js');
    expect(LAYERS.cli).toBeGreaterThan(LAYERS.io);
  });
});
