/**
 * The README's library section is a promise: every name it imports from 'taskmap' is exported by the package
 * entry point, and its code runs as written (on a small generated feature set and ground truth).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as entry from '../src/index.js';
import { writeNpy } from '../src/io/npy.js';
import { repoRoot } from './helpers/sharedData.js';
import { gaussian } from './helpers/random.js';

async function librarySection(): Promise<string[]> {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Library');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

const importedNames = (code: string) =>
  [...code.matchAll(/import\s*\{([^}]*)\}\s*from\s*'taskmap'/g)].flatMap((m) =>
    m[1]
      .split(',')
      .map((s) => s.trim().replace(/^type\s+/, ''))
      .filter(Boolean),
  );

describe("README's library section", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'taskmap-readme-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the package entry point is src/index.ts compiled to dist/index.js', async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8'));
    expect(pkg.exports['.'].default).toBe('./dist/index.js');
    expect(pkg.main).toBe('dist/index.js');
  });

  it('imports only names the entry point exports', async () => {
    const blocks = await librarySection();
    expect(blocks.length).toBeGreaterThan(0);
    const names = blocks.flatMap(importedNames);
    expect(names.length).toBeGreaterThan(3);
    const missing = names.filter((n) => !(n in entry));
    expect(missing).toEqual([]);
  });

  it('runs as written', async () => {
    // What the snippets read: a feature folder of four members and a transfer matrix over the same labels.
    await mkdir(join(dir, 'features'));
    const labels = ['a', 'b', 'c', 'd'];
    for (const [i, l] of labels.entries()) {
      const g = gaussian(40 + i);
      const data = Float32Array.from({ length: 12 * 5 }, () => g());
      await writeFile(join(dir, 'features', `${l}.npy`), writeNpy({ dtype: 'float32', shape: [12, 5], data }));
    }
    const matrix = labels.map((_, i) => labels.map((__, j) => (i === j ? 1 : 1 / (1 + Math.abs(i - j)))));
    await writeFile(join(dir, 'transfer.json'), JSON.stringify({ rows: labels, cols: labels, matrix }));
    await writeFile(join(dir, 'labels.csv'), `${Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? 'x' : 'y')).join('\n')}\n`);
    const entryUrl = new URL('../src/index.ts', import.meta.url).href;
    for (const [k, code] of (await librarySection()).entries()) {
      const file = join(dir, `snippet${k}.mts`);
      await writeFile(file, code.replaceAll("from 'taskmap'", `from '${entryUrl}'`));
      const out = execFileSync(process.execPath, ['--import', new URL('../node_modules/tsx/dist/loader.mjs', import.meta.url).href, file], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: '' },
      });
      expect(out.length).toBeGreaterThan(0);
    }
  }, 60_000);
});
