// Neural-network ops: activations, normalisation, dropout, embedding, losses, attention.
#include "common.h"

namespace ft {

FT_FN(softmax) { return Wrap(info.Env(), at::softmax(T(info, 0), Int(info, 1), OptDType(info, 2))); }
FT_FN(logSoftmax) { return Wrap(info.Env(), at::log_softmax(T(info, 0), Int(info, 1), OptDType(info, 2))); }
FT_FN(layerNorm) {
  return Wrap(info.Env(), at::layer_norm(T(info, 0), Ints(info, 1), OptT(info, 2), OptT(info, 3), Num(info, 4)));
}
FT_FN(gelu) { return Wrap(info.Env(), at::gelu(T(info, 0), Missing(info, 1) ? "none" : Str(info, 1))); }
FT_FN(silu) { return Wrap(info.Env(), at::silu(T(info, 0))); }
FT_FN(dropout) { return Wrap(info.Env(), at::dropout(T(info, 0), Num(info, 1), Bool(info, 2))); }
FT_FN(embedding) {
  return Wrap(info.Env(), at::embedding(T(info, 0), T(info, 1), Int(info, 2), Bool(info, 3), false));
}
// reduction codes are at::Reduction's: 0 none, 1 mean, 2 sum.
FT_FN(crossEntropy) {
  return Wrap(info.Env(), at::cross_entropy_loss(T(info, 0), T(info, 1), OptT(info, 2), Int(info, 3), Int(info, 4), Num(info, 5)));
}
FT_FN(nllLoss) { return Wrap(info.Env(), at::nll_loss(T(info, 0), T(info, 1), OptT(info, 2), Int(info, 3), Int(info, 4))); }
FT_FN(mseLoss) { return Wrap(info.Env(), at::mse_loss(T(info, 0), T(info, 1), Int(info, 2))); }
FT_FN(bceWithLogits) {
  return Wrap(info.Env(), at::binary_cross_entropy_with_logits(T(info, 0), T(info, 1), OptT(info, 2), OptT(info, 3), Int(info, 4)));
}

// libtorch's fused attention exists from 2.0 and takes `scale` from 2.1; older builds report
// hasSdpa=false and the TypeScript side composes the same math from matmul and softmax.
FT_FN(scaledDotProductAttention) {
#if FT_TORCH_AT_LEAST(2, 1)
  return Wrap(info.Env(), at::scaled_dot_product_attention(T(info, 0), T(info, 1), T(info, 2), OptT(info, 3), Num(info, 4),
                                                           Bool(info, 5), OptNum(info, 6)));
#else
  throw Napi::Error::New(info.Env(), "scaled_dot_product_attention needs libtorch >= 2.1");
#endif
}

void RegisterNnOps(Napi::Env env, Napi::Object exports) {
  FT_EXPORT(exports, softmax);
  FT_EXPORT(exports, logSoftmax);
  FT_EXPORT(exports, layerNorm);
  FT_EXPORT(exports, gelu);
  FT_EXPORT(exports, silu);
  FT_EXPORT(exports, dropout);
  FT_EXPORT(exports, embedding);
  FT_EXPORT(exports, crossEntropy);
  FT_EXPORT(exports, nllLoss);
  FT_EXPORT(exports, mseLoss);
  FT_EXPORT(exports, bceWithLogits);
  FT_EXPORT(exports, scaledDotProductAttention);
  exports.Set("hasSdpa", Napi::Boolean::New(env, FT_TORCH_AT_LEAST(2, 1)));
}

}  // namespace ft
