import { copyFile, mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFeatureSet } from '../../src/features/featureSet.js';
import { preprocessImage } from '../../src/images/preprocess.js';
import { readNpy } from '../../src/io/npy.js';
import { extractFeatures, type ExtractOptions } from '../../src/models/extract.js';
import { readManifest } from '../../src/models/manifest.js';
import { graphReference, onnxReference, writeImages, writeTinyOnnx, writeTinyTfGraph } from './fixtures.js';

let root: string;
let images: string;
let onnxPath: string;
let graphPath: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'taskmap-extract-'));
  images = join(root, 'images');
  await writeImages(images, 6);
  onnxPath = join(root, 'tiny.onnx');
  await writeTinyOnnx(onnxPath);
  graphPath = await writeTinyTfGraph(join(root, 'graphnet'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Fresh copy of the 6 probe images, so tests can change them independently. */
async function imageCopy(name: string): Promise<string> {
  const dir = join(root, name);
  await writeImages(dir, 6);
  return dir;
}

const run = (o: Partial<ExtractOptions> & { images: string; out: string }) =>
  extractFeatures({ models: [{ ref: onnxPath, taps: ['r', 'y'] }], workers: 0, batchSize: 4, ...o });

async function rows(file: string): Promise<{ shape: number[]; data: Float32Array }> {
  const a = readNpy(await readFile(file), file);
  return { shape: a.shape, data: a.data as Float32Array };
}

describe('extract: values, files, manifest', () => {
  it('writes one .npy per tap with the reference activations, readable by loadFeatureSet', async () => {
    const out = join(root, 'out-values');
    const s = await run({ images, out });
    expect(s.computed.map((c) => [c.label, c.images])).toEqual([
      ['tiny/r', 6],
      ['tiny/y', 6],
    ]);
    const m = (await readManifest(out))!;
    expect(m.images.files.map((f) => f.path)).toEqual(['img00.png', 'img01.png', 'img02.png', 'img03.png', 'img04.png', 'img05.png']);
    expect(m.entries.map((e) => [e.label, e.layer, e.reduce, e.shape.join('×')])).toEqual([
      ['tiny/r', 'r', 'none', '6×2×3×3'],
      ['tiny/y', 'y', 'none', '6×3'],
    ]);
    // Preprocessing inferred from the ONNX input [N,3,4,4]: NCHW 4×4, centre crop, RGB in 0…1.
    expect(m.entries[0].preprocessing).toMatchObject({ width: 4, height: 4, layout: 'NCHW', resize: 'crop', channels: 'rgb', range: [0, 1] });
    const r = await rows(join(out, 'tiny', 'r.npy'));
    const y = await rows(join(out, 'tiny', 'y.npy'));
    for (let i = 0; i < 6; i++) {
      const x = await preprocessImage(await readFile(join(images, m.images.files[i].path)), m.entries[0].preprocessing);
      const ref = onnxReference(x);
      for (let k = 0; k < 18; k++) expect(r.data[i * 18 + k]).toBeCloseTo(ref.r[k], 5);
      for (let k = 0; k < 3; k++) expect(y.data[i * 3 + k]).toBeCloseTo(ref.y[k], 5);
    }
    const set = await loadFeatureSet(out);
    expect(set.members.map((mm) => [mm.label, mm.n, mm.p])).toEqual([
      ['tiny/r', 6, 18],
      ['tiny/y', 6, 3],
    ]);
  });

  it('runs TF.js graph models in worker threads and applies reductions', async () => {
    const out = join(root, 'out-worker');
    const s = await extractFeatures({
      images,
      out,
      models: [{ ref: graphPath, taps: ['mm', 'out@proj:4:1'], overrides: { width: 2, height: 2, resize: 'stretch' } }],
      workers: 1,
    });
    expect(s.failed).toEqual([]);
    const m = (await readManifest(out))!;
    expect(m.entries.map((e) => [e.label, e.reduce, e.shape.join('×')])).toEqual([
      ['graphnet/mm', 'none', '6×2'],
      ['graphnet/out', 'proj:4:1', '6×4'],
    ]);
    const mm = await rows(join(out, 'graphnet', 'mm.npy'));
    for (let i = 0; i < 6; i++) {
      const x = await preprocessImage(await readFile(join(images, m.images.files[i].path)), m.entries[0].preprocessing);
      const ref = graphReference(x);
      expect(mm.data[2 * i]).toBeCloseTo(ref.mm[0], 4);
      expect(mm.data[2 * i + 1]).toBeCloseTo(ref.mm[1], 4);
    }
  });
});

describe('extract: cache invalidation', () => {
  it('unchanged → everything reused, files untouched', async () => {
    const out = join(root, 'out-same');
    await run({ images, out });
    const before = (await stat(join(out, 'tiny', 'r.npy'))).mtimeMs;
    const s = await run({ images, out });
    expect(s.computed).toEqual([]);
    expect(s.reused.sort()).toEqual(['tiny/r', 'tiny/y']);
    expect((await stat(join(out, 'tiny', 'r.npy'))).mtimeMs).toBe(before);
  });

  it('a changed image is recomputed alone; an added one too; a removed one only reassembles', async () => {
    const dir = await imageCopy('images-change');
    const out = join(root, 'out-change');
    await run({ images: dir, out });
    const first = await rows(join(out, 'tiny', 'y.npy'));
    // Rows are keyed by content: img03 replaced by a copy of img00 needs no model run at all.
    await copyFile(join(images, 'img00.png'), join(dir, 'img03.png'));
    const s0 = await run({ images: dir, out });
    expect(s0.computed).toEqual([]);
    expect(s0.reassembled.sort()).toEqual(['tiny/r', 'tiny/y']);
    expect(Array.from((await rows(join(out, 'tiny', 'y.npy'))).data.subarray(9, 12))).toEqual(Array.from(first.data.subarray(0, 3)));
    // New content in img04: that image alone goes through the model.
    await writeImages(join(root, 'new-content'), 2, 8, 8, 55);
    await copyFile(join(root, 'new-content', 'img00.png'), join(dir, 'img04.png'));
    const s1 = await run({ images: dir, out });
    expect(s1.computed.map((c) => c.images)).toEqual([1, 1]);
    const second = await rows(join(out, 'tiny', 'y.npy'));
    expect(Array.from(second.data.subarray(12, 15))).not.toEqual(Array.from(first.data.subarray(12, 15)));
    expect(Array.from(second.data.subarray(3, 6))).toEqual(Array.from(first.data.subarray(3, 6)));

    await copyFile(join(root, 'new-content', 'img01.png'), join(dir, 'img99.png'));
    const s2 = await run({ images: dir, out });
    expect(s2.computed.map((c) => c.images)).toEqual([1, 1]);
    expect((await rows(join(out, 'tiny', 'y.npy'))).shape).toEqual([7, 3]);

    await unlink(join(dir, 'img01.png'));
    const s3 = await run({ images: dir, out });
    expect(s3.computed).toEqual([]);
    expect(s3.reassembled.sort()).toEqual(['tiny/r', 'tiny/y']);
    const after = await rows(join(out, 'tiny', 'y.npy'));
    expect(after.shape).toEqual([6, 3]);
    expect(Array.from(after.data.subarray(0, 3))).toEqual(Array.from(first.data.subarray(0, 3)));
  });

  it('changed preprocessing or reduction recomputes exactly the affected entries', async () => {
    const out = join(root, 'out-pre');
    await run({ images, out });
    const s = await run({ images, out, models: [{ ref: onnxPath, taps: ['r', 'y'], overrides: { range: [-1, 1] } }] });
    expect(s.computed.map((c) => [c.label, c.images])).toEqual([
      ['tiny/r', 6],
      ['tiny/y', 6],
    ]);
    expect((await readManifest(out))!.entries[0].preprocessing.range).toEqual([-1, 1]);
    // Same preprocessing, one tap's reduction changed: the other tap's rows are reused from cache.
    const t = await run({ images, out, models: [{ ref: onnxPath, taps: ['r@gap', 'y'], overrides: { range: [-1, 1] } }] });
    expect(t.computed.map((c) => c.label)).toEqual(['tiny/r', 'tiny/y']);
    const m = (await readManifest(out))!;
    expect(m.entries.find((e) => e.label === 'tiny/r')!.shape).toEqual([6, 2]);
  });

  it('an interrupted run resumes with only the missing images', async () => {
    const out = join(root, 'out-resume');
    let batches = 0;
    await expect(
      run({
        images,
        out,
        batchSize: 2,
        checkpointMs: 0,
        onProgress: (done) => {
          if (done > 0 && ++batches === 2) throw new Error('simulated interruption');
        },
      }),
    ).rejects.toThrow(/simulated interruption/);
    // Two batches of 2 images were persisted before the interruption.
    const partial = await readdir(join(out, '.partial'));
    expect(partial.length).toBe(2);
    const s = await run({ images, out, batchSize: 2 });
    expect(s.computed.map((c) => c.images)).toEqual([2, 2]);
    await expect(stat(join(out, '.partial'))).rejects.toThrow();
    const fresh = await run({ images, out: join(root, 'out-resume-ref') });
    expect(fresh.computed.length).toBe(2);
    expect(Array.from((await rows(join(out, 'tiny', 'y.npy'))).data)).toEqual(Array.from((await rows(join(root, 'out-resume-ref', 'tiny', 'y.npy'))).data));
  });
});

describe('extract: errors', () => {
  it('names an unreadable image; --skip-bad leaves it out with a warning', async () => {
    const dir = await imageCopy('images-bad');
    await writeFile(join(dir, 'broken.jpg'), Buffer.from('definitely not a jpeg'));
    await expect(run({ images: dir, out: join(root, 'out-bad') })).rejects.toThrow(/unreadable image.*broken\.jpg.*--skip-bad/);
    const warnings: string[] = [];
    const s = await run({ images: dir, out: join(root, 'out-bad'), skipBad: true, onLog: (m) => warnings.push(m) });
    expect(s.skipped.map((x) => x.path)).toEqual(['broken.jpg']);
    expect(warnings.some((w) => /warning: skipping broken\.jpg/.test(w))).toBe(true);
    expect(s.manifest.images.files.length).toBe(6);
    // Images are checked while the models are planned; an image error still comes before a model error.
    await expect(run({ images: dir, out: join(root, 'out-bad2'), models: [{ ref: onnxPath, taps: ['rr'] }] })).rejects.toThrow(/unreadable image.*broken\.jpg/);
  });

  it('an unreadable image met by a job fails the run as an image error, naming every unreadable image, whatever continueOnError says; rows already computed are kept and nothing is recorded', async () => {
    const dir = await imageCopy('images-bad-late');
    await writeFile(join(dir, 'zz-broken.jpg'), Buffer.from('not a jpeg either'));
    await writeFile(join(dir, 'zz-broken2.png'), Buffer.from('nor a png'));
    const out = join(root, 'out-bad-late');
    const err = await run({ images: dir, out, batchSize: 1, continueOnError: true }).catch((e: Error) => e);
    expect(String(err)).toMatch(/unreadable images in .*: zz-broken\.jpg \(.*\); zz-broken2\.png \(.*\); fix or remove them, or pass --skip-bad/);
    // The image set was never recorded: a manifest would make the broken files known-good for the next run.
    expect(await readManifest(out)).toBeUndefined();
    await unlink(join(dir, 'zz-broken.jpg'));
    await unlink(join(dir, 'zz-broken2.png'));
    // The six good images' rows were checkpointed before the failure: the next run only reassembles them.
    const s = await run({ images: dir, out });
    expect(s.computed).toEqual([]);
    expect(s.reassembled).toEqual(['tiny/r', 'tiny/y']);
    const ref = await run({ images: dir, out: join(root, 'out-bad-late-ref') });
    expect(Array.from((await rows(join(out, 'tiny', 'r.npy'))).data)).toEqual(Array.from((await rows(join(root, 'out-bad-late-ref', 'tiny', 'r.npy'))).data));
    expect(ref.computed.length).toBe(2);
  });

  it('with no model left to decode them (every model failed to plan), the images are still checked before the manifest records them', async () => {
    const dir = await imageCopy('images-bad-noplan');
    await writeFile(join(dir, 'broken.jpg'), Buffer.from('garbage'));
    const out = join(root, 'out-bad-noplan');
    await expect(run({ images: dir, out, continueOnError: true, models: [{ ref: onnxPath, taps: ['rr'] }] })).rejects.toThrow(/unreadable image.*broken\.jpg/);
    expect(await readManifest(out)).toBeUndefined();
  });

  it('unknown layer lists close matches before any work starts', async () => {
    await expect(run({ images, out: join(root, 'out-layer'), models: [{ ref: onnxPath, taps: ['rr'] }] })).rejects.toThrow(
      /unknown layer "rr"; did you mean "r"/,
    );
  });

  it('input size mismatch names both sizes', async () => {
    await expect(run({ images, out: join(root, 'out-size'), models: [{ ref: onnxPath, taps: ['y'], overrides: { width: 5, height: 5 } }] })).rejects.toThrow(
      /input size mismatch.*height 4 \(preprocessing gives 5\), width 4 \(preprocessing gives 5\)/,
    );
  });

  it('with continueOnError a failing model is reported and the others still run', async () => {
    const s = await run({
      images,
      out: join(root, 'out-keepgoing'),
      continueOnError: true,
      models: [
        { ref: onnxPath, taps: ['y'], overrides: { width: 5, height: 5 } },
        { ref: graphPath, taps: ['out'], overrides: { width: 2, height: 2 } },
      ],
    });
    expect(s.failed.map((f) => f.model)).toEqual([onnxPath]);
    expect(s.failed[0].error).toMatch(/input size mismatch/);
    expect(s.manifest.entries.map((e) => e.label)).toEqual(['graphnet']);
  });
});
