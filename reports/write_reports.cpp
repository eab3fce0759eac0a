// make_reports() and write_reports(): render the plots once, build the three documents, then write
// them through temporary files that are renamed into place only after all three were written.
#include <fmt/format.h>

#include <filesystem>
#include <system_error>
#include <utility>

#include "models/core/error.h"
#include "models/core/output.h"
#include "reports/report.h"

namespace lbsim::reports {

ReportFiles make_reports(const ReportInput& in, GnuplotProcess& gnuplot) {
  const PlotSet plots = render_plots(in, gnuplot);
  return ReportFiles{report_json(in), report_md(in, plots), report_html(in, plots), plots.files,
                     plots.note};
}

ReportFiles make_reports(const ReportInput& in, const std::string& gnuplot) {
  GnuplotProcess process(gnuplot);
  return make_reports(in, process);
}

std::string written_line(const std::string& dir, const ReportFiles& files) {
  const std::filesystem::path out(dir);
  return fmt::format("wrote:        {}, {}, {}{}{}\n", (out / "report.json").string(),
                     (out / "report.md").string(), (out / "report.html").string(),
                     files.figures.empty()
                         ? ""
                         : fmt::format(", {} ({} figures as SVG and PDF, with data and gnuplot "
                                       "scripts)",
                                       (out / "figures").string(), files.figures.size() / 4),
                     files.note.empty() ? "" : " (" + files.note + ")");
}

void write_reports(const std::string& dir, const ReportFiles& files) {
  add_reports(dir, files, nullptr);
}

void add_reports(const std::string& dir, const ReportFiles& files, OutputSet* set) {
  const std::filesystem::path out(dir);
  OutputSet own;
  OutputSet& s = set ? *set : own;
  s.add(out / "report.json", files.json);
  s.add(out / "report.md", files.md);
  s.add(out / "report.html", files.html);
  std::vector<std::pair<std::string, std::string>> figures;
  for (const FigureFile& f : files.figures) figures.emplace_back(f.name, f.bytes);
  s.add_directory(out / "figures", std::move(figures));
  if (!set) own.commit();
}

}  // namespace lbsim::reports

namespace lbsim::reports {

ReportFiles regenerate_reports(const std::string& dir, const std::string& stats_json_text,
                               const EnergyReport& energy, const EnergyTable& table,
                               TrainingOptions training, const std::string& gnuplot) {
  const std::filesystem::path d(dir);
  int64_t smp = 0;
  const std::filesystem::path previous = d / "report.json";
  if (std::filesystem::is_regular_file(previous)) {
    const auto j = nlohmann::json::parse(read_run_file(previous), nullptr, false);
    if (!j.is_discarded() && j.is_object()) {
      if (j.contains("run") && j["run"].is_object() && j["run"].contains("smp_samples") &&
          j["run"]["smp_samples"].is_number_integer())
        smp = j["run"]["smp_samples"].get<int64_t>();
      const auto& t = j.value("training_estimate", nlohmann::json());
      if (!training.requested() && t.is_object() && t.contains("dataset_size")) {
        training.dataset_size = t.value("dataset_size", int64_t{0});
        training.epochs = t.value("epochs", int64_t{0});
        const auto& f = t.value("fine_tune", nlohmann::json());
        if (f.is_object()) {
          training.fnt_epochs = f.value("epochs", int64_t{0});
          training.fnt_run = f.value("run", std::string());
        }
      }
    }
  }
  check_training_options(training);
  const ReportInput in = build_report_input(stats_json_text, read_run_file(d / "layers.csv"),
                                            energy, table, training, smp, dir);
  return make_reports(in, gnuplot);
}

}  // namespace lbsim::reports
