import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preprocessImage } from '../../src/images/preprocess.js';
import { readNpy } from '../../src/io/npy.js';
import { extractFeatures } from '../../src/models/extract.js';
import { hfPreprocessing } from '../../src/models/huggingface.js';
import { listLayers } from '../../src/models/load.js';
import { readManifest } from '../../src/models/manifest.js';
import { resolveModel } from '../../src/models/resolve.js';
import { zooModel, zooModelPath } from '../../src/models/zoo.js';
import { loadOnnxProto } from '../../src/util/onnxRuntime.js';
import { onnxReference, onnxValueInfo, writeImages, writeTinyOnnx } from './fixtures.js';

let root: string;
let images: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'taskmap-hf-'));
  images = join(root, 'images');
  await writeImages(images, 5, 10, 7);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const MEAN = [0.5, 0.4, 0.3];
const STD = [0.2, 0.25, 0.3];

/** A Hugging Face style folder: config.json, preprocessor_config.json and the given onnx/ files. */
async function hfFolder(
  name: string,
  pre: Record<string, unknown>,
  onnxFiles: string[],
  write: (path: string) => Promise<void> = writeTinyOnnx,
): Promise<string> {
  const dir = join(root, name);
  await mkdir(join(dir, 'onnx'), { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify({ model_type: 'tiny', architectures: ['TinyForImageClassification'] }));
  await writeFile(join(dir, 'preprocessor_config.json'), JSON.stringify(pre));
  for (const f of onnxFiles) await write(join(dir, 'onnx', f));
  return dir;
}

const VIT_STYLE = {
  image_processor_type: 'ViTImageProcessor',
  do_resize: true,
  size: { height: 4, width: 4 },
  resample: 2,
  do_rescale: true,
  rescale_factor: 1 / 255,
  do_normalize: true,
  image_mean: MEAN,
  image_std: STD,
};

describe('Hugging Face ONNX folders as --model DIR', () => {
  it('takes the preprocessing from preprocessor_config.json (recorded in the manifest) and extracts the reference values', async () => {
    const dir = await hfFolder('tiny-vit', VIT_STYLE, ['model.onnx', 'model_quantized.onnx']);
    const spec = await resolveModel(dir);
    expect(spec.id).toBe('tiny-vit');
    expect(spec.file.path).toBe(join(dir, 'onnx', 'model.onnx'));
    expect(spec.huggingface?.notes).toEqual(['resample 2 is not applied (taskmap resizes with Lanczos-3)']);
    const out = join(root, 'out-vit');
    await extractFeatures({ images, out, models: [{ ref: dir, taps: ['r', 'y'] }], workers: 0, batchSize: 2 });
    const m = (await readManifest(out))!;
    const pre = m.entries[0].preprocessing;
    expect(pre).toEqual({ width: 4, height: 4, resize: 'stretch', channels: 'rgb', range: [0, 1], mean: MEAN, std: STD, layout: 'NCHW', dtype: 'float32' });
    const y = readNpy(await readFile(join(out, 'tiny-vit', 'y.npy')), 'y');
    for (let i = 0; i < 5; i++) {
      const x = await preprocessImage(await readFile(join(images, m.images.files[i].path)), pre);
      // The normalisation really happened: x = (v/255 − mean) / std.
      expect(Math.min(...x)).toBeLessThan(0);
      const ref = onnxReference(x);
      for (let k = 0; k < 3; k++) expect(y.data[i * 3 + k]).toBeCloseTo(ref.y[k], 5);
    }
  });

  it('picks model.onnx, else the only variant; several variants without model.onnx must be named; user flags override', async () => {
    const q = await hfFolder('only-quant', VIT_STYLE, ['model_quantized.onnx']);
    const s = await resolveModel(q);
    expect([s.id, s.file.path]).toEqual(['only-quant_quantized', join(q, 'onnx', 'model_quantized.onnx')]);
    const two = await hfFolder('two-variants', VIT_STYLE, ['model_fp16.onnx', 'model_quantized.onnx']);
    await expect(resolveModel(two)).rejects.toThrow(/several ONNX variants and no model\.onnx \(model_fp16\.onnx, model_quantized\.onnx\); name one/);
    const explicit = await resolveModel(join(two, 'onnx', 'model_quantized.onnx'), { range: [-1, 1] });
    expect(explicit.id).toBe('two-variants_quantized');
    expect(explicit.overrides).toMatchObject({ width: 4, height: 4, mean: MEAN, range: [-1, 1] });
  });

  it('maps shortest_edge + centre crop, rescale off and missing normalisation, noting approximations', () => {
    const clip = hfPreprocessing(
      { size: { shortest_edge: 256 }, do_center_crop: true, crop_size: { height: 224, width: 224 }, do_rescale: false, do_normalize: false },
      'p.json',
    );
    expect(clip.preprocessing).toEqual({ channels: 'rgb', layout: 'NCHW', dtype: 'float32', width: 224, height: 224, resize: 'crop', range: [0, 255] });
    expect(clip.notes[0]).toMatch(/shortest edge to 256 then centre-crop 224×224 is approximated/);
    const old = hfPreprocessing({ size: 384, crop_pct: 0.875, image_mean: 0.5, image_std: 0.5 }, 'p.json');
    expect(old.preprocessing).toMatchObject({ width: 384, height: 384, resize: 'stretch', range: [0, 1], mean: [0.5], std: [0.5] });
    expect(old.notes).toEqual(['crop_pct 0.875 is not applied']);
    expect(() => hfPreprocessing({ size: 'big' }, 'p.json')).toThrow(/p\.json: "size" is "big"/);
  });

  it('runs a zoo ONNX model (ppocr-cls) wrapped in a Hugging Face folder like the zoo card', async () => {
    const zoo = zooModel('ppocr-cls')!;
    // The card: 192×48 stretch, [-1, 1] = HF's rescale 1/255 then mean 0.5, std 0.5.
    const dir = await hfFolder(
      'ppocr-hf',
      {
        do_resize: true,
        size: { height: 48, width: 192 },
        do_rescale: true,
        rescale_factor: 1 / 255,
        do_normalize: true,
        image_mean: [0.5, 0.5, 0.5],
        image_std: [0.5, 0.5, 0.5],
      },
      ['model.onnx'],
      (p) => copyFile(zooModelPath(zoo).path, p),
    );
    const out = join(root, 'out-zoo');
    await extractFeatures({
      images,
      out,
      models: [
        { ref: dir, taps: [`${zoo.tap}@gap`] },
        // The card reads BGR; HF folders are RGB, so compare with the card in RGB.
        { ref: 'ppocr-cls', taps: [`${zoo.tap}@gap`], overrides: { channels: 'rgb' } },
      ],
      workers: 0,
      batchSize: 5,
    });
    const m = (await readManifest(out))!;
    // One tap per model: the label is the model id.
    expect(m.entries.map((e) => [e.label, e.layer]).sort()).toEqual([
      ['ppocr-cls', zoo.tap],
      ['ppocr-hf', zoo.tap],
    ]);
    const hf = m.entries.find((e) => e.label.startsWith('ppocr-hf'))!;
    expect(hf.preprocessing).toMatchObject({ width: 192, height: 48, resize: 'stretch', channels: 'rgb', layout: 'NCHW', mean: [0.5, 0.5, 0.5] });
    const a = readNpy(await readFile(join(out, 'ppocr-hf.npy')), 'a').data as Float32Array;
    const b = readNpy(await readFile(join(out, 'ppocr-cls.npy')), 'b').data as Float32Array;
    expect(a.length).toBe(b.length);
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 4);
  });
});

/**
 * An ONNX graph shaped like torch.onnx.export's output for a small ResNet-like module (opset 17): node names are
 * module paths (`/layer1/layer1.0/conv1/Conv`), intermediate tensors `<node>_output_0`, initializers are the
 * state-dict names, and the batch axis is the dynamic dimension `batch_size`.
 */
async function writeTorchStyleOnnx(path: string): Promise<void> {
  const onnx = await loadOnnxProto();
  const F = onnx.TensorProto.DataType.FLOAT;
  const t = (name: string, dims: number[], f: (i: number) => number) =>
    onnx.TensorProto.create({ name, dims, dataType: F, floatData: Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => f(i)) });
  const vi = (name: string, dims: (number | string)[]) => onnxValueInfo(onnx, name, dims);
  const node = (name: string, opType: string, input: string[], output: string[]) => onnx.NodeProto.create({ name, opType, input, output });
  const graph = onnx.GraphProto.create({
    name: 'main_graph',
    node: [
      node('/conv1/Conv', 'Conv', ['input', 'conv1.weight', 'conv1.bias'], ['/conv1/Conv_output_0']),
      node('/relu/Relu', 'Relu', ['/conv1/Conv_output_0'], ['/relu/Relu_output_0']),
      node(
        '/layer1/layer1.0/conv1/Conv',
        'Conv',
        ['/relu/Relu_output_0', 'layer1.0.conv1.weight', 'layer1.0.conv1.bias'],
        ['/layer1/layer1.0/conv1/Conv_output_0'],
      ),
      node('/layer1/layer1.0/relu/Relu', 'Relu', ['/layer1/layer1.0/conv1/Conv_output_0'], ['/layer1/layer1.0/relu/Relu_output_0']),
      node('/avgpool/GlobalAveragePool', 'GlobalAveragePool', ['/layer1/layer1.0/relu/Relu_output_0'], ['/avgpool/GlobalAveragePool_output_0']),
      node('/Flatten', 'Flatten', ['/avgpool/GlobalAveragePool_output_0'], ['/Flatten_output_0']),
      onnx.NodeProto.create({
        name: '/fc/Gemm',
        opType: 'Gemm',
        input: ['/Flatten_output_0', 'fc.weight', 'fc.bias'],
        output: ['output'],
        attribute: [
          onnx.AttributeProto.create({ name: 'alpha', type: onnx.AttributeProto.AttributeType.FLOAT, f: 1 }),
          onnx.AttributeProto.create({ name: 'beta', type: onnx.AttributeProto.AttributeType.FLOAT, f: 1 }),
          onnx.AttributeProto.create({ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 }),
        ],
      }),
    ],
    initializer: [
      t('conv1.weight', [4, 3, 1, 1], (i) => ((i * 7) % 5) / 5 - 0.4),
      t('conv1.bias', [4], (i) => 0.1 * i - 0.1),
      t('layer1.0.conv1.weight', [4, 4, 1, 1], (i) => ((i * 3) % 7) / 7 - 0.5),
      t('layer1.0.conv1.bias', [4], () => 0.05),
      t('fc.weight', [2, 4], (i) => i / 8 - 0.3),
      t('fc.bias', [2], () => 0),
    ],
    input: [vi('input', ['batch_size', 3, 6, 6])],
    output: [vi('output', ['batch_size', 2])],
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'pytorch',
    producerVersion: '2.1.0',
    graph,
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: 17 })],
  });
  await writeFile(path, onnx.ModelProto.encode(model).finish());
}

describe('models exported by torch.onnx.export', () => {
  it('lists every intermediate tensor as a layer and taps them by name or module-path glob', async () => {
    const path = join(root, 'resnet_like.onnx');
    await writeTorchStyleOnnx(path);
    const layers = await listLayers({ path, format: 'onnx' });
    expect(layers.map((l) => l.name)).toEqual([
      '/conv1/Conv_output_0',
      '/relu/Relu_output_0',
      '/layer1/layer1.0/conv1/Conv_output_0',
      '/layer1/layer1.0/relu/Relu_output_0',
      '/avgpool/GlobalAveragePool_output_0',
      '/Flatten_output_0',
      'output',
    ]);
    const out = join(root, 'out-torch');
    const s = await extractFeatures({
      images,
      out,
      models: [{ ref: path, taps: ['/layer1/*', '/avgpool/GlobalAveragePool_output_0', 'output'] }],
      workers: 0,
      batchSize: 5,
    });
    expect(s.computed.map((c) => c.label)).toEqual([
      // Labels (file names) replace the slashes of graph names.
      'resnet_like/layer1_layer1.0_conv1_Conv_output_0',
      'resnet_like/layer1_layer1.0_relu_Relu_output_0',
      'resnet_like/avgpool_GlobalAveragePool_output_0',
      'resnet_like/output',
    ]);
    const m = (await readManifest(out))!;
    expect(m.entries.find((e) => e.layer === '/layer1/layer1.0/relu/Relu_output_0')!.shape).toEqual([5, 4, 6, 6]);
    // The batch axis named batch_size is dynamic, so NCHW is inferred from the fixed 3 channels.
    expect(m.entries[0].preprocessing).toMatchObject({ width: 6, height: 6, layout: 'NCHW' });
  });
});
