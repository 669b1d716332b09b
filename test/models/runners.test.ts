import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFile, resolveModelFile } from '../../src/models/load.js';
import { layersWithShapes } from '../../src/models/inspect.js';
import { OnnxRunner } from '../../src/models/onnx.js';
import { loadTf, loadTfModel } from '../../src/models/tfjs.js';
import { readFile } from 'node:fs/promises';
import { graphReference, onnxReference, saveLayers, writeTinyOnnx, writeTinyTfGraph } from './fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taskmap-runners-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThan(tol);
}

const input = (n: number, size: number, seed: number) => Float32Array.from({ length: n * size }, (_, i) => Math.sin(seed + i * 0.37) * 0.8);

describe('ONNX runner', () => {
  it('reads intermediate tensors that are not graph outputs, with exact values', async () => {
    const path = join(dir, 'tiny.onnx');
    await writeTinyOnnx(path);
    const runner = await OnnxRunner.load(await readFile(path), path);
    expect(runner.inputs[0]).toMatchObject({ name: 'x', shape: [null, 3, 4, 4], dtype: 'float32' });
    expect(runner.outputs).toEqual(['y']);
    expect(runner.layers().map((l) => `${l.name}:${l.op}`)).toEqual(['c:Conv', 'r:Relu', 'g:GlobalAveragePool', 'f:Flatten', 'y:Gemm']);
    const x = input(2, 48, 1);
    const [c, r, y] = await runner.run({ n: 2, data: x, shape: [2, 3, 4, 4] }, ['c', 'r', 'y']);
    expect(c.shape).toEqual([2, 2, 3, 3]);
    expect(r.shape).toEqual([2, 2, 3, 3]);
    expect(y.shape).toEqual([2, 3]);
    for (let i = 0; i < 2; i++) {
      const ref = onnxReference(x.subarray(i * 48, (i + 1) * 48));
      expectClose(c.data.subarray(i * 18, (i + 1) * 18), ref.c);
      expectClose(r.data.subarray(i * 18, (i + 1) * 18), ref.r);
      expectClose(y.data.subarray(i * 3, (i + 1) * 3), ref.y);
    }
    // The relu really clipped something, so the test distinguishes c from r.
    expect(Array.from(c.data).some((v) => v < 0)).toBe(true);
    runner.dispose();
  });

  it('lists layers with shapes from one blank run', async () => {
    const path = join(dir, 'tiny.onnx');
    await writeTinyOnnx(path);
    const runner = await loadModelFile(await resolveModelFile(path));
    const layers = await layersWithShapes(runner, { width: 4, height: 4, resize: 'crop', channels: 'rgb', range: [0, 1], layout: 'NCHW', dtype: 'float32' });
    expect(layers.map((l) => l.shape)).toEqual([
      [1, 2, 3, 3],
      [1, 2, 3, 3],
      [1, 2, 1, 1],
      [1, 2],
      [1, 3],
    ]);
    runner.dispose();
  });

  it('refuses a file that is neither ONNX nor TF.js, saying what it expected', async () => {
    const bad = join(dir, 'model.bin');
    await writeFile(bad, Buffer.from('this is not a model at all \x00\x01\x02\x03\xff\xfe'));
    await expect(resolveModelFile(bad)).rejects.toThrow(/not a model this tool can read.*ONNX.*TF\.js/);
    const badOnnx = join(dir, 'broken.onnx');
    await writeFile(badOnnx, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
    await expect(OnnxRunner.load(await readFile(badOnnx), badOnnx)).rejects.toThrow(/not an ONNX model/);
    const json = join(dir, 'x.json');
    await writeFile(json, '{"hello": 1}');
    await expect(resolveModelFile(json)).rejects.toThrow(/not a TF\.js model/);
  });
});

describe('TF.js runners (WASM backend)', () => {
  it('graph model: intermediate nodes by name', async () => {
    const path = await writeTinyTfGraph(join(dir, 'graph'));
    expect((await resolveModelFile(join(dir, 'graph'))).format).toBe('tfjs-graph');
    const runner = await loadTfModel(path);
    expect(runner.layers().map((l) => l.name)).toEqual(['flat', 'mm', 'add', 'out']);
    const x = input(3, 12, 2);
    const [mm, out] = await runner.run({ n: 3, data: x, shape: [3, 2, 2, 3] }, ['mm', 'out']);
    expect(mm.shape).toEqual([3, 2]);
    for (let i = 0; i < 3; i++) {
      const ref = graphReference(x.subarray(i * 12, (i + 1) * 12));
      expectClose(mm.data.subarray(i * 2, i * 2 + 2), ref.mm);
      expectClose(out.data.subarray(i * 2, i * 2 + 2), ref.out);
    }
    runner.dispose();
  });

  it('layers model saved to disk: intermediate layers by name', async () => {
    const tf = await loadTf();
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [3, 3, 1], filters: 2, kernelSize: 2, name: 'conv', activation: 'relu' }),
        tf.layers.flatten({ name: 'flat' }),
        tf.layers.dense({ units: 2, name: 'dense' }),
      ],
    });
    const k = [0.5, -1, 1, 0.25, -0.5, 2, 0.75, -0.25]; // [2,2,1,2]
    const dk = Array.from({ length: 16 }, (_, i) => ((i % 5) - 2) / 4); // [8,2]
    model.setWeights([tf.tensor4d(k, [2, 2, 1, 2]), tf.tensor1d([0.1, -0.1]), tf.tensor2d(dk, [8, 2]), tf.tensor1d([1, -1])]);
    const ldir = join(dir, 'layers');
    await saveLayers(tf, model, ldir);
    expect((await resolveModelFile(ldir)).format).toBe('tfjs-layers');
    const runner = await loadTfModel(join(ldir, 'model.json'));
    expect(runner.layers().map((l) => [l.name, l.op, l.shape])).toEqual([
      ['conv', 'Conv2D', [null, 2, 2, 2]],
      ['flat', 'Flatten', [null, 8]],
      ['dense', 'Dense', [null, 2]],
    ]);
    const x = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9].map((v) => v / 10));
    const [conv, dense] = await runner.run({ n: 1, data: x, shape: [1, 3, 3, 1] }, ['conv', 'dense']);
    // Hand-computed: conv[i][j][o] = relu(b[o] + Σ_uv x[i+u][j+v]·k[u][v][o]).
    const conv2 = new Float64Array(8);
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 2; j++)
        for (let o = 0; o < 2; o++) {
          let s = [0.1, -0.1][o];
          for (let u = 0; u < 2; u++) for (let v = 0; v < 2; v++) s += x[(i + u) * 3 + j + v] * k[(u * 2 + v) * 2 + o];
          conv2[(i * 2 + j) * 2 + o] = Math.max(0, s);
        }
    expectClose(conv.data, conv2);
    const dense2 = [0, 1].map((o) => [1, -1][o] + conv2.reduce((s, v, i) => s + v * dk[i * 2 + o], 0));
    expectClose(dense.data, dense2);
    runner.dispose();
    model.dispose();
  });
});
