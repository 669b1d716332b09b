/**
 * Peak-memory estimates from shapes (issue 15, goal 6): shapes read from .npy headers alone agree with loading the
 * set; the estimate's parts are the documented formulas (hand-worked here); `--dry-run` prints it without
 * computing or writing; a run over --max-memory is refused up front, naming the members, images and the option.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFeatureSet } from '../../src/features/featureSet.js';
import { readNpy, writeNpy } from '../../src/io/npy.js';
import { setMaxMemory } from '../../src/io/limits.js';
import { featureSetShapes, rdmMemory, rdmStreams, similarityMemory } from '../../src/ops/memory.js';
import { runCli } from '../helpers/cli.js';
import { gaussian } from '../helpers/random.js';

let dir: string;
let set: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taskmap-memory-'));
  set = join(dir, 'set');
  await mkdir(join(set, 'deep'), { recursive: true });
  const g = gaussian(3);
  await writeFile(join(set, 'a.npy'), writeNpy({ dtype: 'float32', shape: [10, 4], data: Float32Array.from({ length: 40 }, g) }));
  await writeFile(join(set, 'b.npy'), writeNpy({ dtype: 'float64', shape: [10, 2, 3], data: Float64Array.from({ length: 60 }, g) }));
  await writeFile(join(set, 'deep', 'c.npy'), writeNpy({ dtype: 'float32', shape: [10, 4], data: Float32Array.from({ length: 40 }, g) }));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('memory estimate', () => {
  it('reads the shapes from the .npy headers, as loading the set would give them', async () => {
    const shapes = await featureSetShapes(set);
    expect(shapes.from).toBe('headers');
    const loaded = await loadFeatureSet(set);
    expect(shapes.members).toEqual(loaded.members.map((m) => ({ label: m.label, n: m.n, p: m.p, bytesPerValue: m.data.BYTES_PER_ELEMENT })));
  });

  it('adds up the documented parts (hand-worked: 3 members × 10 images)', async () => {
    const { members } = await featureSetShapes(set);
    // features 10·(4·4 + 6·8 + 4·4) = 800; the triangle has 45 values → vectors 8·3·45 = 1080; preparing one member:
    // float64 features of the widest 8·10·6 = 480, its RDM 8·100, the triangle 8·45 and rankData's work 24·45 = 2720.
    const e = similarityMemory(members, 'rsa');
    expect(e.parts.map((p) => p.bytes)).toEqual([800, 1080, 2720]);
    expect(e.peak).toBe(4600);
    // The bootstrap adds the full n×n matrices (8·100·3) and one draw of 5 images (8·3·15·2 + 3·8·25) for a sliced measure…
    const b = similarityMemory(members, 'rsa', { bootstrap: { subset: 5 } });
    expect(b.peak - e.peak).toBe(2400 + 720 + 600);
    // …and not for z-scoring, whose draws are recomputed from features. CKA's vectors (diagonal + triangle, 55 values)
    // go straight into the block: 800 + 8·3·55 + (480 + 800).
    expect(similarityMemory(members, 'dds:norm=znorm,kernel=cosine', { bootstrap: { subset: 5 } }).peak).toBe(800 + 1320 + 1280);
    // Read one at a time (similarity on a folder): no loaded set, but the member being prepared as read (10·6·8).
    expect(similarityMemory(members, 'rsa', { oneAtATime: true }).parts.map((p) => p.bytes)).toEqual([1080, 480 + 2720]);
    // A pairwise family keeps float64 copies of every member (8·3·10·6) and two n×n matrices (16·100).
    expect(similarityMemory(members, 'procrustes').parts.map((p) => p.bytes)).toEqual([800, 1440, 1600]);
    // On 3 threads each has its two n×n matrices; the copies are shared.
    const t = similarityMemory(members, 'procrustes', { threads: 3 });
    expect(t.parts.map((p) => p.bytes)).toEqual([800, 1440, 4800]);
    expect(t.parts[2].what).toBe('two n×n work matrices per thread (3 threads)');
    // rdm loaded: the values 160, their float64 copy 320 (and distances.ts's scaled copy for Euclidean), the RDM 800.
    expect(rdmMemory(members[0]).peak).toBe(160 + 320 + 800);
    expect(rdmMemory(members[0], { distance: 'euclidean' }).peak).toBe(160 + 640 + 800);
  });

  it('streams an rdm whose file is over the budget when loaded: the n×n matrix, one block and one tile (hand-worked)', async () => {
    const { members } = await featureSetShapes(set);
    const a = members[0];
    expect([a.n, a.p, a.bytesPerValue]).toEqual([10, 4, 4]);
    try {
      // Loaded while the values, their float64 copy and three n×n matrices (kernels.ts's own allowance) fit:
      // 160 + 320 + 2400 = 2880 bytes; its estimate is what it holds, 1280.
      setMaxMemory(2880);
      expect(rdmStreams(a)).toBe(false);
      expect(rdmMemory(a).peak).toBe(1280);
      setMaxMemory(2879);
      expect(rdmStreams(a)).toBe(true);
      // Streamed, blocks of (budget − the RDM's 800 bytes)/6 = 346 bytes: all 4 features in one block; tiles of
      // ⌈10/4⌉ = 3 rows. RDM 8·100, block 10·4·(8 + 4), tile 8·3·10 twice (the engine's product and its copy).
      const e = rdmMemory(a, { distance: 'cosine' });
      expect(e.parts.map((p) => p.bytes)).toEqual([800, 480, 480]);
      expect(e.task).toBe('the RDM of a (10 images; 4 features streamed in 1 block of 4 features (320 bytes))');
    } finally {
      setMaxMemory(undefined);
    }
  });

  it('rdm over the budget when loaded streams the file and writes the same RDM (to 1e-12), where loading would be refused', async () => {
    const file = join(set, 'a.npy');
    for (const args of [['--center'], ['--distance', 'euclidean'], ['--distance', 'cosine', '--center']]) {
      const loaded = join(dir, 'loaded.npy');
      const streamed = join(dir, 'streamed.npy');
      const a = await runCli('rdm', file, ...args, '--out', loaded);
      expect(a.code).toBe(0);
      const dry = await runCli('--max-memory', '2200', 'rdm', file, '--dry-run');
      expect(dry.out).toMatch(/4 features streamed in 2 blocks of 2 features \(160 bytes\)/);
      const b = await runCli('--max-memory', '2200', 'rdm', file, ...args, '--out', streamed);
      expect(b.code).toBe(0);
      const x = readNpy(await readFile(loaded), 'loaded').data as Float64Array;
      const y = readNpy(await readFile(streamed), 'streamed').data as Float64Array;
      expect(y.length).toBe(100);
      let scale = 0;
      for (let k = 0; k < x.length; k++) scale = Math.max(scale, Math.abs(x[k]));
      for (let k = 0; k < x.length; k++) expect(Math.abs(x[k] - y[k])).toBeLessThanOrEqual(1e-12 * scale);
      await rm(loaded);
      await rm(streamed);
    }
    // --dry-run estimates the distance asked for: Euclidean distances add a scaled, centred copy of the features.
    expect((await runCli('rdm', file, '--distance', 'euclidean', '--dry-run')).out).toMatch(/float64 copy of the features and its scaled, centred copy/);
    expect((await runCli('rdm', file, '--dry-run')).out).not.toMatch(/scaled, centred copy/);
    // Under 1,080 bytes (RDM 800, blocks of 1 feature 120, tiles of 1 row 2·80) neither path fits: refused up front.
    const r = await runCli('--max-memory', '999', 'rdm', file);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/a\.npy: the RDM of .*a\.npy \(10 images; 4 features streamed in 4 blocks of 1 feature \(80 bytes\)\) would need about 1\.1 KiB/);
  });

  it('counts a member too big to load, read one at a time, as streamed: one block and one tile (hand-worked)', async () => {
    const { members } = await featureSetShapes(set);
    try {
      // Every member is over 2,879 bytes when loaded (a, c: 2,880; b: 3,360). Blocks of (2,879 − 800)/6 = 346 bytes: 4
      // features, tiles of 3 rows. b (float64): block 10·4·(8 + 8) + tile 2·8·3·10 = 1,120; then RDM, triangle and
      // ranks as above (2,240).
      setMaxMemory(2879);
      const e = similarityMemory(members, 'rsa', { oneAtATime: true });
      expect(e.parts.map((p) => p.bytes)).toEqual([1080, 1120 + 2240]);
      expect(e.parts[1].what).toMatch(/^preparing one member \(one column block and Gram tile of its file, its n×n matrix/);
      // Loaded with the set (rank), nothing streams.
      expect(similarityMemory(members, 'rsa').parts.map((p) => p.bytes)).toEqual([800, 1080, 2720]);
    } finally {
      setMaxMemory(undefined);
    }
  });

  it('--dry-run prints the estimate and computes nothing', async () => {
    const out = join(dir, 'sim.json');
    const r = await runCli('similarity', set, '--dry-run', '--out', out);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/estimated peak memory of similarity of 3 members on 10 images \(rsa\)/);
    expect(r.out).toMatch(/memory budget .* fits/);
    expect(await readdir(dir)).toEqual(['set']);
    const rdm = await runCli('rdm', join(set, 'a.npy'), '--dry-run');
    expect(rdm.out).toMatch(/the RDM of .*a\.npy \(10 images\)/);
    const rank = await runCli('rank', set, '--target', 'a', '--bootstrap', '10', '--subset', '5', '--dry-run');
    expect(rank.out).toMatch(/full n×n matrices the bootstrap draws are computed from/);
  });

  it('refuses a run over --max-memory before loading, naming the input, the size and the option', async () => {
    const r = await runCli('--max-memory', '4K', 'similarity', set, '--out', join(dir, 'x.json'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      // A folder is read member by member: one member's features at a time are counted, not all three.
      /set: similarity of 3 members on 10 images \(rsa\) would need about 4\.2 KiB at its peak .* over the memory limit of 4\.0 KiB; raise it with --max-memory/,
    );
    expect(await readdir(dir)).toEqual(['set']);
  });
});
