// The tensor ops of native/ops.yaml whose C++ is more than one ATen call (aten: custom): calls that
// depend on which arguments were given, or on the libtorch version. The generated native/gen/ops.cc
// reads the arguments of every other op and exports all of them.
#include "common.h"

namespace ft::op {

FT_OP(squeeze) {
  if (Missing(info, 1)) return Wrap(info.Env(), T(info, 0).squeeze());
  return Wrap(info.Env(), T(info, 0).squeeze(Int(info, 1)));
}

// split(t, size, dim) or split(t, [sizes], dim), as torch.split.
FT_OP(split) {
  const at::Tensor& a = T(info, 0);
  if (info[1].IsArray()) return WrapList(info.Env(), a.split_with_sizes(Ints(info, 1), Int(info, 2)));
  return WrapList(info.Env(), a.split(Int(info, 1), Int(info, 2)));
}

// ---- reductions: over everything, or over the given dims ----
FT_OP(sum) {
  const at::Tensor& a = T(info, 0);
  auto dtype = OptDType(info, 3);
  if (Missing(info, 1)) return Wrap(info.Env(), a.sum(dtype));
  return Wrap(info.Env(), a.sum(Ints(info, 1), Bool(info, 2), dtype));
}
FT_OP(mean) {
  const at::Tensor& a = T(info, 0);
  auto dtype = OptDType(info, 3);
  if (Missing(info, 1)) return Wrap(info.Env(), a.mean(dtype));
  return Wrap(info.Env(), a.mean(Ints(info, 1), Bool(info, 2), dtype));
}
FT_OP(prod) { return Wrap(info.Env(), Missing(info, 1) ? T(info, 0).prod() : T(info, 0).prod(Int(info, 1), !Missing(info, 2) && Bool(info, 2))); }
FT_OP(all) { return Wrap(info.Env(), Missing(info, 1) ? T(info, 0).all() : T(info, 0).all(Int(info, 1), !Missing(info, 2) && Bool(info, 2))); }
FT_OP(any) { return Wrap(info.Env(), Missing(info, 1) ? T(info, 0).any() : T(info, 0).any(Int(info, 1), !Missing(info, 2) && Bool(info, 2))); }
// max/min with a dim give [values, indices], as torch.max(t, dim) does.
FT_OP(max) {
  const at::Tensor& a = T(info, 0);
  if (Missing(info, 1)) return Wrap(info.Env(), a.max());
  auto r = a.max(Int(info, 1), !Missing(info, 2) && Bool(info, 2));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}
FT_OP(min) {
  const at::Tensor& a = T(info, 0);
  if (Missing(info, 1)) return Wrap(info.Env(), a.min());
  auto r = a.min(Int(info, 1), !Missing(info, 2) && Bool(info, 2));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}
FT_OP(norm) {
  auto dims = OptInts(info, 2);
  at::OptionalIntArrayRef dimRef = dims ? at::OptionalIntArrayRef(*dims) : at::OptionalIntArrayRef(NoValue);
  return Wrap(info.Env(), at::linalg_vector_norm(T(info, 0), ToScalar(info, 1), dimRef, Bool(info, 3), NoValue));
}
FT_OP(var) {
  const at::Tensor& a = T(info, 0);
  if (Missing(info, 1)) return Wrap(info.Env(), a.var(Bool(info, 2)));
  return Wrap(info.Env(), a.var(at::IntArrayRef(Ints(info, 1)), Bool(info, 2), Bool(info, 3)));
}
FT_OP(std) {
  const at::Tensor& a = T(info, 0);
  if (Missing(info, 1)) return Wrap(info.Env(), a.std(Bool(info, 2)));
  return Wrap(info.Env(), a.std(at::IntArrayRef(Ints(info, 1)), Bool(info, 2), Bool(info, 3)));
}

// libtorch's fused attention exists from 2.0 and takes `scale` from 2.1; older builds report
// hasSdpa=false and the TypeScript side composes the same math from matmul and softmax.
FT_OP(scaledDotProductAttention) {
#if FT_TORCH_AT_LEAST(2, 1)
  return Wrap(info.Env(), at::scaled_dot_product_attention(T(info, 0), T(info, 1), T(info, 2), OptT(info, 3), Num(info, 4),
                                                           Bool(info, 5), OptNum(info, 6)));
#else
  throw Napi::Error::New(info.Env(), "scaled_dot_product_attention needs libtorch >= 2.1");
#endif
}

}  // namespace ft::op

namespace ft {
void RegisterOpFlags(Napi::Env env, Napi::Object exports) {
  exports.Set("hasSdpa", Napi::Boolean::New(env, FT_TORCH_AT_LEAST(2, 1)));
}
}  // namespace ft
