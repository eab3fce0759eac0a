// The figures of a report, drawn by gnuplot. Each figure is a data file (<name>.tsv, tab separated,
// one '#' header line naming the columns with their units) and a standalone script (<name>.gp)
// that writes <name>.svg (svg terminal) and <name>.pdf (pdfcairo). All of a run's figures are
// drawn by ONE gnuplot process, started without a shell (posix_spawn with an argv) in a fresh
// temporary directory and fed through a pipe — `lbsim run` starts it before it simulates
// (GnuplotProcess), so that gnuplot's start-up can overlap the simulation; the files are
// read back and the SVGs embedded inline in report.html.
//
// Readability at any network size: per-layer figures are horizontal bars in network order; when a
// network has more than kAllLayersUpTo layers only the kTopLayers largest are drawn (still in
// network order) and the rest are summed into one "other (N layers)" bar. Values are scaled to a
// unit chosen from the data (pJ..J, cycles..G cycles) so tick labels are plain numbers.
//
// Determinism: same input -> same scripts and data -> same SVG (gnuplot 5.4 writes no date) and
// same PDF once its /CreationDate (cairo 1.16 ignores SOURCE_DATE_EPOCH) is replaced by a fixed
// date of the same length, which keeps the PDF's byte offsets valid.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>

#include "models/core/error.h"
#include "reports/gnuplot.h"
#include "reports/report.h"

namespace lbsim::reports {

namespace {

constexpr size_t kAllLayersUpTo = 40;  // per-layer figures show every layer up to this many
constexpr size_t kTopLayers = 30;      // beyond: the largest 30 plus one "other" bar

const char* const kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

std::string label(std::string s) {
  for (char& c : s)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return s;
}

// A display unit: values are divided by `scale`; `name` is shown on axes (UTF-8), `ascii` goes
// into data column names.
struct Unit {
  double scale;
  std::string name, ascii;
};

Unit energy_unit(double max_pj) {
  if (max_pj >= 1e12) return {1e12, "J", "J"};
  if (max_pj >= 1e9) return {1e9, "mJ", "mJ"};
  if (max_pj >= 1e6) return {1e6, "\u00b5J", "uJ"};
  if (max_pj >= 1e3) return {1e3, "nJ", "nJ"};
  return {1, "pJ", "pJ"};
}

Unit cycle_unit(double max_cycles) {
  if (max_cycles >= 1e10) return {1e9, "G cycles", "Gcycles"};
  if (max_cycles >= 1e7) return {1e6, "M cycles", "Mcycles"};
  if (max_cycles >= 1e4) return {1e3, "k cycles", "kcycles"};
  return {1, "cycles", "cycles"};
}

std::string num(double v) { return fmt::format("{:.9g}", v); }

}  // namespace

std::string component_label(const std::string& component) {
  static const std::map<std::string, std::string> names = {{"pe_array", "PE array"},
                                                           {"dram", "DRAM"},
                                                           {"quant_unit", "quantisation unit"},
                                                           {"vector_unit", "vector unit"}};
  const auto it = names.find(component);
  if (it != names.end()) return it->second;
  if (component.rfind("sram_", 0) == 0) return "SRAM (" + component.substr(5) + ")";
  return component;
}

std::string phase_label(const std::string& phase) {
  static const std::map<std::string, std::string> names = {{"fwd", "forward"},
                                                           {"dgrad", "input gradient (dgrad)"},
                                                           {"wgrad", "weight gradient (wgrad)"},
                                                           {"update", "weight update"}};
  const auto it = names.find(phase);
  return it == names.end() ? phase : it->second;
}

namespace {

// "Title" or "Title; how" for the HTML caption; the figure shows `how` on a second line.
std::string with_how(const std::string& title, const std::string& how) {
  return how.empty() ? title : title + "; " + how;
}

// The common head of every script: re-plottable from the directory it sits in.
// `how` (how the bars were formed, or a note) is the title's second line.
std::string script_head(const std::string& name, const std::string& title,
                        const std::string& how = "") {
  std::string s = fmt::format(
      "# lbsim figure: {}\n# Re-plot in this directory: gnuplot {}.gp (reads {}.tsv, writes {}.svg "
      "and {}.pdf)\n",
      label(with_how(title, how)), name, name, name, name);
  s += "reset\nset encoding utf8\nset datafile separator \"\\t\"\n";
  s +=
      fmt::format("set title {} noenhanced\n", gp_string(how.empty() ? title : title + "\n" + how));
  s += "set border 3\nset tics nomirror\nset style fill solid 0.9 border rgb \"#ffffff\"\n";
  return s;
}

// Completes p.script (its head so far) with `plot`: the standalone figures/<name>.gp, which draws
// <name>.svg (w x h px) and then <name>.pdf (same aspect, 1 in = 120 px).
void finish_script(PlotSource& p, const std::string& plot, int w, int h) {
  p.script += fmt::format(
      "set terminal svg size {},{} font \"sans,12\" noenhanced background \"#ffffff\"\n", w, h);
  p.script += fmt::format("set output {}\n", gp_string(p.name + ".svg"));
  p.script += plot;
  p.script +=
      fmt::format("set terminal pdfcairo size {:.3f}in,{:.3f}in font \"sans,9\" noenhanced\n",
                  w / 120.0, h / 120.0);
  p.script += fmt::format("set output {}\nreplot\nunset output\n", gp_string(p.name + ".pdf"));
}

// 26 px a bar: 0.22 in in the PDF, room for its 9 pt label.
int bars_height(size_t rows) { return std::max(300, 140 + 26 * static_cast<int>(rows)); }

// Horizontal bars, first data row at the top; y tics from column 1.
std::string hbar_axes(size_t rows) {
  return fmt::format(
      "set yrange [{}:-0.6]\nset ytics scale 0\nset grid xtics lc rgb \"#dddddd\"\nset xtics "
      "out\n",
      static_cast<double>(rows) - 0.4);
}

// Stacked horizontal bars: columns 2..n+1 of `file`, segment i from the sum of the columns before
// it to that sum plus column i.
std::string stacked_plot(const std::string& file, const std::vector<std::string>& titles,
                         const std::vector<const char*>& colors) {
  std::string plot = "plot ";
  for (size_t i = 0; i < titles.size(); ++i) {
    std::string lo = "0", hi;
    for (size_t j = 0; j < i; ++j) lo += fmt::format("+${}", j + 2);
    hi = lo + fmt::format("+${}", i + 2);
    plot += fmt::format(
        "{}{} using ({}):0:({}):({}):($0-0.4):($0+0.4){} with boxxyerror title {} fc rgb \"{}\"",
        i == 0 ? "" : ", \\\n     ", i == 0 ? gp_string(file) : "\"\"", hi, lo, hi,
        i == 0 ? ":ytic(1)" : "", gp_string(titles[i]), colors[i]);
  }
  return plot + "\n";
}

// Per layer over all phases, in network order.
struct LayerSum {
  std::string layer;
  int64_t macs = 0, cycles = 0, compute = 0, stall = 0;
  std::map<std::string, int64_t> by_phase;
};

std::vector<LayerSum> layer_sums(const ReportInput& in) {
  std::vector<LayerSum> out;
  std::map<std::string, size_t> idx;
  for (const LayerPhase& lp : in.layer_phases) {
    auto [it, fresh] = idx.emplace(lp.layer, out.size());
    if (fresh) out.push_back(LayerSum{lp.layer, 0, 0, 0, 0, {}});
    LayerSum& s = out[it->second];
    s.macs += lp.macs;
    s.cycles += lp.cycles;
    s.compute += lp.compute_cycles;
    s.stall += lp.stall_cycles;
    s.by_phase[lp.phase] += lp.cycles;
  }
  return out;
}

void add_into(LayerSum& to, const LayerSum& l) {
  to.macs += l.macs;
  to.cycles += l.cycles;
  to.compute += l.compute;
  to.stall += l.stall;
  for (const auto& [ph, c] : l.by_phase) to.by_phase[ph] += c;
}

// The block of a layer: its name up to the last '.' ("layer1.0.conv1" -> "layer1.0"), or the name.
std::string block_of(const std::string& layer) {
  const size_t dot = layer.rfind('.');
  return dot == std::string::npos || dot == 0 ? layer : layer.substr(0, dot);
}

// The bars of a per-layer figure and the line saying how they were formed ("" when one per layer).
struct LayerBars {
  std::vector<LayerSum> rows;
  std::string how;
};

// One bar per layer up to kAllLayersUpTo layers. Beyond: one bar per block (layers summed by
// block_of, in network order) when that gives kMinBlocks..kAllLayersUpTo bars (ResNets: stem,
// blocks, head); else the kTopLayers largest layers by `key` (ties: network order) kept in network
// order plus one "other (N layers)" bar summing the rest (e.g. VGG's features.0 .. features.30).
LayerBars select_layers(const std::vector<LayerSum>& all, int64_t (*key)(const LayerSum&),
                        const char* key_name) {
  constexpr size_t kMinBlocks = 5;
  if (all.size() <= kAllLayersUpTo) return {all, ""};
  LayerBars out;
  std::map<std::string, size_t> index;
  for (const LayerSum& l : all) {
    const std::string b = block_of(l.layer);
    auto [it, fresh] = index.emplace(b, out.rows.size());
    if (fresh) out.rows.push_back(LayerSum{b, 0, 0, 0, 0, {}});
    add_into(out.rows[it->second], l);
  }
  if (out.rows.size() >= kMinBlocks && out.rows.size() <= kAllLayersUpTo) {
    out.how = fmt::format("{} layers summed into {} blocks (name up to its last '.')", all.size(),
                          out.rows.size());
    return out;
  }
  std::vector<size_t> order(all.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return key(all[a]) > key(all[b]); });
  std::vector<bool> keep(all.size(), false);
  for (size_t i = 0; i < kTopLayers; ++i) keep[order[i]] = true;
  out.rows.clear();
  LayerSum rest;
  rest.layer = fmt::format("other ({} layers)", all.size() - kTopLayers);
  for (size_t i = 0; i < all.size(); ++i) {
    if (keep[i])
      out.rows.push_back(all[i]);
    else
      add_into(rest, all[i]);
  }
  out.rows.push_back(rest);
  out.how = fmt::format("the {} largest of {} layers by {}, the rest summed", kTopLayers,
                        all.size(), key_name);
  return out;
}

// cairo writes the wall-clock time as /CreationDate (D:YYYYMMDDHHmmSS...): fixed to 1970-01-01.
void fix_pdf_date(std::string& pdf) {
  const std::string key = "/CreationDate (D:";
  const size_t at = pdf.find(key);
  if (at == std::string::npos || at + key.size() + 14 > pdf.size()) return;
  pdf.replace(at + key.size(), 14, "19700101000000");
}

}  // namespace

std::vector<PlotSource> plot_sources(const ReportInput& in) {
  std::vector<PlotSource> out;
  const double total_pj = in.energy.total_pj;

  // 1. Energy by component: log-scale horizontal bars, largest first, each labelled with its
  //    energy and share, so the 1 % components stay visible next to the 60 % one.
  {
    PlotSource p{"energy_by_component", "Energy by component (one iteration, log scale)", "", ""};
    std::vector<std::pair<std::string, double>> comps;
    for (const std::string& c : in.components) {
      const auto it = in.energy.by_component.find(c);
      comps.emplace_back(c, it == in.energy.by_component.end() ? 0.0 : it->second);
    }
    std::stable_sort(comps.begin(), comps.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    if (comps.empty()) comps.emplace_back("none", 0.0);
    double max_pj = 0, min_pj = 0;
    for (const auto& [c, pj] : comps) {
      max_pj = std::max(max_pj, pj);
      if (pj > 0 && (min_pj == 0 || pj < min_pj)) min_pj = pj;
    }
    // The unit of the largest, one step smaller while the smallest would read below 0.01 and
    // the largest stays below 10^5 (ResNet-50: 1020 mJ ... 1.7 mJ rather than 1.02 J ... 0.0017 J).
    Unit u = energy_unit(max_pj);
    while (u.scale > 1 && min_pj > 0 && min_pj / u.scale < 0.01 && max_pj / (u.scale / 1e3) < 1e5)
      u = energy_unit(u.scale / 1e3);
    p.data = fmt::format("# component\tenergy_{}\tshare_pct\n", u.ascii);
    for (const auto& [c, pj] : comps)
      p.data += fmt::format("{}\t{}\t{:.3f}\n", component_label(c), num(pj / u.scale),
                            total_pj > 0 ? 100.0 * pj / total_pj : 0.0);
    const double lo = min_pj > 0 ? std::pow(10.0, std::floor(std::log10(min_pj / u.scale))) : 0.1;
    const double hi = max_pj > 0 ? 25 * max_pj / u.scale : 10.0;  // room for the labels
    p.script = script_head(p.name, p.title) + hbar_axes(comps.size());
    p.script +=
        fmt::format("set logscale x\nset xrange [{}:{}]\nset format x \"%g\"\n", num(lo), num(hi));
    p.script += fmt::format("set xlabel {}\nunset key\nbase = {}\n",
                            gp_string("energy (" + u.name + ", log scale)"), num(lo));
    const std::string plot = fmt::format(
        "plot {} using ($2 > base ? $2 : base):0:(base):($2 > base ? $2 : base):($0-0.35):($0+0.35)"
        ":ytic(1) notitle with boxxyerror fc rgb \"{}\", \\\n"
        "     \"\" using ($2 > base ? $2 : base):0:(sprintf(\"%s {} (%.1f %%)\", \\\n"
        "     ($2 >= 1000 ? sprintf(\"%.0f\", $2) : sprintf(\"%.3g\", $2)), $3)) notitle with "
        "labels left "
        "offset char 0.6,0\n",
        gp_string(p.name + ".tsv"), kPalette[0], u.name);
    finish_script(p, plot, 900, bars_height(comps.size()));
    out.push_back(p);
  }

  // 2. Energy by phase, stacked by component (linear): where each phase's energy goes.
  {
    PlotSource p{"energy_by_phase", "Energy by phase and component (one iteration)", "", ""};
    std::map<std::pair<std::string, std::string>, double> pj;  // (phase, component)
    std::map<std::string, double> phase_total, comp_total;
    for (const LayerPhase& lp : in.layer_phases)
      for (const auto& [c, e] : lp.energy_pj) {
        pj[{lp.phase, c}] += e;
        phase_total[lp.phase] += e;
        comp_total[c] += e;
      }
    std::vector<std::string> comps = in.components;
    if (comps.empty()) comps.push_back("none");
    std::stable_sort(comps.begin(), comps.end(), [&](const std::string& a, const std::string& b) {
      return comp_total[a] > comp_total[b];
    });
    double max_pj = 0;
    for (const auto& [ph, e] : phase_total) max_pj = std::max(max_pj, e);
    const Unit u = energy_unit(max_pj);
    p.data = "# phase";
    for (const std::string& c : comps) p.data += fmt::format("\t{}_{}", c, u.ascii);
    p.data += '\n';
    for (const std::string& ph : in.phases) {
      p.data += label(phase_label(ph));
      for (const std::string& c : comps) p.data += "\t" + num(pj[{ph, c}] / u.scale);
      p.data += '\n';
    }
    std::vector<std::string> titles;
    std::vector<const char*> colors;
    for (size_t i = 0; i < comps.size(); ++i) {
      titles.push_back(component_label(comps[i]));
      colors.push_back(kPalette[i % 10]);
    }
    p.script = script_head(p.name, p.title) + hbar_axes(in.phases.size());
    p.script += fmt::format(
        "set xrange [0:*]\nset format x \"%g\"\nset xlabel {}\nset key outside right top "
        "vertical\n",
        gp_string("energy (" + u.name + ")"));
    finish_script(p, stacked_plot(p.name + ".tsv", titles, colors), 900,
                  std::max(340, 200 + 40 * static_cast<int>(in.phases.size())));
    out.push_back(p);
  }

  const std::vector<LayerSum> layers = layer_sums(in);
  // 3. Per-layer latency, stacked by phase.
  {
    const LayerBars bars = select_layers(
        layers, [](const LayerSum& l) { return l.cycles; }, "cycles");
    const std::vector<LayerSum>& shown = bars.rows;
    const std::string title = "Per-layer latency by phase";
    PlotSource p{"layer_latency", with_how(title, bars.how), "", ""};
    double max_c = 0;
    for (const LayerSum& l : shown) max_c = std::max(max_c, static_cast<double>(l.cycles));
    const Unit u = cycle_unit(max_c);
    p.data = "# layer";
    for (const std::string& ph : in.phases) p.data += fmt::format("\t{}_{}", ph, u.ascii);
    p.data += '\n';
    for (const LayerSum& l : shown) {
      p.data += label(l.layer);
      for (const std::string& ph : in.phases) {
        const auto it = l.by_phase.find(ph);
        p.data +=
            "\t" + num((it == l.by_phase.end() ? 0.0 : static_cast<double>(it->second)) / u.scale);
      }
      p.data += '\n';
    }
    std::vector<std::string> titles;
    std::vector<const char*> colors;
    for (size_t i = 0; i < in.phases.size(); ++i) {
      titles.push_back(phase_label(in.phases[i]));
      colors.push_back(kPalette[i % 10]);
    }
    p.script = script_head(p.name, title, bars.how) + hbar_axes(shown.size());
    p.script += fmt::format(
        "set xrange [0:*]\nset format x \"%g\"\nset xlabel {}\nset key inside bottom right\n",
        gp_string("latency (" + u.name + ")"));
    finish_script(p, stacked_plot(p.name + ".tsv", titles, colors), 900, bars_height(shown.size()));
    out.push_back(p);
  }
  // 4. Per-layer PE-array utilisation (layers with MACs, all phases).
  {
    std::vector<LayerSum> mac_layers;
    for (const LayerSum& l : layers)
      if (l.macs > 0) mac_layers.push_back(l);
    const LayerBars bars = select_layers(
        mac_layers, [](const LayerSum& l) { return l.macs; }, "MACs");
    const std::vector<LayerSum>& shown = bars.rows;
    const std::string title = "Per-layer PE-array utilisation (layers with MACs, all phases)";
    PlotSource p{"layer_utilization", with_how(title, bars.how), "", ""};
    p.data = "# layer\tutilization_pct\tmacs\tcycles\n";
    for (const LayerSum& l : shown) {
      const double u = l.cycles > 0 ? 100.0 * static_cast<double>(l.macs) /
                                          (static_cast<double>(l.cycles) * in.pe_rows * in.pe_cols)
                                    : 0.0;
      p.data += fmt::format("{}\t{:.6f}\t{}\t{}\n", label(l.layer), u, l.macs, l.cycles);
    }
    if (shown.empty()) p.data += "none\t0\t0\t0\n";
    const size_t rows = std::max<size_t>(1, shown.size());
    p.script = script_head(p.name, title, bars.how) + hbar_axes(rows);
    p.script += "set xrange [0:100]\nset xlabel \"utilisation (% of PE-array MAC slots)\"\n";
    p.script += "unset key\n";
    const std::string plot = fmt::format(
        "plot {} using 2:0:(0):2:($0-0.35):($0+0.35):ytic(1) notitle with boxxyerror fc rgb "
        "\"{}\"\n",
        gp_string(p.name + ".tsv"), kPalette[4]);
    finish_script(p, plot, 900, bars_height(rows));
    out.push_back(p);
  }
  // 5. Compute- vs memory-bound: compute and stall cycles per layer.
  {
    const LayerBars bars = select_layers(
        layers, [](const LayerSum& l) { return l.cycles; }, "cycles");
    const std::vector<LayerSum>& shown = bars.rows;
    const std::string title = "Per-layer compute vs memory-stall cycles";
    const std::string how =
        "memory-bound where stall > compute" + (bars.how.empty() ? "" : "; " + bars.how);
    PlotSource p{"layer_bound", with_how(title, how), "", ""};
    double max_c = 0;
    for (const LayerSum& l : shown) max_c = std::max(max_c, static_cast<double>(l.cycles));
    const Unit u = cycle_unit(max_c);
    p.data = fmt::format("# layer\tcompute_{}\tstall_{}\n", u.ascii, u.ascii);
    for (const LayerSum& l : shown)
      p.data +=
          fmt::format("{}\t{}\t{}\n", label(l.layer), num(static_cast<double>(l.compute) / u.scale),
                      num(static_cast<double>(l.stall) / u.scale));
    p.script = script_head(p.name, title, how) + hbar_axes(shown.size());
    p.script += fmt::format(
        "set xrange [0:*]\nset format x \"%g\"\nset xlabel {}\nset key inside bottom right\n",
        gp_string("cycles (" + u.name + ")"));
    finish_script(
        p, stacked_plot(p.name + ".tsv", {"compute", "stall (memory)"}, {kPalette[0], kPalette[2]}),
        900, bars_height(shown.size()));
    out.push_back(p);
  }
  // 6. Roofline: each layer x phase with MACs and DRAM traffic at (MACs per DRAM byte, achieved
  //    MACs/cycle), under the compute roof (rows x cols MACs/cycle) and the DRAM roof
  //    (bytes/cycle x intensity).
  {
    const double peak = static_cast<double>(in.pe_rows * in.pe_cols);
    const double bw = in.dram_bytes_per_cycle;
    PlotSource p{"roofline", "Roofline: achieved MACs/cycle per layer and phase", "", ""};
    p.data = "# layer\tphase\tmacs\tdram_bytes\tcycles\tintensity_macs_per_byte\tmacs_per_cycle\n";
    double x_min = 0, x_max = 0, y_min = 0;
    size_t no_dram = 0, points = 0;
    for (const LayerPhase& lp : in.layer_phases) {
      if (lp.macs <= 0 || lp.cycles <= 0) continue;
      const int64_t bytes = lp.dram_read_bytes + lp.dram_write_bytes;
      if (bytes <= 0) {
        ++no_dram;
        continue;
      }
      const double ai = static_cast<double>(lp.macs) / static_cast<double>(bytes);
      const double perf = static_cast<double>(lp.macs) / static_cast<double>(lp.cycles);
      x_min = points == 0 ? ai : std::min(x_min, ai);
      x_max = points == 0 ? ai : std::max(x_max, ai);
      y_min = points == 0 ? perf : std::min(y_min, perf);
      ++points;
      p.data += fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}\n", label(lp.layer), label(lp.phase),
                            lp.macs, bytes, lp.cycles, num(ai), num(perf));
    }
    if (points == 0) {
      p.data += "none\tnone\t0\t0\t1\t1\t1\n";
      x_min = x_max = y_min = 1;
    }
    const double ridge = bw > 0 ? peak / bw : x_max;
    const double xlo = std::pow(10.0, std::floor(std::log10(std::min(x_min, ridge) / 2)));
    const double xhi = std::pow(10.0, std::ceil(std::log10(std::max(x_max, ridge) * 2)));
    const double ylo = std::pow(10.0, std::floor(std::log10(std::min(y_min, peak) / 2)));
    const double yhi = 3 * peak;
    std::string notes;
    if (no_dram > 0) notes = fmt::format("{} layer-phases without DRAM traffic not shown", no_dram);
    if (bw <= 0)
      notes += std::string(notes.empty() ? "" : "; ") +
               "no DRAM roof: the run's stats.json has no dram_bytes_per_cycle";
    p.script = script_head(p.name, p.title, notes);
    p.title = with_how(p.title, notes);
    p.script += fmt::format(
        "set logscale xy\nset xrange [{}:{}]\nset yrange [{}:{}]\nset format x \"%g\"\n"
        "set format y \"%g\"\nset grid xtics ytics mxtics mytics lc rgb \"#e4e4e4\"\n"
        "set xlabel \"arithmetic intensity (MACs per DRAM byte)\"\n"
        "set ylabel \"achieved MACs/cycle\"\nset key inside bottom right box opaque\nset samples "
        "1000\n",
        num(xlo), num(xhi), num(ylo), num(yhi));
    p.script += fmt::format("peak = {}  # compute roof: PE rows x cols MACs/cycle\n", num(peak));
    p.script += fmt::format("bw = {}  # DRAM roof: bytes/cycle\n", num(bw));
    p.script += "roof(x) = (bw > 0 && bw * x < peak) ? bw * x : peak\n";
    std::string plot = fmt::format(
        "plot roof(x) with lines lw 2 lc rgb \"#333333\" title {}",
        gp_string(bw > 0 ? fmt::format("roof: {} MACs/cycle, DRAM {} B/cycle", num(peak), num(bw))
                         : fmt::format("compute roof: {} MACs/cycle", num(peak))));
    for (size_t i = 0; i < in.phases.size(); ++i)
      plot += fmt::format(
          ", \\\n     {} using (strcol(2) eq {} ? $6 : NaN):7 with points pt 7 ps 1 lc rgb "
          "\"{}\" title {}",
          gp_string(p.name + ".tsv"), gp_string(label(in.phases[i])), kPalette[i % 10],
          gp_string(phase_label(in.phases[i])));
    finish_script(p, plot + "\n", 900, 560);
    out.push_back(p);
  }
  return out;
}

PlotSet render_plots(const ReportInput& in, const std::string& gnuplot) {
  GnuplotProcess process(gnuplot);
  return render_plots(in, process);
}

PlotSet render_plots(const ReportInput& in, GnuplotProcess& gnuplot) {
  PlotSet set;
  if (!gnuplot.available()) {
    set.note = fmt::format(
        "plots not rendered: {} not found (install Debian's gnuplot-nox and re-run lbsim report)",
        gnuplot.program());
    return set;
  }
  const std::vector<PlotSource> sources = plot_sources(in);
  // Every figure's script in turn (each starts with `reset`), as `gnuplot a.gp b.gp ...` would.
  // The scripts go to files and only `load` commands through the pipe (gnuplot reads a pipe a byte
  // per system call).
  std::vector<std::pair<std::string, std::string>> data;
  std::string batch;
  for (const PlotSource& s : sources) {
    data.emplace_back(s.name + ".tsv", s.data);
    data.emplace_back(s.name + ".gp", s.script);
    batch += "load " + gp_string(s.name + ".gp") + "\n";
  }
  const bool ok = gnuplot.draw(data, batch);
  for (size_t i = 0; i < sources.size(); ++i) {
    const PlotSource& s = sources[i];
    const std::string svg = read_file(gnuplot.dir() / (s.name + ".svg"));
    std::string pdf = read_file(gnuplot.dir() / (s.name + ".pdf"));
    if (!ok || svg.find("</svg>") == std::string::npos || pdf.rfind("%PDF", 0) != 0)
      throw UserError(fmt::format("error: gnuplot ({}) failed on the {} figure: {}",
                                  gnuplot.executable(), s.name, gnuplot.log()));
    fix_pdf_date(pdf);
    set.plots.push_back(Plot{s.name, s.title, inline_svg(svg, fmt::format("p{}_", i + 1))});
    set.files.push_back(FigureFile{s.name + ".tsv", s.data});
    set.files.push_back(FigureFile{s.name + ".gp", s.script});
    set.files.push_back(FigureFile{s.name + ".svg", svg});
    set.files.push_back(FigureFile{s.name + ".pdf", pdf});
  }
  return set;
}

}  // namespace lbsim::reports
