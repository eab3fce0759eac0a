#include <stdexcept>

#include "models/core/error.h"
#include "models/numerics/i_number_format.h"

namespace lbsim {

const char* role_name(Role r) {
  switch (r) {
    case Role::kWeight:
      return "weight";
    case Role::kActivation:
      return "activation";
    case Role::kError:
      return "error";
  }
  return "?";
}

const char* element_kind_name(ElementKind k) {
  switch (k) {
    case ElementKind::kFloat:
      return "float";
    case ElementKind::kInt:
      return "int";
    case ElementKind::kLog:
      return "log";
    case ElementKind::kMls:
      return "mls";
  }
  return "?";
}

Role parse_role(const std::string& s) {
  if (s == "weight") return Role::kWeight;
  if (s == "activation") return Role::kActivation;
  if (s == "error") return Role::kError;
  throw UserError("unknown role '" + s + "'; allowed: weight, activation, error");
}

int64_t GroupMap::num_groups() const {
  int64_t n = 1;
  for (size_t d = 0; d < shape.size(); ++d) n *= (shape[d] + block[d] - 1) / block[d];
  return n;
}

int64_t GroupMap::group_of(int64_t flat) const {
  // Decompose the C-order index from the last dimension, rebuild the block-grid index.
  int64_t g = 0, stride = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    int64_t idx = flat % shape[d];
    flat /= shape[d];
    g += (idx / block[d]) * stride;
    stride *= (shape[d] + block[d] - 1) / block[d];
  }
  return g;
}

std::vector<int64_t> GroupMap::group_ids() const {
  const int64_t n = numel(shape);
  std::vector<int64_t> ids(static_cast<size_t>(n));
  const int rank = static_cast<int>(shape.size());
  std::vector<int64_t> idx(rank, 0), stride(rank, 1);
  for (int d = rank - 2; d >= 0; --d)
    stride[d] = stride[d + 1] * ((shape[d + 1] + block[d + 1] - 1) / block[d + 1]);
  int64_t g = 0;
  for (int64_t i = 0; i < n; ++i) {
    ids[i] = g;
    for (int d = rank - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) {
        if (idx[d] % block[d] == 0) g += stride[d];
        break;
      }
      g -= ((shape[d] - 1) / block[d]) * stride[d];  // wrap this digit, carry
      idx[d] = 0;
    }
  }
  return ids;
}

GroupMap GroupMap::per_tensor(const Shape& shape) {
  GroupMap m{shape, shape};
  for (auto& b : m.block) b = b > 0 ? b : 1;
  return m;
}

GroupMap GroupMap::per_axis(const Shape& shape, int axis) {
  GroupMap m = per_tensor(shape);
  if (axis < 0 || axis >= static_cast<int>(shape.size()))
    throw std::logic_error("per_axis: axis out of range");
  m.block[axis] = 1;
  return m;
}

double QTensor::element(uint32_t code) const {
  return unsigned_int ? static_cast<double>(code) : format->element_value(code);
}

double QTensor::value(int64_t i) const {
  double g = group_scale.empty() ? 1.0 : group_scale[groups.group_of(i)];
  return tensor_scale * g * element(codes[i]);
}

namespace {

// value(i) for every i into out, computed as value() does (tensor_scale * group scale first, then
// times the element; T = float rounds that double once), with the per-group factors formed once,
// the element values of codes up to 16 bits tabulated (when the tensor has at least as many
// elements as the table), and the groups walked by the odometer instead of a division per
// dimension.
template <class T>
void fill_values(const QTensor& q, T* out) {
  const size_t n = q.codes.size();
  if (n == 0) return;
  std::vector<double> table;
  const int bits = q.format->info().code_bits;
  if (bits <= 16 && (size_t{1} << bits) <= n) {
    table.resize(size_t{1} << bits);
    for (size_t c = 0; c < table.size(); ++c) table[c] = q.element(static_cast<uint32_t>(c));
  }
  auto elem = [&](uint32_t c) { return c < table.size() ? table[c] : q.element(c); };
  const uint32_t* codes = q.codes.data();
  if (q.group_scale.size() <= 1) {
    const double f = q.tensor_scale * (q.group_scale.empty() ? 1.0 : q.group_scale[0]);
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<T>(f * elem(codes[i]));
    return;
  }
  std::vector<double> factor(q.group_scale.size());
  for (size_t g = 0; g < factor.size(); ++g) factor[g] = q.tensor_scale * q.group_scale[g];
  const std::vector<int64_t> gid = q.groups.group_ids();
  for (size_t i = 0; i < n; ++i)
    out[i] = static_cast<T>(factor[static_cast<size_t>(gid[i])] * elem(codes[i]));
}

}  // namespace

std::vector<double> QTensor::values() const {
  std::vector<double> v(codes.size());
  fill_values(*this, v.data());
  return v;
}

void QTensor::values_into(float* out) const { fill_values(*this, out); }

}  // namespace lbsim
