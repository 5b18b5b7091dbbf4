// Autograd, grad mode, autocast, RNG, thread pools and devices.
#include <dlfcn.h>
#include <ATen/autocast_mode.h>
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/GradMode.h>
#include <mutex>
#include "common.h"
#if FT_TORCH_AT_LEAST(2, 9) && __has_include(<c10/core/CachingDeviceAllocator.h>)
#include <c10/core/CachingDeviceAllocator.h>
#define FT_HAS_DEVICE_ALLOCATOR 1
#else
#define FT_HAS_DEVICE_ALLOCATOR 0
#endif

namespace ft {

// ---- autograd ----
FT_FN(requiresGrad) { return Napi::Boolean::New(info.Env(), T(info, 0).requires_grad()); }
FT_FN(setRequiresGrad) {
  at::Tensor t = T(info, 0);
  t.set_requires_grad(Bool(info, 1));
  return info.Env().Undefined();
}
FT_FN(grad) { return Wrap(info.Env(), T(info, 0).grad()); }
FT_FN(setGrad) {
  at::Tensor t = T(info, 0);
  if (Missing(info, 1)) t.mutable_grad().reset();
  else t.mutable_grad() = T(info, 1);
  return info.Env().Undefined();
}
FT_FN(backward) {
  const at::Tensor& t = T(info, 0);
  auto g = OptT(info, 1);
  bool retain = !Missing(info, 2) && Bool(info, 2);
  t.backward(g ? *g : at::Tensor(), retain, false);
  return info.Env().Undefined();
}
// setData(t, src): swaps the tensor's storage for src's, keeping its autograd identity (param.data = …).
FT_FN(setData) {
  at::Tensor t = T(info, 0);
  t.set_data(T(info, 1));
  return info.Env().Undefined();
}
FT_FN(isLeaf) { return Napi::Boolean::New(info.Env(), T(info, 0).is_leaf()); }
FT_FN(retainGrad) {
  T(info, 0).retain_grad();
  return info.Env().Undefined();
}
FT_FN(detach) { return Wrap(info.Env(), T(info, 0).detach()); }
FT_FN(isGradEnabled) { return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled()); }
FT_FN(setGradEnabled) {
  c10::GradMode::set_enabled(Bool(info, 0));
  return info.Env().Undefined();
}

// ---- autocast ----
static at::DeviceType AutocastDevice(const Napi::CallbackInfo& info, size_t i) {
  std::string d = Str(info, i);
  if (d == "cpu") return at::kCPU;
  if (d == "cuda") return at::kCUDA;
  throw Napi::Error::New(info.Env(), "autocast supports device types 'cpu' and 'cuda', got '" + d + "'");
}

// getAutocast(deviceType) -> [enabled, dtypeCode]
FT_FN(getAutocast) {
  at::DeviceType dev = AutocastDevice(info, 0);
  bool enabled;
  at::ScalarType dtype;
#if FT_TORCH_AT_LEAST(2, 4)
  enabled = at::autocast::is_autocast_enabled(dev);
  dtype = at::autocast::get_autocast_dtype(dev);
#else
  enabled = dev == at::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
  dtype = dev == at::kCPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
#endif
  auto out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, Napi::Boolean::New(info.Env(), enabled));
  out.Set(1u, Napi::Number::New(info.Env(), static_cast<int>(dtype)));
  return out;
}

// setAutocast(deviceType, enabled, dtypeCode)
FT_FN(setAutocast) {
  at::DeviceType dev = AutocastDevice(info, 0);
  bool enabled = Bool(info, 1);
  at::ScalarType dtype = DType(info, 2);
#if FT_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(dev, enabled);
  at::autocast::set_autocast_dtype(dev, dtype);
#else
  if (dev == at::kCPU) {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  } else {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  }
#endif
  return info.Env().Undefined();
}

// Autocast caches casted weights while any scope is open; leaving the outermost scope clears it.
FT_FN(autocastEnter) { return Napi::Number::New(info.Env(), at::autocast::increment_nesting()); }
FT_FN(autocastExit) {
  int depth = at::autocast::decrement_nesting();
  if (depth == 0) at::autocast::clear_cache();
  return Napi::Number::New(info.Env(), depth);
}

// ---- RNG ----
static std::vector<at::Device> GeneratorDevices(const Napi::CallbackInfo& info, size_t i) {
  if (!Missing(info, i)) return {at::Device(Str(info, i))};
  std::vector<at::Device> out{at::Device(at::kCPU)};
  if (at::hasCUDA()) {
    int n = at::detail::getCUDAHooks().getNumGPUs();
    for (int d = 0; d < n; ++d) out.emplace_back(at::kCUDA, static_cast<at::DeviceIndex>(d));
  }
  return out;
}

static at::Generator GeneratorFor(at::Device d) {
  if (d.is_cpu()) return at::detail::getDefaultCPUGenerator();
  if (d.is_cuda() && !d.has_index()) d = at::Device(at::kCUDA, 0);
  return at::globalContext().defaultGenerator(d);
}

// manualSeed(seed, device?): seeds every default generator (CPU and each CUDA device), like torch.manual_seed.
FT_FN(manualSeed) {
  uint64_t seed = static_cast<uint64_t>(Int(info, 0));
  for (const at::Device& d : GeneratorDevices(info, 1)) {
    at::Generator gen = GeneratorFor(d);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(seed);
  }
  return info.Env().Undefined();
}

FT_FN(getRngState) {
  at::Generator gen = GeneratorFor(Dev(info, 0));
  std::lock_guard<std::mutex> lock(gen.mutex());
  return Wrap(info.Env(), gen.get_state());
}

FT_FN(setRngState) {
  at::Generator gen = GeneratorFor(Dev(info, 1));
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(T(info, 0));
  return info.Env().Undefined();
}

// ---- threads ----
FT_FN(setNumThreads) {
  int64_t n = Int(info, 0);
  if (n < 1 || n > 4096) throw Napi::RangeError::New(info.Env(), "threads must be in [1, 4096]");
  at::set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}
FT_FN(getNumThreads) { return Napi::Number::New(info.Env(), at::get_num_threads()); }

// OpenBLAS keeps its own pool; it is reached through dlsym because libtorch may use another BLAS.
using BlasSetThreads = void (*)(int);
using BlasGetThreads = int (*)();
FT_FN(setBlasThreads) {
  int64_t n = Int(info, 0);
  if (n < 1 || n > 4096) throw Napi::RangeError::New(info.Env(), "threads must be in [1, 4096]");
  auto fn = reinterpret_cast<BlasSetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (!fn) return Napi::Boolean::New(info.Env(), false);
  fn(static_cast<int>(n));
  return Napi::Boolean::New(info.Env(), true);
}
FT_FN(getBlasThreads) {
  auto fn = reinterpret_cast<BlasGetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  if (!fn) return info.Env().Null();
  return Napi::Number::New(info.Env(), fn());
}

// ---- devices ----
FT_FN(cudaAvailable) { return Napi::Boolean::New(info.Env(), at::hasCUDA()); }
FT_FN(cudaDeviceCount) {
  return Napi::Number::New(info.Env(), at::hasCUDA() ? at::detail::getCUDAHooks().getNumGPUs() : 0);
}
FT_FN(mpsAvailable) { return Napi::Boolean::New(info.Env(), at::hasMPS()); }
FT_FN(synchronize) {
  at::Device d = Dev(info, 0);
  if (d.is_cuda()) at::detail::getCUDAHooks().deviceSynchronize(d.has_index() ? d.index() : 0);
  return info.Env().Undefined();
}

const char* const OutOfMemoryAdvice =
    " (finetune-ts: lower perDeviceTrainBatchSize / perDeviceEvalBatchSize and raise gradientAccumulationSteps to keep the "
    "same effective batch, truncate to a shorter maxLength, or train in bf16/fp16)";

// memoryStats(device) -> [allocated, peakAllocated, reserved, peakReserved] in bytes: the caching
// allocator's aggregate counters, what torch.cuda.memory_allocated() and its siblings read. Reached
// through c10's device-generic allocator interface, so no CUDA header is needed to build.
static c10::DeviceIndex CudaIndex(const Napi::CallbackInfo& info, size_t i) {
  at::Device d = Dev(info, i);
  if (!d.is_cuda()) throw Napi::Error::New(info.Env(), "memory statistics are kept for CUDA devices, got '" + d.str() + "'");
  if (!at::hasCUDA()) throw Napi::Error::New(info.Env(), "CUDA is not available: this libtorch has no CUDA or no GPU was found");
  return d.has_index() ? d.index() : 0;
}
#if FT_HAS_DEVICE_ALLOCATOR
static c10::DeviceAllocator* CudaAllocator() { return c10::getDeviceAllocator(at::kCUDA); }
#else
[[noreturn]] static void NoDeviceAllocator(const Napi::CallbackInfo& info) {
  throw Napi::Error::New(info.Env(), "CUDA memory statistics need libtorch >= 2.9, this is " TORCH_VERSION);
}
#endif
FT_FN(memoryStats) {
  c10::DeviceIndex index = CudaIndex(info, 0);
#if FT_HAS_DEVICE_ALLOCATOR
  auto stats = CudaAllocator()->getDeviceStats(index);
  // Index 0 of each StatArray is StatType::AGGREGATE (both pools).
  const auto& allocated = stats.allocated_bytes[0];
  const auto& reserved = stats.reserved_bytes[0];
  auto out = Napi::Array::New(info.Env(), 4);
  out.Set(0u, Napi::Number::New(info.Env(), static_cast<double>(allocated.current)));
  out.Set(1u, Napi::Number::New(info.Env(), static_cast<double>(allocated.peak)));
  out.Set(2u, Napi::Number::New(info.Env(), static_cast<double>(reserved.current)));
  out.Set(3u, Napi::Number::New(info.Env(), static_cast<double>(reserved.peak)));
  return out;
#else
  (void)index;
  NoDeviceAllocator(info);
#endif
}
FT_FN(resetPeakMemoryStats) {
  c10::DeviceIndex index = CudaIndex(info, 0);
#if FT_HAS_DEVICE_ALLOCATOR
  CudaAllocator()->resetPeakStats(index);
  return info.Env().Undefined();
#else
  (void)index;
  NoDeviceAllocator(info);
#endif
}
FT_FN(emptyCache) {
  if (!at::hasCUDA()) return info.Env().Undefined();
#if FT_HAS_DEVICE_ALLOCATOR
  CudaAllocator()->emptyCache();
  return info.Env().Undefined();
#else
  NoDeviceAllocator(info);
#endif
}

// ---- backend switches (torch.backends.cuda) ----
// sdpBackends() -> [flash, memEfficient, math]; setSdpBackend(name, enabled).
FT_FN(sdpBackends) {
  auto out = Napi::Array::New(info.Env(), 3);
#if FT_TORCH_AT_LEAST(2, 0)
  auto& ctx = at::globalContext();
  out.Set(0u, Napi::Boolean::New(info.Env(), ctx.userEnabledFlashSDP()));
  out.Set(1u, Napi::Boolean::New(info.Env(), ctx.userEnabledMemEfficientSDP()));
  out.Set(2u, Napi::Boolean::New(info.Env(), ctx.userEnabledMathSDP()));
#else
  for (uint32_t i = 0; i < 3; ++i) out.Set(i, Napi::Boolean::New(info.Env(), false));
#endif
  return out;
}
FT_FN(setSdpBackend) {
  std::string name = Str(info, 0);
  bool on = Bool(info, 1);
#if FT_TORCH_AT_LEAST(2, 0)
  auto& ctx = at::globalContext();
  if (name == "flash") ctx.setSDPUseFlash(on);
  else if (name == "memEfficient") ctx.setSDPUseMemEfficient(on);
  else if (name == "math") ctx.setSDPUseMath(on);
  else throw Napi::Error::New(info.Env(), "unknown attention backend '" + name + "' (flash, memEfficient, math)");
  return info.Env().Undefined();
#else
  (void)on;
  throw Napi::Error::New(info.Env(), "choosing the attention backend needs libtorch >= 2.0, this is " TORCH_VERSION);
#endif
}
// TF32 for float32 matmuls on CUDA (torch.backends.cuda.matmul.allow_tf32), off by default.
FT_FN(allowTf32) { return Napi::Boolean::New(info.Env(), at::globalContext().allowTF32CuBLAS()); }
FT_FN(setAllowTf32) {
  at::globalContext().setAllowTF32CuBLAS(Bool(info, 0));
  return info.Env().Undefined();
}

void RegisterRuntime(Napi::Env env, Napi::Object exports) {
  FT_EXPORT(exports, memoryStats);
  FT_EXPORT(exports, resetPeakMemoryStats);
  FT_EXPORT(exports, emptyCache);
  FT_EXPORT(exports, sdpBackends);
  FT_EXPORT(exports, setSdpBackend);
  FT_EXPORT(exports, allowTf32);
  FT_EXPORT(exports, setAllowTf32);
  FT_EXPORT(exports, requiresGrad);
  FT_EXPORT(exports, setRequiresGrad);
  FT_EXPORT(exports, grad);
  FT_EXPORT(exports, setGrad);
  FT_EXPORT(exports, backward);
  FT_EXPORT(exports, setData);
  FT_EXPORT(exports, isLeaf);
  FT_EXPORT(exports, retainGrad);
  FT_EXPORT(exports, detach);
  FT_EXPORT(exports, isGradEnabled);
  FT_EXPORT(exports, setGradEnabled);
  FT_EXPORT(exports, getAutocast);
  FT_EXPORT(exports, setAutocast);
  FT_EXPORT(exports, autocastEnter);
  FT_EXPORT(exports, autocastExit);
  FT_EXPORT(exports, manualSeed);
  FT_EXPORT(exports, getRngState);
  FT_EXPORT(exports, setRngState);
  FT_EXPORT(exports, setNumThreads);
  FT_EXPORT(exports, getNumThreads);
  FT_EXPORT(exports, setBlasThreads);
  FT_EXPORT(exports, getBlasThreads);
  FT_EXPORT(exports, cudaAvailable);
  FT_EXPORT(exports, cudaDeviceCount);
  FT_EXPORT(exports, mpsAvailable);
  FT_EXPORT(exports, synchronize);
}

}  // namespace ft
