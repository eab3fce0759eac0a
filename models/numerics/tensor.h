// Plain tensors: a shape and C-order data. Inputs to every quantizer are fp32 (docs/design.md §4:
// formats quantize fp32 tensors, as the hardware's quantization unit does).
#pragma once

#include <string>
#include <vector>

#include "models/core/shape.h"

namespace lbsim {

struct Tensor {
  Shape shape;
  std::vector<float> data;  // C order, data.size() == numel(shape)
};

struct NpyReadOptions;
// A .npy file (models/core/npy.h) converted to fp32 (RNE for f8 and large integers; f2 and bf16
// exactly), as the quantizers expect. Errors as read_npy.
Tensor read_npy_tensor(const std::string& path);
Tensor read_npy_tensor(const std::string& path, const NpyReadOptions& options);

}  // namespace lbsim
