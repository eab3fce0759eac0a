// Plain tensors: a shape and C-order data. Inputs to every quantizer are fp32 (docs/design.md §4:
// formats quantize fp32 tensors, as the hardware's quantization unit does).
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "models/core/shape.h"

namespace lbsim {

struct Tensor {
  Shape shape;
  std::vector<float> data;  // C order, data.size() == numel(shape)
};

// Read-only fp32 elements held elsewhere (a Tensor's vector, a caller's array): what formats
// quantize, so an input need not be copied into a Tensor first.
class FloatSpan {
 public:
  FloatSpan() = default;
  FloatSpan(const float* p, size_t n) : p_(p), n_(n) {}
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  const float* data() const { return p_; }
  const float& operator[](size_t i) const { return p_[i]; }
  const float* begin() const { return p_; }
  const float* end() const { return p_ + n_; }

 private:
  const float* p_ = nullptr;
  size_t n_ = 0;
};

// A tensor's shape and its elements, not owned (the owner must outlive the view).
struct TensorView {
  Shape shape;
  FloatSpan data;              // C order, data.size() == numel(shape)
  TensorView(const Tensor& t)  // NOLINT(google-explicit-constructor): a Tensor is a view
      : shape(t.shape), data(t.data.data(), t.data.size()) {}
  TensorView(Shape s, const float* p, size_t n) : shape(std::move(s)), data(p, n) {}
};

struct NpyReadOptions;
// A .npy file (models/core/npy.h) converted to fp32 (RNE for f8 and large integers; f2 and bf16
// exactly), as the quantizers expect. Errors as read_npy.
Tensor read_npy_tensor(const std::string& path);
Tensor read_npy_tensor(const std::string& path, const NpyReadOptions& options);
struct NpyArray;
Tensor npy_tensor(const NpyArray& a);  // the conversion alone

}  // namespace lbsim
