/**
 * Hostile inputs for the readers (issue 11, parts 3 and 5–7). Each case writes a small file into its own temp
 * directory, feeds it to a reader or to the CLI, and removes the directory again. A case throws to report a
 * refusal (the message is what the test checks); for CLI cases it also throws if any file of the temp directory
 * changed or appeared, so "the input was never overwritten and nothing was written" is part of every outcome.
 *
 * The suite's stated memory cap is RSS_CAP_MB (1 GiB) with a 512 MiB V8 heap, so the cases tell taskmap its
 * budget is 768 MiB (TASKMAP_MAX_MEMORY here, --max-memory on the CLI cases) — the honest setting for a machine
 * that size. The hostile sizes are the issue's; each would need gigabytes.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { zipSync } from 'fflate';
import type { AbuseCases } from './bounded.js';
import { cli } from './cliCase.js';
import { writeImages, writeTinyOnnx } from '../models/fixtures.js';
import { readTfModel } from '../../src/models/tfjs.js';
import { loadFeatureSet, loadRepresentation } from '../../src/features/featureSet.js';
import { readLabelledMatrix } from '../../src/io/labelledMatrix.js';
import { readNpy, writeNpy } from '../../src/io/npy.js';
import { readNpz } from '../../src/io/npz.js';
import { setMaxMemory } from '../../src/io/limits.js';
import { unpickle } from '../../src/io/pickle.js';
import { readResultDict } from '../../src/io/resultDict.js';
import { similarityMatrix } from '../../src/measures/similarity.js';
import { parseLossCsv, tournamentsFromLosses } from '../../src/taskonomy/winrates.js';
import { deflatedZeros, npyHeader, oneMemberZip } from '../helpers/npyBytes.js';

export const BUDGET = '768M';
process.env.TASKMAP_MAX_MEMORY = BUDGET;
// The portable GEMM kernel: no native thread pool to start in every child.
process.env.TASKMAP_ENGINE ??= 'js';

/** Run `fn` with a fresh temp dir, always removing it. */
async function inTemp<T>(fn: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'taskmap-abuse-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** name → sha256 of every regular file under dir (special files by type), to prove nothing changed. */
function snapshot(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(`${p} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
      else out.push(`${p} special`);
    }
  };
  walk(dir);
  return out.sort().join('\n');
}

/** A CLI call on files in `dir` that must fail and leave `dir` exactly as it was. */
async function cliRefuses(dir: string, ...args: string[]): Promise<never> {
  const before = snapshot(dir);
  let message: string | undefined;
  try {
    await cli('--max-memory', BUDGET, ...args);
  } catch (e) {
    message = (e as Error).message;
  }
  if (snapshot(dir) !== before) throw new Error(`files changed in ${dir}:\n${snapshot(dir)}`);
  throw new Error(message ?? `taskmap ${args.join(' ')} succeeded`);
}

// ------------------------------------------------------------------------------------------------------------
// pickle builders (protocol 2 opcodes)

const P = {
  proto: [0x80, 2],
  stop: [0x2e],
  emptyDict: [0x7d],
  emptyList: [0x5d],
  mark: [0x28],
  append: [0x61],
  appends: [0x65],
  setitem: [0x73],
  none: [0x4e],
  memoize: [0x94],
};
const bytes = (...parts: (number[] | Uint8Array)[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const shortStr = (s: string) => [0x8c, s.length, ...Buffer.from(s)];
const binput = (i: number) => [0x72, i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, (i >>> 24) & 0xff];
const binget = (i: number) => [0x6a, i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, (i >>> 24) & 0xff];
const long4 = (n: number) => {
  const b = Buffer.alloc(5 + n, 0x5a);
  b[0] = 0x8b;
  b.writeInt32LE(n, 1);
  b[4 + n] = 0x01; // positive
  return b;
};
/** {"a__b": <value ops>} */
const dictOf = (...value: (number[] | Uint8Array)[]) => bytes(P.proto, P.emptyDict, shortStr('a__b'), ...value, P.setitem, P.stop);

function write(dir: string, name: string, data: Uint8Array | string): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}

/** Features n × p float32 with varying values. */
function features(n: number, p: number, seed = 1): Uint8Array {
  const data = new Float32Array(n * p);
  let x = seed;
  for (let i = 0; i < data.length; i++) data[i] = (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5;
  return writeNpy({ dtype: 'float32', shape: [n, p], data });
}

/** Patch the first zip member's declared uncompressed size (central directory and local header). */
function patchDeclaredSize(zip: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(zip);
  const v = new DataView(out.buffer);
  for (let at = 0; at + 4 <= out.length; at++) {
    const sig = v.getUint32(at, true);
    if (sig === 0x04034b50) v.setUint32(at + 22, size, true);
    if (sig === 0x02014b50) v.setUint32(at + 24, size, true);
  }
  return out;
}

export const cases: AbuseCases = {
  // --- 3. quadratic tournaments from a small losses CSV
  lossesManySources: () =>
    inTemp(async (dir) => {
      const lines = ['target,source,image,loss'];
      for (let i = 0; i < 30_000; i++) lines.push(`t,s${i},img,0.5`);
      const csv = write(dir, 'losses.csv', lines.join('\n'));
      return cliRefuses(dir, 'ahp', '--losses', csv, '--out', join(dir, 'aff.json'));
    }),
  lossesManySourcesLibrary: () =>
    inTemp(async (dir) => {
      const lines = ['target,source,image,loss'];
      for (let i = 0; i < 12_000; i++) lines.push(`t,s${i},img,0.5`);
      const csv = write(dir, 'losses12k.csv', lines.join('\n'));
      return tournamentsFromLosses(parseLossCsv(readFileSync(csv, 'utf8'), csv)).length;
    }),
  /** Past the per-target cap the memory budget still guards a library caller who raises the cap. */
  lossesCapRaisedBudget: () =>
    inTemp(async (dir) => {
      const lines = ['target,source,image,loss'];
      for (let i = 0; i < 12_000; i++) lines.push(`t,s${i},img,0.5`);
      const csv = write(dir, 'raised.csv', lines.join('\n'));
      return tournamentsFromLosses(parseLossCsv(readFileSync(csv, 'utf8'), csv, 1e9), csv, 1e9).length;
    }),
  /** A 0.8 MB dict of 20,000 targets kept `taskmap policy` busy for 95 s before answering "infeasible". */
  policyManyTasks: () =>
    inTemp(async (dir) => {
      const d: Record<string, number> = {};
      for (let i = 0; i < 20_000; i++) Object.assign(d, { [`s${i}__t${i}`]: 0.5, [`t${i}__t${i}`]: 1 });
      return cliRefuses(dir, 'policy', '--affinities', write(dir, 'many.json', JSON.stringify(d)), '--budget', '1');
    }),
  lossesJustUnder: () =>
    inTemp(async (dir) => {
      // 300 candidates: a legitimate, larger-than-Taskonomy tournament still builds.
      const lines = ['target,source,image,loss'];
      for (let i = 0; i < 300; i++) for (let j = 0; j < 3; j++) lines.push(`t,s${i},img${j},${(i * 7 + j) % 11}`);
      const csv = write(dir, 'ok.csv', lines.join('\n'));
      return tournamentsFromLosses(parseLossCsv(readFileSync(csv, 'utf8'), csv))[0].sources.length;
    }),

  // --- 3. pickles
  pickleLong4: () => inTemp((dir) => readResultDict(write(dir, 'long4.pkl', dictOf(long4(192 * 1024))))),
  pickleLongJustUnder: () => typeof unpickle(bytes(P.proto, long4(256), P.stop), 'ok.pkl'),
  pickleBigInt: () => inTemp((dir) => readResultDict(write(dir, 'bigint.pkl', dictOf([0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x10])))),
  pickleBillionLaughs: () =>
    inTemp((dir) => {
      // ~800 bytes, 10^30 values when expanded.
      // 30 levels, each a list of 10 references (1-byte memo GETs) to the previous one.
      const ops: number[][] = [P.none, [0x71, 0], [0x30]];
      for (let level = 1; level <= 30; level++) {
        ops.push(P.emptyList, [0x71, level], P.mark);
        for (let k = 0; k < 10; k++) ops.push([0x68, level - 1]);
        ops.push(P.appends);
        if (level < 30) ops.push([0x30]);
      }
      const file = write(dir, 'laughs.pkl', dictOf(...ops));
      return readResultDict(file);
    }),
  pickleDeep: () =>
    inTemp((dir) => {
      const depth = 100_000;
      const ops = bytes(P.proto, new Uint8Array(depth).fill(0x5d), new Uint8Array(depth - 1).fill(0x61), P.stop);
      return readResultDict(write(dir, 'deep.pkl', ops));
    }),
  pickleDeepJustUnder: () => {
    const depth = 999;
    const v = unpickle(bytes(P.proto, new Uint8Array(depth).fill(0x5d), new Uint8Array(depth - 1).fill(0x61), P.stop), 'ok.pkl');
    return Array.isArray(v);
  },
  pickleCycle: () => inTemp((dir) => readResultDict(write(dir, 'cycle.pkl', dictOf(P.emptyList, binput(0), binget(0), P.append)))),
  pickleMemo: () =>
    inTemp((dir) => {
      const n = 20_000_000;
      const data = new Uint8Array(n + 5);
      data.set([0x80, 4, 0x4e]);
      data.fill(0x94, 3, 3 + n);
      data[3 + n] = 0x2e;
      return readResultDict(write(dir, 'memo.pkl', data.subarray(0, 4 + n)));
    }),
  pickleGlobal: () =>
    inTemp((dir) =>
      cliRefuses(
        dir,
        'policy',
        '--affinities',
        write(dir, 'evil.pkl', Buffer.from("cos\nsystem\n(S'echo hi'\ntR.", 'latin1')),
        '--budget',
        '1',
        '--out',
        join(dir, 'p.json'),
      ),
    ),

  // --- 3. zip bombs
  npzDeclaredHuge: () =>
    inTemp((dir) => {
      const zip = zipSync({ 'a.npy': features(10, 4) }, { level: 6 });
      return loadFeatureSet(write(dir, 'bomb.npz', patchDeclaredSize(zip, 0xfffffff0)));
    }),
  npzLyingSize: () =>
    inTemp((dir) => {
      // 64 MiB of zeros deflate to ~64 KiB; the directory claims 1,000 bytes.
      const npy = new Uint8Array(64 * 1024 * 1024);
      npy.set(writeNpy({ dtype: 'float32', shape: [3, 1], data: new Float32Array(3) }).subarray(0, 128));
      const deflated = deflateRawSync(npy, { level: 9 });
      const name = Buffer.from('a.npy');
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4);
      local.writeUInt16LE(8, 8);
      local.writeUInt32LE(deflated.length, 18);
      local.writeUInt32LE(1000, 22);
      local.writeUInt16LE(name.length, 26);
      const central = Buffer.alloc(46);
      central.writeUInt32LE(0x02014b50, 0);
      central.writeUInt16LE(20, 4);
      central.writeUInt16LE(20, 6);
      central.writeUInt16LE(8, 10);
      central.writeUInt32LE(deflated.length, 20);
      central.writeUInt32LE(1000, 24);
      central.writeUInt16LE(name.length, 28);
      const cdOffset = local.length + name.length + deflated.length;
      const eocd = Buffer.alloc(22);
      eocd.writeUInt32LE(0x06054b50, 0);
      eocd.writeUInt16LE(1, 8);
      eocd.writeUInt16LE(1, 10);
      eocd.writeUInt32LE(central.length + name.length, 12);
      eocd.writeUInt32LE(cdOffset, 16);
      return readNpz(Buffer.concat([local, name, deflated, central, name, eocd]), join(dir, 'liar.npz'));
    }),
  npzDuplicate: () =>
    inTemp((dir) => {
      const zip = Buffer.from(zipSync({ 'a.npy': features(5, 2), 'b.npy': features(5, 2, 2) }, { level: 0 }));
      // Rename every "b.npy" to "a.npy" (same length): two members with one name.
      for (let at = zip.indexOf('b.npy'); at >= 0; at = zip.indexOf('b.npy', at + 1)) zip.write('a.npy', at, 'latin1');
      return loadFeatureSet(write(dir, 'dup.npz', zip));
    }),
  npzJustUnder: () =>
    inTemp(async (dir) => {
      const ok = zipSync({ 'a.npy': features(50, 8), 'b.npy': features(50, 8, 3) }, { level: 6 });
      return (await loadFeatureSet(write(dir, 'ok.npz', ok))).members.length;
    }),

  // --- 3. dense matrices from small dicts and label lists
  resultDictSquare: () =>
    inTemp((dir) => {
      const dict: Record<string, number> = {};
      for (let i = 0; i < 20_000; i++) dict[`s${i}__t${i}`] = 0.5;
      return readLabelledMatrix(write(dir, 'square.json', JSON.stringify(dict)));
    }),
  labelledManyLabels: () =>
    inTemp((dir) => {
      const labels = Array.from({ length: 60_000 }, (_, i) => `l${i}`);
      const csv = [',' + labels.join(','), ...labels].join('\n');
      return readLabelledMatrix(write(dir, 'labels.csv', csv));
    }),
  labelledManyLabelsJson: () =>
    inTemp((dir) => {
      const labels = Array.from({ length: 60_000 }, (_, i) => `l${i}`);
      return readLabelledMatrix(write(dir, 'labels.json', JSON.stringify({ rows: labels, cols: labels, matrix: labels.map(() => []) })));
    }),

  // --- 3. n×n feature matrices
  featuresQuadratic: () =>
    inTemp(async (dir) => {
      const set = join(dir, 'set');
      mkdirSync(set);
      for (const m of ['a', 'b', 'c']) write(set, `${m}.npy`, features(20_000, 4));
      return cliRefuses(dir, 'similarity', set, '--measure', 'dds', '--out', join(dir, 'sim.json'));
    }),
  features70k: () =>
    inTemp(async (dir) => {
      const set = join(dir, 'set70k');
      mkdirSync(set);
      for (const m of ['a', 'b']) write(set, `${m}.npy`, features(70_000, 4));
      return similarityMatrix(await loadFeatureSet(set), 'rsa');
    }),
  featuresJustUnder: () =>
    inTemp(async (dir) => {
      const set = join(dir, 'small');
      mkdirSync(set);
      for (const m of ['a', 'b', 'c']) write(set, `${m}.npy`, features(200, 8, m.charCodeAt(0)));
      return (await similarityMatrix(await loadFeatureSet(set), 'dds')).matrix.data.length;
    }),

  // --- 5. silent wrong results
  ddsZeroVariance: () =>
    inTemp(async (dir) => {
      const set = join(dir, 'zv');
      mkdirSync(set);
      write(set, 'good.npy', features(20, 5));
      write(set, 'flat.npy', writeNpy({ dtype: 'float32', shape: [20, 5], data: new Float32Array(100).fill(3.7) }));
      return (await similarityMatrix(await loadFeatureSet(set), 'dds')).matrix.data[1];
    }),
  caseCollision: () =>
    inTemp(async (dir) => {
      const set = join(dir, 'case');
      mkdirSync(set);
      write(set, 'a.npy', features(5, 2));
      write(set, 'a.NPY', features(5, 2, 9));
      return loadFeatureSet(set);
    }),
  lossesHeaderOnly: () =>
    inTemp((dir) => cliRefuses(dir, 'ahp', '--losses', write(dir, 'header.csv', 'target,source,image,loss\n'), '--out', join(dir, 'aff.json'))),
  lossesHex: () =>
    inTemp((dir) =>
      cliRefuses(dir, 'ahp', '--losses', write(dir, 'hex.csv', 'target,source,image,loss\nt,a,i,0x10\nt,self,i,1\n'), '--out', join(dir, 'aff.json')),
    ),

  // --- 6. special files
  fifoInFeatureDir: () =>
    inTemp(async (dir) => {
      const set = join(dir, 'fifo');
      mkdirSync(set);
      write(set, 'a.npy', features(5, 2));
      execFileSync('mkfifo', [join(set, 'b.npy')]);
      return loadFeatureSet(set);
    }),
  devZeroLink: () =>
    inTemp(async (dir) => {
      const link = join(dir, 'zero.npy');
      symlinkSync('/dev/zero', link);
      return cliRefuses(dir, 'similarity', link, '--out', join(dir, 'sim.json'));
    }),
  symlinkToRegularFile: () =>
    inTemp(async (dir) => {
      write(dir, 'real.npy', features(6, 3));
      symlinkSync(join(dir, 'real.npy'), join(dir, 'link.npy'));
      return (await loadRepresentation(join(dir, 'link.npy'))).n;
    }),

  // --- 7. unclear messages
  directoryAsFile: () =>
    inTemp(async (dir) => {
      mkdirSync(join(dir, 'x.csv'));
      return readLabelledMatrix(join(dir, 'x.csv'));
    }),
  directoryAsNpy: () =>
    inTemp(async (dir) => {
      mkdirSync(join(dir, 'x.npy'));
      return loadRepresentation(join(dir, 'x.npy'));
    }),
  lossesFifo: () =>
    inTemp(async (dir) => {
      execFileSync('mkfifo', [join(dir, 'losses.csv')]);
      return cliRefuses(dir, 'ahp', '--losses', join(dir, 'losses.csv'), '--out', join(dir, 'aff.json'));
    }),
  lossesDirectory: () =>
    inTemp(async (dir) => {
      mkdirSync(join(dir, 'losses.csv'));
      return cliRefuses(dir, 'ahp', '--losses', join(dir, 'losses.csv'), '--out', join(dir, 'aff.json'));
    }),
  /** (A FIFO among the images is simply not listed; a link is followed, so a link to a device must be refused.) */
  imageDevZeroLink: () =>
    inTemp(async (dir) => {
      mkdirSync(join(dir, 'imgs'));
      await writeImages(join(dir, 'imgs'), 2);
      symlinkSync('/dev/zero', join(dir, 'imgs', 'z.png'));
      await writeTinyOnnx(join(dir, 'tiny.onnx'));
      return cliRefuses(dir, 'extract', '--images', join(dir, 'imgs'), '--model', join(dir, 'tiny.onnx'), '--out', join(dir, 'out'));
    }),
  /** A TF.js model.json whose weight shard path leaves the model's folder: never read. */
  tfjsShardEscape: () =>
    inTemp(async (dir) => {
      mkdirSync(join(dir, 'model'));
      write(dir, 'secret.bin', new Uint8Array(16));
      const json = { modelTopology: { node: [] }, weightsManifest: [{ paths: ['../secret.bin'], weights: [] }] };
      return readTfModel(write(join(dir, 'model'), 'model.json', JSON.stringify(json)));
    }),
  nonUtf8Name: () =>
    inTemp(async (dir) => {
      const set = join(dir, 'names');
      mkdirSync(set);
      write(set, 'good.npy', features(5, 2));
      writeFileSync(Buffer.concat([Buffer.from(`${set}/bad`), Buffer.from([0xff, 0xfe]), Buffer.from('.npy')]), 'not numpy');
      return loadFeatureSet(set);
    }),
  npyHugeHeader: () =>
    inTemp((dir) => {
      const len = 400 * 1024;
      const b = Buffer.alloc(12 + len, 0x20);
      b.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0]);
      b.writeUInt32LE(len, 8);
      b.write("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1), 'junk': '" + 'A'.repeat(len - 200), 12, 'latin1');
      const file = write(dir, 'header.npy', b);
      return readNpy(readFileSync(file), file);
    }),
  npyLongHeaderJustUnder: () => {
    // A corrupt header under the limit: the error echoes only an excerpt of it.
    const text = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1), 'junk': '" + 'B'.repeat(9000) + "', }";
    const b = Buffer.alloc(10 + text.length);
    b.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    b.writeUInt16LE(text.length, 8);
    b.write(text, 10, 'latin1');
    return readNpy(b, 'long-header.npy');
  },

  // --- zip bombs that the .npy header inside the member gives away (review of issue 11)
  npzHeaderBomb: () =>
    inTemp(async (dir) => {
      // The review's repro: a 3.9 MB zip64 member whose header claims (100000, 4800) float64 (3.84 GB) and whose
      // stream inflates to 3.9 GB. Under a budget that allows the declared size it was inflated (8 GB peak)
      // before readNpy saw the extra bytes; the header check refuses it after a few KB.
      const head = npyHeader('<f8', [100_000, 4800]);
      const zip = oneMemberZip('a.npy', deflatedZeros(head, 3_900_000_000), head.length + 3_900_000_000);
      setMaxMemory('16G');
      try {
        return await loadFeatureSet(write(dir, 'bomb2.npz', zip));
      } finally {
        setMaxMemory(undefined);
      }
    }),
  npzHeaderAgreesOverBudget: () =>
    inTemp((dir) => {
      // Header and directory agree on 64 MiB of zeros (~64 KiB compressed): refused from the declared size alone.
      const head = npyHeader('<f8', [8 * 1024 * 1024]);
      const file = write(dir, 'agree.npz', oneMemberZip('a.npy', deflatedZeros(head, 64 * 1024 * 1024), head.length + 64 * 1024 * 1024));
      setMaxMemory('32M');
      try {
        return readNpz(readFileSync(file), file);
      } finally {
        setMaxMemory(undefined);
      }
    }),
  npzInflatesOnce: () =>
    inTemp((dir) => {
      // 256 MiB of float32 zeros that header and directory agree on, under the 768 MiB budget: inflated into one
      // buffer of that size (zlib's inflateRawSync collected chunks and concatenated them: twice the size).
      const size = 256 * 1024 * 1024;
      const head = npyHeader('<f4', [size / 4]);
      const file = write(dir, 'once.npz', oneMemberZip('a.npy', deflatedZeros(head, size), head.length + size));
      return readNpz(readFileSync(file), file).get('a')!.shape;
    }),
};
