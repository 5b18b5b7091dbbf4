// bfloat16 matrix products on CPUs without bfloat16 arithmetic (no AVX512-BF16, no AMX).
//
// There, libtorch computes a bfloat16 GEMM in a scalar fallback (oneDNN's bfloat16 kernels need
// AVX-512): about 2 GFLOP/s on two AVX2 cores, where the float32 GEMM runs at 170. Autocast to
// bfloat16 — the mixed precision people train with on CPUs, and TRL's default — then spends nearly
// all of a step there. A bfloat16 GEMM rounds its operands to bfloat16, sums their products in
// float32 and rounds the result to bfloat16. A product of two bfloat16 values is exact in float32, so
// the float32 GEMM of the operands rounded to bfloat16 computes the same sums (in BLAS's order, as
// any two GEMMs differ), and the result is rounded the same way. Autograd follows the casts: each
// gradient is rounded to bfloat16 where autocast's bfloat16 backward rounds it.
//
// Taken when torch.backends.cpu.bf16GemmInFp32 is on (its default is on exactly where the CPU lacks
// bfloat16 arithmetic) for CPU operands that would make a bfloat16 GEMM: under CPU autocast to
// bfloat16, or operands already in bfloat16.
#include "common.h"
#include <ATen/autocast_mode.h>
#include <c10/core/impl/LocalDispatchKeySet.h>

namespace ft {

static bool gBf16GemmInFp32 = false;

static bool AutocastBf16OnCpu() {
#if FT_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(at::kCPU) && at::autocast::get_autocast_dtype(at::kCPU) == at::kBFloat16;
#else
  return at::autocast::is_cpu_enabled() && at::autocast::get_autocast_cpu_dtype() == at::kBFloat16;
#endif
}

static bool MakesBf16Gemm(std::initializer_list<const at::Tensor*> operands) {
  if (!gBf16GemmInFp32) return false;
  bool allBf16 = true;
  for (const at::Tensor* t : operands) {
    if (!t->defined()) continue;
    if (!t->is_cpu() || !at::isFloatingType(t->scalar_type())) return false;
    allBf16 = allBf16 && t->scalar_type() == at::kBFloat16;
  }
  return allBf16 || AutocastBf16OnCpu();
}

// An operand as the bfloat16 GEMM reads it, held in float32.
static at::Tensor Rounded(const at::Tensor& t) {
  if (!t.defined()) return t;
  return t.scalar_type() == at::kBFloat16 ? t.to(at::kFloat) : t.to(at::kBFloat16).to(at::kFloat);
}

// Runs the float32 product with autocast's CPU key excluded (it would cast the operands back to bfloat16).
template <typename F>
static at::Tensor InFp32(F product) {
  c10::impl::ExcludeDispatchKeyGuard noAutocast(c10::DispatchKey::AutocastCPU);
  return product().to(at::kBFloat16);
}

at::Tensor Matmul(const at::Tensor& a, const at::Tensor& b) {
  if (!MakesBf16Gemm({&a, &b})) return at::matmul(a, b);
  return InFp32([&] { return at::matmul(Rounded(a), Rounded(b)); });
}
at::Tensor Mm(const at::Tensor& a, const at::Tensor& b) {
  if (!MakesBf16Gemm({&a, &b})) return at::mm(a, b);
  return InFp32([&] { return at::mm(Rounded(a), Rounded(b)); });
}
at::Tensor Bmm(const at::Tensor& a, const at::Tensor& b) {
  if (!MakesBf16Gemm({&a, &b})) return at::bmm(a, b);
  return InFp32([&] { return at::bmm(Rounded(a), Rounded(b)); });
}
at::Tensor Linear(const at::Tensor& x, const at::Tensor& w, const Opt<at::Tensor>& b) {
  const at::Tensor bias = b ? *b : at::Tensor();
  if (!MakesBf16Gemm({&x, &w, &bias})) return at::linear(x, w, b);
  return InFp32([&] {
    const at::Tensor rb = Rounded(bias);
    return at::linear(Rounded(x), Rounded(w), rb.defined() ? Opt<at::Tensor>(rb) : Opt<at::Tensor>());
  });
}
at::Tensor Addmm(const at::Tensor& input, const at::Tensor& m1, const at::Tensor& m2, const at::Scalar& beta, const at::Scalar& alpha) {
  if (!MakesBf16Gemm({&input, &m1, &m2})) return at::addmm(input, m1, m2, beta, alpha);
  return InFp32([&] { return at::addmm(Rounded(input), Rounded(m1), Rounded(m2), beta, alpha); });
}
at::Tensor Baddbmm(const at::Tensor& input, const at::Tensor& b1, const at::Tensor& b2, const at::Scalar& beta, const at::Scalar& alpha) {
  if (!MakesBf16Gemm({&input, &b1, &b2})) return at::baddbmm(input, b1, b2, beta, alpha);
  return InFp32([&] { return at::baddbmm(Rounded(input), Rounded(b1), Rounded(b2), beta, alpha); });
}

FT_FN(bf16GemmInFp32) { return Napi::Boolean::New(info.Env(), gBf16GemmInFp32); }
FT_FN(setBf16GemmInFp32) {
  gBf16GemmInFp32 = Bool(info, 0);
  return info.Env().Undefined();
}

void RegisterBf16Gemm(Napi::Env env, Napi::Object exports) {
  FT_EXPORT(exports, bf16GemmInFp32);
  FT_EXPORT(exports, setBf16GemmInFp32);
}

}  // namespace ft
