#include "models/numerics/tensor.h"

#include "models/core/npy.h"

namespace lbsim {

Tensor read_npy_tensor(const std::string& path) { return read_npy_tensor(path, NpyReadOptions{}); }

Tensor read_npy_tensor(const std::string& path, const NpyReadOptions& options) {
  return npy_tensor(read_npy(path, options));
}

Tensor npy_tensor(const NpyArray& a) {
  Tensor t;
  t.shape = a.shape;
  t.data.resize(a.values.size());
  for (size_t i = 0; i < a.values.size(); ++i) t.data[i] = static_cast<float>(a.values[i]);
  return t;
}

}  // namespace lbsim
