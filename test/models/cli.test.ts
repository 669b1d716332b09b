import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../src/models/manifest.js';
import { writeImages, writeTinyOnnx } from './fixtures.js';
import { runCli } from '../helpers/cli.js';

let root: string;
let onnx: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'taskmap-cli-'));
  onnx = join(root, 'tiny.onnx');
  await writeTinyOnnx(onnx);
  await writeImages(join(root, 'images'), 4);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const cli = runCli;

describe('CLI: layers, extract', () => {
  it('layers lists tensors with shapes', async () => {
    const r = await cli('layers', onnx);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/inputs: x \[\?, 3, 4, 4\] float32/);
    expect(r.out).toMatch(/\br\s+Relu\s+\[1, 2, 3, 3\]/);
  });

  it('extract writes the feature set; a bad tap is one clear line and exit 1', async () => {
    const out = join(root, 'feat');
    const r = await cli('extract', '--images', join(root, 'images'), '--model', onnx, '--tap', 'g@none', '--tap', 'r@gap', '--out', out, '--workers', '0');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/2 feature files × 4 images .* \(2 computed\)/);
    expect((await readManifest(out))!.entries.map((e) => `${e.label}:${e.reduce}`)).toEqual(['tiny/g:none', 'tiny/r:gap']);
    const bad = await cli('extract', '--images', join(root, 'images'), '--model', onnx, '--tap', 'conv', '--out', out);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^taskmap: tiny: unknown layer "conv"/);
    const none = await cli('extract', '--images', join(root, 'images'), '--out', out);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/give at least one --model/);
  });
});
