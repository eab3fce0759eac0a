// GEMM lowering and K segmentation (contract: gemm_problem.h).
#include "models/numerics/gemm_problem.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "models/core/error.h"

namespace lbsim {

// mac_family() is answered by the MAC-family registry (models/mac/mac_family.cpp).

void SegmentCuts::merge(const SegmentCuts& other) {
  if (other.latest_.size() != latest_.size())
    throw std::logic_error("SegmentCuts::merge: different k");
  for (size_t kk = 0; kk < latest_.size(); ++kk)
    latest_[kk] = std::max(latest_[kk], other.latest_[kk]);
}

std::vector<int32_t> SegmentCuts::k_segment() const {
  std::vector<int32_t> seg(latest_.size(), 0);
  int64_t start = 0;
  int32_t s = 0;
  for (size_t kk = 0; kk < latest_.size(); ++kk) {
    if (latest_[kk] >= start) {  // an event whose previous element lies in this segment
      ++s;
      start = static_cast<int64_t>(kk);
    }
    seg[kk] = s;
  }
  return seg;
}

// segment_k() on every row and column, then each segment's group per row / column (its last
// non-padding group, -1 when the segment is padding only for that row / column).
void GemmProblem::segment() {
  if (static_cast<int64_t>(a.group.size()) != m * k ||
      static_cast<int64_t>(b.group.size()) != k * n)
    throw std::logic_error("GemmProblem::segment: group arrays do not match m, n, k");
  std::vector<int64_t> rows(static_cast<size_t>(m)), cols(static_cast<size_t>(n));
  for (int64_t i = 0; i < m; ++i) rows[static_cast<size_t>(i)] = i;
  for (int64_t j = 0; j < n; ++j) cols[static_cast<size_t>(j)] = j;
  k_segment = segment_k(
      k, rows, cols, [&](int64_t i, int64_t kk) { return a.group[i * k + kk]; },
      [&](int64_t kk, int64_t j) { return b.group[kk * n + j]; });
  num_segments = k > 0 ? k_segment.back() + 1 : 0;
  const int64_t S = num_segments;
  a_seg_group.assign(static_cast<size_t>(m * S), -1);
  b_seg_group.assign(static_cast<size_t>(S * n), -1);
  for (int64_t kk = 0; kk < k; ++kk) {
    const int64_t s = k_segment[static_cast<size_t>(kk)];
    for (int64_t i = 0; i < m; ++i) {
      const int32_t g = a.group[i * k + kk];
      if (g >= 0) a_seg_group[i * S + s] = g;
    }
    for (int64_t j = 0; j < n; ++j) {
      const int32_t g = b.group[kk * n + j];
      if (g >= 0) b_seg_group[s * n + j] = g;
    }
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
  const std::vector<int64_t> ids = q.groups.group_ids();
  op.group.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) op.group[i] = static_cast<int32_t>(ids[i]);
  return op;
}

}  // namespace

void require_gemm_operands(const QTensor& a, const QTensor& b) {
  if (a.shape.size() != 2 || b.shape.size() != 2)
    throw UserError("GEMM operands must be rank-2 matrices A (M, K) and B (K, N); got A " +
                    shape_str(a.shape) + " and B " + shape_str(b.shape));
  if (a.shape[1] != b.shape[0])
    throw UserError("GEMM shape mismatch: A " + shape_str(a.shape) + " x B " + shape_str(b.shape) +
                    ": A has K = " + std::to_string(a.shape[1]) +
                    " columns but B has K = " + std::to_string(b.shape[0]) + " rows");
  for (const QTensor* q : {&a, &b})
    for (int64_t d : q->shape)
      if (d < 1)
        throw UserError(
            "GEMM operands must have M, K, N >= 1 (an empty product has no defined "
            "result); got A " +
            shape_str(a.shape) + " and B " + shape_str(b.shape));
}

GemmProblem lower_gemm(const QTensor& a, const QTensor& b) {
  require_gemm_operands(a, b);
  GemmProblem p;
  p.m = a.shape[0];
  p.k = a.shape[1];
  p.n = b.shape[1];
  p.a = make_operand(a);
  p.b = make_operand(b);
  p.segment();
  return p;
}

GemmProblem sub_problem(const GemmProblem& p, const std::vector<int64_t>& rows,
                        const std::vector<int64_t>& cols) {
  GemmProblem s;
  s.m = static_cast<int64_t>(rows.size());
  s.n = static_cast<int64_t>(cols.size());
  s.k = p.k;
  s.a.q = p.a.q;
  s.a.rows = s.m;
  s.a.cols = p.k;
  s.a.codes.reserve(static_cast<size_t>(s.m * p.k));
  s.a.group.reserve(static_cast<size_t>(s.m * p.k));
  for (int64_t r : rows)
    for (int64_t kk = 0; kk < p.k; ++kk) {
      s.a.codes.push_back(p.a.codes.at(static_cast<size_t>(r * p.k + kk)));
      s.a.group.push_back(p.a.group.at(static_cast<size_t>(r * p.k + kk)));
    }
  s.b.q = p.b.q;
  s.b.rows = p.k;
  s.b.cols = s.n;
  s.b.codes.reserve(static_cast<size_t>(p.k * s.n));
  s.b.group.reserve(static_cast<size_t>(p.k * s.n));
  for (int64_t kk = 0; kk < p.k; ++kk)
    for (int64_t c : cols) {
      s.b.codes.push_back(p.b.codes.at(static_cast<size_t>(kk * p.n + c)));
      s.b.group.push_back(p.b.group.at(static_cast<size_t>(kk * p.n + c)));
    }
  s.segment();
  return s;
}

float canonical_nan(float v) {
  if (std::isnan(v)) {
    const uint32_t bits = 0x7FC00000u;
    std::memcpy(&v, &bits, sizeof v);
  }
  return v;
}

}  // namespace lbsim
