// linear(input, weight, bias) as at::linear, with one path of ours for decoding on the CPU.
//
// A decoder generating text feeds each layer one token per sequence: the input has 1 to 8 rows while
// the weight has thousands. BLAS's GEMM is built for the opposite shape (it packs and blocks the
// input), and at one row OpenBLAS 0.3.21's sgemm runs at a third to a fifth of its own sgemv; for
// bfloat16 weights on a CPU without AVX512-BF16, libtorch 1.13 falls back to a scalar GEMM. Such a
// step is bound by reading the weights once from memory, so the kernel below streams each weight row
// once for all input rows, accumulates in float32 (as torch's bf16 GEMM does) and rounds once.
//
// It is taken only where it cannot change what autograd or autocast would do: no gradient recorded,
// autocast off, CPU tensors of one dtype (float32 or bfloat16), contiguous weight, AVX2 + FMA present.
// The sums run in another order than BLAS's, so results may differ from at::linear's in the last
// bits (as two BLAS libraries do); torch.backends.cpu.smallBatchLinear turns the path off.
#include "common.h"
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <c10/core/GradMode.h>
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define FT_SMALL_LINEAR_KERNEL 1
#endif

namespace ft {

static bool gSmallBatchLinear = true;
constexpr int64_t kMaxSmallRows = 8;

#ifdef FT_SMALL_LINEAR_KERNEL
// Everything between the pragmas is compiled for AVX2 + FMA and runs only after the CPU check; it
// uses no header function, so no inline function of libtorch's is compiled for AVX2 by mistake.
#pragma GCC push_options
#pragma GCC target("avx2,fma")

static inline __m256 Load8(const float* p) { return _mm256_loadu_ps(p); }
static inline __m256 Load8(const uint16_t* p) {
  // bfloat16 is the high half of a float32: widen to 32 bits and shift into place.
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
static inline float Load1(const float* p) { return *p; }
static inline float Load1(const uint16_t* p) {
  const uint32_t bits = static_cast<uint32_t>(*p) << 16;
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}
static inline float Sum8(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}

// R weight rows against MC input rows (x: float32, row stride in): out[m * outStride + r] = dot.
// R × MC accumulators, R weight vectors and one input vector fit the 16 AVX registers.
template <int R, int MC, typename W>
static void DotBlock(const W* w, const float* x, int64_t in, float* out, int64_t outStride) {
  __m256 acc[R][MC];
  for (int r = 0; r < R; ++r)
    for (int m = 0; m < MC; ++m) acc[r][m] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= in; i += 8) {
    __m256 wv[R];
    for (int r = 0; r < R; ++r) wv[r] = Load8(w + r * in + i);
    for (int m = 0; m < MC; ++m) {
      const __m256 xv = _mm256_loadu_ps(x + m * in + i);
      for (int r = 0; r < R; ++r) acc[r][m] = _mm256_fmadd_ps(wv[r], xv, acc[r][m]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int m = 0; m < MC; ++m) {
      float s = Sum8(acc[r][m]);
      for (int64_t j = i; j < in; ++j) s += Load1(w + r * in + j) * x[m * in + j];
      out[m * outStride + r] = s;
    }
  }
}

// Rows [begin, end) of the weight against all `rows` input rows, into y [rows, outFeatures] (float32).
template <typename W>
static void DotRows(const W* w, const float* x, int64_t rows, int64_t in, int64_t outFeatures, int64_t begin, int64_t end, float* y) {
  int64_t o = begin;
  // One input row: eight weight rows at a time, so that eight independent FMA chains hide the latency.
  if (rows == 1) {
    for (; o + 8 <= end; o += 8) DotBlock<8, 1>(w + o * in, x, in, y + o, outFeatures);
  }
  for (; o + 4 <= end; o += 4) {
    int64_t m = 0;
    for (; m + 2 <= rows; m += 2) DotBlock<4, 2>(w + o * in, x + m * in, in, y + m * outFeatures + o, outFeatures);
    if (m < rows) DotBlock<4, 1>(w + o * in, x + m * in, in, y + m * outFeatures + o, outFeatures);
  }
  for (; o < end; ++o) {
    for (int64_t m = 0; m < rows; ++m) DotBlock<1, 1>(w + o * in, x + m * in, in, y + m * outFeatures + o, outFeatures);
  }
}

#pragma GCC pop_options

static bool CpuHasAvx2Fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

static bool AutocastOnCpu() {
#if FT_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(at::kCPU);
#else
  return at::autocast::is_cpu_enabled();
#endif
}

// The conditions of the header comment; the input's row count is everything but its last dimension.
static bool TakesSmallPath(const at::Tensor& x, const at::Tensor& w, const Opt<at::Tensor>& b) {
  if (!gSmallBatchLinear || !CpuHasAvx2Fma()) return false;
  const at::ScalarType dt = w.scalar_type();
  if (dt != at::kFloat && dt != at::kBFloat16) return false;
  if (!x.device().is_cpu() || !w.device().is_cpu() || x.scalar_type() != dt || w.dim() != 2 || !w.is_contiguous()) return false;
  if (x.dim() < 1 || x.size(-1) != w.size(1) || x.numel() == 0 || x.numel() / x.size(-1) > kMaxSmallRows) return false;
  if (b && b->defined() && (!b->device().is_cpu() || b->scalar_type() != dt || b->dim() != 1 || b->size(0) != w.size(0))) return false;
  if (x.is_sparse() || w.is_sparse() || x.is_mkldnn() || w.is_mkldnn()) return false;
  if (at::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad() || (b && b->defined() && b->requires_grad()))) return false;
  return !AutocastOnCpu();
}

static at::Tensor SmallBatchLinear(const at::Tensor& x, const at::Tensor& w, const Opt<at::Tensor>& b) {
  c10::NoGradGuard noGrad;
  const int64_t in = w.size(1), outFeatures = w.size(0), rows = x.numel() / in;
  // The input (a few rows) in float32 once; the weight is read in its own dtype.
  const at::Tensor xf = x.reshape({rows, in}).to(at::kFloat).contiguous();
  at::Tensor y = at::empty({rows, outFeatures}, x.options().dtype(at::kFloat));
  const float* xp = xf.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  const bool bf16 = w.scalar_type() == at::kBFloat16;
  const void* wp = w.data_ptr();
  // Weights this size stream from memory, and one core cannot draw the machine's bandwidth: chunks of
  // 256 KiB let a 1536 × 576 float32 layer use both cores of a 2-core AMD EPYC (424 MB of such layers:
  // 16 GB/s on one thread, 28 GB/s in 256 KiB chunks, 25 GB/s in 1 MiB chunks).
  const int64_t rowBytes = in * static_cast<int64_t>(w.element_size());
  const int64_t grain = std::max<int64_t>(16, ((int64_t{256} << 10) + rowBytes - 1) / rowBytes);
  at::parallel_for(0, outFeatures, grain, [&](int64_t begin, int64_t end) {
    if (bf16) {
      DotRows(static_cast<const uint16_t*>(wp), xp, rows, in, outFeatures, begin, end, yp);
    } else {
      DotRows(static_cast<const float*>(wp), xp, rows, in, outFeatures, begin, end, yp);
    }
  });
  if (b && b->defined()) y.add_(b->to(at::kFloat));
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.back() = outFeatures;
  return y.to(w.scalar_type()).view(shape);
}
#endif

namespace op {

FT_OP(linear) {
  const at::Tensor& x = T(info, 0);
  const at::Tensor& w = T(info, 1);
  const Opt<at::Tensor> b = OptT(info, 2);
#ifdef FT_SMALL_LINEAR_KERNEL
  if (TakesSmallPath(x, w, b)) return Wrap(info.Env(), SmallBatchLinear(x, w, b));
#endif
  return Wrap(info.Env(), Linear(x, w, b));
}

}  // namespace op

// Whether the path is on and this CPU can take it (AVX2 + FMA on x86-64).
FT_FN(smallBatchLinear) {
#ifdef FT_SMALL_LINEAR_KERNEL
  return Napi::Boolean::New(info.Env(), gSmallBatchLinear && CpuHasAvx2Fma());
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}
FT_FN(setSmallBatchLinear) {
  gSmallBatchLinear = Bool(info, 0);
  return info.Env().Undefined();
}

void RegisterLinear(Napi::Env env, Napi::Object exports) {
  FT_EXPORT(exports, smallBatchLinear);
  FT_EXPORT(exports, setSmallBatchLinear);
}

}  // namespace ft
