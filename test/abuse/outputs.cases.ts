/**
 * Outputs that would destroy something: a crafted manifest steering `extract` outside its folder, an output that
 * is an input, a multi-output command failing half-way, a matrix and its labels torn apart by a crash, temp files
 * left by a killed writer. Each case builds its files in a fresh temp folder, runs the CLI or the writer, and
 * reports what it said and whether everything outside the output is byte-identical.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/io/atomic.js';
import { labelledMatrixFiles, readLabelledMatrix, writeLabelledMatrix } from '../../src/io/labelledMatrix.js';
import { writeNpy } from '../../src/io/npy.js';
import { writeImages, writeTinyOnnx } from '../models/fixtures.js';
import type { AbuseCases } from './bounded.js';
import { cli } from './cliCase.js';

export interface OutputOutcome {
  /** What the CLI printed when it refused (undefined: it succeeded). */
  refused?: string;
  /** Every file that existed before the call (except declared outputs) is byte-identical afterwards. */
  intact: boolean;
  /** Extra facts a case checks. */
  facts?: Record<string, unknown>;
}

async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else
        out.set(
          p,
          createHash('sha256')
            .update(await readFile(p))
            .digest('hex'),
        );
    }
  };
  await walk(dir);
  return out;
}

/** Run `args` (with `{}` replaced by the temp folder) after `setup`; compare every pre-existing file afterwards. */
async function guarded(setup: (dir: string) => Promise<void>, args: string[], outputs: string[] = []): Promise<OutputOutcome> {
  const dir = await mkdtemp(join(tmpdir(), 'taskmap-abuse-out-'));
  try {
    await setup(dir);
    const before = await snapshot(dir);
    let refused: string | undefined;
    try {
      await cli(...args.map((a) => a.replaceAll('{}', dir)));
    } catch (e) {
      refused = (e as Error).message;
    }
    const after = await snapshot(dir);
    const declared = new Set(outputs.map((o) => join(dir, o)));
    const intact = [...before].every(([p, h]) => declared.has(p) || after.get(p) === h);
    return { refused, intact };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const matrixJson = (labels: string[], seed: number) =>
  JSON.stringify({ rows: labels, cols: labels, matrix: labels.map((_, i) => labels.map((__, j) => (i === j ? 1 : ((i + j + seed) % 5) / 10))) });

const affinities = () => {
  const tasks = ['a', 'b', 'c'];
  const d: Record<string, number> = {};
  for (const s of tasks) for (const t of tasks) d[`${s}__${t}`] = s === t ? 1 : 0.1 + ((s.charCodeAt(0) + 2 * t.charCodeAt(0)) % 7) / 10;
  return JSON.stringify(d);
};

const losses = () => {
  const lines = ['target,source,image,loss'];
  for (const src of ['self', 'pixels', 'b', 'c']) for (let i = 0; i < 6; i++) lines.push(`a,${src},${i},${(src.length + i * 0.37) % 2}`);
  return `${lines.join('\n')}\n`;
};

async function featureFolder(dir: string): Promise<void> {
  await mkdir(join(dir, 'fs'));
  for (const [k, seed] of [
    ['a', 1],
    ['b', 2],
    ['c', 3],
  ] as const) {
    const data = Float32Array.from({ length: 8 * 4 }, (_, i) => Math.sin(i * seed + seed));
    await writeFile(join(dir, 'fs', `${k}.npy`), writeNpy({ dtype: 'float32', shape: [8, 4], data }));
  }
}

/** A real extraction (tiny ONNX model, 4 images) whose manifest is then rewritten by `tamper`. */
async function extractThenTamper(dir: string, tamper: (m: Record<string, unknown> & { entries: Record<string, unknown>[] }) => unknown): Promise<void> {
  await writeImages(join(dir, 'imgs'), 4);
  await writeTinyOnnx(join(dir, 'tiny.onnx'));
  await cli('extract', '--images', join(dir, 'imgs'), '--model', join(dir, 'tiny.onnx'), '--tap', 'y', '--out', join(dir, 'out'));
  await writeFile(join(dir, 'victim.txt'), 'precious');
  const path = join(dir, 'out', 'manifest.json');
  const m = JSON.parse(await readFile(path, 'utf8'));
  await writeFile(path, JSON.stringify(tamper(m) ?? m));
}

export const cases: AbuseCases = {
  // 1. The reported deletion: an entry computed on other images whose file points outside the output folder.
  extractManifestEscape: () =>
    guarded(
      (d) =>
        extractThenTamper(d, (m) => {
          // Not requested again (other label and key) and computed on other images: the case in which extract
          // deletes the entry's file as stale.
          m.entries[0].label = 'gone';
          m.entries[0].file = '../victim.txt';
          m.entries[0].imagesDigest = 'f'.repeat(64);
          m.entries[0].key = 'e'.repeat(64);
        }),
      ['extract', '--images', '{}/imgs', '--model', '{}/tiny.onnx', '--tap', 'y', '--out', '{}/out'],
    ),
  extractManifestAbsolute: () =>
    guarded(
      (d) =>
        extractThenTamper(d, (m) => {
          m.entries[0].file = join(d, 'victim.txt');
        }),
      ['extract', '--images', '{}/imgs', '--model', '{}/tiny.onnx', '--tap', 'y', '--out', '{}/out'],
    ),
  extractManifestNoEntries: () =>
    guarded(
      (d) =>
        extractThenTamper(d, (m) => {
          delete (m as Record<string, unknown>).entries;
        }),
      ['extract', '--images', '{}/imgs', '--model', '{}/tiny.onnx', '--tap', 'y', '--out', '{}/out'],
    ),
  // 4. Output = input, for every command with an --out.
  rdmOutIsInput: () => guarded(featureFolder, ['rdm', '{}/fs/a.npy', '--out', '{}/fs/a.npy']),
  similarityOutIsMember: () => guarded(featureFolder, ['similarity', '{}/fs', '--out', '{}/fs/a.npy']),
  similarityOutNewMember: () => guarded(featureFolder, ['similarity', '{}/fs', '--out', '{}/fs/sim.npy']),
  similarityOutsideIsFine: () => guarded(featureFolder, ['similarity', '{}/fs', '--out', '{}/sim.npy'], ['sim.npy', 'sim.npy.labels.json']),
  taxonomyOutIsInput: () =>
    guarded((d) => writeFile(join(d, 'sim.json'), matrixJson(['a', 'b', 'c', 'd'], 1)), ['taxonomy', '--similarity', '{}/sim.json', '--out', '{}/sim.json']),
  taxonomyNewickIsInput: () =>
    guarded((d) => writeFile(join(d, 'sim.json'), matrixJson(['a', 'b', 'c', 'd'], 1)), ['taxonomy', '--similarity', '{}/sim.json', '--newick', '{}/sim.json']),
  taxonomyTwoOutputsOneFile: () =>
    guarded(
      (d) => writeFile(join(d, 'sim.json'), matrixJson(['a', 'b', 'c', 'd'], 1)),
      ['taxonomy', '--similarity', '{}/sim.json', '--newick', '{}/t.json', '--out', '{}/t.json'],
    ),
  evaluateOutIsTruth: () =>
    guarded(
      async (d) => {
        await writeFile(join(d, 'p.json'), matrixJson(['a', 'b', 'c', 'd'], 1));
        await writeFile(join(d, 't.json'), matrixJson(['a', 'b', 'c', 'd'], 2));
      },
      ['evaluate', '--predicted', '{}/p.json', '--truth', '{}/t.json', '--out', '{}/t.json'],
    ),
  policyOutIsInput: () =>
    guarded((d) => writeFile(join(d, 'aff.json'), affinities()), ['policy', '--affinities', '{}/aff.json', '--budget', '1', '--out', '{}/aff.json']),
  candidatesOutIsInput: () =>
    guarded((d) => writeFile(join(d, 'aff.json'), affinities()), ['candidates', '--affinities', '{}/aff.json', '--out', '{}/aff.json']),
  ahpOutIsInput: () => guarded((d) => writeFile(join(d, 'l.csv'), losses()), ['ahp', '--losses', '{}/l.csv', '--out', '{}/l.csv']),
  ahpGainOutIsInput: () =>
    guarded((d) => writeFile(join(d, 'l.csv'), losses()), ['ahp', '--losses', '{}/l.csv', '--out', '{}/a.json', '--gain-out', '{}/l.csv']),
  // A link to the input is the input.
  rdmOutIsLinkToInput: () =>
    guarded(
      async (d) => {
        await featureFolder(d);
        spawnSync('ln', ['-s', join(d, 'fs', 'a.npy'), join(d, 'link.npy')]);
      },
      ['rdm', '{}/fs/a.npy', '--out', '{}/link.npy'],
    ),
  // Several outputs are one commit: the second cannot be written (its folder is a file), so the first stays as it was.
  ahpSecondOutputFails: () =>
    guarded(
      async (d) => {
        await writeFile(join(d, 'l.csv'), losses());
        await writeFile(join(d, 'a.json'), 'old affinities');
        await writeFile(join(d, 'bad'), 'a file, not a folder');
      },
      ['ahp', '--losses', '{}/l.csv', '--out', '{}/a.json', '--consistency-out', '{}/bad/x.json'],
    ),
  // 7. A list option that names nothing.
  emptyOrder: () => guarded(featureFolder, ['similarity', '{}/fs', '--order', ',']),

  /** A crash between the two renames of a .npy matrix: new labels beside old data are detected on read. */
  tornSidecar: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'taskmap-abuse-side-'));
    try {
      const path = join(dir, 'm.npy');
      const m = (labels: string[], v: number) => ({ rows: labels, cols: labels, matrix: { rows: 2, cols: 2, data: Float64Array.from([1, v, v, 1]) } });
      await writeLabelledMatrix(path, m(['a', 'b'], 0.5));
      const whole = await readLabelledMatrix(path);
      // Simulate the crash: only the first file of the new commit (the sidecar) was renamed.
      const [sidecar] = labelledMatrixFiles(path, m(['x', 'y'], 0.25));
      await writeFile(sidecar.path, sidecar.data);
      try {
        await readLabelledMatrix(path);
        return { readAfterCrash: 'accepted', before: whole.rows };
      } catch (e) {
        return { readAfterCrash: (e as Error).message, before: whole.rows };
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },

  /** Temp files of a writer that was killed (its pid is gone) are removed by the next write; a live writer's are not. */
  staleTemps: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'taskmap-abuse-tmp-'));
    try {
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
      await writeFile(join(dir, `.out.json.${dead}.0123456789ab.tmp`), 'half');
      await writeFile(join(dir, `.out.json.${process.pid}.ba9876543210.tmp`), 'being written');
      await writeFileAtomic(join(dir, 'out.json'), '{}');
      return { names: (await readdir(dir)).sort(), pid: process.pid };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
