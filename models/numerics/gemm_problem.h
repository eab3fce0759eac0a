// A quantized GEMM laid out for the array: C[m][n] = sum_k A[m][k] * B[k][n].
//
// This header is the arithmetic contract shared by the PE datapaths (models/mac) and the
// functional reference (models/reference). Both compute exactly the result below; they differ in
// route (bit fields and integer/float units vs exact decoded values), and tests hold them equal
// bit for bit. RNE = IEEE round-to-nearest-even to binary32.
//
// Float family (both operands ElementKind::kFloat, e.g. fp8_e5m2 x fp8_e4m3; float formats keep
// group scale 1, their per-tensor scale is the tensor scale):
//   F = +0
//   for k = 0 .. K-1 (ascending):  F = RNE(F + a_k * b_k)   -- exact product, one rounding (FMA)
//   y = RNE(F * ts)
// Fixed-point family (both operands kInt, kLog or kMls, mixed allowed, e.g. int4 x luq_fp4):
//   every element is an integer multiple of 2^unit_log2 of its format, so each product is an
//   integer term in units of 2^(unit_a + unit_b) (INT: multiply; LOG: shift; MLS: mantissa
//   multiply + exponent add + shift).
//   F = +0
//   for each K segment s (maximal run of equal k_segment, ascending):
//     acc = sum of the segment's integer terms in ascending k, in an acc_bits two's complement
//           accumulator; when a partial sum leaves [-2^(acc_bits-1), 2^(acc_bits-1) - 1] the
//           overflow counter is bumped and the sum wraps or saturates (OverflowPolicy)
//     c = RNE(acc)                                   -- int -> fp32 (exact while |acc| < 2^24)
//     g = ga * gb * 2^(unit_a + unit_b)   exactly, when ga and gb are both powers of two
//                                          (g need not be fp32-representable: 2^-500 is fine),
//         RNE(ga * gb * 2^(unit_a + unit_b))  otherwise (fp32 group scales, e.g. int8)
//         (ga, gb: group scales of the segment's A row / B column elements; 1 if all padding)
//     v = RNE(c * g)
//     F = RNE(F + v)
//   y = RNE(F * ts)
// ts = ta * tb exactly when both tensor scales are powers of two, RNE(ta * tb) otherwise.
// "Power of two" is decided by the scale's value. Padding between two groups joins the earlier
// segment (segment() cuts as late as possible).
// Any NaN result is the canonical quiet NaN 0x7FC00000.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/numerics/i_number_format.h"

namespace lbsim {

enum class OverflowPolicy { kWrap, kSaturate };

struct AccumulatorSpec {
  int acc_bits = 32;  // fixed-point family accumulator width, 2..64
  OverflowPolicy policy = OverflowPolicy::kSaturate;
};

struct GemmOperand {
  const QTensor* q = nullptr;  // source tensor: format, tensor scale, group scales
  int64_t rows = 0, cols = 0;
  std::vector<uint32_t> codes;  // rows * cols, row-major; padding is code 0
  std::vector<int32_t> group;   // per element: index into q->group_scale, -1 = padding
};

struct GemmProblem {
  int64_t m = 0, n = 0, k = 0;
  GemmOperand a;                   // m x k
  GemmOperand b;                   // k x n
  std::vector<int32_t> k_segment;  // length k, nondecreasing from 0: segment id of each k
  int32_t num_segments = 0;
  std::vector<int32_t>
      a_seg_group;  // m x num_segments: group of row m in segment s (-1: padding only)
  std::vector<int32_t> b_seg_group;  // num_segments x n: group of column n in segment s

  // Fills k_segment / num_segments / *_seg_group with the coarsest segmentation in which every
  // row of A and every column of B keeps one group per segment (padding fits any group).
  void segment();
};

// The contract's segmentation rule: greedy scan in ascending k; a segment grows while every row
// of A (its groups along k) and every column of B sees at most one group (-1 = padding, fits any)
// and is cut at the first k where one would see a second. Cutting only when forced gives the
// fewest segments, each cut as late as possible.
//
// Computed from per-line events, so that lines (rows of A, columns of B) can be added one at a
// time, in any order and from any number of SegmentCuts merged afterwards: a line has an event at
// k when its element k is not padding and its previous non-padding element, at p < k, has another
// group. The greedy scan cuts at k exactly when some line has an event at k whose p lies in the
// current segment, i.e. when the largest such p (latest_[k]) is >= the segment's start.
class SegmentCuts {
 public:
  explicit SegmentCuts(int64_t k) : latest_(static_cast<size_t>(k), -1) {}
  // One line: group(kk) for kk = 0 .. k-1 (-1 = padding).
  template <class Group>
  void add_line(Group group) {
    int64_t prev = -1;
    int32_t prev_group = -1;
    const int64_t k = static_cast<int64_t>(latest_.size());
    for (int64_t kk = 0; kk < k; ++kk) {
      const int32_t g = group(kk);
      if (g < 0) continue;
      if (prev >= 0 && g != prev_group && prev > latest_[kk]) latest_[kk] = prev;
      prev = kk;
      prev_group = g;
    }
  }
  void merge(const SegmentCuts& other);
  // k_segment (length k, nondecreasing from 0).
  std::vector<int32_t> k_segment() const;

 private:
  std::vector<int64_t> latest_;
};

// The rule on the rows and columns given. Returns k_segment (length k, nondecreasing from 0).
// GemmProblem::segment() runs it on every row and column; estimates (models/sim_plan) run it on a
// sample. Cost O(k * (rows + cols)).
template <class GroupA, class GroupB>
std::vector<int32_t> segment_k(int64_t k, const std::vector<int64_t>& rows,
                               const std::vector<int64_t>& cols, GroupA group_a, GroupB group_b) {
  SegmentCuts cuts(k);
  for (int64_t row : rows) cuts.add_line([&](int64_t kk) { return group_a(row, kk); });
  for (int64_t col : cols) cuts.add_line([&](int64_t kk) { return group_b(kk, col); });
  return cuts.k_segment();
}

struct GemmResult {
  std::vector<float> c;        // m x n, row-major
  uint64_t acc_overflows = 0;  // fixed-point family: partial sums that left the range
};

// Which datapath family handles a pair of formats; throws UserError when the two cannot share a
// MAC array (float x fixed), naming both.
enum class MacFamily { kFloat, kFixed };
MacFamily mac_family(const FormatInfo& a, const FormatInfo& b);

// A (M x K) and B (K x N) rank-2 tensors -> problem. Throws UserError on shape mismatch and on an
// empty dimension (M, K or N = 0: lbsim defines no empty GEMM).
GemmProblem lower_gemm(const QTensor& a, const QTensor& b);
// lower_gemm's shape checks alone.
void require_gemm_operands(const QTensor& a, const QTensor& b);

// The sub-problem of p on the given rows of A (rows of C) and columns of B (columns of C), all of
// K, segmented anew (segment()): C of the result is C of p at those rows and columns. For
// sampling outputs of a GEMM too large to run whole. Indices must be in range (not checked
// beyond std::vector's at()).
GemmProblem sub_problem(const GemmProblem& p, const std::vector<int64_t>& rows,
                        const std::vector<int64_t>& cols);

// v unchanged unless it is a NaN (any sign or payload), which becomes the canonical quiet NaN
// 0x7FC00000 of the contract above; for routes that compute results in host float/double.
float canonical_nan(float v);

}  // namespace lbsim
