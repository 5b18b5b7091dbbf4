// Views, indexing, elementwise math, reductions, matrix products and in-place updates.
#include "common.h"

namespace ft {

#define FT_UNARY(js, expr)                   \
  FT_FN(js) {                                \
    const at::Tensor& a = T(info, 0);        \
    return Wrap(info.Env(), expr);           \
  }

// The second operand may be a tensor or a JS number (Python's Tensor/Scalar overloads).
#define FT_BINARY(js, fn)                                                      \
  FT_FN(js) {                                                                 \
    const at::Tensor& a = T(info, 0);                                         \
    if (info.Length() > 1 && IsTensor(info[1])) return Wrap(info.Env(), fn(a, T(info, 1))); \
    return Wrap(info.Env(), fn(a, ToScalar(info, 1)));                        \
  }

#define FT_BINARY_TT(js, fn) \
  FT_FN(js) { return Wrap(info.Env(), fn(T(info, 0), T(info, 1))); }

// In-place ops return nothing: the TS Tensor returns itself, so no handle is made per call.
#define FT_INPLACE_BINARY(js, method)                                           \
  FT_FN(js) {                                                                   \
    at::Tensor a = T(info, 0);                                                  \
    if (info.Length() > 1 && IsTensor(info[1])) a.method(T(info, 1));           \
    else a.method(ToScalar(info, 1));                                           \
    return info.Env().Undefined();                                              \
  }

#define FT_INPLACE_UNARY(js, method) \
  FT_FN(js) {                        \
    at::Tensor a = T(info, 0);       \
    a.method();                      \
    return info.Env().Undefined();   \
  }

// ---- elementwise ----
FT_UNARY(neg, a.neg())
FT_UNARY(abs, a.abs())
FT_UNARY(exp, a.exp())
FT_UNARY(log, a.log())
FT_UNARY(log1p, a.log1p())
FT_UNARY(expm1, a.expm1())
FT_UNARY(sqrt, a.sqrt())
FT_UNARY(rsqrt, a.rsqrt())
FT_UNARY(tanh, a.tanh())
FT_UNARY(sigmoid, a.sigmoid())
FT_UNARY(relu, a.relu())
FT_UNARY(erf, a.erf())
FT_UNARY(sin, a.sin())
FT_UNARY(cos, a.cos())
FT_UNARY(floor, a.floor())
FT_UNARY(ceil, a.ceil())
FT_UNARY(round, a.round())
FT_UNARY(sign, a.sign())
FT_UNARY(reciprocal, a.reciprocal())
FT_UNARY(logicalNot, a.logical_not())
FT_UNARY(isnan, a.isnan())
FT_UNARY(isinf, a.isinf())
FT_UNARY(isfinite, a.isfinite())
FT_UNARY(square, a.square())

FT_FN(add) {
  const at::Tensor& a = T(info, 0);
  at::Scalar alpha = Missing(info, 2) ? at::Scalar(1) : ToScalar(info, 2);
  if (info.Length() > 1 && IsTensor(info[1])) return Wrap(info.Env(), at::add(a, T(info, 1), alpha));
  return Wrap(info.Env(), at::add(a, ToScalar(info, 1), alpha));
}
FT_FN(sub) {
  const at::Tensor& a = T(info, 0);
  at::Scalar alpha = Missing(info, 2) ? at::Scalar(1) : ToScalar(info, 2);
  if (info.Length() > 1 && IsTensor(info[1])) return Wrap(info.Env(), at::sub(a, T(info, 1), alpha));
  return Wrap(info.Env(), at::sub(a, ToScalar(info, 1), alpha));
}
FT_BINARY(mul, at::mul)
FT_BINARY(div, at::div)
FT_BINARY(pow, at::pow)
FT_BINARY(remainder, at::remainder)
FT_BINARY(fmod, at::fmod)
FT_BINARY(eq, at::eq)
FT_BINARY(ne, at::ne)
FT_BINARY(lt, at::lt)
FT_BINARY(le, at::le)
FT_BINARY(gt, at::gt)
FT_BINARY(ge, at::ge)
FT_BINARY_TT(maximum, at::maximum)
FT_BINARY_TT(minimum, at::minimum)
FT_BINARY_TT(logicalAnd, at::logical_and)
FT_BINARY_TT(logicalOr, at::logical_or)
FT_BINARY_TT(atan2, at::atan2)

// rpow(a, s) = s ** a, Python's `2 ** t`.
FT_FN(rpow) { return Wrap(info.Env(), at::pow(ToScalar(info, 1), T(info, 0))); }

FT_FN(where) {
  const at::Tensor& cond = T(info, 0);
  bool at = IsTensor(info[1]), bt = IsTensor(info[2]);
  if (at && bt) return Wrap(info.Env(), at::where(cond, T(info, 1), T(info, 2)));
  if (at) return Wrap(info.Env(), at::where(cond, T(info, 1), ToScalar(info, 2)));
  if (bt) return Wrap(info.Env(), at::where(cond, ToScalar(info, 1), T(info, 2)));
  return Wrap(info.Env(), at::where(cond, ToScalar(info, 1), ToScalar(info, 2)));
}

FT_FN(maskedFill) {
  const at::Tensor& a = T(info, 0);
  if (IsTensor(info[2])) return Wrap(info.Env(), a.masked_fill(T(info, 1), T(info, 2)));
  return Wrap(info.Env(), a.masked_fill(T(info, 1), ToScalar(info, 2)));
}

static Opt<at::Scalar> OptScalar(const Napi::CallbackInfo& info, size_t i) {
  if (Missing(info, i)) return NoValue;
  return ToScalar(info, i);
}

FT_FN(clamp) { return Wrap(info.Env(), at::clamp(T(info, 0), OptScalar(info, 1), OptScalar(info, 2))); }

FT_FN(lerp) {
  if (IsTensor(info[2])) return Wrap(info.Env(), at::lerp(T(info, 0), T(info, 1), T(info, 2)));
  return Wrap(info.Env(), at::lerp(T(info, 0), T(info, 1), ToScalar(info, 2)));
}

FT_FN(equal) { return Napi::Boolean::New(info.Env(), at::equal(T(info, 0), T(info, 1))); }
FT_FN(allclose) { return Napi::Boolean::New(info.Env(), at::allclose(T(info, 0), T(info, 1), Num(info, 2), Num(info, 3))); }

// ---- views and indexing ----
FT_FN(reshape) { return Wrap(info.Env(), T(info, 0).reshape(Ints(info, 1))); }
FT_FN(view) { return Wrap(info.Env(), T(info, 0).view(Ints(info, 1))); }
FT_FN(permute) { return Wrap(info.Env(), T(info, 0).permute(Ints(info, 1))); }
FT_FN(transpose) { return Wrap(info.Env(), T(info, 0).transpose(Int(info, 1), Int(info, 2))); }
FT_FN(squeeze) {
  if (Missing(info, 1)) return Wrap(info.Env(), T(info, 0).squeeze());
  return Wrap(info.Env(), T(info, 0).squeeze(Int(info, 1)));
}
FT_FN(unsqueeze) { return Wrap(info.Env(), T(info, 0).unsqueeze(Int(info, 1))); }
FT_FN(expand) { return Wrap(info.Env(), T(info, 0).expand(Ints(info, 1))); }
FT_FN(narrow) { return Wrap(info.Env(), T(info, 0).narrow(Int(info, 1), Int(info, 2), Int(info, 3))); }
FT_FN(select) { return Wrap(info.Env(), T(info, 0).select(Int(info, 1), Int(info, 2))); }
FT_FN(slice) {
  return Wrap(info.Env(), at::slice(T(info, 0), Int(info, 1), OptInt(info, 2), OptInt(info, 3), Missing(info, 4) ? 1 : Int(info, 4)));
}
FT_FN(asStrided) { return Wrap(info.Env(), T(info, 0).as_strided(Ints(info, 1), Ints(info, 2), Int(info, 3))); }
FT_FN(flatten) { return Wrap(info.Env(), T(info, 0).flatten(Int(info, 1), Int(info, 2))); }
FT_FN(indexSelect) { return Wrap(info.Env(), at::index_select(T(info, 0), Int(info, 1), T(info, 2))); }
FT_FN(gather) { return Wrap(info.Env(), at::gather(T(info, 0), Int(info, 1), T(info, 2))); }
FT_FN(scatter) {
  if (IsTensor(info[3])) return Wrap(info.Env(), at::scatter(T(info, 0), Int(info, 1), T(info, 2), T(info, 3)));
  return Wrap(info.Env(), at::scatter(T(info, 0), Int(info, 1), T(info, 2), ToScalar(info, 3)));
}
FT_FN(scatterAdd) { return Wrap(info.Env(), at::scatter_add(T(info, 0), Int(info, 1), T(info, 2), T(info, 3))); }
FT_FN(cat) { return Wrap(info.Env(), at::cat(TList(info, 0), Int(info, 1))); }
FT_FN(stack) { return Wrap(info.Env(), at::stack(TList(info, 0), Int(info, 1))); }
FT_FN(split) {
  const at::Tensor& a = T(info, 0);
  if (info[1].IsArray()) return WrapList(info.Env(), a.split_with_sizes(Ints(info, 1), Int(info, 2)));
  return WrapList(info.Env(), a.split(Int(info, 1), Int(info, 2)));
}
FT_FN(chunk) { return WrapList(info.Env(), T(info, 0).chunk(Int(info, 1), Int(info, 2))); }
FT_FN(tril) { return Wrap(info.Env(), T(info, 0).tril(Int(info, 1))); }
FT_FN(triu) { return Wrap(info.Env(), T(info, 0).triu(Int(info, 1))); }
FT_FN(repeat) { return Wrap(info.Env(), T(info, 0).repeat(Ints(info, 1))); }
FT_FN(flip) { return Wrap(info.Env(), T(info, 0).flip(Ints(info, 1))); }
FT_FN(maskedSelect) { return Wrap(info.Env(), T(info, 0).masked_select(T(info, 1))); }
FT_FN(nonzero) { return Wrap(info.Env(), T(info, 0).nonzero()); }

// ---- reductions ----
FT_FN(sum) {
  const at::Tensor& a = T(info, 0);
  auto dtype = OptDType(info, 3);
  if (Missing(info, 1)) return Wrap(info.Env(), a.sum(dtype));
  return Wrap(info.Env(), a.sum(Ints(info, 1), Bool(info, 2), dtype));
}
FT_FN(mean) {
  const at::Tensor& a = T(info, 0);
  auto dtype = OptDType(info, 3);
  if (Missing(info, 1)) return Wrap(info.Env(), a.mean(dtype));
  return Wrap(info.Env(), a.mean(Ints(info, 1), Bool(info, 2), dtype));
}
FT_FN(prod) { return Wrap(info.Env(), Missing(info, 1) ? T(info, 0).prod() : T(info, 0).prod(Int(info, 1), Bool(info, 2))); }
FT_FN(all) { return Wrap(info.Env(), Missing(info, 1) ? T(info, 0).all() : T(info, 0).all(Int(info, 1), Bool(info, 2))); }
FT_FN(any) { return Wrap(info.Env(), Missing(info, 1) ? T(info, 0).any() : T(info, 0).any(Int(info, 1), Bool(info, 2))); }
// max/min with a dim give [values, indices], as torch.max(t, dim) does.
FT_FN(max) {
  const at::Tensor& a = T(info, 0);
  if (Missing(info, 1)) return Wrap(info.Env(), a.max());
  auto r = a.max(Int(info, 1), Bool(info, 2));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}
FT_FN(min) {
  const at::Tensor& a = T(info, 0);
  if (Missing(info, 1)) return Wrap(info.Env(), a.min());
  auto r = a.min(Int(info, 1), Bool(info, 2));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}
FT_FN(argmax) { return Wrap(info.Env(), T(info, 0).argmax(OptInt(info, 1), !Missing(info, 2) && Bool(info, 2))); }
FT_FN(argmin) { return Wrap(info.Env(), T(info, 0).argmin(OptInt(info, 1), !Missing(info, 2) && Bool(info, 2))); }
FT_FN(norm) {
  auto dims = OptInts(info, 2);
  at::OptionalIntArrayRef dimRef = dims ? at::OptionalIntArrayRef(*dims) : at::OptionalIntArrayRef(NoValue);
  return Wrap(info.Env(), at::linalg_vector_norm(T(info, 0), ToScalar(info, 1), dimRef, Bool(info, 3), NoValue));
}
FT_FN(var) {
  const at::Tensor& a = T(info, 0);
  if (Missing(info, 1)) return Wrap(info.Env(), a.var(Bool(info, 2)));
  return Wrap(info.Env(), a.var(at::IntArrayRef(Ints(info, 1)), Bool(info, 2), Bool(info, 3)));
}
FT_FN(std) {
  const at::Tensor& a = T(info, 0);
  if (Missing(info, 1)) return Wrap(info.Env(), a.std(Bool(info, 2)));
  return Wrap(info.Env(), a.std(at::IntArrayRef(Ints(info, 1)), Bool(info, 2), Bool(info, 3)));
}
FT_FN(logsumexp) { return Wrap(info.Env(), T(info, 0).logsumexp(Ints(info, 1), Bool(info, 2))); }
FT_FN(cumsum) { return Wrap(info.Env(), T(info, 0).cumsum(Int(info, 1))); }
FT_FN(sort) {
  auto r = T(info, 0).sort(Int(info, 1), Bool(info, 2));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}
FT_FN(topk) {
  auto r = T(info, 0).topk(Int(info, 1), Int(info, 2), Bool(info, 3), true);
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}

// ---- matrix products ----
FT_BINARY_TT(matmul, at::matmul)
FT_BINARY_TT(mm, at::mm)
FT_BINARY_TT(bmm, at::bmm)
FT_BINARY_TT(outer, at::outer)
FT_FN(linear) { return Wrap(info.Env(), at::linear(T(info, 0), T(info, 1), OptT(info, 2))); }
FT_FN(addmm) { return Wrap(info.Env(), at::addmm(T(info, 0), T(info, 1), T(info, 2), ToScalar(info, 3), ToScalar(info, 4))); }
FT_FN(baddbmm) { return Wrap(info.Env(), at::baddbmm(T(info, 0), T(info, 1), T(info, 2), ToScalar(info, 3), ToScalar(info, 4))); }

// ---- in place ----
FT_FN(add_) {
  at::Tensor a = T(info, 0);
  at::Scalar alpha = Missing(info, 2) ? at::Scalar(1) : ToScalar(info, 2);
  if (IsTensor(info[1])) a.add_(T(info, 1), alpha);
  else a.add_(ToScalar(info, 1), alpha);
  return info.Env().Undefined();
}
FT_FN(sub_) {
  at::Tensor a = T(info, 0);
  at::Scalar alpha = Missing(info, 2) ? at::Scalar(1) : ToScalar(info, 2);
  if (IsTensor(info[1])) a.sub_(T(info, 1), alpha);
  else a.sub_(ToScalar(info, 1), alpha);
  return info.Env().Undefined();
}
FT_INPLACE_BINARY(mul_, mul_)
FT_INPLACE_BINARY(div_, div_)
FT_INPLACE_BINARY(pow_, pow_)
FT_INPLACE_BINARY(fill_, fill_)
FT_INPLACE_UNARY(zero_, zero_)
FT_INPLACE_UNARY(sqrt_, sqrt_)
FT_INPLACE_UNARY(neg_, neg_)
FT_INPLACE_UNARY(relu_, relu_)
FT_FN(copy_) {
  at::Tensor a = T(info, 0);
  a.copy_(T(info, 1));
  return info.Env().Undefined();
}
FT_FN(addcmul_) {
  at::Tensor a = T(info, 0);
  a.addcmul_(T(info, 1), T(info, 2), ToScalar(info, 3));
  return info.Env().Undefined();
}
FT_FN(addcdiv_) {
  at::Tensor a = T(info, 0);
  a.addcdiv_(T(info, 1), T(info, 2), ToScalar(info, 3));
  return info.Env().Undefined();
}
FT_FN(lerp_) {
  at::Tensor a = T(info, 0);
  if (IsTensor(info[2])) a.lerp_(T(info, 1), T(info, 2));
  else a.lerp_(T(info, 1), ToScalar(info, 2));
  return info.Env().Undefined();
}
FT_FN(clamp_) {
  at::Tensor a = T(info, 0);
  a.clamp_(OptScalar(info, 1), OptScalar(info, 2));
  return info.Env().Undefined();
}
FT_FN(maskedFill_) {
  at::Tensor a = T(info, 0);
  a.masked_fill_(T(info, 1), ToScalar(info, 2));
  return info.Env().Undefined();
}
FT_FN(normal_) {
  at::Tensor a = T(info, 0);
  a.normal_(Num(info, 1), Num(info, 2));
  return info.Env().Undefined();
}
FT_FN(uniform_) {
  at::Tensor a = T(info, 0);
  a.uniform_(Num(info, 1), Num(info, 2));
  return info.Env().Undefined();
}

void RegisterTensorOps(Napi::Env env, Napi::Object exports) {
  FT_EXPORT(exports, neg); FT_EXPORT(exports, abs); FT_EXPORT(exports, exp); FT_EXPORT(exports, log);
  FT_EXPORT(exports, log1p); FT_EXPORT(exports, expm1); FT_EXPORT(exports, sqrt); FT_EXPORT(exports, rsqrt);
  FT_EXPORT(exports, tanh); FT_EXPORT(exports, sigmoid); FT_EXPORT(exports, relu); FT_EXPORT(exports, erf);
  FT_EXPORT(exports, sin); FT_EXPORT(exports, cos); FT_EXPORT(exports, floor); FT_EXPORT(exports, ceil);
  FT_EXPORT(exports, round); FT_EXPORT(exports, sign); FT_EXPORT(exports, reciprocal);
  FT_EXPORT(exports, logicalNot); FT_EXPORT(exports, isnan); FT_EXPORT(exports, isinf);
  FT_EXPORT(exports, isfinite); FT_EXPORT(exports, square);
  FT_EXPORT(exports, add); FT_EXPORT(exports, sub); FT_EXPORT(exports, mul); FT_EXPORT(exports, div);
  FT_EXPORT(exports, pow); FT_EXPORT(exports, rpow); FT_EXPORT(exports, remainder); FT_EXPORT(exports, fmod);
  FT_EXPORT(exports, eq); FT_EXPORT(exports, ne); FT_EXPORT(exports, lt); FT_EXPORT(exports, le);
  FT_EXPORT(exports, gt); FT_EXPORT(exports, ge); FT_EXPORT(exports, maximum); FT_EXPORT(exports, minimum);
  FT_EXPORT(exports, logicalAnd); FT_EXPORT(exports, logicalOr); FT_EXPORT(exports, atan2);
  FT_EXPORT(exports, where); FT_EXPORT(exports, maskedFill); FT_EXPORT(exports, clamp); FT_EXPORT(exports, lerp);
  FT_EXPORT(exports, equal); FT_EXPORT(exports, allclose);
  FT_EXPORT(exports, reshape); FT_EXPORT(exports, view); FT_EXPORT(exports, permute); FT_EXPORT(exports, transpose);
  FT_EXPORT(exports, squeeze); FT_EXPORT(exports, unsqueeze); FT_EXPORT(exports, expand); FT_EXPORT(exports, narrow);
  FT_EXPORT(exports, select); FT_EXPORT(exports, slice); FT_EXPORT(exports, flatten); FT_EXPORT(exports, asStrided); FT_EXPORT(exports, indexSelect);
  FT_EXPORT(exports, gather); FT_EXPORT(exports, scatter); FT_EXPORT(exports, scatterAdd); FT_EXPORT(exports, cat);
  FT_EXPORT(exports, stack); FT_EXPORT(exports, split); FT_EXPORT(exports, chunk); FT_EXPORT(exports, tril);
  FT_EXPORT(exports, triu); FT_EXPORT(exports, repeat); FT_EXPORT(exports, flip); FT_EXPORT(exports, maskedSelect);
  FT_EXPORT(exports, nonzero);
  FT_EXPORT(exports, sum); FT_EXPORT(exports, mean); FT_EXPORT(exports, prod); FT_EXPORT(exports, all);
  FT_EXPORT(exports, any); FT_EXPORT(exports, max); FT_EXPORT(exports, min); FT_EXPORT(exports, argmax);
  FT_EXPORT(exports, argmin); FT_EXPORT(exports, norm); FT_EXPORT(exports, var); FT_EXPORT(exports, std);
  FT_EXPORT(exports, logsumexp); FT_EXPORT(exports, cumsum); FT_EXPORT(exports, sort); FT_EXPORT(exports, topk);
  FT_EXPORT(exports, matmul); FT_EXPORT(exports, mm); FT_EXPORT(exports, bmm); FT_EXPORT(exports, outer);
  FT_EXPORT(exports, linear); FT_EXPORT(exports, addmm); FT_EXPORT(exports, baddbmm);
  FT_EXPORT(exports, add_); FT_EXPORT(exports, sub_); FT_EXPORT(exports, mul_); FT_EXPORT(exports, div_);
  FT_EXPORT(exports, pow_); FT_EXPORT(exports, fill_); FT_EXPORT(exports, zero_); FT_EXPORT(exports, sqrt_);
  FT_EXPORT(exports, neg_); FT_EXPORT(exports, relu_); FT_EXPORT(exports, copy_); FT_EXPORT(exports, addcmul_);
  FT_EXPORT(exports, addcdiv_); FT_EXPORT(exports, lerp_); FT_EXPORT(exports, clamp_); FT_EXPORT(exports, maskedFill_);
  FT_EXPORT(exports, normal_); FT_EXPORT(exports, uniform_);
}

}  // namespace ft
