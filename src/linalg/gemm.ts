/**
 * The GEMM engine: C = A·Bᵀ for row-major inputs, the one dense product every measure is built on
 * (Gram matrices X·Xᵀ, cross products, the batched T×n² comparison of all models).
 *
 * Fast path: onnxruntime-node's CPU `Gemm` op, run as a one-node ONNX graph built in memory (no native build,
 * 75 GFLOP/s in float64 and ~170 GFLOP/s in float32 on 2 cores). Where the optional native addon is installed
 * (lapack.ts), float64 products go to OpenBLAS instead: Gram matrices by dsyrk (half the flops of a general
 * product), the rest by dgemm, and onnxruntime is then loaded only for float32 work — its start (module, runtime,
 * session: 60–150 ms) was a large part of a whole `cka` or `rdm` run. Portable fallback: a register-blocked JS
 * kernel (~1–2 GFLOP/s). `TASKMAP_ENGINE=js|ort` forces one; `TASKMAP_LAPACK=0` keeps float64 on onnxruntime.
 */
import os from 'node:os';
import { loadOnnxRuntime, type Ort, type OrtSession } from '../util/onnxRuntime.js';
import type { Matrix } from './dense.js';
import { loadLapack, type NativeLapack } from './lapack.js';

/** Element types the engines compute in (float64 is the default everywhere; float32 is about twice as fast). */
export const PRECISIONS = ['float64', 'float32'] as const;
export type Precision = (typeof PRECISIONS)[number];
export type EngineKind = 'auto' | 'ort' | 'js';
export type Float = Float32Array | Float64Array;

export interface GemmEngine {
  readonly name: string;
  /** C (m×n, float64) = A (m×k) · Bᵀ (B is n×k). Pass the same array as `a` and `b` for a Gram matrix. */
  abt(a: Float, m: number, b: Float, n: number, k: number, precision?: Precision): Promise<Float64Array>;
  /** Whether abt(x, n, x, n, k, precision) is exactly symmetric already (OpenBLAS dsyrk mirrors its triangle). */
  symmetricGram?(precision?: Precision): boolean;
}

/** Column blocks bound the memory of one ORT call (the input is copied into the engine's element type). */
const MAX_BLOCK_ELEMENTS = 1 << 26;

// ---------------------------------------------------------------------------------------------------------
// Portable fallback

function jsAbt(a: Float, m: number, b: Float, n: number, k: number): Float64Array {
  const c = new Float64Array(m * n);
  const same = a === b && m === n;
  // 2×4 register blocks over (i, j); the k loop streams four rows of B and two rows of A.
  for (let i = 0; i < m; i += 2) {
    const i1 = Math.min(i + 1, m - 1);
    const a0 = i * k;
    const a1 = i1 * k;
    const jStart = same ? i - (i % 4) : 0;
    for (let j = jStart; j < n; j += 4) {
      const b0 = j * k;
      const b1 = Math.min(j + 1, n - 1) * k;
      const b2 = Math.min(j + 2, n - 1) * k;
      const b3 = Math.min(j + 3, n - 1) * k;
      let s00 = 0,
        s01 = 0,
        s02 = 0,
        s03 = 0,
        s10 = 0,
        s11 = 0,
        s12 = 0,
        s13 = 0;
      for (let t = 0; t < k; t++) {
        const x0 = a[a0 + t];
        const x1 = a[a1 + t];
        const y0 = b[b0 + t],
          y1 = b[b1 + t],
          y2 = b[b2 + t],
          y3 = b[b3 + t];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s02 += x0 * y2;
        s03 += x0 * y3;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s12 += x1 * y2;
        s13 += x1 * y3;
      }
      const r0 = [s00, s01, s02, s03];
      const r1 = [s10, s11, s12, s13];
      for (let q = 0; q < 4 && j + q < n; q++) {
        c[i * n + j + q] = r0[q];
        if (i + 1 < m) c[(i + 1) * n + j + q] = r1[q];
      }
    }
  }
  if (same) for (let i = 0; i < m; i++) for (let j = 0; j < i; j++) c[i * n + j] = c[j * n + i];
  return c;
}

export const jsEngine: GemmEngine = {
  name: 'js',
  async abt(a, m, b, n, k) {
    return jsAbt(a, m, b, n, k);
  },
};

// ---------------------------------------------------------------------------------------------------------
// onnxruntime-node

// The engine's model, a one-node ONNX graph c = Gemm(a, b, transB = 1) with symbolic shapes a: [m, k], b: [n, k],
// written as protobuf bytes here rather than through onnx-proto: loading onnx-proto (protobufjs and the whole ONNX
// schema) costs more start-up than onnxruntime itself, for a message of ~150 bytes. Field numbers are onnx.proto's;
// test/linalg/gemm.test.ts decodes these bytes with onnx-proto and compares them with the same graph built there.

const utf8 = new TextEncoder();

function varint(v: number): number[] {
  const out: number[] = [];
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

/** A varint field (wire type 0). */
const pbInt = (field: number, v: number): number[] => [...varint(field << 3), ...varint(v)];
/** A length-delimited field (wire type 2): a nested message or bytes. */
const pbBytes = (field: number, b: number[]): number[] => [...varint((field << 3) | 2), ...varint(b.length), ...b];
const pbString = (field: number, s: string): number[] => pbBytes(field, [...utf8.encode(s)]);

/** TypeProto{tensor_type: Tensor{elem_type, shape: TensorShapeProto{dim: [Dimension{dim_param}]}}}. */
function tensorType(elemType: number, dims?: string[]): number[] {
  const shape = dims
    ? pbBytes(
        2,
        dims.flatMap((d) => pbBytes(1, pbString(2, d))),
      )
    : [];
  return pbBytes(1, [...pbInt(1, elemType), ...shape]);
}

/** ValueInfoProto{name, type}. */
const valueInfo = (name: string, type: number[]): number[] => [...pbString(1, name), ...pbBytes(2, type)];

/** The ONNX model bytes of c = a·bᵀ for an ONNX element type (1 = float32, 11 = float64). */
export function gemmModelBytes(elemType: number): Uint8Array {
  // NodeProto{input a, b; output c; op_type Gemm; attribute AttributeProto{name transB, i 1, type INT (2)}}.
  const node = [
    ...pbString(1, 'a'),
    ...pbString(1, 'b'),
    ...pbString(2, 'c'),
    ...pbString(4, 'Gemm'),
    ...pbBytes(5, [...pbString(1, 'transB'), ...pbInt(3, 1), ...pbInt(20, 2)]),
  ];
  // GraphProto{node, name, input a, b, output c}.
  const graph = [
    ...pbBytes(1, node),
    ...pbString(2, 'taskmap_gemm_abt'),
    ...pbBytes(11, valueInfo('a', tensorType(elemType, ['m', 'k']))),
    ...pbBytes(11, valueInfo('b', tensorType(elemType, ['n', 'k']))),
    ...pbBytes(12, valueInfo('c', tensorType(elemType))),
  ];
  // ModelProto{ir_version 8, graph, opset_import OperatorSetIdProto{domain '', version 13}}.
  return Uint8Array.from([...pbInt(1, 8), ...pbBytes(7, graph), ...pbBytes(8, [...pbString(1, ''), ...pbInt(2, 13)])]);
}

/** A float64 view of the first `length` values (the addon reads Float64Array only; float32 input converts exactly). */
function float64View(x: Float, length: number): Float64Array {
  if (x instanceof Float64Array) return x.length === length ? x : x.subarray(0, length);
  const out = new Float64Array(length);
  out.set(x.length === length ? x : x.subarray(0, length));
  return out;
}

/** A·Bᵀ in float64 on OpenBLAS: dsyrk when it is a Gram matrix (A is B), dgemm otherwise. */
function nativeAbt(lib: NativeLapack, a: Float, m: number, b: Float, n: number, k: number): Float64Array {
  if (m === 0 || n === 0 || k === 0) return new Float64Array(m * n);
  const av = float64View(a, m * k);
  if (a === b && m === n) return lib.syrk(av, m, k);
  return lib.gemmAbt(av, m, float64View(b, n * k), n, k);
}

class OrtEngine implements GemmEngine {
  readonly name: string;
  private sessions = new Map<Precision, Promise<OrtSession>>();
  // ORT sessions are not re-entrant across concurrent runs on the same inputs; serialise calls.
  private queue: Promise<unknown> = Promise.resolve();
  private ortModule?: Promise<Ort>;
  private loadOrt?: () => Promise<Ort>;
  private warned = false;

  /**
   * `ort`: the runtime, or a loader called on the first product that needs it (float32 work when `native` takes
   * float64). `fallback`: where a deferred runtime fails to load, compute with the portable kernel (engine `auto`)
   * instead of failing (engine `ort`).
   */
  constructor(
    ort: Ort | (() => Promise<Ort>),
    private threads: number,
    private native?: NativeLapack,
    private fallback = false,
  ) {
    this.name = `onnxruntime-node (${threads} threads${native ? '; float64 by OpenBLAS' : ''})`;
    if (typeof ort !== 'function') this.ortModule = Promise.resolve(ort);
    else this.loadOrt = ort;
  }

  private runtime(): Promise<Ort> {
    this.ortModule ??= this.loadOrt!();
    return this.ortModule;
  }

  private session(p: Precision): Promise<OrtSession> {
    let s = this.sessions.get(p);
    if (!s) {
      const bytes = gemmModelBytes(p === 'float64' ? 11 : 1);
      // No spinning between runs: ORT's pool threads otherwise busy-wait after each product, taking the cores from
      // the JavaScript work between GEMMs (ranking, centring, worker threads) — on 2 cores the whole CPU.
      s = this.runtime().then((ort) =>
        ort.InferenceSession.create(bytes, {
          intraOpNumThreads: this.threads,
          interOpNumThreads: 1,
          extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
        }),
      );
      // A failed start is retried on the next product rather than cached.
      s.catch(() => {
        this.sessions.delete(p);
        if (this.loadOrt) this.ortModule = undefined;
      });
      this.sessions.set(p, s);
    }
    return s;
  }

  symmetricGram(precision: Precision = 'float64'): boolean {
    return precision === 'float64' && this.native !== undefined;
  }

  abt(a: Float, m: number, b: Float, n: number, k: number, precision: Precision = 'float64'): Promise<Float64Array> {
    if (precision === 'float64' && this.native) {
      try {
        return Promise.resolve(nativeAbt(this.native, a, m, b, n, k));
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
    const run = this.queue.then(() => this.run(a, m, b, n, k, precision));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(a: Float, m: number, b: Float, n: number, k: number, precision: Precision): Promise<Float64Array> {
    if (m === 0 || n === 0) return new Float64Array(m * n);
    if (k === 0) return new Float64Array(m * n);
    let session: OrtSession;
    try {
      session = await this.session(precision);
    } catch (e) {
      if (!this.fallback) throw e;
      if (!this.warned) {
        this.warned = true;
        process.emitWarning(`onnxruntime-node unavailable (${(e as Error).message}); ${precision} products use the portable JS GEMM`);
      }
      return jsAbt(a, m, b, n, k);
    }
    const Arr = precision === 'float64' ? Float64Array : Float32Array;
    const ort = await this.runtime();
    const block = Math.max(1, Math.floor(MAX_BLOCK_ELEMENTS / Math.max(m, n)));
    const same = a === b && m === n;
    let out: Float64Array | undefined;
    for (let k0 = 0; k0 < k; k0 += block) {
      const kb = Math.min(block, k - k0);
      const ablk = columnBlock(a, m, k, k0, kb, Arr);
      const bblk = same ? ablk : columnBlock(b, n, k, k0, kb, Arr);
      const ta = new ort.Tensor(precision, ablk, [m, kb]);
      const tb = same ? ta : new ort.Tensor(precision, bblk, [n, kb]);
      const res = await session.run({ a: ta, b: tb });
      const c = res.c.data as Float;
      if (!out) {
        if (c instanceof Float64Array) out = c;
        else (out = new Float64Array(c.length)).set(c);
      } else for (let i = 0; i < out.length; i++) out[i] += c[i];
    }
    return out!;
  }
}

function columnBlock(x: Float, rows: number, k: number, k0: number, kb: number, Arr: typeof Float64Array | typeof Float32Array): Float {
  // onnxruntime-node refuses a tensor over shared memory ("Invalid argument"): such an input is copied.
  if (k0 === 0 && kb === k && x instanceof Arr && !(x.buffer instanceof SharedArrayBuffer)) return x;
  const out = new Arr(rows * kb);
  // set() copies (or converts) in one native loop; Arr.from walks the source through the iterator protocol.
  if (k0 === 0 && kb === k) {
    out.set(x.length === out.length ? x : x.subarray(0, out.length));
    return out;
  }
  for (let i = 0; i < rows; i++) {
    const src = x.subarray(i * k + k0, i * k + k0 + kb);
    out.set(src, i * kb);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Engine selection

const engines = new Map<EngineKind, Promise<GemmEngine>>();

/** The native addon when it is installed and computes a Gram matrix correctly here; undefined otherwise. */
function nativeGemm(): NativeLapack | undefined {
  const lib = loadLapack();
  if (!lib) return undefined;
  try {
    const probe = lib.syrk(new Float64Array([1, 2, 3, 4]), 2, 2);
    return probe[1] === 11 && probe[2] === 11 ? lib : undefined;
  } catch {
    return undefined;
  }
}

async function loadOrt(fallback: boolean): Promise<GemmEngine> {
  const threads = Math.max(1, Number(process.env.TASKMAP_THREADS) || os.availableParallelism());
  const native = nativeGemm();
  // With float64 on OpenBLAS, onnxruntime waits for the first float32 product (and its self-test with it).
  if (native) return new OrtEngine(loadOnnxRuntime, threads, native, fallback);
  const ort = await loadOnnxRuntime();
  const engine = new OrtEngine(ort, threads);
  // Prove the runtime works here before handing it out (a missing native library fails at first use).
  const probe = await engine.abt(new Float64Array([1, 2, 3, 4]), 2, new Float64Array([1, 2, 3, 4]), 2, 2);
  if (probe[1] !== 11) throw new Error(`onnxruntime Gemm self-test failed (got ${probe[1]}, expected 11)`);
  return engine;
}

/**
 * The GEMM engine to use. `auto` (default, or `TASKMAP_ENGINE`) picks onnxruntime-node and falls back to the JS
 * kernel when the runtime cannot be loaded on this platform; `ort` insists on it.
 */
export function getGemmEngine(kind: EngineKind = (process.env.TASKMAP_ENGINE as EngineKind) || 'auto'): Promise<GemmEngine> {
  if (kind !== 'auto' && kind !== 'ort' && kind !== 'js') throw new Error(`unknown GEMM engine "${kind}" (use auto, ort or js)`);
  let e = engines.get(kind);
  if (!e) {
    if (kind === 'js') e = Promise.resolve(jsEngine);
    else if (kind === 'ort') e = loadOrt(false);
    else
      e = loadOrt(true).catch((err: unknown) => {
        process.emitWarning(`onnxruntime-node unavailable (${(err as Error).message}); using the portable JS GEMM`);
        return jsEngine;
      });
    engines.set(kind, e);
  }
  return e;
}

export interface GemmOptions {
  engine?: GemmEngine;
  precision?: Precision;
}

/** X·Xᵀ (rows × rows), exactly symmetric. */
export async function gram(x: Matrix, opts: GemmOptions = {}): Promise<Matrix> {
  const engine = opts.engine ?? (await getGemmEngine());
  const data = await engine.abt(x.data, x.rows, x.data, x.rows, x.cols, opts.precision);
  const n = x.rows;
  // The mirror writes down columns (~1–2 ms at n = 500): skipped where the engine's product is symmetric already.
  if (!engine.symmetricGram?.(opts.precision)) for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) data[j * n + i] = data[i * n + j];
  return { rows: n, cols: n, data };
}

/** A·Bᵀ (A.rows × B.rows). */
export async function matmulABt(a: Matrix, b: Matrix, opts: GemmOptions = {}): Promise<Matrix> {
  if (a.cols !== b.cols) throw new Error(`matmulABt: inner dimensions differ (${a.cols} vs ${b.cols})`);
  const engine = opts.engine ?? (await getGemmEngine());
  const data = await engine.abt(a.data, a.rows, b.data, b.rows, a.cols, opts.precision);
  return { rows: a.rows, cols: b.rows, data };
}
