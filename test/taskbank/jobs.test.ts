import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNpy, writeNpy } from '../../src/io/npy.js';
import { mulberry32 } from '../../src/linalg/resample.js';
import { loadTf } from '../../src/models/tfjs.js';
import { describeJob, reusedResult, runBankJobs, targetVersions, type BankJob } from '../../src/taskbank/jobs.js';
import { pixelFeatures } from '../../src/taskbank/readout.js';
import { taskBatch, taskData } from '../../src/taskbank/taskData.js';
import { classTarget, computeScore, regressionTarget } from '../../src/transferability/index.js';
import { loadTaskNetwork, selfLosses } from '../../src/taskbank/train.js';

const R = 16;
let dir: string;
let pool: string;

function crops(n: number, seed: number): Uint8Array {
  const random = mulberry32(seed);
  return Uint8Array.from({ length: n * R * R * 3 }, (_, i) => (i % 3 === 0 ? Math.floor(random() * 256) : (i * 7) % 256));
}

beforeAll(async () => {
  await loadTf();
  dir = await mkdtemp(join(tmpdir(), 'taskmap-taskbank-jobs-'));
  pool = join(dir, 'pool');
  await mkdir(pool);
  const counts = { train: 16, transfer: 16, test: 8, probe: 4 };
  for (const [part, n] of Object.entries(counts))
    await writeFile(join(pool, `${part}.npy`), writeNpy({ dtype: 'uint8', shape: [n, R, R, 3], data: crops(n, n) }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runBankJobs', () => {
  it('trains, reads out, scores self and probes; reuses finished outputs; the worker path gives the same losses', async () => {
    const common = { poolDir: pool, resolution: R, teacherDir: join(dir, 'teachers'), teacherTrainCrops: 8 };
    const tiny = { epochs: 1, batchSize: 8, learningRate: 1e-3 };
    const net = (t: string) => join(dir, 'networks', t);
    const trainJobs: BankJob[] = ['autoencoding', 'rotation'].map((t, i) => ({
      kind: 'train',
      task: t,
      dir: net(t),
      settings: { ...tiny, seed: i },
      ...common,
    }));
    const seen: string[] = [];
    const trained = await runBankJobs(trainJobs, { workers: 0, onResult: (j, d, n) => seen.push(`${j.task} ${d}/${n}`) });
    expect(seen).toEqual(['autoencoding 1/2', 'rotation 2/2']);
    expect(trained[0].history).toHaveLength(1);
    expect(trained[0].encoderWeights).toBe(60512);
    expect(existsSync(join(net('rotation'), 'encoder', 'model.json'))).toBe(true);

    const readouts: BankJob[] = [
      { kind: 'readout', task: 'rotation', source: 'autoencoding', sourceDir: net('autoencoding'), out: join(dir, 'r', 'a.json'), settings: tiny, ...common },
      { kind: 'readout', task: 'rotation', source: 'pixels', out: join(dir, 'r', 'p.json'), settings: tiny, ...common },
      { kind: 'readout', task: 'rotation', source: 'random', randomSeed: 5, out: join(dir, 'r', 'x.json'), settings: tiny, ...common },
      { kind: 'self', task: 'rotation', sourceDir: net('rotation'), out: join(dir, 'r', 'self.json'), ...common },
      { kind: 'probe', task: 'pixels', source: 'pixels', out: join(dir, 'r', 'p.npy'), ...common },
      { kind: 'probe', task: 'autoencoding', source: 'autoencoding', sourceDir: net('autoencoding'), out: join(dir, 'r', 'a.npy'), ...common },
    ];
    const res = await runBankJobs(readouts, { workers: 0 });
    for (const r of res.slice(0, 4)) {
      expect(r.losses).toHaveLength(8);
      expect(r.cached).toBe(false);
    }
    // self = the trained network's own losses on the test crops.
    const rot = await loadTaskNetwork(net('rotation'));
    const test = taskData('rotation', readNpy(await readFile(join(pool, 'test.npy')), 'test').data as Uint8Array, undefined, R, 0);
    expect(Array.from(res[3].losses!)).toEqual(Array.from(await selfLosses(rot, test)));
    // Probe features: pixels are the crops space-to-depth; the encoder's are n × 256.
    const probe = taskData('autoencoding', readNpy(await readFile(join(pool, 'probe.npy')), 'probe').data as Uint8Array, undefined, R, 0);
    expect(Array.from(res[4].features!)).toEqual(Array.from(pixelFeatures(probe.inputs, 4, R)));
    expect(res[5].features).toHaveLength(4 * 2 * 2 * 64);
    const saved = readNpy(await readFile(join(dir, 'r', 'a.npy')), 'a.npy');
    expect(saved.shape).toEqual([4, 256]);

    // A second call reads everything back.
    const again = await runBankJobs([...trainJobs, ...readouts], { workers: 0 });
    expect(again.every((r) => r.cached)).toBe(true);
    expect(Array.from(again[2].losses!)).toEqual(Array.from(res[0].losses!));
    expect(again[0].history).toEqual(trained[0].history);

    // Another readout budget is not the saved one: recomputed, here in a worker thread, deterministic across threads.
    await rm(join(dir, 'r', 'a.json'));
    await rm(join(dir, 'r', 'x.json'));
    const viaWorker = await runBankJobs([readouts[0], readouts[2]], { workers: 1 });
    expect(viaWorker.map((r) => r.cached)).toEqual([false, false]);
    expect(Array.from(viaWorker[0].losses!)).toEqual(Array.from(res[0].losses!));
    expect(Array.from(viaWorker[1].losses!)).toEqual(Array.from(res[2].losses!));
    expect(viaWorker[0].job).toBe(readouts[0]);
  }, 60_000);

  it('label-score: the score of the source features of evenly spread labelled transfer crops against the task labels', async () => {
    const common = { poolDir: pool, resolution: R, teacherDir: join(dir, 'teachers'), teacherTrainCrops: 8 };
    const out = (name: string) => join(dir, 'labels', `${name}.json`);
    const jobs: BankJob[] = [
      { kind: 'label-score', task: 'rotation', source: 'pixels', labelScore: { score: 'logme', labelled: 8 }, out: out('rot'), ...common },
      { kind: 'label-score', task: 'autoencoding', source: 'pixels', labelScore: { score: 'logme', labelled: 8 }, out: out('ae'), ...common },
    ];
    const [rot, ae] = await runBankJobs(jobs, { workers: 0 });
    expect(describeJob(jobs[0])).toBe('logme pixels → rotation');
    // Independently: crops 0, 2, …, 14 of the 16 transfer crops; the pixels' features are the inputs space-to-depth.
    const transfer = readNpy(await readFile(join(pool, 'transfer.npy')), 'transfer').data as Uint8Array;
    const picked = Array.from({ length: 8 }, (_, i) => 2 * i);
    const features = (inputs: Float32Array) => ({ rows: 8, cols: 2 * 2 * 192, data: Float64Array.from(pixelFeatures(inputs, 8, R)) });
    const rotData = taskBatch('rotation', transfer, R, 0, picked);
    // Rotation's one-hot targets become class codes.
    const codes = picked.map((_, i) => Array.from(rotData.targets.subarray(4 * i, 4 * i + 4)).indexOf(1));
    const expectRot = await computeScore('logme', { features: features(rotData.inputs), target: classTarget(codes) });
    expect(rot.value).toBeCloseTo(expectRot.value, 12);
    // Autoencoding's 16×16×3 map is read per feature cell: each of the 2×2 cells' 192 pixel features against its 8×8×3
    // block of the target (32 samples), laid out as the decoder's depth-to-space.
    const aeData = taskBatch('autoencoding', transfer, R, 0, picked);
    const cellFeatures = new Float64Array(32 * 192);
    const blocks = new Float64Array(32 * 192);
    const px = pixelFeatures(aeData.inputs, 8, R);
    for (let i = 0; i < 8; i++)
      for (let cy = 0; cy < 2; cy++)
        for (let cx = 0; cx < 2; cx++) {
          const row = (i * 2 + cy) * 2 + cx;
          for (let k = 0; k < 192; k++) cellFeatures[row * 192 + k] = px[row * 192 + k];
          for (let dy = 0; dy < 8; dy++)
            for (let dx = 0; dx < 8; dx++)
              for (let c = 0; c < 3; c++) blocks[row * 192 + (dy * 8 + dx) * 3 + c] = aeData.targets[((i * R + cy * 8 + dy) * R + cx * 8 + dx) * 3 + c];
        }
    const expectAe = await computeScore('logme', {
      features: { rows: 32, cols: 192, data: cellFeatures },
      target: regressionTarget({ rows: 32, cols: 192, data: blocks }),
    });
    expect(ae.value).toBeCloseTo(expectAe.value, 12);
    // Read back while the score and the labelled count are the saved ones; another count is computed afresh.
    const again = await runBankJobs(jobs, { workers: 0 });
    expect(again.map((r) => [r.cached, r.value])).toEqual([
      [true, rot.value],
      [true, ae.value],
    ]);
    // A score saved under an older way of turning labels into targets is computed afresh.
    const file = JSON.parse(await readFile(out('rot'), 'utf8'));
    await writeFile(out('rot'), JSON.stringify({ ...file, labelTargets: 0 }));
    expect((await reusedResult(jobs[0]))?.cached).toBeUndefined();
    const more = await runBankJobs([{ ...jobs[0], labelScore: { score: 'logme', labelled: 16 } }], { workers: 0 });
    expect(more[0].cached).toBe(false);
    expect(more[0].value).not.toBe(rot.value);
    // Segmentation's labels are segment numbers that mean nothing: no score reads them.
    await expect(
      runBankJobs([{ kind: 'label-score', task: 'segmentation', source: 'pixels', labelScore: { score: 'logme', labelled: 8 }, ...common }], { workers: 0 }),
    ).rejects.toThrow(/segmentation has no labels a score can read/);
  }, 60_000);

  it('target versions: outputs saved before versions existed (all 1) are reused for every task but keypoints (version 2)', async () => {
    const common = { poolDir: pool, resolution: R, teacherDir: join(dir, 'teachers'), teacherTrainCrops: 8 };
    const tiny = { epochs: 1, batchSize: 8, learningRate: 1e-3 };
    const root = join(dir, 'versions');
    const net = (t: string) => join(root, 'networks', t);
    const jobs: BankJob[] = [
      ...['edges', 'keypoints'].map((t, i): BankJob => ({ kind: 'train', task: t, dir: net(t), settings: { ...tiny, seed: 10 + i }, ...common })),
      ...[
        ['edges', 'edges'],
        ['edges', 'keypoints'],
        ['keypoints', 'edges'],
        ['keypoints', 'pixels'],
        ['edges', 'pixels'],
      ].map(([t, s]): BankJob => ({
        kind: 'readout',
        task: t,
        source: s,
        sourceDir: s === 'pixels' ? undefined : net(s),
        out: join(root, 'transfers', t, `${s}.json`),
        settings: tiny,
        ...common,
      })),
      ...['edges', 'keypoints'].map((t): BankJob => ({ kind: 'self', task: t, sourceDir: net(t), out: join(root, 'self', `${t}.json`), ...common })),
      ...['edges', 'keypoints', 'pixels'].map((s): BankJob => ({
        kind: 'probe',
        task: s,
        source: s,
        sourceDir: s === 'pixels' ? undefined : net(s),
        out: join(root, 'probe', `${s}.npy`),
        ...common,
      })),
    ];
    const dependsOnKeypoints = jobs.map((j) => j.task === 'keypoints' || j.source === 'keypoints');
    expect(dependsOnKeypoints.filter(Boolean)).toHaveLength(6);
    expect(jobs.map((j) => targetVersions(j))).toContainEqual({ keypoints: 2, edges: 1 });
    expect(targetVersions(jobs.at(-1)!)).toEqual({});

    const first = await runBankJobs(jobs, { workers: 0 });
    expect(first.every((r) => !r.cached)).toBe(true);
    // Everything current is reused.
    for (const j of jobs) expect(await reusedResult(j), describeJob(j)).toBeDefined();

    // The files as a bank trained before target versions existed left them: no versions anywhere (= all 1).
    const strip = async (file: string, f: (o: Record<string, any>) => void) => {
      const o = JSON.parse(await readFile(file, 'utf8')) as Record<string, any>;
      f(o);
      await writeFile(file, JSON.stringify(o));
    };
    for (const t of ['edges', 'keypoints']) {
      await strip(join(net(t), 'result.json'), (o) => delete o.key.targetVersion);
      await strip(join(net(t), 'checkpoint.json'), (o) => delete o.key.targetVersion);
      await strip(join(root, 'self', `${t}.json`), (o) => delete o.targetVersions);
    }
    for (const j of jobs.filter((x) => x.kind === 'readout')) await strip(j.out!, (o) => delete o.targetVersions);
    for (const s of ['edges', 'keypoints', 'pixels']) await rm(join(root, 'probe', `${s}.npy.json`));
    for (const [i, j] of jobs.entries()) expect((await reusedResult(j)) === undefined, describeJob(j)).toBe(dependsOnKeypoints[i]);

    // A run redoes exactly the keypoints jobs; the old keypoints network is kept aside, the new one records version 2.
    const second = await runBankJobs(jobs, { workers: 0 });
    expect(second.map((r) => !r.cached)).toEqual(dependsOnKeypoints);
    expect(existsSync(join(`${net('keypoints')}.target-v1`, 'network.json'))).toBe(true);
    expect(JSON.parse(await readFile(join(net('keypoints'), 'result.json'), 'utf8')).key.targetVersion).toBe(2);
    // Same settings and data: the retrained network and everything read from it are the first run's.
    second.forEach((r, i) =>
      expect(Array.from(r.losses ?? r.features ?? []), describeJob(jobs[i])).toEqual(Array.from(first[i].losses ?? first[i].features ?? [])),
    );
    for (const j of jobs) expect(await reusedResult(j), describeJob(j)).toBeDefined();
  }, 60_000);

  it('names the job that failed', async () => {
    const common = { poolDir: pool, resolution: R, teacherDir: join(dir, 'teachers'), teacherTrainCrops: 8 };
    await expect(runBankJobs([{ kind: 'readout', task: 'edges', source: 'nowhere', ...common }], { workers: 0 })).rejects.toThrow(
      /readout nowhere → edges: source nowhere needs the folder of its trained network/,
    );
    await expect(runBankJobs([{ kind: 'self', task: 'edges', sourceDir: join(dir, 'missing'), ...common }], { workers: 0 })).rejects.toThrow(
      /self edges: .*no trained task network here/,
    );
    await expect(runBankJobs([{ kind: 'train', task: 'edges', dir: join(dir, 'e'), ...common, poolDir: join(dir, 'nopool') }], { workers: 0 })).rejects.toThrow(
      /train edges: .*ENOENT/,
    );
  }, 30_000);
});
