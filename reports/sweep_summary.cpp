// The sweep summary (reports/sweep_summary.h): tables, Pareto fronts and gnuplot figures of a
// SweepTable. Text is fixed-precision and every order is defined, so the files are deterministic.
#include "reports/sweep_summary.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "models/core/error.h"
#include "reports/gnuplot.h"
#include "reports/tables.h"

namespace lbsim::reports {

// ---------------------------------------------------------------------------------------------
// Pareto front and combined SQNR

std::vector<size_t> pareto_front(const std::vector<std::vector<double>>& points,
                                 const std::vector<Goal>& goals) {
  const size_t d = goals.size();
  // Lower is better in every coordinate of `cost`.
  std::vector<std::vector<double>> cost;
  std::vector<size_t> cand;
  cost.reserve(points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    if (points[i].size() != d)
      throw std::invalid_argument("pareto_front: a point's size differs from the goals'");
    std::vector<double> c(d);
    bool nan = false;
    for (size_t k = 0; k < d; ++k) {
      c[k] = goals[k] == Goal::kMin ? points[i][k] : -points[i][k];
      nan = nan || std::isnan(c[k]);
    }
    cost.push_back(c);
    if (!nan) cand.push_back(i);
  }
  std::vector<size_t> front;
  for (size_t i : cand) {
    bool dominated = false;
    for (size_t j : cand) {
      if (j == i) continue;
      bool all_le = true, any_lt = false;
      for (size_t k = 0; k < d && all_le; ++k) {
        all_le = cost[j][k] <= cost[i][k];
        any_lt = any_lt || cost[j][k] < cost[i][k];
      }
      if (all_le && any_lt) {
        dominated = true;
        break;
      }
    }
    if (!dominated) front.push_back(i);
  }
  std::sort(front.begin(), front.end(), [&](size_t a, size_t b) {
    for (size_t k = 0; k < d; ++k)
      if (cost[a][k] != cost[b][k]) return cost[a][k] < cost[b][k];
    return a < b;
  });
  return front;
}

double combined_sqnr_db(const std::vector<double>& roles_db) {
  if (roles_db.empty()) return std::nan("");
  double noise = 0;  // mean relative noise power
  for (double db : roles_db) {
    if (std::isnan(db)) return std::nan("");
    noise += std::pow(10.0, -db / 10.0) / static_cast<double>(roles_db.size());
  }
  if (noise == 0) return std::numeric_limits<double>::infinity();
  return -10.0 * std::log10(noise);
}

// ---------------------------------------------------------------------------------------------
// gnuplot runner

std::vector<std::string> draw_gnuplot_figures(const std::vector<GnuplotFigure>& figures,
                                              const std::string& gnuplot, std::string* note) {
  if (figures.empty()) return {};
  GnuplotProcess process(gnuplot);
  if (!process.available()) {
    *note = fmt::format(
        "figures not drawn: {} not found (install Debian's gnuplot-nox; `gnuplot NAME.gp` in "
        "figures/ draws each one from its data)",
        gnuplot);
    return {};
  }
  // One batch: each figure's own script after a full reset, so that it draws exactly what the
  // standalone `gnuplot NAME.gp` draws.
  std::vector<std::pair<std::string, std::string>> files;
  std::string batch;
  for (const GnuplotFigure& f : figures) {
    files.emplace_back(f.name + ".gp", f.script);
    files.emplace_back(f.name + ".tsv", f.data);
    batch += "reset session\nload " + gp_string(f.name + ".gp") + "\n";
  }
  batch += "unset output\n";
  const bool ok = process.draw(files, batch);
  std::vector<std::string> svgs;
  for (const GnuplotFigure& f : figures) {
    std::string svg = read_file(process.dir() / (f.name + ".svg"));
    if (!ok || svg.find("</svg>") == std::string::npos)
      throw UserError(fmt::format("error: gnuplot failed on the sweep figures ({}): {}", f.name,
                                  process.log()));
    svgs.push_back(std::move(svg));
  }
  return svgs;
}

// ---------------------------------------------------------------------------------------------
// The summary

namespace {

using Row = SweepTable::Row;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr size_t kMaxSeries = 8;        // more combinations of the other axes: min/median/max
constexpr size_t kMaxFrontLabels = 15;  // larger fronts are labelled by point index
const char* const kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

std::string clean(std::string s) {  // one line, no tabs (TSV cells, labels)
  for (char& c : s)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return s;
}

std::string num(double v) {  // TSV value
  if (std::isnan(v)) return "NaN";
  return fmt::format("{:.9g}", v);
}

// `digits` significant digits, never an exponent; "∞" for +inf, "-" for NaN.
std::string sig(double v, int digits = 4) {
  if (std::isnan(v)) return "-";
  if (std::isinf(v)) return v > 0 ? "∞" : "-∞";
  if (v == 0) return "0";
  const int mag = static_cast<int>(std::floor(std::log10(std::fabs(v))));
  const int decimals = std::max(0, digits - 1 - mag);
  return fmt::format("{:.{}f}", v, decimals);
}

std::string slug(const std::string& s) {
  std::string out;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (ok)
      out += c;
    else if (!out.empty() && out.back() != '_')
      out += '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? std::string("_") : out;
}

std::string short_name(const std::string& axis) {
  const size_t dot = axis.rfind('.');
  return dot == std::string::npos ? axis : axis.substr(dot + 1);
}

bool parse_number(const std::string& s, double* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

// ---- units ----

enum class Kind { kEnergy, kTime, kBytes, kPercent, kPjPerMac, kDb };

struct Unit {
  double factor;
  std::string name;
};

// The coarsest unit in which the largest |value| is >= 1.
Unit unit_for(Kind kind, const std::vector<double>& values) {
  double max = 0;
  for (double v : values)
    if (std::isfinite(v)) max = std::max(max, std::fabs(v));
  std::vector<Unit> units;
  switch (kind) {
    case Kind::kEnergy:
      units = {{1e-12, "J"}, {1e-9, "mJ"}, {1e-6, "µJ"}, {1e-3, "nJ"}, {1, "pJ"}};
      break;
    case Kind::kTime:
      units = {{1, "s"}, {1e3, "ms"}, {1e6, "µs"}, {1e9, "ns"}};
      break;
    case Kind::kBytes:
      units = {{1e-9, "GB"}, {1e-6, "MB"}, {1e-3, "kB"}, {1, "B"}};
      break;
    case Kind::kPercent:
      return {100, "%"};
    case Kind::kPjPerMac:
      return {1, "pJ/MAC"};
    case Kind::kDb:
      return {1, "dB"};
  }
  for (const Unit& u : units)
    if (max * u.factor >= 1) return u;
  return units.back();
}

// ---- metrics ----

struct Metric {
  std::string key, title;  // file-name part; axis/column title
  Kind kind;
  std::function<double(const Row&)> value;  // in the base unit (pJ, s, B, fraction, pJ/MAC, dB)
};

struct Metrics {
  std::vector<Metric> drawn;  // the figures' metrics, in this order
  int energy = -1, latency = -1, sqnr = -1, pj_per_mac = -1, utilization = -1;  // in `drawn`
  std::vector<std::string> sqnr_roles;  // role names present (weight, activation, error)
  std::vector<int> sqnr_role_index;     // their metric columns
  std::vector<std::string> not_drawn;   // metric names of the table not summarized
};

Metrics make_metrics(const SweepTable& t) {
  Metrics m;
  std::set<std::string> used;
  const auto column = [&](const std::string& name) {
    const int i = t.metric(name);
    if (i >= 0) used.insert(name);
    return i;
  };
  const auto at = [](const Row& r, int i) {
    return i >= 0 && static_cast<size_t>(i) < r.metrics.size() ? r.metrics[i] : kNaN;
  };
  const auto simple = [&](const char* name, const char* key, const char* title, Kind kind) {
    const int i = column(name);
    if (i < 0) return -1;
    m.drawn.push_back(Metric{key, title, kind, [i, at](const Row& r) { return at(r, i); }});
    return static_cast<int>(m.drawn.size()) - 1;
  };
  m.energy = simple("energy_pj", "energy", "energy", Kind::kEnergy);
  m.latency = simple("latency_s", "latency", "latency", Kind::kTime);
  m.utilization =
      simple("utilization_fraction", "utilization", "PE-array utilisation", Kind::kPercent);
  m.pj_per_mac = simple("pj_per_mac", "pj_per_mac", "energy per MAC", Kind::kPjPerMac);
  std::vector<int> dram;
  for (const char* n : {"dram_read_bytes", "dram_write_bytes"})
    if (column(n) >= 0) dram.push_back(t.metric(n));
  if (!dram.empty())
    m.drawn.push_back(Metric{"dram", dram.size() == 2 ? "DRAM read+write" : "DRAM traffic",
                             Kind::kBytes, [dram, at](const Row& r) {
                               double s = 0;
                               for (int i : dram) s += at(r, i);
                               return s;
                             }});
  for (const char* role : {"weight", "activation", "error"}) {
    const int i = column(fmt::format("sqnr_{}_db", role));
    if (i < 0) continue;
    m.sqnr_roles.push_back(role);
    m.sqnr_role_index.push_back(i);
  }
  if (!m.sqnr_roles.empty()) {
    const std::vector<int> idx = m.sqnr_role_index;
    m.drawn.push_back(Metric{"sqnr", "combined SQNR", Kind::kDb, [idx, at](const Row& r) {
                               std::vector<double> v;
                               for (int i : idx) v.push_back(at(r, i));
                               return combined_sqnr_db(v);
                             }});
    m.sqnr = static_cast<int>(m.drawn.size()) - 1;
  }
  for (const std::string& n : t.metric_names)
    if (!used.count(n)) m.not_drawn.push_back(n);
  return m;
}

// ---- axes ----

struct Axes {
  std::vector<std::vector<std::string>> values;  // distinct values per axis (numeric: ascending)
  std::vector<bool> numeric;
  std::vector<size_t> varying;                       // axes with more than one value
  std::vector<size_t> plotted;                       // varying axes not moving with an earlier one
  std::map<size_t, std::vector<size_t>> with;        // plotted axis -> axes moving with it
  std::map<size_t, std::vector<size_t>> series_key;  // plotted axis -> axes naming its series
  std::vector<size_t> label;  // axes that identify a point (redundant ones dropped)
};

// True when axis `a` has one value for each combination of the axes `given` (over all rows).
bool determined(const SweepTable& t, size_t a, const std::vector<size_t>& given) {
  std::map<std::vector<std::string>, std::string> seen;
  for (const Row& r : t.rows) {
    std::vector<std::string> key;
    for (size_t g : given) key.push_back(r.axis_values[g]);
    const auto [it, fresh] = seen.emplace(std::move(key), r.axis_values[a]);
    if (!fresh && it->second != r.axis_values[a]) return false;
  }
  return true;
}

std::vector<size_t> without(std::vector<size_t> v, size_t x) {
  v.erase(std::remove(v.begin(), v.end(), x), v.end());
  return v;
}

Axes analyse_axes(const SweepTable& t) {
  Axes ax;
  const size_t n = t.axis_names.size();
  ax.values.resize(n);
  ax.numeric.assign(n, true);
  for (size_t a = 0; a < n; ++a) {
    std::set<std::string> seen;
    for (const Row& r : t.rows)
      if (seen.insert(r.axis_values[a]).second) ax.values[a].push_back(r.axis_values[a]);
    std::vector<std::pair<double, std::string>> parsed;
    for (const std::string& v : ax.values[a]) {
      double x = 0;
      if (!parse_number(v, &x)) {
        ax.numeric[a] = false;
        break;
      }
      parsed.emplace_back(x, v);
    }
    if (ax.values[a].empty()) ax.numeric[a] = false;
    if (ax.numeric[a]) {
      std::stable_sort(parsed.begin(), parsed.end(),
                       [](const auto& p, const auto& q) { return p.first < q.first; });
      for (size_t i = 0; i < parsed.size(); ++i) ax.values[a][i] = parsed[i].second;
    }
    if (ax.values[a].size() > 1) ax.varying.push_back(a);
  }
  std::set<size_t> companion;
  for (size_t a : ax.varying) {
    if (companion.count(a)) continue;
    ax.plotted.push_back(a);
    for (size_t b : ax.varying)
      if (b > a && !companion.count(b) && determined(t, a, {b}) && determined(t, b, {a})) {
        ax.with[a].push_back(b);
        companion.insert(b);
      }
  }
  // Series of axis X: the other varying axes, dropping (latest first) any that the rest and X
  // determine (templated axes, zip partners), so each series is one line through every X.
  for (size_t x : ax.plotted) {
    std::vector<size_t> others = without(ax.varying, x);
    for (size_t b : ax.with[x]) others = without(others, b);
    for (size_t i = others.size(); i-- > 0;) {
      std::vector<size_t> given = without(others, others[i]);
      given.push_back(x);
      if (determined(t, others[i], given)) others.erase(others.begin() + i);
    }
    ax.series_key[x] = others;
  }
  // Point labels: the varying axes, dropping (earliest first) any that the rest determine.
  ax.label = ax.varying;
  for (size_t i = 0; i < ax.label.size();) {
    if (ax.label.size() > 1 && determined(t, ax.label[i], without(ax.label, ax.label[i])))
      ax.label.erase(ax.label.begin() + i);
    else
      ++i;
  }
  return ax;
}

std::string axis_assignments(const SweepTable& t, const Row& r, const std::vector<size_t>& axes,
                             const std::string& sep = ", ") {
  std::string s;
  for (size_t a : axes) {
    if (!s.empty()) s += sep;
    s += short_name(t.axis_names[a]) + "=" + r.axis_values[a];
  }
  return s;
}

// ---- figures ----

struct Figure {
  std::string name, title;
  size_t workload = 0;
  bool pareto = false;
  GnuplotFigure gp;
};

std::string script_header(const std::string& name, int w, int h, const std::string& title,
                          const std::string& xlabel, const std::string& ylabel) {
  std::string s = fmt::format(
      "# lbsim sweep figure; data in {0}.tsv. Re-draw: gnuplot {0}.gp\n"
      "set terminal svg size {1},{2} font \"sans,10\" noenhanced background \"#ffffff\"\n"
      "set encoding utf8\n"
      "set output {3}\n"
      "set datafile separator \"\\t\"\n",
      name, w, h, gp_string(name + ".svg"));
  s += fmt::format("set title {}\nset xlabel {}\nset ylabel {}\n", gp_string(title),
                   gp_string(xlabel), gp_string(ylabel));
  s += "set format y \"%g\"\nset format x \"%g\"\nset grid\nset border 3\n";
  s += "set xtics nomirror\nset ytics nomirror\n";
  return s;
}

// Log scale for positive extensive quantities spanning more than 30x.
bool wants_log(Kind kind, const std::vector<double>& v) {
  if (kind == Kind::kPercent || kind == Kind::kDb) return false;
  double lo = kInf, hi = 0;
  for (double x : v) {
    if (!std::isfinite(x)) continue;
    if (x <= 0) return false;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  return hi > 0 && lo < kInf && hi / lo > 30;
}

// +inf values (lossless SQNR) on a plot axis ('x' or 'y'): drawn one tic step above the last
// regular tic, which is labelled "lossless"; the regular tics stop below it. Replaces +inf in `v`
// and returns the script lines; `pad` = steps of range kept beyond the lossless tic.
std::string lossless_axis(char axis, std::vector<double>* v, double pad) {
  double lo = kInf, hi = -kInf;
  for (double x : *v)
    if (std::isfinite(x)) {
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
  if (hi < lo) lo = hi = 0;
  const double span = hi > lo ? hi - lo : std::max(1.0, std::fabs(hi) * 0.1);
  const double raw = span / 5;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  const double m = raw / p;
  const double step = (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
  const double start = std::floor(lo / step) * step;
  const double last = std::max(start + step, std::ceil(hi / step) * step);
  const double at = last + step;
  for (double& x : *v)
    if (std::isinf(x) && x > 0) x = at;
  return fmt::format(
      "set {0}tics {1}, {2}, {3}\nset {0}tics add (\"lossless\" {4})\nset {0}range [{1}:{5}]\n",
      axis, num(start), num(step), num(last), num(at), num(at + pad * step));
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Context {
  const SweepTable& t;
  const Axes& ax;
  const Metrics& m;
  std::vector<std::string> workloads;
  std::vector<std::vector<size_t>> ok_rows;  // per workload: rows without error
  std::set<std::string> names;

  std::string unique_name(const std::string& base) {
    std::string n = base;
    for (int k = 2; names.count(n); ++k) n = fmt::format("{}-{}", base, k);
    names.insert(n);
    return n;
  }
};

// One metric of one workload against one axis; false when the workload has no value of it.
bool metric_figure(Context& c, size_t w, const Metric& metric, size_t x, Figure* fig) {
  const SweepTable& t = c.t;
  const std::vector<std::string>& xs = c.ax.values[x];
  const std::vector<size_t>& key = c.ax.series_key.at(x);
  std::map<std::string, size_t> xpos;
  for (size_t i = 0; i < xs.size(); ++i) xpos[xs[i]] = i;

  std::vector<double> raw;
  for (size_t r : c.ok_rows[w]) raw.push_back(metric.value(t.rows[r]));
  bool any = false, has_inf = false;
  for (double v : raw) {
    any = any || !std::isnan(v);
    has_inf = has_inf || std::isinf(v);
  }
  if (!any) return false;
  const Unit unit = unit_for(metric.kind, raw);
  std::vector<double> scaled;
  for (double v : raw) scaled.push_back(v * unit.factor);
  const std::string lossless =
      has_inf && metric.kind == Kind::kDb ? lossless_axis('y', &scaled, 0.5) : std::string();
  for (double& v : scaled)
    if (std::isinf(v)) v = kNaN;

  // Series: combinations of the key axes, in order of first appearance.
  std::vector<std::string> series_titles;
  std::map<std::vector<std::string>, size_t> series;
  std::vector<size_t> row_series;
  for (size_t r : c.ok_rows[w]) {
    std::vector<std::string> k;
    for (size_t a : key) k.push_back(t.rows[r].axis_values[a]);
    const auto [it, fresh] = series.emplace(k, series.size());
    if (fresh) series_titles.push_back(axis_assignments(t, t.rows[r], key));
    row_series.push_back(it->second);
  }
  const bool aggregate = series.size() > kMaxSeries;
  const size_t ns = aggregate ? 0 : series.size();
  // cells[x][s]: the first row's value (each (x, series) is one point by construction).
  std::vector<std::vector<double>> cells(xs.size(), std::vector<double>(ns, kNaN));
  std::vector<std::vector<double>> at_x(xs.size());
  for (size_t i = 0; i < c.ok_rows[w].size(); ++i) {
    const size_t xi = xpos.at(t.rows[c.ok_rows[w][i]].axis_values[x]);
    const double v = scaled[i];
    if (std::isnan(v)) continue;
    at_x[xi].push_back(v);
    if (!aggregate && std::isnan(cells[xi][row_series[i]])) cells[xi][row_series[i]] = v;
  }

  const bool numeric = c.ax.numeric[x];
  std::vector<double> xval(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    double v = static_cast<double>(i);
    if (numeric) parse_number(xs[i], &v);
    xval[i] = v;
  }
  bool log_x = numeric && xs.size() >= 3 && xval.front() > 0;
  for (size_t i = 1; log_x && i < xs.size(); ++i) log_x = xval[i] >= 1.5 * xval[i - 1];
  const bool log_y = wants_log(metric.kind, scaled);

  const std::string& wl = c.workloads[w];
  fig->name = c.unique_name(slug(wl) + "-" + metric.key + "-vs-" + slug(t.axis_names[x]));
  fig->title = fmt::format("{}: {} vs {}", wl, metric.title, t.axis_names[x]);
  fig->workload = w;
  std::string title = fig->title;
  if (aggregate) {
    std::vector<std::string> names;
    for (size_t a : key) names.push_back(short_name(t.axis_names[a]));
    title += fmt::format("\nmedian and min-max over the {} combinations of {}", series.size(),
                         fmt::join(names, ", "));
  }
  std::string xlabel = t.axis_names[x];
  if (c.ax.with.count(x) && !c.ax.with.at(x).empty()) {
    std::vector<std::string> names;
    for (size_t b : c.ax.with.at(x)) names.push_back(t.axis_names[b]);
    xlabel += fmt::format(" (with {})", fmt::join(names, ", "));
  }
  const std::string ylabel = fmt::format("{} ({})", metric.title, unit.name);
  std::string s = script_header(fig->name, 640, 400, title, xlabel, ylabel);

  // Data: x position, x value as text, then per series (or min, median, max, count).
  std::string d = fmt::format("# {}\n# {}: x\tlabel", clean(fig->title), clean(ylabel));
  if (aggregate) {
    d += "\tmin\tmedian\tmax\tcount";
  } else {
    for (const std::string& st : series_titles) d += "\t" + clean(st.empty() ? "value" : st);
  }
  d += "\n";
  for (size_t i = 0; i < xs.size(); ++i) {
    d += num(xval[i]) + "\t" + clean(xs[i]);
    if (aggregate) {
      if (at_x[i].empty()) {
        d += "\tNaN\tNaN\tNaN\t0";
      } else {
        const auto [lo, hi] = std::minmax_element(at_x[i].begin(), at_x[i].end());
        d += fmt::format("\t{}\t{}\t{}\t{}", num(*lo), num(median(at_x[i])), num(*hi),
                         at_x[i].size());
      }
    } else {
      for (double v : cells[i]) d += "\t" + num(v);
    }
    d += "\n";
  }

  // Axes.
  if (numeric) {
    if (log_x) s += "set logscale x 2\n";
    if (xs.size() <= 16) {
      std::vector<std::string> tics;
      for (size_t i = 0; i < xs.size(); ++i)
        tics.push_back(fmt::format("{} {}", gp_string(xs[i]), num(xval[i])));
      s += fmt::format("set xtics ({})\n", fmt::join(tics, ", "));
    }
    s += "set offsets graph 0.05, graph 0.05, 0, 0\n";
  } else {
    std::vector<std::string> tics;
    size_t longest = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      tics.push_back(fmt::format("{} {}", gp_string(xs[i]), i));
      longest = std::max(longest, xs[i].size());
    }
    s += fmt::format("set xtics ({})\n", fmt::join(tics, ", "));
    s += fmt::format("set xrange [-0.6:{}]\n", num(static_cast<double>(xs.size()) - 0.4));
    if (xs.size() * std::max<size_t>(longest, 3) > 60) s += "set xtics rotate by 30 right\n";
    s += "set grid noxtics\n";
  }
  if (log_y)
    s += "set logscale y 10\n";
  else if (metric.kind != Kind::kDb)
    s += "set yrange [0:*]\n";
  s += lossless;
  const bool bars = !numeric && !log_y;
  if (bars) s += "set style fill solid 0.85 border -1\n";
  const bool key_shown = aggregate || (ns > 1);
  s += key_shown ? "set key below font \",9\"\n" : "unset key\n";

  const std::string file = gp_string(fig->name + ".tsv");
  std::vector<std::string> parts;
  if (aggregate) {
    if (numeric) {
      parts.push_back(fmt::format(
          "{} using 1:3:5 with filledcurves fc rgb \"{}\" fs transparent solid 0.25 noborder "
          "title \"min-max\"",
          file, kPalette[0]));
      parts.push_back(fmt::format(
          "\"\" using 1:4 with linespoints pt 7 ps 0.7 lw 2 lc rgb \"{}\" title \"median\"",
          kPalette[0]));
    } else {
      parts.push_back(fmt::format("{} using 1:4{} lc rgb \"{}\" title \"median\"", file,
                                  bars ? ":(0.6) with boxes" : " with points pt 7 ps 0.9",
                                  kPalette[0]));
      parts.push_back(fmt::format(
          "\"\" using 1:4:3:5 with yerrorbars ps 0 lw 1.5 lc rgb \"#333333\" title \"min-max\""));
    }
  } else {
    const double width = 0.8 / static_cast<double>(std::max<size_t>(ns, 1));
    for (size_t si = 0; si < ns; ++si) {
      const std::string src = si == 0 ? file : std::string("\"\"");
      const std::string st = series_titles[si].empty() ? std::string("notitle")
                                                       : "title " + gp_string(series_titles[si]);
      const char* color = kPalette[si % 10];
      if (numeric) {
        parts.push_back(
            fmt::format("{} using 1:{} with linespoints pt 7 ps 0.7 lw 1.5 lc rgb "
                        "\"{}\" {}",
                        src, si + 3, color, st));
      } else {
        const double off = (static_cast<double>(si) - 0.5 * static_cast<double>(ns - 1)) * width;
        parts.push_back(fmt::format("{} using ($1+({})):{}{} lc rgb \"{}\" {}", src, num(off),
                                    si + 3,
                                    bars ? fmt::format(":({}) with boxes", num(width))
                                         : std::string(" with points pt 7 ps 0.8"),
                                    color, st));
      }
    }
  }
  s += fmt::format("plot {}\n", fmt::join(parts, ", \\\n     "));
  fig->gp = GnuplotFigure{fig->name, s, d};
  return true;
}

struct Front {
  std::string title, xname, yname;  // e.g. "energy vs latency"
  std::vector<size_t> rows;         // candidate rows (both objectives known)
  std::vector<size_t> front;        // rows on the front, in pareto_front order
  size_t excluded = 0;              // successful rows without both objectives
};

// The two objectives of a row for a front: (energy, latency) or (energy, combined SQNR).
Front make_front(const Context& c, size_t w, int metric2, Goal goal2, const std::string& title) {
  Front f;
  f.title = title;
  std::vector<std::vector<double>> pts;
  for (size_t r : c.ok_rows[w]) {
    const double e = c.m.drawn[c.m.energy].value(c.t.rows[r]);
    const double o = c.m.drawn[metric2].value(c.t.rows[r]);
    const bool usable =
        std::isfinite(e) && !std::isnan(o) && !(goal2 == Goal::kMin && std::isinf(o));
    if (!usable) {
      ++f.excluded;
      continue;
    }
    f.rows.push_back(r);
    pts.push_back({e, o});
  }
  for (size_t i : pareto_front(pts, {Goal::kMin, goal2})) f.front.push_back(f.rows[i]);
  return f;
}

// The scatter of a front: energy (y) against the other objective (x), the front drawn as a
// staircase and its points labelled.
Figure front_figure(Context& c, size_t w, const Front& f, int metric2, const std::string& key) {
  const SweepTable& t = c.t;
  const Metric& em = c.m.drawn[c.m.energy];
  const Metric& xm = c.m.drawn[metric2];
  std::vector<double> ev, xv;
  for (size_t r : f.rows) {
    ev.push_back(em.value(t.rows[r]));
    xv.push_back(xm.value(t.rows[r]));
  }
  const Unit eu = unit_for(em.kind, ev), xu = unit_for(xm.kind, xv);
  for (double& v : ev) v *= eu.factor;
  for (double& v : xv) v *= xu.factor;
  bool has_inf = false;
  for (double v : xv) has_inf = has_inf || std::isinf(v);
  const std::string lossless = has_inf ? lossless_axis('x', &xv, 1.5) : std::string();
  std::map<size_t, size_t> pos;  // row -> index in f.rows
  for (size_t i = 0; i < f.rows.size(); ++i) pos[f.rows[i]] = i;

  Figure fig;
  fig.pareto = true;
  fig.workload = w;
  fig.name = c.unique_name(slug(c.workloads[w]) + "-pareto-" + key);
  fig.title = fmt::format("{}: {} Pareto front", c.workloads[w], f.title);
  const std::string xlabel = fmt::format("{} ({})", xm.title, xu.name);
  const std::string ylabel = fmt::format("{} ({})", em.title, eu.name);
  const std::string goal =
      metric2 == c.m.latency ? "lower-left is better; " : "lower-right is better; ";
  std::string s = script_header(fig.name, 860, 560,
                                fig.title + fmt::format("\n{}{} of {} points on the front", goal,
                                                        f.front.size(), f.rows.size()),
                                xlabel, ylabel);
  const bool label_by_index = f.front.size() > kMaxFrontLabels;
  const auto label = [&](size_t r) {
    return label_by_index || c.ax.label.empty() ? fmt::format("#{}", t.rows[r].point)
                                                : axis_assignments(t, t.rows[r], c.ax.label);
  };
  std::string d = fmt::format(
      "# {}\n# block 0: every point; block 1: the front by x, its label drawn right of "
      "the point (column 4) or, in the right part of the plot, left of it (column "
      "5)\n",
      clean(fig.title));
  d += fmt::format("# {}\t{}\tpoint\tlabel\n", clean(xlabel), clean(ylabel));
  for (size_t i = 0; i < f.rows.size(); ++i)
    d += fmt::format("{}\t{}\t{}\t{}\n", num(xv[i]), num(ev[i]), t.rows[f.rows[i]].point,
                     clean(label(f.rows[i])));
  std::vector<size_t> by_x = f.front;
  std::sort(by_x.begin(), by_x.end(), [&](size_t a, size_t b) {
    const size_t i = pos[a], j = pos[b];
    if (xv[i] != xv[j]) return xv[i] < xv[j];
    if (ev[i] != ev[j]) return ev[i] < ev[j];
    return a < b;
  });
  d += "\n\n";
  // Where a point sits across the plot (0 = left, 1 = right), on the axis' scale.
  const bool log_x = wants_log(xm.kind, xv);
  double xlo = kInf, xhi = -kInf;
  for (double v : xv) {
    xlo = std::min(xlo, log_x ? std::log10(v) : v);
    xhi = std::max(xhi, log_x ? std::log10(v) : v);
  }
  const auto position = [&](double v) {
    return xhi > xlo ? ((log_x ? std::log10(v) : v) - xlo) / (xhi - xlo) : 0.0;
  };
  // Front points drawn at the same place share one label: per axis its values joined by '/'.
  for (size_t k = 0; k < by_x.size(); ++k) {
    const size_t i = pos[by_x[k]];
    const auto same = [&](size_t r) { return xv[pos[r]] == xv[i] && ev[pos[r]] == ev[i]; };
    std::string text;
    if (k == 0 || !same(by_x[k - 1])) {
      std::vector<size_t> group;
      for (size_t q = k; q < by_x.size() && same(by_x[q]); ++q) group.push_back(by_x[q]);
      if (label_by_index || c.ax.label.empty()) {
        std::vector<std::string> ids;
        for (size_t r : group) ids.push_back(fmt::format("#{}", t.rows[r].point));
        text = fmt::format("{}", fmt::join(ids, "/"));
      } else {
        std::vector<std::string> parts;
        for (size_t a : c.ax.label) {
          std::vector<std::string> vals;
          for (size_t r : group)
            if (std::find(vals.begin(), vals.end(), t.rows[r].axis_values[a]) == vals.end())
              vals.push_back(t.rows[r].axis_values[a]);
          parts.push_back(short_name(t.axis_names[a]) + "=" +
                          fmt::format("{}", fmt::join(vals, "/")));
        }
        text = fmt::format("{}", fmt::join(parts, ", "));
      }
    }
    const bool left_of_point = position(xv[i]) > 0.6;
    d += fmt::format("{}\t{}\t{}\t{}\t{}\n", num(xv[i]), num(ev[i]), t.rows[by_x[k]].point,
                     left_of_point ? "" : clean(text), left_of_point ? clean(text) : "");
  }
  if (log_x) s += "set logscale x 10\n";
  if (wants_log(em.kind, ev)) s += "set logscale y 10\n";
  s += lossless;
  s += "set offsets graph 0.04, graph 0.2, graph 0.06, graph 0.04\n";
  s += "set key top right font \",9\"\n";
  const std::string file = gp_string(fig.name + ".tsv");
  // Minimizing both: x ascending, energy falls -> horizontal then vertical (steps). Maximizing
  // x: the energy needed rises with x -> vertical then horizontal (fsteps).
  const char* stairs = metric2 == c.m.latency ? "steps" : "fsteps";
  s += fmt::format(
      "plot {0} index 0 using 1:2 with points pt 7 ps 0.5 lc rgb \"#a0a0a0\" title {1}, \\\n"
      "     \"\" index 1 using 1:2 with {2} lw 1.5 lc rgb \"{3}\" notitle, \\\n"
      "     \"\" index 1 using 1:2 with points pt 7 ps 0.9 lc rgb \"{3}\" title {4}, \\\n"
      "     \"\" index 1 using 1:2:4 with labels left offset char 0.7,0.6 font \",8\" "
      "tc rgb \"#222222\" notitle, \\\n"
      "     \"\" index 1 using 1:2:5 with labels right offset char -0.7,0.6 font \",8\" "
      "tc rgb \"#222222\" notitle\n",
      file, gp_string(fmt::format("all points ({})", f.rows.size())), stairs, kPalette[2],
      gp_string(fmt::format("Pareto front ({})", f.front.size())));
  fig.gp = GnuplotFigure{fig.name, s, d};
  return fig;
}

// ---- tables ----

Table front_table(const Context& c, const Front& f) {
  const SweepTable& t = c.t;
  Table tab;
  tab.title = f.title;
  tab.header.push_back("point");
  tab.numeric.push_back(true);
  for (size_t a : c.ax.varying) {
    tab.header.push_back(t.axis_names[a]);
    tab.numeric.push_back(c.ax.numeric[a]);
  }
  struct Col {
    std::function<double(const Row&)> value;
    Unit unit;
    std::string title;
  };
  std::vector<Col> cols;
  const auto add = [&](const std::string& title, Kind kind, std::function<double(const Row&)> v) {
    std::vector<double> vals;
    for (size_t r : f.front) vals.push_back(v(t.rows[r]));
    const Unit u = unit_for(kind, vals);
    cols.push_back(Col{v, u, fmt::format("{} ({})", title, u.name)});
  };
  for (int i : {c.m.energy, c.m.latency, c.m.sqnr})
    if (i >= 0) add(c.m.drawn[i].title, c.m.drawn[i].kind, c.m.drawn[i].value);
  if (c.m.sqnr_roles.size() > 1)
    for (size_t k = 0; k < c.m.sqnr_roles.size(); ++k) {
      const int idx = c.m.sqnr_role_index[k];
      add("SQNR " + c.m.sqnr_roles[k], Kind::kDb, [idx](const Row& r) {
        return static_cast<size_t>(idx) < r.metrics.size() ? r.metrics[idx] : kNaN;
      });
    }
  for (int i : {c.m.pj_per_mac, c.m.utilization})
    if (i >= 0) add(c.m.drawn[i].title, c.m.drawn[i].kind, c.m.drawn[i].value);
  for (const Col& col : cols) {
    tab.header.push_back(col.title);
    tab.numeric.push_back(true);
  }
  for (size_t r : f.front) {
    const Row& row = t.rows[r];
    std::vector<std::string> cells = {std::to_string(row.point)};
    for (size_t a : c.ax.varying) cells.push_back(row.axis_values[a]);
    for (const Col& col : cols) cells.push_back(sig(col.value(row) * col.unit.factor));
    tab.rows.push_back(cells);
  }
  return tab;
}

std::string one_line(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '\r') continue;
    if (ch == '\n')
      out += " / ";
    else
      out += ch == '\t' ? ' ' : ch;
  }
  while (out.size() >= 3 && out.compare(out.size() - 3, 3, " / ") == 0) out.resize(out.size() - 3);
  return out;
}

std::string join_values(const std::vector<std::string>& v, size_t max = 24) {
  std::vector<std::string> shown(v.begin(), v.begin() + std::min(v.size(), max));
  std::string s = fmt::format("{}", fmt::join(shown, ", "));
  if (v.size() > max) s += fmt::format(", … ({} values)", v.size());
  return s;
}

const char* const kStyle =
    "body{font-family:sans-serif;margin:2em auto;max-width:1400px;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:0.5em 0 1.5em}"
    "th,td{border:1px solid #ccc;padding:2px 8px;font-size:13px}"
    "th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "figure{margin:0.5em 0}figcaption{font-size:13px;color:#555}"
    "svg{max-width:100%;height:auto}"
    ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:0.5em 1em}"
    "p.note{color:#555;font-size:13px}code{font-size:12px}";

}  // namespace

SweepSummary sweep_summary(const SweepTable& table, const SweepSummaryOptions& options) {
  for (const Row& r : table.rows)
    if (r.axis_values.size() != table.axis_names.size() ||
        (!r.metrics.empty() && r.metrics.size() != table.metric_names.size()))
      throw std::invalid_argument("sweep_summary: a row's size differs from the table's columns");
  const Axes ax = analyse_axes(table);
  const Metrics metrics = make_metrics(table);
  Context c{table, ax, metrics, {}, {}, {}};
  std::set<int64_t> points;
  std::vector<size_t> failed;
  {
    std::map<std::string, size_t> widx;
    for (size_t i = 0; i < table.rows.size(); ++i) {
      const Row& r = table.rows[i];
      points.insert(r.point);
      const auto [it, fresh] = widx.emplace(r.workload, c.workloads.size());
      if (fresh) {
        c.workloads.push_back(r.workload);
        c.ok_rows.emplace_back();
      }
      if (r.error.empty())
        c.ok_rows[it->second].push_back(i);
      else
        failed.push_back(i);
    }
  }
  const size_t nw = c.workloads.size();

  // Figures and fronts, per workload.
  std::vector<Figure> figs;
  std::vector<std::vector<std::vector<std::string>>> grid(nw);  // [w][metric][plotted axis] name
  std::vector<std::vector<Front>> fronts(nw);
  std::vector<std::vector<std::string>> front_fig(nw);
  for (size_t w = 0; w < nw; ++w) {
    if (metrics.energy >= 0 && metrics.latency >= 0) {
      fronts[w].push_back(make_front(c, w, metrics.latency, Goal::kMin, "energy vs latency"));
      front_fig[w].push_back("");
      if (!fronts[w].back().rows.empty()) {
        figs.push_back(front_figure(c, w, fronts[w].back(), metrics.latency, "energy-latency"));
        front_fig[w].back() = figs.back().name;
      }
    }
    if (metrics.energy >= 0 && metrics.sqnr >= 0) {
      fronts[w].push_back(make_front(c, w, metrics.sqnr, Goal::kMax, "energy vs combined SQNR"));
      front_fig[w].push_back("");
      if (!fronts[w].back().rows.empty()) {
        figs.push_back(front_figure(c, w, fronts[w].back(), metrics.sqnr, "energy-sqnr"));
        front_fig[w].back() = figs.back().name;
      }
    }
    grid[w].assign(metrics.drawn.size(), std::vector<std::string>(ax.plotted.size()));
    for (size_t mi = 0; mi < metrics.drawn.size(); ++mi)
      for (size_t xi = 0; xi < ax.plotted.size(); ++xi) {
        Figure f;
        if (!metric_figure(c, w, metrics.drawn[mi], ax.plotted[xi], &f)) continue;
        grid[w][mi][xi] = f.name;
        figs.push_back(std::move(f));
      }
  }
  std::vector<GnuplotFigure> jobs;
  for (const Figure& f : figs) jobs.push_back(f.gp);
  SweepSummary out;
  const std::vector<std::string> svgs = draw_gnuplot_figures(jobs, options.gnuplot, &out.note);
  std::map<std::string, std::string> svg_of;
  for (size_t i = 0; i < svgs.size(); ++i) svg_of[figs[i].name] = svgs[i];
  std::map<std::string, size_t> fig_index;
  for (size_t i = 0; i < figs.size(); ++i) fig_index[figs[i].name] = i;
  for (const Figure& f : figs) {
    out.figures.push_back({f.name + ".gp", f.gp.script});
    out.figures.push_back({f.name + ".tsv", f.gp.data});
    if (svg_of.count(f.name)) out.figures.push_back({f.name + ".svg", svg_of[f.name]});
  }
  std::sort(out.figures.begin(), out.figures.end(),
            [](const SummaryFile& a, const SummaryFile& b) { return a.name < b.name; });
  const bool drawn = !svgs.empty();
  const std::string ext = drawn ? ".svg" : ".gp";

  // ---- shared text ----
  const std::string title = fmt::format("lbsim sweep summary: {}",
                                        table.sweep_name.empty() ? "(unnamed)" : table.sweep_name);
  std::string intro = fmt::format(
      "{} points x {} workloads = {} runs: {} succeeded, {} failed. Every number below comes from "
      "results.csv (one row per point x workload, all metrics).",
      points.size(), nw, table.rows.size(), table.rows.size() - failed.size(), failed.size());
  std::string tensors;
  if (metrics.sqnr >= 0)
    tensors =
        "SQNR tensors: " + (options.tensors.empty() ? std::string("not stated") : options.tensors) +
        ".";
  std::string not_drawn;
  if (!metrics.not_drawn.empty())
    not_drawn =
        fmt::format("Also in results.csv (not drawn): {}.", fmt::join(metrics.not_drawn, ", "));

  Table axes_tab;
  axes_tab.header = {"axis", "values", "count"};
  axes_tab.numeric = {false, false, true};
  for (size_t a = 0; a < table.axis_names.size(); ++a) {
    std::string name = table.axis_names[a];
    for (const auto& [x, bs] : ax.with)
      for (size_t b : bs)
        if (b == a) name += " (moves with " + table.axis_names[x] + ")";
    axes_tab.rows.push_back({name, join_values(ax.values[a]), std::to_string(ax.values[a].size())});
  }
  Table wl_tab;
  wl_tab.header = {"workload", "runs", "succeeded", "failed"};
  wl_tab.numeric = {false, true, true, true};
  for (size_t w = 0; w < nw; ++w) {
    size_t runs = 0;
    for (const Row& r : table.rows) runs += r.workload == c.workloads[w];
    wl_tab.rows.push_back({c.workloads[w], std::to_string(runs),
                           std::to_string(c.ok_rows[w].size()),
                           std::to_string(runs - c.ok_rows[w].size())});
  }
  Table fail_tab;
  fail_tab.header = {"point", "workload", "axis values", "error"};
  fail_tab.numeric = {true, false, false, false};
  for (size_t i : failed) {
    const Row& r = table.rows[i];
    fail_tab.rows.push_back({std::to_string(r.point), r.workload,
                             axis_assignments(table, r, ax.varying), one_line(r.error)});
  }
  const std::string pareto_def =
      "A point is Pareto-optimal when no other point of the same workload is at least as good in "
      "both objectives and better in one; points with equal objectives are all kept. Energy and "
      "latency are minimized; the combined SQNR is maximized. Combined SQNR = -10 log10(mean over "
      "roles of 10^(-SQNR_role/10)): the SQNR of the roles' mean relative quantization noise, "
      "dominated by the worst role (∞ = lossless). Failed runs and runs without both objectives "
      "are left out.";
  const auto front_sentence = [&](const Front& f) {
    std::string s = fmt::format("{} of {} runs on the front", f.front.size(), f.rows.size());
    if (f.excluded) s += fmt::format(" ({} without both objectives left out)", f.excluded);
    return s + ".";
  };

  // ---- summary.md ----
  std::string md = "# " + title + "\n\n" + intro + "\n";
  if (!tensors.empty()) md += "\n" + tensors + "\n";
  md += "\n## Axes\n\n" + table_md(axes_tab);
  md += "\n## Workloads\n\n" + table_md(wl_tab);
  md += "\n## Failed runs\n\n";
  md += failed.empty() ? std::string("None.\n") : table_md(fail_tab);
  md += "\n## Pareto-optimal points\n\n" + pareto_def + "\n";
  for (size_t w = 0; w < nw; ++w) {
    md += fmt::format("\n### {}\n", c.workloads[w]);
    if (fronts[w].empty()) md += "\nNo energy_pj and latency_s / SQNR metrics: no front.\n";
    for (size_t k = 0; k < fronts[w].size(); ++k) {
      const Front& f = fronts[w][k];
      md += fmt::format("\n#### {}\n\n{}\n", f.title, front_sentence(f));
      if (f.front.empty()) continue;
      if (drawn && !front_fig[w][k].empty())
        md += fmt::format("\n![{}](figures/{}.svg)\n", f.title, front_fig[w][k]);
      md += "\n" + table_md(front_table(c, f));
    }
  }
  md += "\n## Figures\n\n";
  md += drawn ? std::string(
                    "Each metric of each workload against each axis, as standalone SVGs "
                    "in figures/ with their data (.tsv) and gnuplot scripts (.gp).\n")
              : out.note + ".\n";
  if (!not_drawn.empty()) md += "\n" + not_drawn + "\n";
  for (size_t w = 0; w < nw; ++w) {
    if (ax.plotted.empty() || metrics.drawn.empty()) break;
    md += fmt::format("\n### {}\n\n", c.workloads[w]);
    Table links;
    links.header = {"metric"};
    links.numeric = {false};
    for (size_t x : ax.plotted) {
      links.header.push_back("vs " + table.axis_names[x]);
      links.numeric.push_back(false);
    }
    for (size_t mi = 0; mi < metrics.drawn.size(); ++mi) {
      std::vector<std::string> row = {metrics.drawn[mi].title};
      bool any = false;
      for (const std::string& n : grid[w][mi]) {
        row.push_back(n.empty() ? "-" : fmt::format("[{}](figures/{}{})", ext.substr(1), n, ext));
        any = any || !n.empty();
      }
      if (any) links.rows.push_back(row);
    }
    md += table_md(links);
  }

  // ---- summary.html ----
  const auto figure_html = [&](const std::string& name) {
    std::string s = fmt::format("<figure id=\"fig-{}\">\n", html_escape(name));
    if (svg_of.count(name))
      s += inline_svg(svg_of.at(name), fmt::format("f{}_", fig_index.at(name) + 1)) + "\n";
    s += fmt::format(
        "<figcaption><a href=\"figures/{n}.svg\">{n}.svg</a> · <a href=\"figures/{n}.tsv\">"
        ".tsv</a> · <a href=\"figures/{n}.gp\">.gp</a></figcaption>\n</figure>\n",
        fmt::arg("n", html_escape(name)));
    return s;
  };
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += fmt::format("<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n", html_escape(title),
                   kStyle);
  h += fmt::format("<h1>{}</h1>\n<p>{}</p>\n", html_escape(title), html_escape(intro));
  if (!tensors.empty()) h += fmt::format("<p>{}</p>\n", html_escape(tensors));
  h += "<h2>Axes</h2>\n" + table_html(axes_tab);
  h += "<h2>Workloads</h2>\n" + table_html(wl_tab);
  h += "<h2>Failed runs</h2>\n";
  h += failed.empty() ? std::string("<p>None.</p>\n") : table_html(fail_tab);
  h += fmt::format("<h2>Pareto-optimal points</h2>\n<p class=\"note\">{}</p>\n",
                   html_escape(pareto_def));
  if (!drawn) h += fmt::format("<p class=\"note\">{}.</p>\n", html_escape(out.note));
  for (size_t w = 0; w < nw; ++w) {
    h += fmt::format("<h3>{}</h3>\n", html_escape(c.workloads[w]));
    for (size_t k = 0; k < fronts[w].size(); ++k) {
      const Front& f = fronts[w][k];
      h += fmt::format("<h4>{}</h4>\n<p>{}</p>\n", html_escape(f.title),
                       html_escape(front_sentence(f)));
      if (f.front.empty()) continue;
      if (!front_fig[w][k].empty()) h += figure_html(front_fig[w][k]);
      h += table_html(front_table(c, f));
    }
  }
  h += "<h2>Figures</h2>\n";
  h += fmt::format("<p class=\"note\">{}</p>\n",
                   html_escape(drawn ? std::string("Each metric of each workload against each "
                                                   "axis; standalone SVGs, data and gnuplot "
                                                   "scripts in figures/.")
                                     : out.note + "."));
  if (!not_drawn.empty()) h += fmt::format("<p class=\"note\">{}</p>\n", html_escape(not_drawn));
  for (size_t w = 0; w < nw; ++w) {
    bool any = false;
    for (const auto& byaxis : grid[w])
      for (const std::string& n : byaxis) any = any || !n.empty();
    if (!any) continue;
    h += fmt::format("<h3>{}</h3>\n<div class=\"grid\">\n", html_escape(c.workloads[w]));
    for (const auto& byaxis : grid[w])
      for (const std::string& n : byaxis)
        if (!n.empty()) h += figure_html(n);
    h += "</div>\n";
  }
  h += "</body>\n</html>\n";

  out.md = std::move(md);
  out.html = std::move(h);
  return out;
}

}  // namespace lbsim::reports
