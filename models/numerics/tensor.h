// Plain tensors: a shape and C-order data. Inputs to every quantizer are fp32 (DESIGN.md §4:
// formats quantize fp32 tensors, as the hardware's quantization unit does).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lbsim {

using Shape = std::vector<int64_t>;

int64_t numel(const Shape& shape);
std::string shape_str(const Shape& shape);  // "(2, 3, 4)"

struct Tensor {
  Shape shape;
  std::vector<float> data;  // C order, data.size() == numel(shape)
};

}  // namespace lbsim
