/**
 * Every `npx taskmap …` command the README shows is run here (issue 17): the lines of its ```bash blocks (with `\`
 * continuations joined, `#` comments cut and `&&` chains split) and the `$ npx taskmap …` lines of its output
 * blocks. Each runs in-process through the CLI's `main()` in README order, on small generated files named as the
 * README names them (in a temporary folder) or on the real published files in ../shared/data. A command that cannot
 * run in a test is listed in NOT_RUN with the reason and the test that covers it; a README command that is neither
 * run nor listed fails the test. Where the README states a number next to a command, that number is asserted.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeNpy, type NdArray } from '../src/io/npy.js';
import { writeNpz } from '../src/io/npz.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { runCli } from './helpers/cli.js';
import { gaussian } from './helpers/random.js';
import { repoRoot, sharedDataDir, skipWithoutSharedData } from './helpers/sharedData.js';
import { writeImages, writeTinyOnnx } from './models/fixtures.js';
import { prototypeImages } from './nsl/synthetic.js';

/** README commands not run here, by their start (after `npx taskmap `), with why and where they are covered. */
const NOT_RUN: Record<string, string> = {
  demo: 'runs 47 zoo models on 75 curated downloaded photos (minutes); test/report/demo.test.ts runs the demo CLI on 3 and 6 models',
  'taskbank images':
    'downloads Debian packages (16 MB, or ~180 MB with the probe set) and cuts 10,500 crops (a minute); test/taskbank/cli.test.ts runs it on a local folder (--folders)',
  'probe fetch':
    'downloads ~165 MB of Debian packages with apt-get (network); not covered by a test — test/report/demo.test.ts runs the demo on local images (--images)',
  'benchmark zoo-transfer':
    'runs 20 zoo models on the probe photos (minutes); test/benchmark/zooTransfer.test.ts and readout.test.ts cover its pipeline on small inputs',
  'benchmark transfer':
    'extracts 21 zoo networks on 12,000 images and trains 210 heads (tens of minutes); test/benchmark/transfer.test.ts runs the same pipeline on real Fashion-MNIST with 3 sources and small pools',
  'benchmark taskbank':
    'trains 13 networks and 208 readouts on 10,500 crops (about an hour on 2 cores); test/benchmark/taskbank.test.ts runs the same stages on a tiny folder pool',
  'nsl train': 'needs the Fashion-MNIST Debian package and trains for minutes; test/nsl/train.test.ts and test/nsl/cli.test.ts train on synthetic data',
  'nsl bench': 'needs Fashion-MNIST and trains every variant for 3 seeds; test/nsl/cli.test.ts',
  'nsl fisher': 'needs Fashion-MNIST; test/nsl/fisher.test.ts and test/nsl/cli.test.ts',
  serve: 'starts a server; test/server/ and test/e2e/ drive it',
  'rank taskmap-demo/features': "needs the demo's features of 47 zoo models; `rank` is run here on generated features and in test/cli/",
  'worker --queue':
    'serves a Redis queue until stopped; test/queue/ starts redis-server and worker processes (extract.test.ts, similarity.test.ts, security.test.ts, connection.test.ts)',
  'extract --images /shared/photos':
    'needs a Redis server and worker processes (and runs the whole zoo); test/queue/extract.test.ts runs `extract --queue` against both on the tiny ONNX model',
  'extract --images photos/ --model movenet-lightning,selfie':
    'runs two zoo networks (TF.js WASM, seconds per model to load); test/models/extract.test.ts and test/report/demo.test.ts extract from zoo models',
};

/** Numbers the README states for a command (asserted on its output), by the command's start. */
const STATED: Record<string, RegExp> = {
  'evaluate --predicted sim.json --truth all_affinities.pkl': /mean spearman over 17 targets: 0\.8620 \(self included\)/,
  'policy --affinities all_affinities_16k.pkl --budget 3':
    /objective \(sqrtAffinity\): 1\.221566\s+cost 3 of budget 3\s+max order 2\nlabel fully: rgb2sfnorm, curvature, keypoint3d/,
};

/** Published files the README names, mapped to ../shared/data. */
const PUBLISHED: Record<string, string> = {
  'all_affinities.pkl': 'taskonomy/results/affinities/all_affinities.pkl',
  'all_affinities_16k.pkl': 'taskonomy/results/affinities/all_affinities_16k.pkl',
  'wins_vs_pixels.pkl': 'taskonomy/results/winrates/wins_vs_pixels.pkl',
  'wins_vs_task.pkl': 'taskonomy/results/winrates/wins_vs_task.pkl',
  'rdms.npy': 'duality-diagram-similarity/CVPR2020_results/normcomparison_taskonomy_5000/rdms.npy',
};

interface Example {
  /** The command after `npx taskmap `, as the README writes it. */
  text: string;
  /** The text of its block (to check stated numbers are still there). */
  block: string;
}

/** Split a command line into words as a POSIX shell would for these simple cases (quotes, no expansions). */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

function readmeExamples(readme: string): Example[] {
  const out: Example[] = [];
  for (const m of readme.matchAll(/```([a-z]*)\n([\s\S]*?)```/g)) {
    const [, lang, block] = m;
    if (lang === 'bash') {
      const joined = block.replace(/\\\n\s*/g, ' ');
      for (const line of joined.split('\n')) {
        const code = line.replace(/(^|\s)#.*$/, '').trim();
        for (const part of code.split('&&').map((s) => s.trim())) {
          if (part.startsWith('npx taskmap')) out.push({ text: part.slice('npx taskmap'.length).trim(), block });
          else if (/\btaskmap\b/.test(part) && !/^(npm|node)\b/.test(part) && !part.startsWith('taskmap --help'))
            throw new Error(`README command not in the "npx taskmap …" form: ${part}`);
        }
      }
    } else if (lang === '') {
      for (const line of block.split('\n')) if (line.startsWith('$ npx taskmap ')) out.push({ text: line.slice('$ npx taskmap '.length).trim(), block });
    }
  }
  return out;
}

const startsWithKey = (text: string, table: Record<string, unknown>) => Object.keys(table).find((k) => text === k || text.startsWith(`${k} `));

let dir: string;
const N = 210; // `rank … --subset 200` needs more than 200 probe images

function npy(shape: number[], seed: number): Uint8Array {
  const g = gaussian(seed);
  return writeNpy({ dtype: 'float32', shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => g()) });
}

/** Related members: a shared component plus each member's own noise, so similarities are not all equal. */
function members(labels: string[], shape: number[], seed: number): Map<string, NdArray> {
  const p = shape.reduce((a, b) => a * b, 1) / shape[0];
  const g = gaussian(seed);
  const base = Float64Array.from({ length: shape[0] * p }, () => g());
  return new Map(
    labels.map((l, k) => [l, { dtype: 'float32', shape, data: Float32Array.from(base, (b) => b * (1 - k / labels.length) + g()) } satisfies NdArray]),
  );
}

async function writeInputs(): Promise<void> {
  // features/ (5 members × 210 images × 3×2×2), the same members with 16×16×8 per image for the command with
  // `--shape 16,16,8` (see mapArgs), features.npz and features.safetensors (members a…d).
  const labels = ['depth_model', 'edge_model', 'model', 'normals_model', 'segmentation_model'];
  for (const [folder, shape] of [
    ['features', [N, 3, 2, 2]],
    ['features-16x16x8', [N, 16, 16, 8]],
  ] as const) {
    mkdirSync(join(dir, folder));
    for (const [l, a] of members(labels, [...shape], 1)) writeFileSync(join(dir, folder, `${l}.npy`), writeNpy(a));
  }
  writeFileSync(join(dir, 'features.npz'), writeNpz(members(['a', 'b', 'c', 'd'], [12, 6], 2)));
  writeFileSync(join(dir, 'features.safetensors'), writeSafetensors(members(['a', 'b', 'c', 'd'], [12, 6], 3)));
  writeFileSync(join(dir, 'my_small_model.npy'), npy([N, 10], 4));
  writeFileSync(join(dir, 'labels.csv'), `${Array.from({ length: N }, (_, i) => ['cat', 'dog', 'car'][i % 3]).join('\n')}\n`);
  // probabilities/: class probabilities (softmax rows over 4 source classes) of every model of features/, for LEEP.
  mkdirSync(join(dir, 'probabilities'));
  const gp = gaussian(6);
  for (const l of labels) {
    const data = new Float32Array(N * 4);
    for (let i = 0; i < N; i++) {
      const e = Array.from({ length: 4 }, (_, z) => Math.exp(gp() + (z === i % 3 ? 1 : 0)));
      const sum = e.reduce((a, b) => a + b, 0);
      e.forEach((v, z) => (data[i * 4 + z] = v / sum));
    }
    writeFileSync(join(dir, 'probabilities', `${l}.npy`), writeNpy({ dtype: 'float32', shape: [N, 4], data }));
  }
  // transfer.json: measured transfer between the members of features/ (rows = sources, cols = targets).
  const matrix = labels.map((_, i) => labels.map((__, j) => (i === j ? 1 : 1 / (1 + Math.abs(i - j) + 0.1 * i))));
  writeFileSync(join(dir, 'transfer.json'), JSON.stringify({ rows: labels, cols: labels, matrix }));
  // affinities.json: the same transfers as a Taskonomy result dict (source__target), for rank --via-transfers.
  writeFileSync(join(dir, 'affinities.json'), JSON.stringify(Object.fromEntries(labels.flatMap((t, j) => labels.map((s, i) => [`${s}__${t}`, matrix[i][j]])))));
  // losses.csv: six targets, each with its own network, pixels and the five other tasks as sources, on 6 images.
  const rows = ['target,source,image,loss'];
  const lossTasks = ['depth', 'normals', 'edges', 'curvature', 'reshade', 'keypoints'];
  const g = gaussian(5);
  for (const t of lossTasks)
    for (const s of ['self', 'pixels', ...lossTasks.filter((x) => x !== t)])
      for (let i = 0; i < 6; i++) rows.push(`${t},${s},img${i},${(s === 'self' ? 0.1 : s === 'pixels' ? 0.5 : 0.3) + 0.05 * Math.abs(g())}`);
  writeFileSync(join(dir, 'losses.csv'), `${rows.join('\n')}\n`);
  // model.onnx: the tests' tiny ONNX network, its convolution output named like a "conv5" layer.
  await writeTinyOnnx(join(dir, 'model.onnx'));
  const bytes = readFileSync(join(dir, 'model.onnx'));
  const mod = (await import('onnx-proto')) as any;
  const onnx = (mod.default ?? mod).onnx;
  const model = onnx.ModelProto.decode(bytes);
  for (const node of model.graph.node) {
    node.input = node.input.map((x: string) => (x === 'c' ? 'conv5_1' : x));
    node.output = node.output.map((x: string) => (x === 'c' ? 'conv5_1' : x));
  }
  writeFileSync(join(dir, 'model.onnx'), onnx.ModelProto.encode(model).finish());
  await writeImages(join(dir, 'photos'), 4);
  // tasks/: labelled data sets for the Fisher task measures.
  mkdirSync(join(dir, 'tasks'));
  for (const [name, classes, seed] of [
    ['A', [0, 1, 2], 1],
    ['B', [3, 4, 5], 2],
    ['C', [0, 1, 5], 3],
  ] as const) {
    const ds = prototypeImages([...classes], 8, { sampleSeed: seed });
    const arrays = new Map<string, NdArray>([
      ['x', { dtype: 'uint8', shape: [ds.n, 8, 8], data: ds.images }],
      ['y', { dtype: 'int64', shape: [ds.n], data: BigInt64Array.from(ds.labels, (l) => BigInt(l)) }],
    ]);
    writeFileSync(join(dir, 'tasks', `${name}.npz`), writeNpz(arrays));
  }
}

/**
 * README words → paths: published files to ../shared/data, other file-like words into the temporary folder.
 * `extract … --out features/` writes to `extracted/` instead: its 4 tiny photos would not match the 210-image
 * feature set the other commands read as `features/`. A command with `--shape 16,16,8` reads the same members
 * with 2048 features per image from `features-16x16x8/` (the others use 12, to keep the bootstrap and the
 * all-standard-measures benchmark fast).
 */
function mapArgs(text: string): string[] {
  const extract = text.startsWith('extract ');
  const shaped = / --shape 16,16,8\b/.test(text);
  return words(text).map((w) => {
    if (extract && w === 'features/') return join(dir, 'extracted/');
    if (shaped && w === 'features/') return join(dir, 'features-16x16x8/');
    if (w in PUBLISHED) return join(sharedDataDir, PUBLISHED[w]);
    if (!w.startsWith('-') && (w.includes('/') || /\.(json|csv|npy|npz|safetensors|pkl|nwk|onnx)$/.test(w))) return join(dir, w);
    return w;
  });
}

describe.skipIf(skipWithoutSharedData)("the README's command examples", () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const examples = readmeExamples(readme);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'taskmap-readme-examples-'));
    await writeInputs();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the commands, and every one is run below or listed with a reason', () => {
    expect(examples.length).toBeGreaterThan(25);
    for (const key of Object.keys(NOT_RUN))
      expect(
        examples.some((e) => startsWithKey(e.text, { [key]: 0 })),
        `NOT_RUN entry "${key}" matches no README command`,
      ).toBe(true);
    for (const key of Object.keys(STATED))
      expect(
        examples.some((e) => startsWithKey(e.text, { [key]: 0 })),
        `STATED entry "${key}" matches no README command`,
      ).toBe(true);
  });

  it('the numbers stated with the commands are still in the README', () => {
    const block = (key: string) => examples.find((e) => startsWithKey(e.text, { [key]: 0 }))!;
    expect(block('evaluate --predicted sim.json --truth all_affinities.pkl').block).toContain('# → mean spearman over 17 targets: 0.8620 (self included)');
    expect(readme).toContain('objective (sqrtAffinity): 1.221566   cost 3 of budget 3   max order 2\nlabel fully: rgb2sfnorm, curvature, keypoint3d');
  });

  it('every command that can run in a test succeeds, in README order', async () => {
    const ran: string[] = [];
    for (const ex of examples) {
      if (startsWithKey(ex.text, NOT_RUN)) continue;
      const t0 = Date.now();
      const r = await runCli(...mapArgs(ex.text));
      if (process.env.TASKMAP_README_TIMES) process.stderr.write(`${Date.now() - t0} ms  ${ex.text}\n`);
      expect(r.code, `npx taskmap ${ex.text}\n${r.err}`).toBe(0);
      const stated = startsWithKey(ex.text, STATED);
      if (stated) expect(r.out, `npx taskmap ${ex.text}`).toMatch(STATED[stated]);
      ran.push(ex.text);
    }
    expect(ran.length).toBeGreaterThan(20);
    // The stated DDS number: the converted 17-task matrix really is the one evaluated.
    const evaluated = JSON.parse(readFileSync(join(dir, 'eval.json'), 'utf8'));
    expect(evaluated.mean).toBeCloseTo(0.8620242214532873, 12);
  }, 120_000);
});
