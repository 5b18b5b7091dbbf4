// Debian's libtorch-dev ships c10d's reducer.hpp but not the distributed-autograd header it includes.
// reducer.hpp needs two names from it: the pointer type of a field (a shared_ptr, whose layout does
// not depend on what it points to) and GradCallback for a static_assert. This declares just those;
// the include path puts it after libtorch's own, so a libtorch that has the real header uses that.
#pragma once
#include <ATen/ATen.h>
#include <functional>
#include <memory>

namespace torch {
namespace distributed {
namespace autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};
using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace autograd
}  // namespace distributed
}  // namespace torch
