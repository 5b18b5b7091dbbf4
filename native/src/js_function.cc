// A node of libtorch's autograd graph whose backward is a JavaScript function: what
// torch.autograd.Function is to Python. Gradient checkpointing is built on it (src/torch/checkpoint.ts):
// the forward runs without a graph, and the node's backward recomputes it with one.
//
// The JS side registers one dispatcher; each node carries an id that the dispatcher maps to the
// closure of its forward. Nodes are freed by libtorch (when the graph goes), possibly while no JS
// can run; a freed node only records its id, and JS collects the ids to drop the closures.
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>
#include <mutex>
#include <thread>
#include <utility>
#include "common.h"

namespace ft {

namespace {

using torch::autograd::variable_list;

std::mutex releasedMutex;
std::vector<std::pair<napi_env, double>> releasedIds;

struct Dispatcher {
  napi_env env = nullptr;
  Napi::FunctionReference fn;
};
// One per environment; leaked on purpose: deleting a JS reference during environment teardown is
// not allowed, and a dispatcher is one small object per thread that loads the addon.
std::mutex dispatchersMutex;
std::vector<Dispatcher*> dispatchers;

Dispatcher* DispatcherOf(napi_env env) {
  std::lock_guard<std::mutex> lock(dispatchersMutex);
  for (Dispatcher* d : dispatchers)
    if (d->env == env) return d;
  return nullptr;
}

struct JsFunctionNode : public torch::autograd::Node {
  napi_env env;
  std::thread::id thread;
  double id;
  std::vector<at::Tensor> saved;

  JsFunctionNode(napi_env env, double id, std::vector<at::Tensor> saved)
      : env(env), thread(std::this_thread::get_id()), id(id), saved(std::move(saved)) {}

  ~JsFunctionNode() override {
    std::lock_guard<std::mutex> lock(releasedMutex);
    releasedIds.emplace_back(env, id);
  }

  std::string name() const override { return "JsFunctionBackward"; }

  variable_list apply(variable_list&& grads) override {
    // libtorch runs a CPU graph's backward on the thread that called backward(); a device's graph
    // on that device's worker thread, where no JavaScript can run.
    if (std::this_thread::get_id() != thread) {
      throw std::runtime_error(
          "a JavaScript autograd function (gradient checkpointing) reached backward on another thread: "
          "libtorch runs the backward of CUDA tensors on its device threads, where JavaScript cannot be "
          "called; gradient checkpointing works on CPU tensors only");
    }
    Dispatcher* d = DispatcherOf(env);
    if (!d) throw std::runtime_error("no JavaScript autograd dispatcher is registered");
    Napi::Env e(env);
    Napi::HandleScope scope(e);
    auto savedArr = Napi::Array::New(e, saved.size());
    for (size_t i = 0; i < saved.size(); ++i) savedArr.Set(static_cast<uint32_t>(i), Wrap(e, saved[i]));
    auto gradArr = Napi::Array::New(e, grads.size());
    for (size_t i = 0; i < grads.size(); ++i) gradArr.Set(static_cast<uint32_t>(i), Wrap(e, grads[i]));
    Napi::Value result;
    try {
      result = d->fn.Call({Napi::Number::New(e, id), savedArr, gradArr});
    } catch (const Napi::Error& err) {
      throw std::runtime_error(err.Message());
    }
    if (!result.IsArray() || result.As<Napi::Array>().Length() != num_outputs()) {
      throw std::runtime_error("a JavaScript autograd function's backward must return one gradient (or null) per input");
    }
    auto arr = result.As<Napi::Array>();
    variable_list out(num_outputs());
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value v = arr.Get(i);
      if (v.IsNull() || v.IsUndefined()) continue;
      TensorBox* b = Lookup(v);
      if (!b || !b->t.defined()) throw std::runtime_error("a JavaScript autograd function's backward returned something other than a tensor");
      // The handle passes to the node: it is freed here, the gradient lives on in the graph.
      out[i] = std::move(b->t);
      Release(e, b);
    }
    return out;
  }
};

}  // namespace

// setJsFunctionDispatcher(fn): fn(id, savedHandles, gradHandles) -> gradient handles, one per input.
FT_FN(setJsFunctionDispatcher) {
  if (info.Length() < 1 || !info[0].IsFunction()) ThrowType(info, 0, "a function");
  Dispatcher* d = DispatcherOf(info.Env());
  if (!d) {
    d = new Dispatcher();
    d->env = info.Env();
    std::lock_guard<std::mutex> lock(dispatchersMutex);
    dispatchers.push_back(d);
  }
  d->fn = Napi::Persistent(info[0].As<Napi::Function>());
  d->fn.SuppressDestruct();
  return info.Env().Undefined();
}

// How libtorch owns graph nodes: std::shared_ptr before 2.13, c10::intrusive_ptr from 2.13 on (Node
// became an intrusive_ptr_target). The edge type says which; the partial specializations keep the
// other version's body from being compiled.
using NodeHandle = decltype(torch::autograd::Edge::function);
template <typename Handle, typename N>
struct NodeOwner;
template <typename N>
struct NodeOwner<std::shared_ptr<torch::autograd::Node>, N> {
  template <typename... A>
  static std::shared_ptr<N> make(A&&... args) {
    return std::make_shared<N>(std::forward<A>(args)...);
  }
};
template <typename N>
struct NodeOwner<c10::intrusive_ptr<torch::autograd::Node>, N> {
  template <typename... A>
  static c10::intrusive_ptr<N> make(A&&... args) {
    return c10::make_intrusive<N>(std::forward<A>(args)...);
  }
};

// attachJsFunction(id, outputs, inputs, saved) -> outputs with the node as their grad_fn. The outputs
// were computed without a graph; the node's next edges are the inputs' (those requiring grad).
FT_FN(attachJsFunction) {
  double id = Num(info, 0);
  std::vector<at::Tensor> outputs = TList(info, 1);
  std::vector<at::Tensor> inputs = TList(info, 2);
  std::vector<at::Tensor> saved = TList(info, 3);
  for (const at::Tensor& o : outputs) {
    if (o.requires_grad()) throw Napi::Error::New(info.Env(), "attachJsFunction: an output already has a graph (compute outputs under noGrad)");
    if (!at::isFloatingType(o.scalar_type()) && !at::isComplexType(o.scalar_type())) {
      throw Napi::Error::New(info.Env(), "attachJsFunction: outputs must be floating point to carry gradients");
    }
  }
  auto node = NodeOwner<NodeHandle, JsFunctionNode>::make(static_cast<napi_env>(info.Env()), id, std::move(saved));
  node->set_next_edges(torch::autograd::collect_next_edges(inputs));
  std::vector<at::Tensor> result;
  result.reserve(outputs.size());
  for (const at::Tensor& o : outputs) {
    at::Tensor r = o.detach();
    torch::autograd::set_history(r, node);
    result.push_back(std::move(r));
  }
  return WrapList(info.Env(), result);
}

// releasedJsFunctions() -> ids of this environment's nodes that libtorch has freed since the last call.
FT_FN(releasedJsFunctions) {
  napi_env env = info.Env();
  std::vector<double> mine;
  {
    std::lock_guard<std::mutex> lock(releasedMutex);
    auto keep = releasedIds.begin();
    for (auto& p : releasedIds) {
      if (p.first == env) mine.push_back(p.second);
      else *keep++ = p;
    }
    releasedIds.erase(keep, releasedIds.end());
  }
  auto arr = Napi::Array::New(info.Env(), mine.size());
  for (size_t i = 0; i < mine.size(); ++i) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), mine[i]));
  return arr;
}

// autogradGrad(outputs, inputs, gradOutputs, allowUnused) -> gradients (null where unused): torch.autograd.grad.
FT_FN(autogradGrad) {
  std::vector<at::Tensor> outputs = TList(info, 0);
  std::vector<at::Tensor> inputs = TList(info, 1);
  std::vector<at::Tensor> gradOutputs = TList(info, 2);
  bool allowUnused = Bool(info, 3);
  if (gradOutputs.size() != outputs.size()) throw Napi::Error::New(info.Env(), "autogradGrad: one gradient per output");
  return WrapList(info.Env(), torch::autograd::grad(outputs, inputs, gradOutputs, NoValue, false, allowUnused));
}

void RegisterJsFunction(Napi::Env env, Napi::Object exports) {
  FT_EXPORT(exports, setJsFunctionDispatcher);
  FT_EXPORT(exports, attachJsFunction);
  FT_EXPORT(exports, releasedJsFunctions);
  FT_EXPORT(exports, autogradGrad);
}

}  // namespace ft
