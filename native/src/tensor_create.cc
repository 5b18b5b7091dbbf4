// Tensor creation, metadata, readback, device/dtype moves and handle disposal.
#include <cstring>
#include "common.h"

namespace ft {

// Idempotent, like free(): a handle already released, or stale, is left alone.
FT_FN(dispose) {
  if (info.Length() < 1 || !info[0].IsBigInt()) ThrowType(info, 0, "a tensor handle");
  if (TensorBox* b = Lookup(info[0])) Release(info.Env(), b);
  return info.Env().Undefined();
}

FT_FN(isDisposed) {
  TensorBox* b = info.Length() > 0 ? Lookup(info[0]) : nullptr;
  return Napi::Boolean::New(info.Env(), b == nullptr || !b->t.defined());
}

FT_FN(isTensor) { return Napi::Boolean::New(info.Env(), info.Length() > 0 && IsTensor(info[0])); }

FT_FN(empty) { return Wrap(info.Env(), at::empty(Ints(info, 0), Opts(info, 1, 2))); }
FT_FN(zeros) { return Wrap(info.Env(), at::zeros(Ints(info, 0), Opts(info, 1, 2))); }
FT_FN(ones) { return Wrap(info.Env(), at::ones(Ints(info, 0), Opts(info, 1, 2))); }
FT_FN(full) { return Wrap(info.Env(), at::full(Ints(info, 0), ToScalar(info, 1), Opts(info, 2, 3))); }
FT_FN(arange) {
  return Wrap(info.Env(), at::arange(ToScalar(info, 0), ToScalar(info, 1), ToScalar(info, 2), Opts(info, 3, 4)));
}
FT_FN(linspace) { return Wrap(info.Env(), at::linspace(ToScalar(info, 0), ToScalar(info, 1), Int(info, 2), Opts(info, 3, 4))); }
FT_FN(eye) { return Wrap(info.Env(), at::eye(Int(info, 0), Opts(info, 1, 2))); }
FT_FN(randn) { return Wrap(info.Env(), at::randn(Ints(info, 0), Opts(info, 1, 2))); }
FT_FN(rand) { return Wrap(info.Env(), at::rand(Ints(info, 0), Opts(info, 1, 2))); }
FT_FN(randint) { return Wrap(info.Env(), at::randint(Int(info, 0), Int(info, 1), Ints(info, 2), Opts(info, 3, 4))); }
FT_FN(randperm) { return Wrap(info.Env(), at::randperm(Int(info, 0), Opts(info, 1, 2))); }

// fromBytes(view, shape, dtype): copies the bytes of a typed array into a new CPU tensor.
FT_FN(fromBytes) {
  if (info.Length() < 1 || !info[0].IsTypedArray()) ThrowType(info, 0, "a typed array");
  auto view = info[0].As<Napi::TypedArray>();
  auto shape = Ints(info, 1);
  auto dtype = DType(info, 2);
  int64_t numel = 1;
  for (auto s : shape) {
    if (s < 0) throw Napi::RangeError::New(info.Env(), "shape has a negative size");
    numel *= s;
  }
  size_t need = static_cast<size_t>(numel) * c10::elementSize(dtype);
  if (view.ByteLength() != need) {
    throw Napi::RangeError::New(info.Env(), "data holds " + std::to_string(view.ByteLength()) + " bytes but shape and dtype need " +
                                                std::to_string(need));
  }
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  auto* src = static_cast<uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset();
  if (need > 0) std::memcpy(t.data_ptr(), src, need);
  return Wrap(info.Env(), t);
}

// toBytes(t): a fresh ArrayBuffer holding a contiguous CPU copy of the tensor's elements.
FT_FN(toBytes) {
  at::Tensor t = T(info, 0).detach().to(at::kCPU).contiguous();
  size_t n = t.numel() * t.element_size();
  auto buf = Napi::ArrayBuffer::New(info.Env(), n);
  if (n > 0) std::memcpy(buf.Data(), t.data_ptr(), n);
  return buf;
}

// dataView(t): a Uint8Array over the memory of a contiguous CPU tensor, without a copy; the view
// keeps the storage alive, so writing into it (e.g. fs.readSync) fills the tensor in place.
FT_FN(dataView) {
  const at::Tensor& t = T(info, 0);
  if (!t.device().is_cpu() || !t.is_contiguous()) {
    throw Napi::Error::New(info.Env(), "dataView needs a contiguous CPU tensor");
  }
  size_t n = t.numel() * t.element_size();
  if (n == 0) return Napi::Uint8Array::New(info.Env(), 0);
  auto* keep = new at::Tensor(t);
  auto buf = Napi::ArrayBuffer::New(info.Env(), keep->data_ptr(), n, [](Napi::Env, void*, at::Tensor* k) { delete k; }, keep);
  return Napi::Uint8Array::New(info.Env(), n, buf, 0);
}

FT_FN(item) {
  at::Scalar s = T(info, 0).item();
  if (s.isBoolean()) return Napi::Boolean::New(info.Env(), s.toBool());
  if (s.isIntegral(false)) return Napi::Number::New(info.Env(), static_cast<double>(s.toLong()));
  return Napi::Number::New(info.Env(), s.toDouble());
}

FT_FN(shape) {
  auto sizes = T(info, 0).sizes();
  auto arr = Napi::Array::New(info.Env(), sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(sizes[i])));
  return arr;
}

FT_FN(strides) {
  auto st = T(info, 0).strides();
  auto arr = Napi::Array::New(info.Env(), st.size());
  for (size_t i = 0; i < st.size(); ++i) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(st[i])));
  return arr;
}

FT_FN(dtype) { return Napi::Number::New(info.Env(), static_cast<int>(T(info, 0).scalar_type())); }
FT_FN(device) { return Napi::String::New(info.Env(), T(info, 0).device().str()); }
FT_FN(numel) { return Napi::Number::New(info.Env(), static_cast<double>(T(info, 0).numel())); }
FT_FN(isContiguous) { return Napi::Boolean::New(info.Env(), T(info, 0).is_contiguous()); }

// to(t, device?, dtype?, copy, nonBlocking): a move that returns the same tensor when nothing
// changes, as torch does. nonBlocking: a copy from pinned memory to a GPU is queued on the current
// stream without the host waiting for it (libtorch keeps the pinned block until the copy is done).
FT_FN(to) {
  const at::Tensor& t = T(info, 0);
  at::Device dev = Missing(info, 1) ? t.device() : at::Device(Str(info, 1));
  at::ScalarType dt = Missing(info, 2) ? t.scalar_type() : DType(info, 2);
  bool copy = !Missing(info, 3) && Bool(info, 3);
  bool nonBlocking = !Missing(info, 4) && Bool(info, 4);
  return Wrap(info.Env(), t.to(dev, dt, nonBlocking, copy));
}

// pinMemory(t): a copy in page-locked memory (libtorch's caching host allocator), which a GPU copies
// from without staging; isPinned(t).
FT_FN(pinMemory) { return Wrap(info.Env(), T(info, 0).pin_memory()); }
FT_FN(isPinned) { return Napi::Boolean::New(info.Env(), T(info, 0).is_pinned()); }

FT_FN(clone) { return Wrap(info.Env(), T(info, 0).clone()); }
FT_FN(contiguous) { return Wrap(info.Env(), T(info, 0).contiguous()); }
FT_FN(alias) { return Wrap(info.Env(), T(info, 0)); }

void RegisterCreate(Napi::Env env, Napi::Object exports) {
  FT_EXPORT(exports, dispose);
  FT_EXPORT(exports, pinMemory);
  FT_EXPORT(exports, isPinned);
  FT_EXPORT(exports, isDisposed);
  FT_EXPORT(exports, isTensor);
  FT_EXPORT(exports, empty);
  FT_EXPORT(exports, zeros);
  FT_EXPORT(exports, ones);
  FT_EXPORT(exports, full);
  FT_EXPORT(exports, arange);
  FT_EXPORT(exports, linspace);
  FT_EXPORT(exports, eye);
  FT_EXPORT(exports, randn);
  FT_EXPORT(exports, rand);
  FT_EXPORT(exports, randint);
  FT_EXPORT(exports, randperm);
  FT_EXPORT(exports, fromBytes);
  FT_EXPORT(exports, toBytes);
  FT_EXPORT(exports, dataView);
  FT_EXPORT(exports, item);
  FT_EXPORT(exports, shape);
  FT_EXPORT(exports, strides);
  FT_EXPORT(exports, dtype);
  FT_EXPORT(exports, device);
  FT_EXPORT(exports, numel);
  FT_EXPORT(exports, isContiguous);
  FT_EXPORT(exports, to);
  FT_EXPORT(exports, clone);
  FT_EXPORT(exports, contiguous);
  FT_EXPORT(exports, alias);
}

}  // namespace ft
