import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadFeatureSet, loadRepresentation, saveFeatureSet } from '../../src/features/featureSet.js';
import { applyImageList, checkSameImages, IMAGE_WARNING_CODE, readImagesList } from '../../src/features/imageIdentity.js';
import { hashBytes } from '../../src/images/list.js';
import { similarityMatrix } from '../../src/measures/similarity.js';
import { extractFeatures } from '../../src/models/extract.js';
import { setMaxMemory } from '../../src/io/limits.js';
import { writeNpy } from '../../src/io/npy.js';
import { imagesDigest, readManifest, writeManifest } from '../../src/models/manifest.js';
import { rdmStreams } from '../../src/ops/memory.js';
import { rdmOfFile } from '../../src/ops/similarity.js';
import { rankSources, subsetImages } from '../../src/taxonomy/rank.js';
import { runCli } from '../helpers/cli.js';
import { writeImages, writeTinyOnnx } from '../models/fixtures.js';

let root: string;
let onnx: string;
/** Extractions: A and A2 on the same photos (separate folders), B on other photos of the same count and names, R on A's photos in reverse order. */
const feat = { A: '', A2: '', B: '', R: '' };
const imgs = { A: '', A2: '', B: '', R: '' };
const N = 6;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'taskmap-ids-'));
  onnx = join(root, 'tiny.onnx');
  await writeTinyOnnx(onnx);
  imgs.A = join(root, 'imgA');
  imgs.A2 = join(root, 'imgA2');
  imgs.B = join(root, 'imgB');
  imgs.R = join(root, 'imgR');
  await writeImages(imgs.A, N, 8, 8, 1);
  await writeImages(imgs.A2, N, 8, 8, 1);
  await writeImages(imgs.B, N, 8, 8, 2);
  await mkdir(imgs.R);
  for (let k = 0; k < N; k++) await copyFile(join(imgs.A, `img0${k}.png`), join(imgs.R, `img0${N - 1 - k}.png`));
  for (const key of ['A', 'A2', 'B', 'R'] as const) {
    feat[key] = join(root, `feat${key}`);
    await extractFeatures({ images: imgs[key], out: feat[key], models: [{ ref: onnx, taps: ['r', 'y'] }], workers: 0, batchSize: 4 });
  }
}, 60_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Image-identity warnings emitted while a test runs. */
let warnings: string[] = [];
const onWarning = (w: Error & { code?: string }) => {
  if (w.code === IMAGE_WARNING_CODE) warnings.push(w.message);
};
beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});
/** process.emitWarning delivers on the next tick. */
const settle = () => new Promise((r) => setImmediate(r));

const sha = async (file: string) => hashBytes(await readFile(file));

describe('ids from the extraction manifest', () => {
  it('loadFeatureSet of an extracted folder gives every member the SHA-256 of its images, in row order', async () => {
    const set = await loadFeatureSet(feat.A);
    const want = await Promise.all(Array.from({ length: N }, (_, k) => sha(join(imgs.A, `img0${k}.png`))));
    expect(set.members.map((m) => m.label)).toEqual(['tiny/r', 'tiny/y']);
    for (const m of set.members) {
      expect(m.images).toEqual(want);
      expect(m.imagesFrom).toBe(join(feat.A, 'manifest.json'));
      expect(m.origin).toBe(feat.A);
    }
    expect(set.images).toEqual(want);
    // The layout the extraction recorded travels with each member (units=channels of the matching measures reads it).
    const recorded = new Map((await readManifest(feat.A))!.entries.map((e) => [e.file, e.featureLayout]));
    expect(recorded.size).toBe(2);
    for (const m of set.members) expect(m.featureLayout).toBe(recorded.get(`${m.label}.npy`));
    // --order selects members; each keeps its ids.
    const one = await loadFeatureSet(feat.A, { order: ['tiny/y'] });
    expect(one.members[0].images).toEqual(want);
    // A single .npy inside an extracted folder (label with '/': the manifest is one level up) finds them too.
    const rep = await loadRepresentation(join(feat.A, 'tiny', 'y.npy'));
    expect(rep.images).toEqual(want);
    expect(rep.featureLayout).toBe(recorded.get('tiny/y.npy'));
  });

  it('a row subset (bootstrap) subsets the ids', async () => {
    const set = await loadFeatureSet(feat.A);
    const sub = subsetImages(set.members[1], Uint32Array.from([4, 1, 2]));
    expect(sub.images).toEqual([4, 1, 2].map((i) => set.images![i]));
    expect(sub.origin).toBe(feat.A);
    expect(sub.featureLayout).toBe(set.members[1].featureLayout);
    expect(sub.featureLayout).toBeDefined();
  });

  it('entries still aligned with an older image list take it from previousImages; members that disagree are an error naming both and the row', async () => {
    const dir = join(root, 'mixed');
    await mkdir(join(dir, 'tiny'), { recursive: true });
    for (const f of ['r', 'y']) await copyFile(join(feat.A, 'tiny', `${f}.npy`), join(dir, 'tiny', `${f}.npy`));
    const m = (await readManifest(feat.A))!;
    const old = [...m.images.files].reverse();
    const digest = imagesDigest(old);
    m.entries = m.entries.map((e) => (e.label === 'tiny/y' ? { ...e, imagesDigest: digest } : e));
    await writeManifest(dir, { ...m, previousImages: { [digest]: old } });
    await expect(loadFeatureSet(dir)).rejects.toThrow(
      /members: .*tiny\/r\.npy .* and .*tiny\/y\.npy .* are not computed on the same images — the same images in a different order: row 0 is [0-9a-f]{12}… in tiny\/r but [0-9a-f]{12}… in tiny\/y/,
    );
    // Only one of them: loads, with the previous list as its ids.
    const y = await loadFeatureSet(dir, { order: ['tiny/y'] });
    expect(y.members[0].images).toEqual(old.map((f) => f.sha256));
  });

  it('a manifest listing another number of images than the file has rows is an error', async () => {
    const dir = join(root, 'stale');
    await mkdir(join(dir, 'tiny'), { recursive: true });
    await copyFile(join(feat.A, 'tiny', 'y.npy'), join(dir, 'tiny', 'y.npy'));
    const m = (await readManifest(feat.A))!;
    const files = m.images.files.slice(0, 4);
    await writeManifest(dir, { ...m, images: { ...m.images, files }, entries: m.entries.map((e) => ({ ...e, imagesDigest: imagesDigest(files) })) });
    await expect(loadFeatureSet(dir)).rejects.toThrow(/has 6 rows but .*manifest\.json lists 4 images for it; .*re-run `taskmap extract`/);
    // `rdm` on the file: loaded, and streamed in column blocks when loading would be over the memory budget (a wider
    // file, so that the budget that makes it stream still reads the manifest).
    const file = join(dir, 'tiny', 'y.npy');
    const p = 2000;
    await writeFile(file, writeNpy({ dtype: 'float32', shape: [6, p], data: Float32Array.from({ length: 6 * p }, (_, k) => Math.sin(k)) }));
    const stale = /y\.npy: has 6 rows but .*manifest\.json lists 4 images for it; .*re-run `taskmap extract`/;
    await expect(rdmOfFile(file)).rejects.toThrow(stale);
    setMaxMemory(32 * 1024);
    try {
      expect(rdmStreams({ label: 'y', n: 6, p, bytesPerValue: 4 })).toBe(true);
      await expect(rdmOfFile(file)).rejects.toThrow(stale);
    } finally {
      setMaxMemory(undefined);
    }
  });
});

describe('comparing feature sets', () => {
  it('two extractions over different images of the same size: similarity across them is refused', async () => {
    const a = await loadFeatureSet(feat.A);
    const b = await loadFeatureSet(feat.B);
    expect(b.n).toBe(a.n);
    const err = await similarityMatrix([...a.members, ...b.members], 'rsa').catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(
      /featA\/tiny\/r\.npy \(images from .*featA\/manifest\.json\) and .*featB\/tiny\/r\.npy \(images from .*featB\/manifest\.json\) are not computed on the same images — different images: row 0 is [0-9a-f]{12}… in \S*featA\/tiny\/r\.npy but [0-9a-f]{12}… in \S*featB\/tiny\/r\.npy/,
    );
    // The same photos in another order: said so.
    const r = await loadFeatureSet(feat.R);
    await expect(similarityMatrix([a.members[1], r.members[1]], 'rsa')).rejects.toThrow(/the same images in a different order: row 0/);
  });

  it('taskmap rank across them is refused with a clear message (a .npy target in another extracted folder)', async () => {
    const res = await runCli('rank', feat.A, '--target', join(feat.B, 'tiny', 'y.npy'));
    expect(res.code).toBe(1);
    expect(res.err).toMatch(
      /^taskmap: target y: .*featB\/tiny\/y\.npy \(images from .*manifest\.json\) and .*featA\/tiny\/r\.npy .* are not computed on the same images — different images: row 0/,
    );
    // The library too (member of one set ranked against the other set's candidates).
    const b = await loadFeatureSet(feat.B);
    const a = await loadFeatureSet(feat.A);
    await expect(rankSources(a.members, { kind: 'representation', representation: b.members[1] }, { measure: 'rsa' })).rejects.toThrow(
      /not computed on the same images/,
    );
  });

  it('the same images in the same order from two separate extractions compare fine, without a warning (bootstrap included)', async () => {
    const a = await loadFeatureSet(feat.A);
    const a2 = await loadFeatureSet(feat.A2);
    expect(a2.images).toEqual(a.images);
    expect(checkSameImages(a.members[0], a2.members[0])).toBe('same');
    const sim = await similarityMatrix([...a.members, ...a2.members], 'rsa');
    expect(sim.matrix.data[0 * 4 + 2]).toBeCloseTo(1, 10); // the same model on the same photos
    const res = await runCli('rank', feat.A, '--target', join(feat.A2, 'tiny', 'y.npy'), '--bootstrap', '3', '--subset', '4');
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/tiny\/y/);
    await settle();
    expect(warnings).toEqual([]);
  });

  it('a set with image ids against a file without them: compared as before, with one warning', async () => {
    const a = await loadFeatureSet(feat.A);
    const plain = join(root, 'plain');
    await saveFeatureSet(plain, { n: a.n, members: a.members.map((m) => ({ ...m, images: undefined })) });
    const target = join(plain, 'tiny', 'y.npy');
    const res = await runCli('rank', feat.A, '--target', target, '--bootstrap', '3', '--subset', '4');
    expect(res.code).toBe(0);
    await settle();
    expect(warnings).toHaveLength(1); // once, though every bootstrap draw compares them again
    expect(warnings[0]).toMatch(
      /target y: .*plain\/tiny\/y\.npy and .*featA are different feature sets of 6 images, and y carries no image ids, so taskmap cannot check .*--images-list/,
    );
    // Library: a member of a set without ids meets one with them.
    warnings = [];
    const p = await loadFeatureSet(plain);
    expect(p.images).toBeUndefined();
    await similarityMatrix([a.members[0], p.members[0]], 'rsa');
    await settle();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/different feature sets .* tiny\/r carries no image ids/);
    // Members of one set without ids: trusted as before, no warning.
    warnings = [];
    await similarityMatrix(p, 'rsa');
    await settle();
    expect(warnings).toEqual([]);
  });
});

describe('--images-list', () => {
  it('round trip: image paths are hashed, so a list of the photos matches their extraction, and the wrong photos are refused', async () => {
    const a = await loadFeatureSet(feat.A);
    const plain = join(root, 'plain-list');
    await saveFeatureSet(plain, { n: a.n, members: a.members.map((m) => ({ ...m, images: undefined })) });
    const listA = join(root, 'imagesA.txt');
    await writeFile(listA, Array.from({ length: N }, (_, k) => `${relative(root, join(imgs.A2, `img0${k}.png`))}\n`).join(''));
    const list = (await readImagesList(listA))!;
    expect(list.ids).toEqual(a.images);
    const loaded = await loadFeatureSet(plain, { images: list });
    expect(loaded.images).toEqual(a.images);
    expect(loaded.members.every((m) => m.imagesFrom === listA)).toBe(true);

    // CLI: the plain set with the list against A's extraction → fine, no warning; against B's → refused.
    let res = await runCli('rank', plain, '--images-list', listA, '--target', join(feat.A, 'tiny', 'y.npy'));
    expect(res.code).toBe(0);
    await settle();
    expect(warnings).toEqual([]);
    res = await runCli('rank', plain, '--images-list', listA, '--target', join(feat.B, 'tiny', 'y.npy'));
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/not computed on the same images — different images: row 0/);
    // --target-images for a .npy outside an extracted folder.
    const listB = join(root, 'imagesB.json');
    await writeFile(listB, JSON.stringify(await Promise.all(Array.from({ length: N }, (_, k) => sha(join(imgs.B, `img0${k}.png`))))));
    res = await runCli('rank', feat.A, '--target', join(plain, 'tiny', 'y.npy'), '--target-images', listB);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/images from .*imagesB\.json.* are not computed on the same images/);
    res = await runCli('rank', feat.A, '--target', 'tiny/y', '--target-images', listB);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/--target-images applies only to a \.npy target/);
    // similarity: the list is checked against the manifest's ids.
    res = await runCli('similarity', feat.A, '--images-list', listB);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/its images are not those of the images list — different images: row 0/);
    res = await runCli('similarity', feat.A, '--images-list', listA);
    expect(res.code).toBe(0);
  });

  it('names, JSON lists and manifests; the count must match the rows', async () => {
    const names = join(root, 'names.txt');
    await writeFile(names, '\uFEFFcat\r\ndog\n\nbird\n');
    expect((await readImagesList(names))!.ids).toEqual(['cat', 'dog', 'bird']);
    const json = join(root, 'names.json');
    await writeFile(json, JSON.stringify(['cat', { sha256: 'A'.repeat(64) }, { path: 'bird' }]));
    expect((await readImagesList(json))!.ids).toEqual(['cat', 'a'.repeat(64), 'bird']);
    const fromManifest = (await readImagesList(join(feat.B, 'manifest.json')))!;
    expect(fromManifest.ids).toEqual((await loadFeatureSet(feat.B)).images);
    expect(await readImagesList(undefined)).toBeUndefined();
    const empty = join(root, 'empty.txt');
    await writeFile(empty, '\n\n');
    await expect(readImagesList(empty)).rejects.toThrow(/lists no images/);

    const a = await loadFeatureSet(feat.A);
    const rep = { ...a.members[1], images: undefined, imagesFrom: undefined };
    expect(() => applyImageList(rep, { ids: ['x', 'y'], from: 'short.txt' })).toThrow(/short\.txt: lists 2 images, but .* has 6 rows/);
    // Names against content hashes cannot be compared: a warning, and the manifest's ids stay.
    const withIds = { ...a.members[1] };
    applyImageList(withIds, { ids: ['a', 'b', 'c', 'd', 'e', 'f'], from: 'names6.txt' });
    expect(withIds.images).toEqual(a.images);
    await settle();
    expect(warnings.some((w) => /names6\.txt: names images, but .* has content hashes/.test(w))).toBe(true);
    // Two name lists: compared as they are.
    const x = { ...rep, images: ['a', 'b', 'c', 'd', 'e', 'f'], imagesFrom: 'x.txt' };
    const y = { ...rep, images: ['a', 'b', 'c', 'd', 'e', 'g'], imagesFrom: 'y.txt' };
    expect(() => checkSameImages(x, y)).toThrow(/different images: row 5 is "f" in x\.txt but "g" in y\.txt/);
  });
});
