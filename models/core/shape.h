// Tensor shapes (C order), shared by every layer that names an array's dimensions: the .npy
// reader and writer here in core, the number formats and tensors in models/numerics.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lbsim {

using Shape = std::vector<int64_t>;

int64_t numel(const Shape& shape);
std::string shape_str(const Shape& shape);  // "(2, 3, 4)", "(3,)"

}  // namespace lbsim
