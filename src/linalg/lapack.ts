/**
 * The optional native engine: native/lapack, a Node addon over OpenBLAS + LAPACKE, installed as an optional
 * dependency (it builds only where a C++ compiler and `libopenblas-dev liblapacke-dev` are present). LAPACK's
 * divide-and-conquer eigensolver is ~70× faster than ml-matrix at N = 1000 (docs/README.md#native-engine), which is
 * what makes one eigendecomposition per candidate affordable. Everything that uses it has a JavaScript path, so a
 * missing addon only costs time.
 *
 * `TASKMAP_LAPACK=0` turns it off; `TASKMAP_THREADS` sets its thread count as it does the GEMM engine's.
 */
import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';

/** The addon's functions (native/lapack/src/lapack.cc). All float64, row-major; they copy, never modify, inputs. */
export interface NativeLapack {
  /**
   * LAPACKE_dsyevd of a symmetric n×n matrix (one triangle is read, so symmetrise first), in symmetricEigen's
   * layout: values largest first; column j of `vectors` (n×n, row-major) is the unit eigenvector of values[j].
   * With `wantVectors` false only the values are computed and `vectors` is absent.
   */
  eigh(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array };
  eigh(a: Float64Array, n: number, wantVectors: false): { values: Float64Array };
  eigh(a: Float64Array, n: number, wantVectors?: boolean): { values: Float64Array; vectors?: Float64Array };
  /** X·Xᵀ (n×n, both triangles) of an n×k X, by dsyrk. */
  syrk(x: Float64Array, n: number, k: number): Float64Array;
  /** A·Bᵀ (m×n) of A (m×k) and B (n×k), by dgemm: the shape of GemmEngine.abt. */
  gemmAbt(a: Float64Array, m: number, b: Float64Array, n: number, k: number): Float64Array;
  /**
   * The solution X (n×m) of A·X = R for a symmetric positive definite n×n A, by dpotrf + dpotrs; null when the
   * factorisation breaks down or a pivot (squared diagonal entry of the Cholesky factor) is below `minPivot`.
   */
  cholSolve(a: Float64Array, n: number, r: Float64Array, m: number, minPivot: number): Float64Array | null;
  /** OpenBLAS's thread count, after setting it to `t` when given. */
  threads(t?: number): number;
  /** OpenBLAS's build description (version, kernel, thread limit). */
  readonly config: string;
}

/** The package name native/lapack installs under (root package.json, optionalDependencies). */
const ADDON = 'taskmap-lapack';

let loaded: { lib?: NativeLapack; error?: string } | undefined;

function disabled(): boolean {
  return process.env.TASKMAP_LAPACK === '0';
}

function load(): { lib?: NativeLapack; error?: string } {
  if (loaded) return loaded;
  try {
    const lib = createRequire(import.meta.url)(ADDON) as NativeLapack;
    // A library mismatch (e.g. a LAPACK built with 64-bit integers) would load and then return garbage: check once.
    const probe = lib.eigh(new Float64Array([2, 1, 1, 2]), 2);
    if (Math.abs(probe.values[0] - 3) > 1e-12 || Math.abs(probe.values[1] - 1) > 1e-12) {
      throw new Error(`self-test failed: eigenvalues of [[2, 1], [1, 2]] came out as ${Array.from(probe.values).join(', ')}, expected 3, 1`);
    }
    // OpenBLAS's thread count is one setting for the whole process: only the main thread applies TASKMAP_THREADS,
    // so that a worker thread loading the addon does not change it under a product running elsewhere (the callers
    // that start workers set one BLAS thread each while they run: pairThreads.ts, prepareThreads.ts).
    const threads = Number(process.env.TASKMAP_THREADS);
    if (isMainThread && Number.isInteger(threads) && threads >= 1) lib.threads(threads);
    loaded = { lib };
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    loaded = {
      error: /Cannot find (module|package) 'taskmap-lapack'/.test(msg)
        ? `the optional package ${ADDON} is not installed (its build needs a C++ compiler and libopenblas-dev liblapacke-dev; then run npm install)`
        : `${ADDON} did not load: ${msg}`,
    };
  }
  return loaded;
}

/**
 * The native engine, or undefined when it is switched off (`TASKMAP_LAPACK=0`), not installed or fails to load;
 * the load is tried once per process (the environment switch is read on every call).
 */
export function loadLapack(): NativeLapack | undefined {
  return disabled() ? undefined : load().lib;
}

/**
 * One OpenBLAS thread per caller while several threads of this process call it (the thread count is one setting
 * for the whole process, and concurrent calls into a multi-threaded OpenBLAS are the suspect of a one-off wrong
 * value once seen in CI). Call before any worker starts computing; the returned function restores the count.
 */
export function oneBlasThreadEach(): () => void {
  const lib = loadLapack();
  const before = lib?.threads();
  lib?.threads(1);
  return () => {
    if (before !== undefined) lib?.threads(before);
  };
}

/** Why loadLapack() returns undefined, for error messages and test output; undefined when it is available. */
export function lapackUnavailableReason(): string | undefined {
  if (disabled()) return 'switched off by TASKMAP_LAPACK=0';
  return load().error;
}
