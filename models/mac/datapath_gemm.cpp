#include "models/mac/datapath_gemm.h"

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/mac/i_mac_family.h"
#include "models/mac/pe.h"
#include "models/numerics/i_number_format.h"

namespace lbsim {

namespace {

void check_operand(const GemmOperand& op, int64_t rows, int64_t cols, const char* which) {
  if (op.q == nullptr || op.q->format == nullptr)
    throw std::logic_error(std::string("run_datapath: operand ") + which + " has no tensor");
  if (op.rows != rows || op.cols != cols || static_cast<int64_t>(op.codes.size()) != rows * cols)
    throw std::logic_error(std::string("run_datapath: operand ") + which + " has a bad shape");
}

void check_problem(const GemmProblem& p) {
  if (p.m < 0 || p.n < 0 || p.k < 0) throw std::logic_error("run_datapath: negative dimension");
  check_operand(p.a, p.m, p.k, "A");
  check_operand(p.b, p.k, p.n, "B");
}

float bits_to_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// Group scale of segment group index g (-1: padding only -> 1).
std::vector<ScaleFactor> decode_scales(const std::vector<double>& scales) {
  std::vector<ScaleFactor> out;
  out.reserve(scales.size());
  for (double s : scales) out.push_back(ScaleFactor::from_double(s));
  return out;
}

ScaleFactor group_scale(const std::vector<ScaleFactor>& scales, int32_t g, const char* which) {
  if (g < 0) return ScaleFactor::power_of_two(0);
  if (static_cast<size_t>(g) >= scales.size())
    throw std::logic_error(std::string("run_datapath: group index out of range for operand ") +
                           which);
  return scales[static_cast<size_t>(g)];
}

}  // namespace

GemmResult run_float_datapath(const GemmProblem& p) {
  check_problem(p);
  const FormatInfo& fa = p.a.q->format->info();
  const FormatInfo& fb = p.b.q->format->info();
  const ScaleFactor ta = ScaleFactor::from_double(p.a.q->tensor_scale);
  const ScaleFactor tb = ScaleFactor::from_double(p.b.q->tensor_scale);
  const int64_t M = p.m, N = p.n, K = p.k;
  GemmResult r;
  r.c.assign(static_cast<size_t>(M * N), 0.0f);

  // Operands decoded once (the array's edge decoders); B transposed so each PE reads a
  // contiguous column.
  FloatPe pe(fa, fb);
  std::vector<FloatOperand> bt(static_cast<size_t>(K * N));
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) bt[n * K + k] = pe.decoder_b().decode(p.b.codes[k * N + n]);
  std::vector<FloatOperand> arow(static_cast<size_t>(K));
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t k = 0; k < K; ++k) arow[k] = pe.decoder_a().decode(p.a.codes[m * K + k]);
    for (int64_t n = 0; n < N; ++n) {
      pe.reset();
      const FloatOperand* bcol = &bt[n * K];
      for (int64_t k = 0; k < K; ++k) pe.mac_decoded(arow[k], bcol[k]);
      r.c[m * N + n] = bits_to_float(pe.finish(ta, tb));
    }
  }
  return r;
}

GemmResult run_fixed_datapath(const GemmProblem& p, const AccumulatorSpec& acc) {
  check_problem(p);
  const FormatInfo& fa = p.a.q->format->info();
  const FormatInfo& fb = p.b.q->format->info();
  const int64_t M = p.m, N = p.n, K = p.k;
  const int64_t S = p.num_segments;
  if (static_cast<int64_t>(p.k_segment.size()) != K || (K > 0 && S < 1) ||
      static_cast<int64_t>(p.a_seg_group.size()) != M * S ||
      static_cast<int64_t>(p.b_seg_group.size()) != S * N)
    throw std::logic_error("run_datapath: the problem is not segmented (call segment())");
  // Segment s covers k in [seg_begin[s], seg_begin[s + 1]).
  std::vector<int64_t> seg_begin(static_cast<size_t>(S + 1), K);
  for (int64_t k = K; k-- > 0;) {
    const int32_t s = p.k_segment[k];
    if (s < 0 || s >= S || (k > 0 && p.k_segment[k - 1] > s))
      throw std::logic_error("run_datapath: k_segment must be nondecreasing in [0, segments)");
    seg_begin[s] = k;
  }
  for (int64_t s = S; s-- > 1;)  // a segment id without elements would be empty: keep order
    if (seg_begin[s - 1] > seg_begin[s]) seg_begin[s - 1] = seg_begin[s];

  const std::vector<ScaleFactor> ga = decode_scales(p.a.q->group_scale);
  const std::vector<ScaleFactor> gb = decode_scales(p.b.q->group_scale);
  const ScaleFactor ta = ScaleFactor::from_double(p.a.q->tensor_scale);
  const ScaleFactor tb = ScaleFactor::from_double(p.b.q->tensor_scale);

  GemmResult r;
  r.c.assign(static_cast<size_t>(M * N), 0.0f);
  FixedPe pe(fa, p.a.q->unsigned_int, fb, p.b.q->unsigned_int, acc);
  std::vector<FixedOperand> bt(static_cast<size_t>(K * N));
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) bt[n * K + k] = pe.decoder_b().decode(p.b.codes[k * N + n]);
  std::vector<FixedOperand> arow(static_cast<size_t>(K));
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t k = 0; k < K; ++k) arow[k] = pe.decoder_a().decode(p.a.codes[m * K + k]);
    for (int64_t n = 0; n < N; ++n) {
      pe.reset();
      const FixedOperand* bcol = &bt[n * K];
      for (int64_t s = 0; s < S; ++s) {
        for (int64_t k = seg_begin[s]; k < seg_begin[s + 1]; ++k) pe.mac_decoded(arow[k], bcol[k]);
        pe.close_segment(group_scale(ga, p.a_seg_group[m * S + s], "A"),
                         group_scale(gb, p.b_seg_group[s * N + n], "B"));
      }
      r.c[m * N + n] = bits_to_float(pe.finish(ta, tb));
    }
  }
  r.acc_overflows = pe.counters.acc_overflows;  // one PE object reused: sum over all outputs
  return r;
}

GemmResult run_datapath(const GemmProblem& p, const AccumulatorSpec& acc) {
  check_problem(p);
  return mac_family_for(p.a.q->format->info(), p.b.q->format->info()).run_datapath(p, acc);
}

}  // namespace lbsim
