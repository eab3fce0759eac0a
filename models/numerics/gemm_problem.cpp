// GEMM lowering and K segmentation (contract: gemm_problem.h).
#include "models/numerics/gemm_problem.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "models/core/error.h"

namespace lbsim {

namespace {

bool is_fixed_kind(ElementKind k) {
  return k == ElementKind::kInt || k == ElementKind::kLog || k == ElementKind::kMls;
}

}  // namespace

MacFamily mac_family(const FormatInfo& a, const FormatInfo& b) {
  if (a.kind == ElementKind::kFloat && b.kind == ElementKind::kFloat) return MacFamily::kFloat;
  if (is_fixed_kind(a.kind) && is_fixed_kind(b.kind)) return MacFamily::kFixed;
  throw UserError("formats '" + a.name + "' and '" + b.name + "' cannot share a MAC array: '" +
                  a.name + "' is a " + element_kind_name(a.kind) + " format and '" + b.name +
                  "' is a " + element_kind_name(b.kind) +
                  " format; a GEMM needs two float formats (fp32 FMA datapath) or two of "
                  "int/log/mls (fixed-point integer datapath)");
}

// Greedy scan in ascending k: a segment is extended while every row of A and every column of B
// sees at most one non-padding group in it, and is cut at the first k where some row or column
// would see a second group. Cutting only when forced gives the minimum number of segments, and
// each cut is as late as possible (padding between two groups joins the earlier segment).
// Cost O(k * (m + n)).
void GemmProblem::segment() {
  if (static_cast<int64_t>(a.group.size()) != m * k ||
      static_cast<int64_t>(b.group.size()) != k * n)
    throw std::logic_error("GemmProblem::segment: group arrays do not match m, n, k");
  k_segment.assign(static_cast<size_t>(k), 0);
  std::vector<int32_t> cur_a(static_cast<size_t>(m), -1), cur_b(static_cast<size_t>(n), -1);
  std::vector<std::vector<int32_t>> seg_a, seg_b;  // per finished segment: cur_a / cur_b
  int32_t seg = 0;
  for (int64_t kk = 0; kk < k; ++kk) {
    bool cut = false;
    for (int64_t i = 0; i < m && !cut; ++i) {
      int32_t g = a.group[i * k + kk];
      cut = g >= 0 && cur_a[i] >= 0 && g != cur_a[i];
    }
    for (int64_t j = 0; j < n && !cut; ++j) {
      int32_t g = b.group[kk * n + j];
      cut = g >= 0 && cur_b[j] >= 0 && g != cur_b[j];
    }
    if (cut) {
      seg_a.push_back(cur_a);
      seg_b.push_back(cur_b);
      cur_a.assign(cur_a.size(), -1);
      cur_b.assign(cur_b.size(), -1);
      ++seg;
    }
    for (int64_t i = 0; i < m; ++i) {
      int32_t g = a.group[i * k + kk];
      if (g >= 0) cur_a[i] = g;
    }
    for (int64_t j = 0; j < n; ++j) {
      int32_t g = b.group[kk * n + j];
      if (g >= 0) cur_b[j] = g;
    }
    k_segment[kk] = seg;
  }
  if (k > 0) {
    seg_a.push_back(cur_a);
    seg_b.push_back(cur_b);
  }
  num_segments = static_cast<int32_t>(seg_a.size());
  const int64_t S = num_segments;
  a_seg_group.assign(static_cast<size_t>(m * S), -1);
  b_seg_group.assign(static_cast<size_t>(S * n), -1);
  for (int64_t s = 0; s < S; ++s) {
    for (int64_t i = 0; i < m; ++i) a_seg_group[i * S + s] = seg_a[s][i];
    for (int64_t j = 0; j < n; ++j) b_seg_group[s * n + j] = seg_b[s][j];
  }
}

namespace {

GemmOperand make_operand(const QTensor& q) {
  GemmOperand op;
  op.q = &q;
  op.rows = q.shape[0];
  op.cols = q.shape[1];
  const int64_t count = op.rows * op.cols;
  if (static_cast<int64_t>(q.codes.size()) != count)
    throw std::logic_error("lower_gemm: QTensor codes do not match its shape " +
                           shape_str(q.shape));
  op.codes = q.codes;
  op.group.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) op.group[i] = static_cast<int32_t>(q.groups.group_of(i));
  return op;
}

}  // namespace

GemmProblem lower_gemm(const QTensor& a, const QTensor& b) {
  if (a.shape.size() != 2 || b.shape.size() != 2)
    throw UserError("GEMM operands must be rank-2 matrices A (M, K) and B (K, N); got A " +
                    shape_str(a.shape) + " and B " + shape_str(b.shape));
  if (a.shape[1] != b.shape[0])
    throw UserError("GEMM shape mismatch: A " + shape_str(a.shape) + " x B " + shape_str(b.shape) +
                    ": A has K = " + std::to_string(a.shape[1]) +
                    " columns but B has K = " + std::to_string(b.shape[0]) + " rows");
  GemmProblem p;
  p.m = a.shape[0];
  p.k = a.shape[1];
  p.n = b.shape[1];
  p.a = make_operand(a);
  p.b = make_operand(b);
  p.segment();
  return p;
}

float canonical_nan(float v) {
  if (std::isnan(v)) {
    const uint32_t bits = 0x7FC00000u;
    std::memcpy(&v, &bits, sizeof v);
  }
  return v;
}

}  // namespace lbsim
