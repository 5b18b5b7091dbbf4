// at::dropout on the CPU with its own numbers, drawn faster.
//
// at::dropout of a CPU tensor (Dropout.cpp's _dropout) is noise = empty_like(input).bernoulli_(1 − p),
// noise ÷= (1 − p), input × noise. libtorch's CPU bernoulli_(p) — unless it is built with MKL and runs
// on an Intel CPU, where MKL's generator is used — draws each element in turn from the default CPU
// generator through a serial TensorIterator kernel: random64() (two mt19937 outputs, the first the
// high word), its low 53 bits × 2⁻⁵³ as a double in [0, 1), and 1 where that is below p. That costs
// ~7 ns an element, a sixth of a bert-tiny training step on two cores. Here the same draws come from a
// copy of the generator's engine in one vectorized loop, the noise value written directly (1 ÷ (1 − p)
// as div_ computes it in the tensor's dtype, or 0), and the engine put back: the same noise, bit for
// bit, and the generator left where bernoulli_ leaves it (test/dropout.test.ts compares both), for
// float32, float64 and bfloat16 tensors (the draws do not depend on the dtype). Anything else
// (float16, which libtorch 1.13 cannot draw on the CPU; non-contiguous inputs; the MKL path) goes to
// libtorch's own ops, as does everything when torch.backends.cpu.dropoutInOnePass is off.
#include "common.h"
#include <ATen/CPUGeneratorImpl.h>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <mutex>
#include <stdexcept>

namespace ft {

// Whether libtorch's CPU bernoulli_(p) is the mt19937 kernel: a build without MKL, or a CPU that
// is not Intel's (DistributionKernels.cpp asks cpuinfo for the vendor; /proc/cpuinfo says the same).
static bool BernoulliDrawsFromMt19937() {
  static const bool mt = [] {
    if (!at::hasMKL()) return true;
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
      if (line.rfind("vendor_id", 0) == 0) return line.find("GenuineIntel") == std::string::npos;
    }
    return false;  // vendor unknown: leave the draws to libtorch
  }();
  return mt;
}

// The next `count` outputs of the mt19937 whose state is `s`, as count calls of at::mt19937's
// operator() would give them (--left_, regenerate at 0, temper state_[next_++]), written to out and s
// advanced: the outputs left in the state are tempered in a loop the compiler vectorizes, and `engine`
// only regenerates the state (its next_state is private: one call through it when left_ reaches 1).
static void Mt19937Draws(at::mt19937& engine, at::mt19937_data_pod& s, uint32_t* out, int64_t count) {
  int64_t k = 0;
  while (k < count) {
    if (s.left_ == 1) {
      engine.set_data(s);
      out[k++] = engine();
      s = engine.data();
      continue;
    }
    const int64_t take = std::min<int64_t>(s.left_ - 1, count - k);
    const uint32_t* src = s.state_.data() + s.next_;
    for (int64_t j = 0; j < take; j++) {
      uint32_t y = src[j];
      y ^= (y >> 11);
      y ^= (y << 7) & 0x9d2c5680;
      y ^= (y << 15) & 0xefc60000;
      y ^= (y >> 18);
      out[k + j] = y;
    }
    s.next_ += static_cast<uint32_t>(take);
    s.left_ -= static_cast<int>(take);
    k += take;
  }
}

// Advances the mt19937 whose state is `s` by `count` outputs without computing them: the outputs a
// caller would throw away (the noise of rows nobody reads) cost only the state's regeneration.
static void Mt19937Skip(at::mt19937& engine, at::mt19937_data_pod& s, int64_t count) {
  while (count > 0) {
    if (s.left_ == 1) {
      engine.set_data(s);
      engine();
      s = engine.data();
      count--;
      continue;
    }
    const int64_t take = std::min<int64_t>(s.left_ - 1, count);
    s.next_ += static_cast<uint32_t>(take);
    s.left_ -= static_cast<int>(take);
    count -= take;
  }
}

static bool gDropoutInOnePass = true;

// For each of `rows` rows, where its noise goes among index's rows (−1: nowhere), or empty when
// index repeats a row (then the noise is drawn whole and index_select picks the rows).
static std::vector<int64_t> RowPlaces(const at::Tensor& index, int64_t rows) {
  const at::Tensor idx = index.to(at::kLong).contiguous();
  const int64_t* v = idx.data_ptr<int64_t>();
  std::vector<int64_t> place(static_cast<size_t>(rows), -1);
  for (int64_t i = 0; i < idx.numel(); i++) {
    if (v[i] < 0 || v[i] >= rows) throw std::out_of_range("dropoutRows: index " + std::to_string(v[i]) + " is outside the " + std::to_string(rows) + " rows");
    if (place[static_cast<size_t>(v[i])] >= 0) return {};
    place[static_cast<size_t>(v[i])] = i;
  }
  return place;
}

at::Tensor DropoutNoise(const at::Tensor& like, int64_t rows, double p, const at::Tensor* index) {
  std::vector<int64_t> shape = like.sizes().vec();
  if (rows >= 0) shape[0] = rows;
  const at::ScalarType dtype = like.scalar_type();
  const bool fast = gDropoutInOnePass && like.is_cpu() && (dtype == at::kFloat || dtype == at::kDouble || dtype == at::kBFloat16) && (rows >= 0 || like.is_contiguous()) &&
                    BernoulliDrawsFromMt19937();
  const std::vector<int64_t> place = fast && index && index->is_cpu() ? RowPlaces(*index, rows) : std::vector<int64_t>{};
  if (!fast || (index && place.empty())) {
    at::Tensor noise = rows >= 0 ? at::empty(shape, like.options().requires_grad(false)) : at::empty_like(like, at::MemoryFormat::Preserve);
    noise.bernoulli_(1 - p);
    noise.div_(1 - p);
    return index ? noise.index_select(0, *index) : noise;
  }
  if (index) shape[0] = index->numel();
  at::Tensor noise = at::empty(shape, like.options().requires_grad(false));
  // A kept element's value as libtorch's div_ computes it in this dtype (bfloat16 divides in float and
  // rounds): 1 ÷ (1 − p) on a one-element tensor.
  const at::Tensor keptValue = at::ones({1}, noise.options()).div_(1 - p);
  // Drawn in rows of rowSize elements; with an index only its rows are written (the others' draws
  // are skipped over), each where index puts it.
  int64_t rowSize = 1;
  for (size_t d = 1; d < shape.size(); d++) rowSize *= shape[d];
  if (!index) rowSize = noise.numel();
  const int64_t drawRows = index ? rows : 1;
  // u = x · 2⁻⁵³ < 1 − p, for the integer x < 2⁵³: x < ⌈(1 − p) · 2⁵³⌉ (the scaling by 2⁵³ is exact).
  const uint64_t below = static_cast<uint64_t>(std::ceil((1 - p) * 9007199254740992.0));
  auto* gen = at::check_generator<at::CPUGeneratorImpl>(at::detail::getDefaultCPUGenerator());
  std::lock_guard<std::mutex> lock(gen->mutex_);
  at::mt19937 engine = gen->engine();
  at::mt19937_data_pod state = engine.data();
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, dtype, "dropoutNoise", [&] {
    scalar_t* base = noise.data_ptr<scalar_t>();
    const scalar_t kept = keptValue.data_ptr<scalar_t>()[0];
    const scalar_t dropped = static_cast<scalar_t>(0);
    constexpr int64_t kBlock = 2048;
    uint32_t draws[2 * kBlock];
    for (int64_t r = 0; r < drawRows; r++) {
      const int64_t dest = index ? place[static_cast<size_t>(r)] : 0;
      if (dest < 0) {
        Mt19937Skip(engine, state, 2 * rowSize);
        continue;
      }
      scalar_t* out = base + dest * rowSize;
      for (int64_t start = 0; start < rowSize; start += kBlock) {
        const int64_t len = std::min(kBlock, rowSize - start);
        Mt19937Draws(engine, state, draws, 2 * len);
        for (int64_t i = 0; i < len; i++) {
          const uint64_t x = (static_cast<uint64_t>(draws[2 * i] & 0x1FFFFF) << 32) | draws[2 * i + 1];
          out[start + i] = x < below ? kept : dropped;
        }
      }
    }
  });
  engine.set_data(state);
  gen->set_engine(engine);
  return noise;
}

FT_FN(dropoutInOnePass) { return Napi::Boolean::New(info.Env(), gDropoutInOnePass); }
FT_FN(setDropoutInOnePass) {
  gDropoutInOnePass = Bool(info, 0);
  return info.Env().Undefined();
}

void RegisterDropout(Napi::Env env, Napi::Object exports) {
  FT_EXPORT(exports, dropoutInOnePass);
  FT_EXPORT(exports, setDropoutInOnePass);
}

}  // namespace ft

namespace ft::op {

FT_OP(dropout) {
  const at::Tensor& input = T(info, 0);
  const double p = Num(info, 1);
  const bool train = Bool(info, 2);
  if (!input.is_cpu() || !train || !(p > 0 && p < 1) || input.numel() == 0) return Wrap(info.Env(), at::dropout(input, p, train));
  return Wrap(info.Env(), input.mul(DropoutNoise(input, -1, p, nullptr)));
}

// dropoutRows(x [n, h], index [n], rows, p): at::dropout of the [rows, h] tensor whose row index[i]
// is x[i], computed on x's rows only: the noise is drawn for all rows, in at::dropout's order, and
// only index's rows written (and applied).
FT_OP(dropoutRows) {
  const at::Tensor& x = T(info, 0);
  const at::Tensor& index = T(info, 1);
  const int64_t rows = Int(info, 2);
  const double p = Num(info, 3);
  if (x.dim() != 2) throw Napi::Error::New(info.Env(), "dropoutRows: x must be [rows, features]");
  if (p == 0) return Wrap(info.Env(), x.alias());
  if (p == 1) return Wrap(info.Env(), x * at::zeros({}, x.options()));
  return Wrap(info.Env(), x * DropoutNoise(x, rows, p, &index));
}

}  // namespace ft::op
