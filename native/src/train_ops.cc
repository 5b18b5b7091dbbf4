// A training step's bookkeeping as one call each instead of a JS loop of calls per parameter: the
// AdamW and SGD updates, gradient clipping, zero_grad, the GradScaler's unscale with its inf check,
// and freeing a scope's tensors. Each loop does, per tensor, the very ops of torch.optim's
// single-tensor implementations and of torch.nn.utils.clip_grad_norm_, so results round as
// PyTorch's do. Also the process's malloc tuning, applied when the addon loads.
#include <c10/core/GradMode.h>
#include "common.h"
#include <ATen/Parallel.h>
#include <cstdlib>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ft {

// Per-parameter step counts, one for each of n parameters.
static std::vector<int64_t> Steps(const Napi::CallbackInfo& info, size_t i, size_t n) {
  auto steps = Ints(info, i);
  if (steps.size() != n) throw Napi::Error::New(info.Env(), "argument " + std::to_string(i) + ": expected " + std::to_string(n) + " step counts");
  return steps;
}

// AdamW's lists and hyper-parameters, as both AdamW functions take them:
// (params, expAvgs, expAvgSqs, steps, lr, beta1, beta2, eps, weightDecay).
struct AdamWArgs {
  std::vector<at::Tensor> params, expAvgs, expAvgSqs;
  std::vector<int64_t> steps;
  double lr, beta1, beta2, eps, weightDecay;
};
static AdamWArgs ReadAdamW(const Napi::CallbackInfo& info, const char* fn) {
  AdamWArgs a{TList(info, 0), TList(info, 1), TList(info, 2), {}, Num(info, 4), Num(info, 5), Num(info, 6), Num(info, 7), Num(info, 8)};
  if (a.expAvgs.size() != a.params.size() || a.expAvgSqs.size() != a.params.size()) {
    throw Napi::Error::New(info.Env(), std::string(fn) + ": params, exp_avg and exp_avg_sq differ in length");
  }
  a.steps = Steps(info, 3, a.params.size());
  return a;
}

// Frees the tensors of a closed scope in one call (idempotent per handle, as dispose()).
FT_FN(disposeMany) {
  if (info.Length() < 1 || !info[0].IsArray()) ThrowType(info, 0, "an array of tensor handles");
  auto arr = info[0].As<Napi::Array>();
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    if (TensorBox* b = Lookup(arr.Get(k))) Release(info.Env(), b);
  }
  return info.Env().Undefined();
}

// For each parameter, 1 when it has a gradient.
FT_FN(hasGrad) {
  auto ps = TList(info, 0);
  auto out = Napi::Uint8Array::New(info.Env(), ps.size());
  for (size_t k = 0; k < ps.size(); ++k) out[k] = ps[k].grad().defined() ? 1 : 0;
  return out;
}

// Parameter k's gradient, which an optimizer step needs: a missing one is an error naming the step.
static at::Tensor GradOf(const Napi::CallbackInfo& info, const at::Tensor& p, size_t k, const char* fn) {
  at::Tensor g = p.grad();
  if (!g.defined()) throw Napi::Error::New(info.Env(), std::string(fn) + ": parameter " + std::to_string(k) + " has no gradient");
  return g;
}

// zero_grad(set_to_none=True).
FT_FN(zeroGrad) {
  for (auto& p : TList(info, 0)) p.mutable_grad() = at::Tensor();
  return info.Env().Undefined();
}

// torch.optim.AdamW, _single_tensor_adamw, for parameters that all have gradients:
// (params, expAvgs, expAvgSqs, steps (after increment), lr, beta1, beta2, eps, weightDecay, lerp).
FT_FN(adamwStep) {
  AdamWArgs a = ReadAdamW(info, "adamwStep");
  auto &ps = a.params, &m = a.expAvgs, &v = a.expAvgSqs;
  auto& steps = a.steps;
  const double lr = a.lr, beta1 = a.beta1, beta2 = a.beta2, eps = a.eps, wd = a.weightDecay;
  bool lerp = Bool(info, 9);
  c10::NoGradGuard noGrad;
  for (size_t k = 0; k < ps.size(); ++k) {
    at::Tensor& p = ps[k];
    const at::Tensor grad = GradOf(info, p, k, "adamwStep");
    p.mul_(1 - lr * wd);
    if (lerp) m[k].lerp_(grad, 1 - beta1);
    else m[k].mul_(beta1).add_(grad, 1 - beta1);
    v[k].mul_(beta2).addcmul_(grad, grad, 1 - beta2);
    double biasCorrection1 = 1 - std::pow(beta1, steps[k]);
    double biasCorrection2Sqrt = std::sqrt(1 - std::pow(beta2, steps[k]));
    at::Tensor denom = (v[k].sqrt() / biasCorrection2Sqrt).add_(eps);
    p.addcdiv_(m[k], denom, -(lr / biasCorrection1));
  }
  return info.Env().Undefined();
}

// AdamW fused into one pass over each parameter (params, expAvgs, expAvgSqs, steps, lr, beta1, beta2,
// eps, weightDecay): the same formula as adamwStep, but p, m, v and the gradient are read and written
// once instead of in eight whole-tensor passes, so a large embedding's update costs a fraction. The
// rounding differs from the op-by-op update by an ulp here and there, so it is opt-in
// (TrainingArguments.optim "adamw_torch_fused"). From libtorch 2.4 it is torch's own kernel; before,
// a loop of ours over float32 CPU tensors.
FT_FN(adamwStepFused) {
  AdamWArgs a = ReadAdamW(info, "adamwStepFused");
  auto &ps = a.params, &m = a.expAvgs, &v = a.expAvgSqs;
  auto& steps = a.steps;
  const double lr = a.lr, beta1 = a.beta1, beta2 = a.beta2, eps = a.eps, wd = a.weightDecay;
  c10::NoGradGuard noGrad;
#if FT_TORCH_AT_LEAST(2, 4) && !defined(FT_NO_TORCH_FUSED_ADAMW)
  // torch's own kernel (torch.optim.AdamW(fused=True), HF's default "adamw_torch_fused"): PyTorch's
  // rounding exactly, on the CPU and, as one launch for all tensors, on CUDA. Its step counts are
  // float32 tensors on the parameters' device: one small copy holds them all.
  if (ps.empty()) return info.Env().Undefined();
  std::vector<at::Tensor> grads;
  grads.reserve(ps.size());
  for (size_t k = 0; k < ps.size(); ++k) {
    grads.push_back(GradOf(info, ps[k], k, "adamwStepFused"));
    if (ps[k].device() != ps[0].device() || ps[k].scalar_type() != ps[0].scalar_type()) {
      throw Napi::Error::New(info.Env(), "adamwStepFused: parameter " + std::to_string(k) + " differs from the first in device or dtype");
    }
  }
  std::vector<float> stepValues(steps.begin(), steps.end());
  at::Tensor stepTensor = at::tensor(stepValues, at::kFloat).to(ps[0].device());
  std::vector<at::Tensor> stepViews = stepTensor.unbind(0);
  at::_fused_adamw_(ps, grads, m, v, {}, stepViews, lr, beta1, beta2, wd, eps, /*amsgrad=*/false, /*maximize=*/false);
  return info.Env().Undefined();
#else
  for (size_t k = 0; k < ps.size(); ++k) {
    at::Tensor& p = ps[k];
    at::Tensor g = GradOf(info, p, k, "adamwStepFused");
    for (const at::Tensor* t : {&p, &g, &m[k], &v[k]}) {
      if (!t->device().is_cpu() || t->scalar_type() != at::kFloat || !t->is_contiguous()) {
        throw Napi::Error::New(info.Env(), "adamwStepFused: parameter " + std::to_string(k) + ": needs contiguous float32 CPU tensors");
      }
    }
    const float decay = static_cast<float>(1 - lr * wd);
    const float b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);
    const float c1 = static_cast<float>(1 - beta1), c2 = static_cast<float>(1 - beta2);
    const float bc2 = static_cast<float>(std::sqrt(1 - std::pow(beta2, steps[k])));
    const float stepSize = static_cast<float>(lr / (1 - std::pow(beta1, steps[k])));
    const float epsF = static_cast<float>(eps);
    float* __restrict pp = p.data_ptr<float>();
    const float* __restrict gp = g.data_ptr<float>();
    float* __restrict mp = m[k].data_ptr<float>();
    float* __restrict vp = v[k].data_ptr<float>();
    at::parallel_for(0, p.numel(), 32768, [=](int64_t begin, int64_t end) {
      // A plain loop the compiler vectorizes (-O3; the restrict pointers tell it nothing aliases).
      for (int64_t i = begin; i < end; ++i) {
        const float gi = gp[i];
        const float mi = mp[i] * b1 + c1 * gi;
        const float vi = vp[i] * b2 + c2 * gi * gi;
        mp[i] = mi;
        vp[i] = vi;
        pp[i] = pp[i] * decay + (-stepSize) * (mi / (std::sqrt(vi) / bc2 + epsF));
      }
    });
  }
  return info.Env().Undefined();
#endif
}

// torch.optim.SGD, _single_tensor_sgd: (params, momentumBuffers (null: none yet), lr, momentum,
// dampening, weightDecay, nesterov). Returns the momentum buffers made on this step (null where
// one existed or momentum is 0).
FT_FN(sgdStep) {
  auto ps = TList(info, 0);
  auto bufs = OptTList(info, 1);
  if (bufs.size() != ps.size()) throw Napi::Error::New(info.Env(), "sgdStep: params and momentum buffers differ in length");
  double lr = Num(info, 2), momentum = Num(info, 3), dampening = Num(info, 4), wd = Num(info, 5);
  bool nesterov = Bool(info, 6);
  c10::NoGradGuard noGrad;
  std::vector<at::Tensor> made(ps.size());
  for (size_t k = 0; k < ps.size(); ++k) {
    at::Tensor d = GradOf(info, ps[k], k, "sgdStep");
    if (wd != 0) d = d.add(ps[k], wd);
    if (momentum != 0) {
      at::Tensor buf;
      if (!bufs[k].defined()) {
        buf = d.clone().detach();
        made[k] = buf;
      } else {
        buf = bufs[k];
        buf.mul_(momentum).add_(d, 1 - dampening);
      }
      d = nesterov ? d.add(buf, momentum) : buf;
    }
    ps[k].add_(d, -lr);
  }
  return WrapList(info.Env(), made);
}

// torch.nn.utils.clip_grad_norm_: (params, maxNorm, normType; Infinity for the max norm). Returns
// the total norm before clipping as a tensor (null when no parameter has a gradient), so a caller
// that only logs it now and then need not wait for the device.
FT_FN(clipGradNorm) {
  auto ps = TList(info, 0);
  double maxNorm = Num(info, 1), normType = Num(info, 2);
  c10::NoGradGuard noGrad;
  std::vector<at::Tensor> grads;
  for (auto& p : ps) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  if (grads.empty()) return info.Env().Null();
  std::vector<at::Tensor> norms;
  norms.reserve(grads.size());
  for (auto& g : grads) norms.push_back(std::isinf(normType) ? g.abs().max() : at::norm(g, normType));
  at::Tensor stacked = at::stack(norms);
  at::Tensor total = std::isinf(normType) ? stacked.max() : at::norm(stacked, normType);
  // max_norm / (total_norm + 1e-6) is Tensor.__rtruediv__: reciprocal() * max_norm.
  at::Tensor coef = (total + 1e-6).reciprocal().mul(maxNorm).clamp_max(1.0);
  for (auto& g : grads) g.mul_(coef.to(g.device()));
  return Wrap(info.Env(), total);
}

// The GradScaler's unscale_: gradients times invScale, and whether any is inf/nan (a bool tensor,
// read by the caller when it must decide).
FT_FN(unscaleGrads) {
  auto ps = TList(info, 0);
  double inv = Num(info, 1);
  c10::NoGradGuard noGrad;
  at::Tensor found;
  for (auto& p : ps) {
    at::Tensor g = p.grad();
    if (!g.defined()) continue;
    g.mul_(inv);
    at::Tensor bad = g.isfinite().all().logical_not();
    found = found.defined() ? found.logical_or(bad.to(found.device())) : bad;
  }
  if (!found.defined()) found = at::zeros({}, at::kBool);
  return Wrap(info.Env(), found);
}

// glibc serves allocations above 128 KB with mmap and trims the heap's top above 128 KB, growing the
// mmap threshold only slowly: a training step's large temporaries (an embedding's gradient, Adam's
// buffers) are mapped, page-faulted and unmapped every step, which makes small models' steps
// several times slower for hundreds of steps. Keep them in the heap, with bounded slack. A process
// that set MALLOC_*_ itself, or FINETUNE_MALLOC=system, keeps glibc's behaviour.
static bool TuneMalloc() {
#if defined(__GLIBC__)
  const char* choice = std::getenv("FINETUNE_MALLOC");
  if (choice && std::string(choice) == "system") return false;
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_") || std::getenv("MALLOC_TOP_PAD_")) return false;
  bool ok = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1;  // glibc's largest allowed (64-bit)
  ok = mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1 && ok;  // free heap kept at most this much above use
  ok = mallopt(M_TOP_PAD, 64 << 20) == 1 && ok;
  return ok;
#else
  return false;
#endif
}

void RegisterTrainOps(Napi::Env env, Napi::Object exports) {
  exports.Set("mallocTuned", Napi::Boolean::New(env, TuneMalloc()));
  // Whether adamwStepFused runs torch's _fused_adamw_ (any device and float dtype) or the float32-CPU loop above.
#if FT_TORCH_AT_LEAST(2, 4) && !defined(FT_NO_TORCH_FUSED_ADAMW)
  exports.Set("hasTorchFusedAdamw", Napi::Boolean::New(env, true));
#else
  exports.Set("hasTorchFusedAdamw", Napi::Boolean::New(env, false));
#endif
  FT_EXPORT(exports, disposeMany); FT_EXPORT(exports, hasGrad); FT_EXPORT(exports, zeroGrad);
  FT_EXPORT(exports, adamwStep); FT_EXPORT(exports, adamwStepFused); FT_EXPORT(exports, sgdStep); FT_EXPORT(exports, clipGradNorm);
  FT_EXPORT(exports, unscaleGrads);
}

}  // namespace ft
