/**
 * The one place that loads onnxruntime-node and onnx-proto (the GEMM engine in linalg/gemm.ts and the ONNX model
 * runner in models/onnx.ts both use it). Loaded on first use, so a platform without the native runtime fails only
 * where it is needed; the module is cached once loaded, a failed load is retried on the next call.
 */

export type Ort = typeof import('onnxruntime-node');
export type OrtSession = import('onnxruntime-node').InferenceSession;
/** The onnx-proto namespace object (its generated typings are loose, so callers use it untyped). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type OnnxProto = any;

/* eslint-disable @typescript-eslint/no-explicit-any -- onnx-proto's generated typings are loose; callers declare the shapes they use */

/** The module object whether the import gives its namespace or a CommonJS `default`. */
function interop<T>(mod: any): T {
  return (mod.default ?? mod) as T;
}

let ort: Promise<Ort> | undefined;
let proto: Promise<any> | undefined;

/** onnxruntime-node's module (InferenceSession, Tensor, …). */
export function loadOnnxRuntime(): Promise<Ort> {
  ort ??= import('onnxruntime-node')
    .then((m) => interop<Ort>(m))
    .catch((e: unknown) => {
      ort = undefined;
      throw e;
    });
  return ort;
}

/** onnx-proto's `onnx` namespace (ModelProto, GraphProto, …: encode and decode ONNX protobufs). */
export function loadOnnxProto(): Promise<any> {
  proto ??= import('onnx-proto')
    .then((m) => interop<any>(m).onnx)
    .catch((e: unknown) => {
      proto = undefined;
      throw e;
    });
  return proto;
}
