// taskmap's optional native engine: LAPACK's divide-and-conquer symmetric eigensolver, a Cholesky solve and two BLAS Gram products,
// all float64, through OpenBLAS + LAPACKE. The TypeScript side (src/linalg/lapack.ts) validates shapes and
// symmetry, orders the output and falls back to JavaScript when this module is absent; the checks here only stop
// a wrong call from reading or writing outside the buffers.
#include <napi.h>

#include <cblas.h>
#include <lapacke.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

// Declared here rather than taken from OpenBLAS's cblas.h: other distributions ship a reference cblas.h without
// them, while the symbols are always in libopenblas, which binding.gyp links.
extern "C" {
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
}

namespace {

bool ThrowType(Napi::Env env, const std::string& msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return false;
}

// A dimension argument: a non-negative integer small enough for LAPACK's 32-bit lapack_int.
bool ReadDim(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, int64_t* out) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsNumber()) return ThrowType(env, std::string(fn) + ": " + name + " must be a number");
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d != std::floor(d) || d > 2147483647.0) {
    return ThrowType(env, std::string(fn) + ": " + name + " must be an integer in 0…2147483647");
  }
  *out = static_cast<int64_t>(d);
  return true;
}

// A Float64Array argument holding exactly `expected` values.
bool ReadArray(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, uint64_t expected, double** out) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    return ThrowType(env, std::string(fn) + ": " + name + " must be a Float64Array");
  }
  Napi::Float64Array a = info[i].As<Napi::Float64Array>();
  if (static_cast<uint64_t>(a.ElementLength()) != expected) {
    return ThrowType(env, std::string(fn) + ": " + name + " holds " + std::to_string(a.ElementLength()) + " values, expected " +
                              std::to_string(expected));
  }
  *out = a.Data();
  return true;
}

// eigh(a, n, wantVectors = true): a is an n×n symmetric matrix (row-major; only one triangle is read). Returns
// { values, vectors } in symmetricEigen's layout: values largest first; vectors n×n row-major with COLUMN j the unit
// eigenvector of values[j]. Without vectors (jobz 'N') dsyevd skips forming them, several times less work, and
// `vectors` is absent.
Napi::Value Eigh(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t n;
  double* a;
  if (!ReadDim(info, 1, "eigh", "n", &n)) return env.Undefined();
  // dsyevd's workspace (1 + 6n + 2n² doubles) is sized in a 32-bit lapack_int.
  if (n > 32767) {
    ThrowType(env, "eigh: n = " + std::to_string(n) + " exceeds 32767, the largest size LAPACK's 32-bit workspace count allows");
    return env.Undefined();
  }
  if (!ReadArray(info, 0, "eigh", "a", static_cast<uint64_t>(n) * static_cast<uint64_t>(n), &a)) return env.Undefined();
  bool wantVectors = true;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    if (!info[2].IsBoolean()) {
      ThrowType(env, "eigh: wantVectors must be a boolean");
      return env.Undefined();
    }
    wantVectors = info[2].As<Napi::Boolean>().Value();
  }
  const size_t nn = static_cast<size_t>(n * n);
  Napi::Float64Array values = Napi::Float64Array::New(env, static_cast<size_t>(n));
  Napi::Float64Array vectors = Napi::Float64Array::New(env, wantVectors ? nn : 0);
  if (n > 0) {
    // dsyevd runs in column-major layout on a copy of the row-major input (a symmetric matrix is its own
    // transpose), so LAPACKE makes no transposed copies; it overwrites the copy with the eigenvectors as columns.
    std::vector<double> work(a, a + nn);
    std::vector<double> w(static_cast<size_t>(n));
    lapack_int info_ =
        LAPACKE_dsyevd(LAPACK_COL_MAJOR, wantVectors ? 'V' : 'N', 'L', static_cast<lapack_int>(n), work.data(), static_cast<lapack_int>(n), w.data());
    if (info_ != 0) {
      std::string why = info_ < 0 ? "argument " + std::to_string(-info_) + " was invalid"
                                  : "the algorithm failed to converge (info " + std::to_string(info_) + ")";
      if (info_ == LAPACK_WORK_MEMORY_ERROR) why = "out of memory for the workspace";
      Napi::Error::New(env, "eigh: LAPACKE_dsyevd failed: " + why).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    // LAPACK's order is ascending: reverse it, and write eigenvector (n−1−j), contiguous in `work`, to column j.
    double* out = values.Data();
    for (int64_t j = 0; j < n; j++) out[j] = w[static_cast<size_t>(n - 1 - j)];
    if (wantVectors) {
      double* v = vectors.Data();
      const int64_t B = 64;  // cache blocks for the transpose
      for (int64_t j0 = 0; j0 < n; j0 += B)
        for (int64_t i0 = 0; i0 < n; i0 += B)
          for (int64_t j = j0; j < std::min(j0 + B, n); j++) {
            const double* src = work.data() + (n - 1 - j) * n;
            for (int64_t i = i0; i < std::min(i0 + B, n); i++) v[i * n + j] = src[i];
          }
    }
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("values", values);
  if (wantVectors) out.Set("vectors", vectors);
  return out;
}

// syrk(x, n, k): the n×n Gram matrix X·Xᵀ of a row-major n×k X (dsyrk fills one triangle; the other is mirrored).
Napi::Value Syrk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t n, k;
  double* x;
  if (!ReadDim(info, 1, "syrk", "n", &n) || !ReadDim(info, 2, "syrk", "k", &k)) return env.Undefined();
  if (!ReadArray(info, 0, "syrk", "x", static_cast<uint64_t>(n) * static_cast<uint64_t>(k), &x)) return env.Undefined();
  Napi::Float64Array c = Napi::Float64Array::New(env, static_cast<size_t>(n * n));
  if (n > 0 && k > 0) {
    double* cd = c.Data();
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, static_cast<int>(n), static_cast<int>(k), 1.0, x, static_cast<int>(k), 0.0, cd,
                static_cast<int>(n));
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < i; j++) cd[i * n + j] = cd[j * n + i];
  }
  return c;
}

// gemmAbt(a, m, b, n, k): the m×n product A·Bᵀ of row-major A (m×k) and B (n×k), the shape of GemmEngine.abt.
Napi::Value GemmAbt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t m, n, k;
  double *a, *b;
  if (!ReadDim(info, 1, "gemmAbt", "m", &m) || !ReadDim(info, 3, "gemmAbt", "n", &n) || !ReadDim(info, 4, "gemmAbt", "k", &k)) {
    return env.Undefined();
  }
  if (!ReadArray(info, 0, "gemmAbt", "a", static_cast<uint64_t>(m) * static_cast<uint64_t>(k), &a)) return env.Undefined();
  if (!ReadArray(info, 2, "gemmAbt", "b", static_cast<uint64_t>(n) * static_cast<uint64_t>(k), &b)) return env.Undefined();
  Napi::Float64Array c = Napi::Float64Array::New(env, static_cast<size_t>(m * n));
  if (m > 0 && n > 0 && k > 0) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0, a,
                static_cast<int>(k), b, static_cast<int>(k), 0.0, c.Data(), static_cast<int>(n));
  }
  return c;
}

// cholSolve(a, n, r, m, minPivot): the solution X (n×m, row-major) of A·X = R for a symmetric positive definite
// n×n A (row-major, one triangle read) by dpotrf + dpotrs, or null when the factorisation breaks down or a pivot
// (a squared diagonal entry of the factor) falls below minPivot — the caller's sign that rounding, not the matrix,
// decided the factor, so it should take a more robust route.
Napi::Value CholSolve(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t n, m;
  double *a, *r;
  if (!ReadDim(info, 1, "cholSolve", "n", &n) || !ReadDim(info, 3, "cholSolve", "m", &m)) return env.Undefined();
  if (!ReadArray(info, 0, "cholSolve", "a", static_cast<uint64_t>(n) * static_cast<uint64_t>(n), &a)) return env.Undefined();
  if (!ReadArray(info, 2, "cholSolve", "r", static_cast<uint64_t>(n) * static_cast<uint64_t>(m), &r)) return env.Undefined();
  if (info.Length() <= 4 || !info[4].IsNumber()) {
    ThrowType(env, "cholSolve: minPivot must be a number");
    return env.Undefined();
  }
  const double minPivot = info[4].As<Napi::Number>().DoubleValue();
  Napi::Float64Array x = Napi::Float64Array::New(env, static_cast<size_t>(n * m));
  if (n == 0 || m == 0) return x;
  // Column-major on a copy: a symmetric matrix is its own transpose, and the right-hand side is transposed in and out.
  std::vector<double> f(a, a + static_cast<size_t>(n * n));
  lapack_int info_ = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', static_cast<lapack_int>(n), f.data(), static_cast<lapack_int>(n));
  if (info_ < 0) {
    Napi::Error::New(env, "cholSolve: LAPACKE_dpotrf: argument " + std::to_string(-info_) + " was invalid").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (info_ > 0) return env.Null();
  for (int64_t j = 0; j < n; j++) {
    const double d = f[static_cast<size_t>(j * n + j)];
    if (!(d * d >= minPivot)) return env.Null();
  }
  std::vector<double> b(static_cast<size_t>(n * m));
  for (int64_t i = 0; i < n; i++)
    for (int64_t c = 0; c < m; c++) b[static_cast<size_t>(c * n + i)] = r[i * m + c];
  info_ = LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'L', static_cast<lapack_int>(n), static_cast<lapack_int>(m), f.data(), static_cast<lapack_int>(n), b.data(),
                         static_cast<lapack_int>(n));
  if (info_ != 0) {
    Napi::Error::New(env, "cholSolve: LAPACKE_dpotrs failed (info " + std::to_string(info_) + ")").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double* out = x.Data();
  for (int64_t i = 0; i < n; i++)
    for (int64_t c = 0; c < m; c++) out[i * m + c] = b[static_cast<size_t>(c * n + i)];
  return x;
}

// threads(): OpenBLAS's thread count; threads(t) sets it first (t ≥ 1).
Napi::Value Threads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    int64_t t;
    if (!ReadDim(info, 0, "threads", "t", &t)) return env.Undefined();
    if (t < 1) {
      ThrowType(env, "threads: t must be at least 1");
      return env.Undefined();
    }
    openblas_set_num_threads(static_cast<int>(t));
  }
  return Napi::Number::New(env, openblas_get_num_threads());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("eigh", Napi::Function::New(env, Eigh, "eigh"));
  exports.Set("syrk", Napi::Function::New(env, Syrk, "syrk"));
  exports.Set("gemmAbt", Napi::Function::New(env, GemmAbt, "gemmAbt"));
  exports.Set("cholSolve", Napi::Function::New(env, CholSolve, "cholSolve"));
  exports.Set("threads", Napi::Function::New(env, Threads, "threads"));
  exports.Set("config", Napi::String::New(env, openblas_get_config()));
  return exports;
}

}  // namespace

NODE_API_MODULE(taskmap_lapack, Init)
