// Plots of a report, rendered by gnuplot (svg terminal): each plot is a .gp script and a .tsv data
// file written to a fresh temporary directory; gnuplot writes <name>.svg there, which is read
// back, stripped of its XML prolog, given plot-unique ids and embedded inline. The directory is
// removed afterwards. Same input -> same script and data -> same SVG (gnuplot 5.4 writes no date).
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "models/core/error.h"
#include "reports/report.h"

namespace lbsim::reports {

namespace {

const char* const kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

std::string label(std::string s) {
  for (char& c : s)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return s;
}

std::string gp_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string header(const std::string& name, const std::string& title, const std::string& ylabel,
                   bool many_tics) {
  std::string s;
  s += "set terminal svg size 960,480 font \"sans,10\" noenhanced background \"#ffffff\"\n";
  s += fmt::format("set output {}\n", gp_string(name + ".svg"));
  s += "set datafile separator \"\\t\"\n";
  s += fmt::format("set title {}\n", gp_string(title));
  s += fmt::format("set ylabel {}\n", gp_string(ylabel));
  s += "set style data histograms\n";
  s += "set style fill solid 0.85 border -1\n";
  s += "set boxwidth 0.8\n";
  s += "set grid ytics\n";
  s += "set yrange [0:*]\n";
  s += "set key top right\n";
  if (many_tics)
    s += "set xtics rotate by 90 right font \",7\" nomirror scale 0\nset bmargin 9\n";
  else
    s += "set xtics nomirror scale 0\n";
  return s;
}

// Per layer over all phases, in order of first appearance.
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

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool find_executable(const std::string& prog) {
  if (prog.find('/') != std::string::npos) return ::access(prog.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) dir = ".";
    if (::access((std::filesystem::path(dir) / prog).c_str(), X_OK) == 0) return true;
  }
  return false;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

// The <svg ...>...</svg> element of gnuplot's output, ids made unique with `prefix`.
std::string inline_svg(const std::string& svg, const std::string& prefix) {
  const size_t start = svg.find("<svg");
  if (start == std::string::npos) return std::string();
  std::string s = svg.substr(start);
  replace_all(s, "id='", "id='" + prefix);
  replace_all(s, "id=\"", "id=\"" + prefix);
  replace_all(s, "href='#", "href='#" + prefix);
  replace_all(s, "href=\"#", "href=\"#" + prefix);
  replace_all(s, "url(#", "url(#" + prefix);
  return s;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "lbsim-plots-XXXXXX").string();
    if (!::mkdtemp(tmpl.data()))
      throw UserError("error: cannot create a temporary directory for the plots");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

std::vector<PlotSource> plot_sources(const ReportInput& in) {
  std::vector<PlotSource> out;
  // 1. energy by component
  {
    PlotSource p{"energy_by_component", "Energy by component", "", ""};
    p.script = header(p.name, p.title + " (uJ, one iteration)", "energy (uJ)", false);
    for (const std::string& c : in.components) {
      const auto it = in.energy.by_component.find(c);
      const double pj = it == in.energy.by_component.end() ? 0.0 : it->second;
      p.data += fmt::format("{}\t{:.9g}\n", label(c), pj * 1e-6);
    }
    p.script += fmt::format("plot {} using 2:xtic(1) notitle lc rgb \"{}\"\n",
                            gp_string(p.name + ".tsv"), kPalette[0]);
    out.push_back(p);
  }
  // 2. energy by phase
  {
    PlotSource p{"energy_by_phase", "Energy by phase", "", ""};
    p.script = header(p.name, p.title + " (uJ, one iteration)", "energy (uJ)", false);
    for (const std::string& ph : in.phases) {
      const auto it = in.energy.by_phase.find(ph);
      const double pj = it == in.energy.by_phase.end() ? 0.0 : it->second;
      p.data += fmt::format("{}\t{:.9g}\n", label(ph), pj * 1e-6);
    }
    p.script += fmt::format("plot {} using 2:xtic(1) notitle lc rgb \"{}\"\n",
                            gp_string(p.name + ".tsv"), kPalette[1]);
    out.push_back(p);
  }
  const std::vector<LayerSum> layers = layer_sums(in);
  // 3. per-layer latency, stacked by phase
  {
    PlotSource p{"layer_latency", "Per-layer latency by phase", "", ""};
    p.script = header(p.name, p.title + " (cycles)", "cycles", true);
    p.script += "set style histogram rowstacked\n";
    for (const LayerSum& l : layers) {
      p.data += label(l.layer);
      for (const std::string& ph : in.phases) {
        const auto it = l.by_phase.find(ph);
        p.data += fmt::format("\t{}", it == l.by_phase.end() ? 0 : it->second);
      }
      p.data += '\n';
    }
    std::string plot = "plot ";
    for (size_t i = 0; i < in.phases.size(); ++i) {
      plot += i == 0 ? gp_string(p.name + ".tsv") + fmt::format(" using {}:xtic(1)", i + 2)
                     : fmt::format(", \"\" using {}", i + 2);
      plot +=
          fmt::format(" title {} lc rgb \"{}\"", gp_string(label(in.phases[i])), kPalette[i % 10]);
    }
    p.script += plot + "\n";
    out.push_back(p);
  }
  // 4. per-layer PE-array utilisation (layers with MACs)
  {
    PlotSource p{"layer_utilization", "Per-layer PE-array utilisation", "", ""};
    p.script = header(p.name, p.title + " (MAC layers, all phases)", "utilisation (%)", true);
    p.script += "set yrange [0:100]\n";
    for (const LayerSum& l : layers) {
      if (l.macs == 0) continue;
      const double u = l.cycles > 0 ? 100.0 * static_cast<double>(l.macs) /
                                          (static_cast<double>(l.cycles) * in.pe_rows * in.pe_cols)
                                    : 0.0;
      p.data += fmt::format("{}\t{:.6f}\n", label(l.layer), u);
    }
    if (p.data.empty()) p.data = "none\t0\n";
    p.script += fmt::format("plot {} using 2:xtic(1) notitle lc rgb \"{}\"\n",
                            gp_string(p.name + ".tsv"), kPalette[4]);
    out.push_back(p);
  }
  // 5. compute- vs memory-bound: compute and stall cycles per layer
  {
    PlotSource p{"layer_bound", "Per-layer compute vs memory (stall) cycles", "", ""};
    p.script = header(p.name, p.title + "; memory-bound where stall > compute", "cycles", true);
    p.script += "set style histogram rowstacked\n";
    for (const LayerSum& l : layers)
      p.data += fmt::format("{}\t{}\t{}\n", label(l.layer), l.compute, l.stall);
    p.script += fmt::format(
        "plot {} using 2:xtic(1) title \"compute\" lc rgb \"{}\", \"\" using 3 title \"stall "
        "(memory)\" lc rgb \"{}\"\n",
        gp_string(p.name + ".tsv"), kPalette[0], kPalette[2]);
    out.push_back(p);
  }
  return out;
}

PlotSet render_plots(const ReportInput& in, const std::string& gnuplot) {
  PlotSet set;
  if (!find_executable(gnuplot)) {
    set.note = fmt::format(
        "plots not rendered: {} not found (install Debian's gnuplot-nox and re-run lbsim report)",
        gnuplot);
    return set;
  }
  const std::vector<PlotSource> sources = plot_sources(in);
  TempDir dir;
  for (size_t i = 0; i < sources.size(); ++i) {
    const PlotSource& s = sources[i];
    {
      std::ofstream gp(dir.path / (s.name + ".gp"), std::ios::binary);
      gp << s.script;
      std::ofstream data(dir.path / (s.name + ".tsv"), std::ios::binary);
      data << s.data;
      if (!gp || !data) throw UserError("error: cannot write the plot scripts");
    }
    const std::string cmd =
        fmt::format("cd {} && {} {} >{} 2>&1", shell_quote(dir.path.string()), shell_quote(gnuplot),
                    shell_quote(s.name + ".gp"), shell_quote(s.name + ".log"));
    const int rc = std::system(cmd.c_str());
    const std::string svg = read_file(dir.path / (s.name + ".svg"));
    if (rc != 0 || svg.find("</svg>") == std::string::npos)
      throw UserError(fmt::format("error: gnuplot failed on the {} plot: {}", s.name,
                                  read_file(dir.path / (s.name + ".log"))));
    set.plots.push_back(Plot{s.name, s.title, inline_svg(svg, fmt::format("p{}_", i + 1))});
  }
  return set;
}

}  // namespace lbsim::reports
