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

  it('layers --filter matches names case-insensitively, --op filters by operator type, and an empty match says so (issue 17)', async () => {
    // The zoo's ONNX tensors are named like `conv2d_53.tmp_0`: "*Conv*" used to be case-sensitive and list nothing.
    const byName = await cli('layers', onnx, '--filter', '*C*');
    expect(byName.code, byName.err).toBe(0);
    expect(byName.out).toMatch(/\bc\s+Conv\s+\[1, 2, 3, 3\]/);
    expect(byName.out).not.toMatch(/\br\s+Relu/);
    const byOp = await cli('layers', onnx, '--op', 'relu,GLOBAL*', '--json');
    expect(byOp.code, byOp.err).toBe(0);
    expect(JSON.parse(byOp.out).layers.map((l: { name: string; op: string }) => `${l.name}:${l.op}`)).toEqual(['r:Relu', 'g:GlobalAveragePool']);
    const both = await cli('layers', onnx, '--op', 'conv', '--filter', 'R');
    expect(both.out).toMatch(/no layer matches name "R" and op conv \(case-insensitive\) among \d+ layers; op types in this model: .*\bConv\b.*\bRelu\b/);
    const none = await cli('layers', onnx, '--filter', '*BatchNorm*', '--json');
    expect(none.code).toBe(0);
    expect(JSON.parse(none.out).layers).toEqual([]);
    expect(none.err).toMatch(/^taskmap: no layer matches name "\*BatchNorm\*"/);
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
