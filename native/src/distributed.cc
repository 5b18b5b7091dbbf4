// libtorch's c10d for the addon: a TCPStore rendezvous, a ProcessGroupGloo, the collectives, and
// DistributedDataParallel's engine, c10d::Reducer (bucketed gradient all-reduce launched from
// autograd hooks as gradients become ready). The thin layer Python's DDP wrapper adds on top of the
// Reducer is in TypeScript (src/distributed/). Built where libtorch ships c10d's headers and gloo's
// (Debian: libtorch-dev + libgloo-dev); elsewhere, and with -DFT_NO_DISTRIBUTED, every function says
// distributed training is not in this build.
#include "common.h"
#include <chrono>
#include <memory>

#if !defined(FT_NO_DISTRIBUTED) && TORCH_VERSION_MAJOR < 2 && __has_include(<torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>) && \
    __has_include(<gloo/config.h>)
#define FT_HAVE_C10D 1
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1  // libtorch's headers hide the gloo group unless the build says it has one
#endif
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/comm.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
#else
#define FT_HAVE_C10D 0
#endif

namespace ft {

#if FT_HAVE_C10D

// A process group as JS holds it: the store it met its peers through, the group, who we are.
struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  int rank = 0;
  int size = 1;
  std::string backend;
};

struct DDPState {
  std::shared_ptr<Group> group;
  std::unique_ptr<c10d::Reducer> reducer;
};

template <class S>
static Napi::Value Holder(Napi::Env env, std::shared_ptr<S> s) {
  auto* box = new std::shared_ptr<S>(std::move(s));
  return Napi::External<std::shared_ptr<S>>::New(env, box, [](Napi::Env, std::shared_ptr<S>* p) { delete p; });
}

template <class S>
static std::shared_ptr<S>& Held(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsExternal()) ThrowType(info, i, what);
  auto& held = *info[i].As<Napi::External<std::shared_ptr<S>>>().Data();
  if (!held) throw Napi::Error::New(info.Env(), std::string(what) + " was destroyed");
  return held;
}

static Group& G(const Napi::CallbackInfo& info, size_t i) {
  return *Held<Group>(info, i, "a process group");
}

// c10d's messages say what failed; ours add which rank saw it.
static std::string Who(const Group& g) {
  return "rank " + std::to_string(g.rank) + " of " + std::to_string(g.size) + ": ";
}

// gloo's timeout names no peer: say which ranks this one was waiting for, and what to look at.
static std::string Explain(const Group& g, const std::string& msg) {
  if (msg.find("Timed out") == std::string::npos && msg.find("timed out") == std::string::npos) return msg;
  std::string others;
  for (int r = 0; r < g.size; ++r) {
    if (r == g.rank) continue;
    others += (others.empty() ? "" : ", ") + std::to_string(r);
  }
  return msg + " (waiting for rank" + (g.size > 2 ? "s " : " ") + others +
         ": one of them did not reach this collective within the timeout — it is stuck, much slower, or has died; "
         "ddpTimeout / initProcessGroup's timeout sets the wait)";
}

template <typename F>
static auto OnRank(const Napi::CallbackInfo& info, const Group& g, const char* what, F fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), Who(g) + what + " failed: " + Explain(g, e.what_without_backtrace()));
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), Who(g) + what + " failed: " + Explain(g, e.what()));
  }
}

// (backend, masterAddr, masterPort, rank, worldSize, timeoutMs, storePrefix) → group. Rank 0 runs the
// TCPStore server (as torch.distributed's env:// and tcp:// rendezvous do), or, for a masterAddr of
// "file://PATH" (torch.distributed's file:// init method), every rank opens a FileStore and nothing
// listens on a port; every rank then builds the gloo group, which connects to each peer through the store.
FT_FN(distInit) {
  std::string backend = Str(info, 0);
  std::string host = Str(info, 1);
  int port = static_cast<int>(Int(info, 2));
  int rank = static_cast<int>(Int(info, 3));
  int size = static_cast<int>(Int(info, 4));
  auto timeout = std::chrono::milliseconds(Int(info, 5));
  if (backend != "gloo") throw Napi::Error::New(info.Env(), "backend '" + backend + "' is not in this build (gloo is; NCCL needs a CUDA libtorch ≥ 2)");
  auto g = std::make_shared<Group>();
  g->rank = rank;
  g->size = size;
  g->backend = backend;
  const std::string filePrefix = "file://";
  if (host.rfind(filePrefix, 0) == 0) {
    std::string path = host.substr(filePrefix.size());
    try {
      g->store = c10::make_intrusive<c10d::PrefixStore>(Str(info, 6), c10::make_intrusive<c10d::FileStore>(path, size));
    } catch (const std::exception& e) {
      std::string msg = e.what();
      if (auto* ce = dynamic_cast<const c10::Error*>(&e)) msg = ce->what_without_backtrace();
      throw Napi::Error::New(info.Env(), Who(*g) + "cannot open the rendezvous file " + path + ": " + msg);
    }
  } else try {
    c10d::TCPStoreOptions o;
    o.port = static_cast<std::uint16_t>(port);
    o.isServer = rank == 0;
    o.numWorkers = size;
    o.waitWorkers = true;
    o.timeout = timeout;
    o.multiTenant = true;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(host, o);
    g->store = c10::make_intrusive<c10d::PrefixStore>(Str(info, 6), tcp);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    if (auto* ce = dynamic_cast<const c10::Error*>(&e)) msg = ce->what_without_backtrace();
    throw Napi::Error::New(info.Env(), Who(*g) + (rank == 0 ? "cannot serve the rendezvous store on port " + std::to_string(port) : "cannot reach the master at " + host + ":" + std::to_string(port)) +
                                           " within " + std::to_string(timeout.count() / 1000) + " s (MASTER_ADDR/MASTER_PORT): " + msg);
  }
  OnRank(info, *g, "connecting the gloo process group", [&]() {
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
    options->devices.push_back(ifname && *ifname ? c10d::ProcessGroupGloo::createDeviceForInterface(ifname) : c10d::ProcessGroupGloo::createDefaultDevice());
    g->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(g->store, rank, size, options);
    return 0;
  });
  return Holder(info.Env(), g);
}

static c10d::ReduceOp Op(const Napi::CallbackInfo& info, size_t i) {
  std::string op = Str(info, i);
  if (op == "sum") return c10d::ReduceOp::SUM;
  if (op == "max") return c10d::ReduceOp::MAX;
  if (op == "min") return c10d::ReduceOp::MIN;
  if (op == "product") return c10d::ReduceOp::PRODUCT;
  throw Napi::Error::New(info.Env(), "unknown reduce op '" + op + "' (sum, max, min, product)");
}

// In place: every rank's tensor becomes the reduction of all ranks' tensors.
FT_FN(distAllReduce) {
  Group& g = G(info, 0);
  std::vector<at::Tensor> ts{T(info, 1)};
  c10d::AllreduceOptions o;
  o.reduceOp = Op(info, 2);
  OnRank(info, g, "all_reduce", [&]() { return g.pg->allreduce(ts, o)->wait(); });
  return info.Env().Undefined();
}

FT_FN(distBroadcast) {
  Group& g = G(info, 0);
  std::vector<at::Tensor> ts{T(info, 1)};
  c10d::BroadcastOptions o;
  o.rootRank = Int(info, 2);
  OnRank(info, g, "broadcast", [&]() { return g.pg->broadcast(ts, o)->wait(); });
  return info.Env().Undefined();
}

// Tensors of the same shape on every rank → the list of all of them, in rank order.
FT_FN(distAllGather) {
  Group& g = G(info, 0);
  std::vector<at::Tensor> in{T(info, 1).contiguous()};
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < g.size; ++r) out[0].push_back(at::empty_like(in[0]));
  OnRank(info, g, "all_gather", [&]() { return g.pg->allgather(out, in)->wait(); });
  return WrapList(info.Env(), out[0]);
}

FT_FN(distBarrier) {
  Group& g = G(info, 0);
  OnRank(info, g, "barrier", [&]() { return g.pg->barrier()->wait(); });
  return info.Env().Undefined();
}

// Rank `src`'s tensors copied into everyone's, packed into buffers of at most bufferBytes (DDP's
// _sync_module_states).
FT_FN(distBroadcastCoalesced) {
  Group& g = G(info, 0);
  auto ts = TList(info, 1);
  auto bytes = static_cast<size_t>(Int(info, 2));
  int src = static_cast<int>(Int(info, 3));
  c10::NoGradGuard noGrad;
  OnRank(info, g, "broadcast of the model's parameters and buffers", [&]() {
    c10d::broadcast_coalesced(g.pg, ts, bytes, src);
    return 0;
  });
  return info.Env().Undefined();
}

FT_FN(distDestroy) {
  Held<Group>(info, 0, "a process group").reset();
  return info.Env().Undefined();
}

// (group, params, bucketCapBytes, findUnusedParameters, gradientAsBucketView) → DDP's reducer, after
// c10d's check that every rank holds parameters of the same shapes.
FT_FN(ddpCreate) {
  auto group = Held<Group>(info, 0, "a process group");
  auto params = TList(info, 1);
  auto cap = static_cast<size_t>(Int(info, 2));
  bool findUnused = Bool(info, 3);
  bool asView = Bool(info, 4);
  auto state = std::make_shared<DDPState>();
  state->group = group;
  OnRank(info, *group, "DistributedDataParallel", [&]() {
    c10d::verify_params_across_processes(group->pg, params, c10::nullopt);
    std::vector<bool> sparse(params.size(), false);
    auto assigned = c10d::compute_bucket_assignment_by_size(params, {static_cast<size_t>(c10d::kDefaultFirstBucketBytes), cap}, sparse);
    auto buckets = std::get<0>(assigned);
    auto limits = std::get<1>(assigned);
    // Reversed, as Python's DDP: gradients become ready roughly in the reverse of the parameters' order.
    std::reverse(buckets.begin(), buckets.end());
    std::reverse(limits.begin(), limits.end());
    state->reducer = std::make_unique<c10d::Reducer>(params, buckets, limits, group->pg, sparse, static_cast<int64_t>(cap), findUnused, asView,
                                                     std::unordered_map<size_t, std::string>{}, static_cast<int64_t>(c10d::kDefaultFirstBucketBytes));
    return 0;
  });
  return Holder(info.Env(), state);
}

static DDPState& R(const Napi::CallbackInfo& info, size_t i) {
  return *Held<DDPState>(info, i, "a DistributedDataParallel reducer");
}

// Before each forward with autograd on: when it will synchronize, the reducer's iteration
// bookkeeping; always, the one-time rebuild of buckets in the order gradients actually arrived in
// the first iteration (a collective: every rank calls it at the same forward). As Python's DDP.
FT_FN(ddpPrepareForward) {
  DDPState& s = R(info, 0);
  bool sync = Bool(info, 1);
  bool rebuilt = OnRank(info, *s.group, "DistributedDataParallel forward", [&]() {
    if (sync) s.reducer->prepare_for_forward();
    return s.reducer->rebuild_buckets();
  });
  return Napi::Boolean::New(info.Env(), rebuilt);
}

// After a forward that will synchronize: arms the autograd hooks for the coming backward (the
// outputs are traversed for unused parameters when find_unused_parameters is on).
FT_FN(ddpPrepareForBackward) {
  DDPState& s = R(info, 0);
  auto outputs = TList(info, 1);
  OnRank(info, *s.group, "DistributedDataParallel backward", [&]() {
    s.reducer->prepare_for_backward(outputs);
    return 0;
  });
  return info.Env().Undefined();
}

FT_FN(ddpDestroy) {
  Held<DDPState>(info, 0, "a DistributedDataParallel reducer").reset();
  return info.Env().Undefined();
}

#else

#define FT_NOT_BUILT(name) \
  FT_FN(name) { throw Napi::Error::New(info.Env(), "distributed training is not in this build of the addon: it needs libtorch's c10d and gloo headers (Debian: libtorch-dev and libgloo-dev; libtorch 1.x)"); }
FT_NOT_BUILT(distInit)
FT_NOT_BUILT(distAllReduce)
FT_NOT_BUILT(distBroadcast)
FT_NOT_BUILT(distAllGather)
FT_NOT_BUILT(distBarrier)
FT_NOT_BUILT(distBroadcastCoalesced)
FT_NOT_BUILT(distDestroy)
FT_NOT_BUILT(ddpCreate)
FT_NOT_BUILT(ddpPrepareForward)
FT_NOT_BUILT(ddpPrepareForBackward)
FT_NOT_BUILT(ddpDestroy)

#endif

void RegisterDistributed(Napi::Env env, Napi::Object exports) {
  exports.Set("distributedBuilt", Napi::Boolean::New(env, FT_HAVE_C10D == 1));
  FT_EXPORT(exports, distInit);
  FT_EXPORT(exports, distAllReduce);
  FT_EXPORT(exports, distBroadcast);
  FT_EXPORT(exports, distAllGather);
  FT_EXPORT(exports, distBarrier);
  FT_EXPORT(exports, distBroadcastCoalesced);
  FT_EXPORT(exports, distDestroy);
  FT_EXPORT(exports, ddpCreate);
  FT_EXPORT(exports, ddpPrepareForward);
  FT_EXPORT(exports, ddpPrepareForBackward);
  FT_EXPORT(exports, ddpDestroy);
}

}  // namespace ft
