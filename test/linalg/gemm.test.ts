import { describe, expect, it } from 'vitest';
import { gemmModelBytes, getGemmEngine, gram, jsEngine, matmulABt } from '../../src/linalg/gemm.js';
import { loadOnnxProto } from '../../src/util/onnxRuntime.js';
import type { Matrix } from '../../src/linalg/dense.js';
import { naiveABt } from '../helpers/naive.js';

function lcgMatrix(rows: number, cols: number, seed: number): Matrix {
  let s = seed >>> 0;
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 32 - 0.5;
  }
  return { rows, cols, data };
}

describe('GEMM engine', () => {
  const a = lcgMatrix(37, 53, 1);
  const b = lcgMatrix(23, 53, 2);
  for (const kind of ['js', 'ort'] as const) {
    it(`${kind}: A·Bᵀ and Gram match a naive triple loop (odd sizes)`, async () => {
      const engine = await getGemmEngine(kind);
      const c = await matmulABt(a, b, { engine });
      const ref = naiveABt(a, b);
      for (let i = 0; i < ref.length; i++) expect(c.data[i]).toBeCloseTo(ref[i], 12);
      const g = await gram(a, { engine });
      const gref = naiveABt(a, a);
      for (let i = 0; i < gref.length; i++) expect(g.data[i]).toBeCloseTo(gref[i], 12);
      expect(g.data[5 * 37 + 9]).toBe(g.data[9 * 37 + 5]);
    });
  }
  it('ort float32 precision is close but not exact', async () => {
    const engine = await getGemmEngine('ort');
    const c = await matmulABt(a, b, { engine, precision: 'float32' });
    const ref = naiveABt(a, b);
    for (let i = 0; i < ref.length; i++) expect(Math.abs(c.data[i] - ref[i])).toBeLessThan(1e-4);
  });
  it('js engine handles a single row', async () => {
    const one = lcgMatrix(1, 5, 3);
    const g = await gram(one, { engine: jsEngine });
    expect(g.data[0]).toBeCloseTo(naiveABt(one, one)[0], 14);
  });
  it('the hand-written Gemm model is the graph onnx-proto builds (same message once decoded), for both element types', async () => {
    const onnx = await loadOnnxProto();
    for (const elemType of [1, 11]) {
      const dim = (p: string) => onnx.TensorShapeProto.Dimension.create({ dimParam: p });
      const tensorType = (dims?: string[]) =>
        onnx.TypeProto.create({
          tensorType: onnx.TypeProto.Tensor.create({ elemType, ...(dims ? { shape: onnx.TensorShapeProto.create({ dim: dims.map(dim) }) } : {}) }),
        });
      const expected = onnx.ModelProto.create({
        irVersion: 8,
        opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: 13 })],
        graph: onnx.GraphProto.create({
          name: 'taskmap_gemm_abt',
          node: [
            onnx.NodeProto.create({
              opType: 'Gemm',
              input: ['a', 'b'],
              output: ['c'],
              attribute: [onnx.AttributeProto.create({ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 })],
            }),
          ],
          input: [
            onnx.ValueInfoProto.create({ name: 'a', type: tensorType(['m', 'k']) }),
            onnx.ValueInfoProto.create({ name: 'b', type: tensorType(['n', 'k']) }),
          ],
          output: [onnx.ValueInfoProto.create({ name: 'c', type: tensorType() })],
        }),
      });
      const decoded = onnx.ModelProto.decode(gemmModelBytes(elemType));
      expect(onnx.ModelProto.toObject(decoded, { longs: Number, defaults: false })).toEqual(
        onnx.ModelProto.toObject(expected, { longs: Number, defaults: false }),
      );
      // …and byte for byte what onnx-proto writes.
      expect(Buffer.from(gemmModelBytes(elemType)).equals(Buffer.from(onnx.ModelProto.encode(expected).finish()))).toBe(true);
    }
  });
});
