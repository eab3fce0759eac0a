// The summary of a sweep (`lbsim sweep`, `lbsim sweep-merge`): summary.md, summary.html and the
// figures/ files, built in memory from the sweep's table (models/sweep/sweep_table.h) and never
// from a re-simulation. The caller writes them all through one OutputSet (models/core/output.h).
//
// Pareto fronts (per workload, over the rows that did not fail and have both objectives finite
// or, for SQNR, +infinite):
//   energy-latency: minimize energy_pj, minimize latency_s;
//   energy-SQNR:    minimize energy_pj, maximize the combined SQNR (below).
// A point is on the front when no other point is at least as good in every objective and
// strictly better in one (the usual non-dominated set). Points with identical objectives do not
// dominate each other, so all of them are on the front (ties are kept, never broken by index).
//
// Combined SQNR (dB) of a point: the SQNR of the mean relative quantization noise of its operand
// roles, -10 log10(mean_r 10^(-SQNR_r / 10)) over the sqnr_<role>_db metrics present (weight,
// activation, error), i.e. the harmonic mean of the linear SQNRs. It is dominated by the worst
// role; a lossless role (+inf dB) adds no noise; +inf only when every role is lossless.
//
// Deterministic: same table and options -> byte-identical files (no time, no host paths; SVGs
// from gnuplot 5.4, which writes no date).
#pragma once

#include <string>
#include <vector>

#include "models/sweep/sweep_table.h"

namespace lbsim::reports {

enum class Goal { kMin, kMax };

// Indices of the non-dominated points of `points` (one coordinate per goal). Points with a NaN
// coordinate are neither on the front nor dominate anything. Order: by the first coordinate
// best-first, then the next ones best-first, then by index. Throws std::invalid_argument when a
// point's size differs from goals.size().
std::vector<size_t> pareto_front(const std::vector<std::vector<double>>& points,
                                 const std::vector<Goal>& goals);

// The combined SQNR (dB) defined above; NaN when `roles_db` is empty or holds a NaN.
double combined_sqnr_db(const std::vector<double>& roles_db);

struct SweepSummaryOptions {
  std::string gnuplot = "gnuplot";  // the program (looked up on PATH unless it contains '/')
  std::string tensors;              // which tensors the SQNR metrics used ("" = not stated)
};

struct SummaryFile {
  std::string name;  // relative to the figures/ directory
  std::string contents;
};

struct SweepSummary {
  std::string md, html;
  // figures/: per figure <name>.tsv (data), <name>.gp (gnuplot script: `cd figures && gnuplot
  // <name>.gp` re-draws it) and, when gnuplot ran, <name>.svg. Sorted by name.
  std::vector<SummaryFile> figures;
  std::string note;  // why the SVGs are missing ("" when drawn)
};

// UserError when gnuplot fails (a missing gnuplot is not an error: no SVGs and a note).
SweepSummary sweep_summary(const SweepTable& table, const SweepSummaryOptions& options = {});

// One gnuplot figure: `script` reads "<name>.tsv" and writes "<name>.svg" in its directory.
struct GnuplotFigure {
  std::string name, script, data;
};
// Draws every figure in one gnuplot process (no shell) in a temporary directory that is removed
// afterwards; returns the SVG texts in order. Missing gnuplot: empty result and `*note` says so.
// UserError when gnuplot fails. (The one place the summary runs gnuplot.)
std::vector<std::string> draw_gnuplot_figures(const std::vector<GnuplotFigure>& figures,
                                              const std::string& gnuplot, std::string* note);

}  // namespace lbsim::reports
