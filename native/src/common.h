// Shared helpers of the addon: tensor handles, argument checks, libtorch-error translation.
// The addon is thin: each exported function calls one ATen op. Policy lives in TypeScript.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>
#include <torch/version.h>
#include <cmath>
#include <deque>
#include <string>
#include <vector>

#define FT_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

// ATen's optional arguments: c10::optional while libtorch has it (its own class before 2.4, then an
// alias of std::optional), std::optional where the alias header is gone.
#if __has_include(<c10/util/Optional.h>)
#include <c10/util/Optional.h>
#define FT_OPTIONAL_NAMESPACE c10
#else
#include <optional>
#define FT_OPTIONAL_NAMESPACE std
#endif

namespace ft {

template <class T>
using Opt = FT_OPTIONAL_NAMESPACE::optional<T>;
constexpr auto NoValue = FT_OPTIONAL_NAMESPACE::nullopt;

// A JS handle is a number naming a slot of the handle table, which owns one reference to a libtorch
// tensor. Numbers, not napi Externals: an External's finalizer runs only after the event loop
// turns, so a synchronous training loop would pile up dead boxes. dispose() frees the slot at once;
// a generation count in the number makes a stale handle an error instead of another tensor.
struct TensorBox {
  at::Tensor t;
  uint32_t generation = 0;
  uint32_t slot = 0;
};

// One table per Node environment (the main thread and each worker_thread that loads the addon), kept
// as the environment's instance data: threads never share it, and it is freed when its environment
// shuts down, before static destructors (and libtorch's or CUDA's teardown) run. A deque, so that a
// box's address stays valid while new handles are made.
struct HandleTable {
  std::deque<TensorBox> boxes;
  std::vector<uint32_t> freeSlots;
};
HandleTable& Handles(Napi::Env env);

Napi::Value Wrap(Napi::Env env, at::Tensor t);
Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& ts);
TensorBox* Box(const Napi::CallbackInfo& info, size_t i);
void Release(Napi::Env env, TensorBox* b);
TensorBox* Lookup(const Napi::Value& v);
const at::Tensor& T(const Napi::CallbackInfo& info, size_t i);
Opt<at::Tensor> OptT(const Napi::CallbackInfo& info, size_t i);
std::vector<at::Tensor> TList(const Napi::CallbackInfo& info, size_t i);
std::vector<at::Tensor> OptTList(const Napi::CallbackInfo& info, size_t i);
bool IsTensor(const Napi::Value& v);

double Num(const Napi::CallbackInfo& info, size_t i);
int64_t Int(const Napi::CallbackInfo& info, size_t i);
Opt<int64_t> OptInt(const Napi::CallbackInfo& info, size_t i);
Opt<double> OptNum(const Napi::CallbackInfo& info, size_t i);
bool Bool(const Napi::CallbackInfo& info, size_t i);
std::string Str(const Napi::CallbackInfo& info, size_t i);
std::vector<int64_t> Ints(const Napi::CallbackInfo& info, size_t i);
Opt<std::vector<int64_t>> OptInts(const Napi::CallbackInfo& info, size_t i);
at::Scalar ToScalar(const Napi::CallbackInfo& info, size_t i);
at::ScalarType DType(const Napi::CallbackInfo& info, size_t i);
Opt<at::ScalarType> OptDType(const Napi::CallbackInfo& info, size_t i);
Opt<at::Scalar> OptScalar(const Napi::CallbackInfo& info, size_t i);
at::Device Dev(const Napi::CallbackInfo& info, size_t i);
at::TensorOptions Opts(const Napi::CallbackInfo& info, size_t dtypeIndex, size_t deviceIndex);
bool Missing(const Napi::CallbackInfo& info, size_t i);

[[noreturn]] void ThrowType(const Napi::CallbackInfo& info, size_t i, const char* need);

extern const char* const OutOfMemoryAdvice;

// Runs fn, turning libtorch's exceptions into JS errors with libtorch's message.
template <typename F>
Napi::Value Guard(const Napi::CallbackInfo& info, F fn) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::OutOfMemoryError& e) {
    // An out-of-memory error leaves the caching allocator usable: say what to change instead of
    // only what failed.
    throw Napi::Error::New(info.Env(), std::string(e.what_without_backtrace()) + OutOfMemoryAdvice);
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

using Registrar = void (*)(Napi::Env, Napi::Object);
void RegisterCreate(Napi::Env env, Napi::Object exports);
void RegisterOps(Napi::Env env, Napi::Object exports);  // generated from native/ops.yaml
void RegisterOpFlags(Napi::Env env, Napi::Object exports);
void RegisterRuntime(Napi::Env env, Napi::Object exports);
void RegisterTrainOps(Napi::Env env, Napi::Object exports);
void RegisterDistributed(Napi::Env env, Napi::Object exports);
void RegisterLinear(Napi::Env env, Napi::Object exports);
void RegisterJsFunction(Napi::Env env, Napi::Object exports);
void RegisterBf16Gemm(Napi::Env env, Napi::Object exports);
void RegisterDropout(Napi::Env env, Napi::Object exports);

// The matrix products, computed as float32 GEMMs of bfloat16-rounded operands where they would be
// bfloat16 GEMMs on a CPU without bfloat16 arithmetic (bf16_gemm.cc); at::… otherwise.
at::Tensor Matmul(const at::Tensor& a, const at::Tensor& b);
at::Tensor Mm(const at::Tensor& a, const at::Tensor& b);
at::Tensor Bmm(const at::Tensor& a, const at::Tensor& b);
at::Tensor Linear(const at::Tensor& x, const at::Tensor& w, const Opt<at::Tensor>& b);
at::Tensor Addmm(const at::Tensor& input, const at::Tensor& m1, const at::Tensor& m2, const at::Scalar& beta, const at::Scalar& alpha);
at::Tensor Baddbmm(const at::Tensor& input, const at::Tensor& b1, const at::Tensor& b2, const at::Scalar& beta, const at::Scalar& alpha);

}  // namespace ft

// Declares an exported function whose body runs under Guard.
#define FT_FN(name)                                                       \
  static Napi::Value name##_impl(const Napi::CallbackInfo& info);         \
  static Napi::Value name(const Napi::CallbackInfo& info) {               \
    return ft::Guard(info, [&]() { return name##_impl(info); });          \
  }                                                                       \
  static Napi::Value name##_impl(const Napi::CallbackInfo& info)

#define FT_EXPORT(exports, name) exports.Set(#name, Napi::Function::New(env, name, #name))

// The body of an op that native/ops.yaml declares with `aten: custom`, in namespace ft::op: the
// generated native/gen/ops.cc declares and exports it.
#define FT_OP(name)                                                       \
  static Napi::Value name##_impl(const Napi::CallbackInfo& info);         \
  Napi::Value name(const Napi::CallbackInfo& info) {                      \
    return ft::Guard(info, [&]() { return name##_impl(info); });          \
  }                                                                       \
  static Napi::Value name##_impl(const Napi::CallbackInfo& info)
