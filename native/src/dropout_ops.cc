// at::dropout on the CPU with its own numbers, drawn faster.
//
// at::dropout of a CPU tensor (Dropout.cpp's _dropout) is noise = empty_like(input).bernoulli_(1 − p),
// noise ÷= (1 − p), input × noise. libtorch's CPU bernoulli_(p) — unless it is built with MKL and runs
// on an Intel CPU, where MKL's generator is used — draws each element in turn from the default CPU
// generator through a serial TensorIterator kernel: random64() (two mt19937 outputs, the first the
// high word), its low 53 bits × 2⁻⁵³ as a double in [0, 1), and 1 where that is below p. That costs
// ~7 ns an element, a sixth of a bert-tiny training step on two cores. Here the same draws come from a
// copy of the generator's engine — its state regenerated and its words copied out serially, tempered
// and compared in vectorized loops split over the threads — the noise value written directly (1 ÷ (1 − p)
// as div_ computes it in the tensor's dtype, or 0), and the engine put back: the same noise, bit for
// bit, and the generator left where bernoulli_ leaves it (test/dropout.test.ts compares both), for
// float32, float64 and bfloat16 tensors (the draws do not depend on the dtype). Anything else
// (float16, which libtorch 1.13 cannot draw on the CPU; non-contiguous inputs; the MKL path) goes to
// libtorch's own ops, as does everything when torch.backends.cpu.dropoutInOnePass is off.
#include "common.h"
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

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

// at::mt19937's next_state, on the state's words in place: the same recurrence, written as three
// loops without a running pointer so that the compiler vectorizes them (each reads words at least 227
// places away from the one it writes, or ones it has not written yet). The engine's own next_state is
// private and scalar, and reaching it costs two copies of the 2.5 KB state per 624 words.
__attribute__((target_clones("avx2", "default"))) static void Mt19937Twist(uint32_t* st) {
  constexpr int n = at::MERSENNE_STATE_N, m = at::MERSENNE_STATE_M;
  auto twist = [](uint32_t u, uint32_t v) { return (((u & at::UMASK) | (v & at::LMASK)) >> 1) ^ ((0u - (v & 1u)) & at::MATRIX_A); };
  for (int i = 0; i < n - m; i++) st[i] = st[i + m] ^ twist(st[i], st[i + 1]);
  for (int i = n - m; i < n - 1; i++) st[i] = st[i + m - n] ^ twist(st[i], st[i + 1]);
  st[n - 1] = st[m - 1] ^ twist(st[n - 1], st[0]);
}

// The next `count` words of the mt19937 whose state is `s`, untempered, as count calls of at::mt19937's
// operator() would take them (--left_, regenerate at 0, then state_[next_++]), copied to out (or only
// passed over when out is null: the draws of rows nobody reads cost only the regeneration).
static void Mt19937Words(at::mt19937_data_pod& s, uint32_t* out, int64_t count) {
  int64_t k = 0;
  while (k < count) {
    if (s.left_ == 1) {
      Mt19937Twist(s.state_.data());
      s.left_ = at::MERSENNE_STATE_N;
      if (out) out[k] = s.state_[0];
      s.next_ = 1;
      k++;
      continue;
    }
    const int64_t take = std::min<int64_t>(s.left_ - 1, count - k);
    if (out) std::memcpy(out + k, s.state_.data() + s.next_, static_cast<size_t>(take) * sizeof(uint32_t));
    s.next_ += static_cast<uint32_t>(take);
    s.left_ -= static_cast<int>(take);
    k += take;
  }
}

static inline uint32_t Temper(uint32_t y) {
  y ^= (y >> 11);
  y ^= (y << 7) & 0x9d2c5680;
  y ^= (y << 15) & 0xefc60000;
  return y ^ (y >> 18);
}

// Noise from untempered word pairs: element i is random64() of words 2i (high) and 2i + 1 (low),
// tempered; its low 53 bits below `below` (bernoulli_'s u < 1 − p, see DropoutNoise) keep it. The
// values are written as bit patterns (kept's, or zero's) so that one loop serves every dtype.
template <typename bits_t>
__attribute__((target_clones("avx2", "default"))) static void NoiseFromWords(const uint32_t* words, bits_t* out, int64_t count, uint64_t below, bits_t kept) {
  for (int64_t i = 0; i < count; i++) {
    const uint64_t x = (static_cast<uint64_t>(Temper(words[2 * i]) & 0x1FFFFF) << 32) | Temper(words[2 * i + 1]);
    out[i] = x < below ? kept : bits_t(0);
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
  // u = x · 2⁻⁵³ < 1 − p, for the integer x < 2⁵³: x < ⌈(1 − p) · 2⁵³⌉ (the scaling by 2⁵³ is exact).
  const uint64_t below = static_cast<uint64_t>(std::ceil((1 - p) * 9007199254740992.0));
  // Drawn in rows of rowSize elements: with an index, the [rows, h] tensor's rows, only index's
  // written (each where index puts it) and the others' draws passed over; without, the tensor in
  // pieces of at most kChunk elements, the last one shorter. Each chunk of rows takes two passes:
  // its words, in the generator's order (serial: each state block follows from the last), then the
  // tempering and comparisons, which are independent per element and split over the threads.
  constexpr int64_t kChunk = int64_t{1} << 18;
  int64_t rowSize = 1;
  for (size_t d = 1; d < shape.size(); d++) rowSize *= shape[d];
  const int64_t total = index ? rows * rowSize : noise.numel();
  if (!index) rowSize = std::min(std::max<int64_t>(total, 1), kChunk);
  const int64_t drawRows = index ? rows : (total + rowSize - 1) / rowSize;
  const int64_t rowsPerChunk = std::max<int64_t>(1, kChunk / std::max<int64_t>(rowSize, 1));
  std::unique_ptr<uint32_t[]> words(new uint32_t[static_cast<size_t>(2 * std::min(rowsPerChunk, drawRows) * rowSize)]);
  struct Written {
    int64_t dest, len;  // the output row it goes to, and its elements
  };
  std::vector<Written> written;  // the chunk's rows in the order of their words
  auto* gen = at::check_generator<at::CPUGeneratorImpl>(at::detail::getDefaultCPUGenerator());
  std::lock_guard<std::mutex> lock(gen->mutex_);
  at::mt19937 engine = gen->engine();
  at::mt19937_data_pod state = engine.data();
  auto fill = [&](auto* out, auto keptBits) {
    for (int64_t first = 0; first < drawRows; first += rowsPerChunk) {
      written.clear();
      int64_t n = 0;
      for (int64_t r = first; r < std::min(drawRows, first + rowsPerChunk); r++) {
        const int64_t dest = index ? place[static_cast<size_t>(r)] : r;
        const int64_t len = std::min(rowSize, total - r * rowSize);
        Mt19937Words(state, dest < 0 ? nullptr : words.get() + 2 * n, 2 * len);
        if (dest < 0) continue;
        written.push_back({dest, len});
        n += len;
      }
      // Every row but a chunk's last is rowSize long, so element e of the chunk is in row e / rowSize.
      at::parallel_for(0, n, 16384, [&](int64_t begin, int64_t end) {
        while (begin < end) {
          const Written& w = written[static_cast<size_t>(begin / rowSize)];
          const int64_t offset = begin % rowSize, len = std::min(end - begin, w.len - offset);
          NoiseFromWords(words.get() + 2 * begin, out + w.dest * rowSize + offset, len, below, keptBits);
          begin += len;
        }
      });
    }
  };
  switch (c10::elementSize(dtype)) {
    case 2: fill(static_cast<uint16_t*>(noise.data_ptr()), *static_cast<const uint16_t*>(keptValue.data_ptr())); break;
    case 4: fill(static_cast<uint32_t*>(noise.data_ptr()), *static_cast<const uint32_t*>(keptValue.data_ptr())); break;
    default: fill(static_cast<uint64_t*>(noise.data_ptr()), *static_cast<const uint64_t*>(keptValue.data_ptr())); break;
  }
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
