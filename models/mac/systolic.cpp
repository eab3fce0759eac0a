#include "models/mac/systolic.h"

#include <fmt/format.h>

#include "models/core/error.h"

namespace lbsim {

namespace {

int64_t checked_mul(int64_t a, int64_t b, const char* what) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r))
    throw UserError(fmt::format("systolic: {} ({} x {}) overflows int64", what, a, b));
  return r;
}

int64_t checked_add(int64_t a, int64_t b, const char* what) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r))
    throw UserError(fmt::format("systolic: {} ({} + {}) overflows int64", what, a, b));
  return r;
}

void require_positive(int64_t v, const char* name) {
  if (v < 1) throw UserError(fmt::format("systolic: {} must be >= 1, got {}", name, v));
}

int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

}  // namespace

Dataflow parse_dataflow(const std::string& name) {
  if (name == "os") return Dataflow::kOs;
  if (name == "ws") return Dataflow::kWs;
  if (name == "is") return Dataflow::kIs;
  std::string msg = "unknown dataflow '" + name + "'; allowed: os, ws, is";
  std::string hint = did_you_mean(name, {"os", "ws", "is"});
  if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
  throw UserError(msg);
}

const char* dataflow_name(Dataflow d) {
  switch (d) {
    case Dataflow::kOs:
      return "os";
    case Dataflow::kWs:
      return "ws";
    case Dataflow::kIs:
      return "is";
  }
  return "?";
}

FoldAxes fold_axes(Dataflow d, int64_t m, int64_t n, int64_t k) {
  switch (d) {
    case Dataflow::kOs:
      return {m, n, k};
    case Dataflow::kWs:
      return {k, n, m};
    case Dataflow::kIs:
      return {k, m, n};
  }
  return {};
}

GemmDims gemm_dims(Dataflow d, const FoldAxes& a) {
  switch (d) {
    case Dataflow::kOs:
      return {a.s_r, a.s_c, a.t};
    case Dataflow::kWs:
      return {a.t, a.s_c, a.s_r};
    case Dataflow::kIs:
      return {a.s_c, a.t, a.s_r};
  }
  return {};
}

FoldOverhead fold_overhead(Dataflow d, int64_t rows, int64_t cols) {
  require_positive(rows, "array rows");
  require_positive(cols, "array cols");
  FoldOverhead o;
  o.tail = cols - 1;
  // os: R - 1 (row skew); ws/is: R (preload) + R - 1 (row skew).
  o.lead = d == Dataflow::kOs ? rows - 1 : checked_add(rows, rows - 1, "fold lead cycles");
  checked_add(o.lead, o.tail, "fold overhead cycles");
  return o;
}

FoldPlan plan_folds(Dataflow d, int64_t rows, int64_t cols, int64_t m, int64_t n, int64_t k,
                    bool scalesim_compat) {
  require_positive(rows, "array rows");
  require_positive(cols, "array cols");
  require_positive(m, "GEMM m");
  require_positive(n, "GEMM n");
  require_positive(k, "GEMM k");
  FoldPlan p;
  p.dataflow = d;
  p.rows = rows;
  p.cols = cols;
  FoldAxes ax = fold_axes(d, m, n, k);
  p.s_r = ax.s_r;
  p.s_c = ax.s_c;
  p.t = ax.t;
  p.folds_r = ceil_div(p.s_r, rows);
  p.folds_c = ceil_div(p.s_c, cols);
  p.folds = checked_mul(p.folds_r, p.folds_c, "fold count");
  p.cycles_per_fold = checked_add(p.t, fold_overhead(d, rows, cols).total(), "cycles per fold");
  p.compute_cycles = checked_mul(p.folds, p.cycles_per_fold, "compute cycles");
  // One less per GEMM, as SCALE-Sim reports it (see the header); compute_cycles >= 1 here.
  if (scalesim_compat) p.compute_cycles -= 1;
  p.scalesim_compat = scalesim_compat;
  p.macs = checked_mul(checked_mul(m, n, "MAC count"), k, "MAC count");
  // Ratios in double: exact enough for a report figure, and the operands are exact int64.
  p.mapping_efficiency =
      (static_cast<double>(p.s_r) * static_cast<double>(p.s_c)) /
      (static_cast<double>(p.folds) * static_cast<double>(rows) * static_cast<double>(cols));
  return p;
}

double utilisation(const FoldPlan& p) {
  if (p.compute_cycles <= 0) return 0;  // only scalesim_compat on a 1x1 os array with T = 1
  return static_cast<double>(p.macs) / (static_cast<double>(p.compute_cycles) *
                                        static_cast<double>(p.rows) * static_cast<double>(p.cols));
}

}  // namespace lbsim
