#include <algorithm>
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

GroupCursor::GroupCursor(const GroupMap& m) {
  // A dimension with a single block never changes the group: it joins the dimension to its left
  // (whose block then spans it whole), or is dropped when it is the outermost. A per-tensor map
  // keeps no digit at all, and next() does nothing.
  for (size_t d = 0; d < m.shape.size(); ++d) {
    const int64_t extent = m.shape[d], block = std::min(m.block[d], m.shape[d]);
    if (block == extent) {
      if (!m_digits.empty()) {
        m_digits.back().extent *= extent;
        m_digits.back().block *= extent;
      }
      continue;
    }
    Digit g;
    g.extent = extent;
    g.block = block;
    m_digits.push_back(g);
  }
  int64_t stride = 1;
  for (size_t d = m_digits.size(); d-- > 0;) {
    Digit& g = m_digits[d];
    g.stride = stride;
    const int64_t blocks = (g.extent + g.block - 1) / g.block;
    g.span = stride * (blocks - 1);
    stride *= blocks;
  }
}

std::vector<int64_t> GroupMap::group_ids() const {
  const int64_t n = numel(shape);
  std::vector<int64_t> ids(static_cast<size_t>(n));
  GroupCursor c(*this);
  for (int64_t i = 0; i < n; ++i, c.next()) ids[i] = c.group();
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
// elements as the table), and the groups walked by a GroupCursor.
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
  GroupCursor group(q.groups);
  for (size_t i = 0; i < n; ++i, group.next())
    out[i] = static_cast<T>(factor[static_cast<size_t>(group.group())] * elem(codes[i]));
}

}  // namespace

std::vector<double> QTensor::values() const {
  std::vector<double> v(codes.size());
  fill_values(*this, v.data());
  return v;
}

void QTensor::values_into(float* out) const { fill_values(*this, out); }

}  // namespace lbsim
