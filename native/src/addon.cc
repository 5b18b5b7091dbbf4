// Handle and argument plumbing shared by every exported function, and the module entry point.
#include "common.h"

namespace ft {

constexpr uint64_t kSlotCount = 16777216;  // 2^24 slots; the generation counts above them

HandleTable& Handles(Napi::Env env) {
  return *env.GetInstanceData<HandleTable>();
}

Napi::Value Wrap(Napi::Env env, at::Tensor t) {
  if (!t.defined()) return env.Null();
  HandleTable& h = Handles(env);
  uint32_t slot;
  if (!h.freeSlots.empty()) {
    slot = h.freeSlots.back();
    h.freeSlots.pop_back();
  } else {
    if (h.boxes.size() >= kSlotCount) throw Napi::Error::New(env, "too many live tensors (2^24): dispose some");
    slot = static_cast<uint32_t>(h.boxes.size());
    h.boxes.emplace_back();
    h.boxes.back().slot = slot;
  }
  TensorBox& box = h.boxes[slot];
  box.generation = box.generation % 0xFFFFFFFFu + 1;
  box.t = std::move(t);
  return Napi::BigInt::New(env, static_cast<uint64_t>(box.generation) * kSlotCount + slot);
}

Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& ts) {
  auto arr = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); ++i) arr.Set(static_cast<uint32_t>(i), Wrap(env, ts[i]));
  return arr;
}

void ThrowType(const Napi::CallbackInfo& info, size_t i, const char* need) {
  throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + ": expected " + need);
}

bool Missing(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() <= i || info[i].IsUndefined() || info[i].IsNull();
}

// The box a handle names (a BigInt, so that it can never be mistaken for a number scalar), or null when the value is no handle of a live slot's generation.
TensorBox* Lookup(const Napi::Value& v) {
  if (!v.IsBigInt()) return nullptr;
  bool lossless = false;
  uint64_t h = v.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) return nullptr;
  auto gen = static_cast<uint32_t>(h / kSlotCount);
  auto slot = static_cast<size_t>(h % kSlotCount);
  HandleTable& t = Handles(v.Env());
  if (slot >= t.boxes.size() || gen == 0 || t.boxes[slot].generation != gen) return nullptr;
  return &t.boxes[slot];
}

bool IsTensor(const Napi::Value& v) {
  TensorBox* b = Lookup(v);
  return b != nullptr && b->t.defined();
}

TensorBox* Box(const Napi::CallbackInfo& info, size_t i) {
  TensorBox* b = info.Length() > i ? Lookup(info[i]) : nullptr;
  if (b) return b;
  if (info.Length() > i && info[i].IsBigInt()) {
    throw Napi::Error::New(info.Env(), "argument " + std::to_string(i) + ": the tensor was disposed");
  }
  ThrowType(info, i, "a tensor handle");
}

const at::Tensor& T(const Napi::CallbackInfo& info, size_t i) {
  TensorBox* b = Box(info, i);
  if (!b->t.defined()) {
    throw Napi::Error::New(info.Env(), "argument " + std::to_string(i) + ": the tensor was disposed");
  }
  return b->t;
}

void Release(Napi::Env env, TensorBox* b) {
  if (!b->t.defined()) return;
  b->t.reset();
  Handles(env).freeSlots.push_back(b->slot);
}

Opt<at::Tensor> OptT(const Napi::CallbackInfo& info, size_t i) {
  if (Missing(info, i)) return NoValue;
  return T(info, i);
}

// The tensors of a JS array of handles; with allowNull, null/undefined entries come back undefined.
static std::vector<at::Tensor> Tensors(const Napi::CallbackInfo& info, size_t i, bool allowNull) {
  const char* need = allowNull ? "an array of tensor handles or nulls" : "an array of tensor handles";
  if (info.Length() <= i || !info[i].IsArray()) ThrowType(info, i, need);
  auto arr = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value v = arr.Get(k);
    if (allowNull && (v.IsNull() || v.IsUndefined())) {
      out.emplace_back();
      continue;
    }
    TensorBox* b = Lookup(v);
    if (!b) ThrowType(info, i, need);
    if (!b->t.defined()) throw Napi::Error::New(info.Env(), "a tensor in the list was disposed");
    out.push_back(b->t);
  }
  return out;
}

std::vector<at::Tensor> TList(const Napi::CallbackInfo& info, size_t i) { return Tensors(info, i, false); }
std::vector<at::Tensor> OptTList(const Napi::CallbackInfo& info, size_t i) { return Tensors(info, i, true); }

double Num(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) ThrowType(info, i, "a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

int64_t Int(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() > i && info[i].IsBigInt()) {
    bool lossless = false;
    int64_t v = info[i].As<Napi::BigInt>().Int64Value(&lossless);
    if (!lossless) ThrowType(info, i, "an integer within int64");
    return v;
  }
  double d = Num(info, i);
  if (!std::isfinite(d) || std::floor(d) != d || std::fabs(d) > 9007199254740992.0) ThrowType(info, i, "an integer");
  return static_cast<int64_t>(d);
}

Opt<int64_t> OptInt(const Napi::CallbackInfo& info, size_t i) {
  if (Missing(info, i)) return NoValue;
  return Int(info, i);
}

Opt<double> OptNum(const Napi::CallbackInfo& info, size_t i) {
  if (Missing(info, i)) return NoValue;
  return Num(info, i);
}

bool Bool(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsBoolean()) ThrowType(info, i, "a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

std::string Str(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsString()) ThrowType(info, i, "a string");
  return info[i].As<Napi::String>().Utf8Value();
}

std::vector<int64_t> Ints(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsArray()) ThrowType(info, i, "an array of integers");
  auto arr = info[i].As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value v = arr.Get(k);
    if (!v.IsNumber()) ThrowType(info, i, "an array of integers");
    double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d) || std::floor(d) != d) ThrowType(info, i, "an array of integers");
    out[k] = static_cast<int64_t>(d);
  }
  return out;
}

Opt<std::vector<int64_t>> OptInts(const Napi::CallbackInfo& info, size_t i) {
  if (Missing(info, i)) return NoValue;
  return Ints(info, i);
}

at::Scalar ToScalar(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i) ThrowType(info, i, "a number or boolean");
  Napi::Value v = info[i];
  if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
  if (!v.IsNumber()) ThrowType(info, i, "a number or boolean");
  double d = v.As<Napi::Number>().DoubleValue();
  // An integral JS number acts like a Python int, so `intTensor.add(1)` stays integer.
  if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) <= 9007199254740992.0) {
    return at::Scalar(static_cast<int64_t>(d));
  }
  return at::Scalar(d);
}

at::ScalarType DType(const Napi::CallbackInfo& info, size_t i) {
  int64_t code = Int(info, i);
  switch (static_cast<at::ScalarType>(code)) {
    case at::kByte: case at::kChar: case at::kShort: case at::kInt: case at::kLong:
    case at::kHalf: case at::kFloat: case at::kDouble: case at::kBool: case at::kBFloat16:
      return static_cast<at::ScalarType>(code);
    default:
      throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + ": unsupported dtype code " + std::to_string(code));
  }
}

Opt<at::ScalarType> OptDType(const Napi::CallbackInfo& info, size_t i) {
  if (Missing(info, i)) return NoValue;
  return DType(info, i);
}

Opt<at::Scalar> OptScalar(const Napi::CallbackInfo& info, size_t i) {
  if (Missing(info, i)) return NoValue;
  return ToScalar(info, i);
}

at::Device Dev(const Napi::CallbackInfo& info, size_t i) {
  if (Missing(info, i)) return at::Device(at::kCPU);
  return at::Device(Str(info, i));
}

at::TensorOptions Opts(const Napi::CallbackInfo& info, size_t dtypeIndex, size_t deviceIndex) {
  at::TensorOptions o = at::TensorOptions().device(Dev(info, deviceIndex));
  if (auto d = OptDType(info, dtypeIndex)) o = o.dtype(*d);
  return o;
}

}  // namespace ft

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<ft::HandleTable>(new ft::HandleTable());  // deleted (its tensors freed) when this environment ends
  ft::RegisterTrainOps(env, exports);  // first: it tunes malloc before the other registrations allocate
  ft::RegisterCreate(env, exports);
  ft::RegisterOps(env, exports);
  ft::RegisterOpFlags(env, exports);
  ft::RegisterRuntime(env, exports);
  ft::RegisterDistributed(env, exports);
  ft::RegisterLinear(env, exports);
  ft::RegisterJsFunction(env, exports);
  ft::RegisterBf16Gemm(env, exports);
  ft::RegisterDropout(env, exports);
  exports.Set("liveHandles", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    ft::HandleTable& h = ft::Handles(info.Env());
    return Napi::Number::New(info.Env(), static_cast<double>(h.boxes.size() - h.freeSlots.size()));
  }));
  exports.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
  return exports;
}

NODE_API_MODULE(finetune_native, Init)
