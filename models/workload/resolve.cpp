// Workload specs -> expanded Workloads (resolve.h).
#include "models/workload/resolve.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <stdexcept>

#include "models/core/error.h"
#include "models/core/input_file.h"
#include "models/workload/scalesim_csv.h"
#include "models/workload/trace_io.h"
#include "models/workload/zoo.h"

namespace lbsim {

namespace {

std::string lower_extension(const std::string& spec) {
  std::string ext = std::filesystem::path(spec).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

// Scales a batch-inclusive size from batch `from` to batch `to`.
int64_t rebatch(const std::string& path, const LayerSpec& l, const char* key, int64_t value,
                int64_t from, int64_t to) {
  if (value % from != 0) {
    throw UserError(fmt::format(
        "{}: error: cannot re-batch from {} to {}: layer '{}': {} {} is not a multiple of the "
        "trace batch {}",
        path, from, to, l.name, key, value, from));
  }
  int64_t out = 0;
  if (__builtin_mul_overflow(value / from, to, &out)) {
    throw UserError(
        fmt::format("{}: error: cannot re-batch from {} to {}: layer '{}': {} "
                    "overflows 64 bits",
                    path, from, to, l.name, key));
  }
  return out;
}

ResolvedWorkload from_trace(const std::string& path, LoadedTrace t, int64_t batch) {
  ResolvedWorkload r;
  r.source = WorkloadSource::kTrace;
  r.shapes_chain = t.shapes_chain;
  Workload& w = t.workload;
  if (batch > 0 && batch != w.batch) {
    for (size_t i = 0; i < w.layers.size(); ++i) {
      if (!t.recorded_ops[i]) continue;
      throw UserError(fmt::format(
          "{}: error: batch {} requested, but the trace records the ops that ran at batch {} "
          "(layer '{}' has ops); trace again at batch {}, or remove the recorded ops to have them "
          "expanded",
          path, batch, w.batch, w.layers[i].name, batch));
    }
    for (auto& l : w.layers) {
      switch (l.type) {
        case LayerType::kLinear:
        case LayerType::kLayerNorm:
        case LayerType::kEmbedding:
        case LayerType::kSoftmaxCrossEntropy:
          if (l.rows > 0) l.rows = rebatch(path, l, "rows", l.rows, w.batch, batch);
          break;
        case LayerType::kMatmul:
          l.count = rebatch(path, l, "count", l.count, w.batch, batch);
          break;
        default:
          break;
      }
    }
    w.batch = batch;
    try {
      expand_workload(w);
    } catch (const UserError& e) {
      throw UserError(fmt::format("{}: error: at batch {}: {}", path, batch, e.what()));
    }
  }
  r.workload = std::move(w);
  return r;
}

}  // namespace

ResolvedWorkload resolve_workload_text(const std::string& text, const std::string& spec,
                                       int64_t batch) {
  if (is_trace_path(spec)) return from_trace(spec, parse_trace(text, spec), batch);
  if (lower_extension(spec) != ".csv")
    throw std::logic_error("resolve_workload_text: '" + spec + "' is not a workload file name");
  ResolvedWorkload r;
  r.source = WorkloadSource::kScaleSimCsv;
  r.shapes_chain = false;
  r.workload = import_scalesim_csv_text(text, spec, batch > 0 ? batch : 1);
  try {
    expand_workload(r.workload);
  } catch (const UserError& e) {
    throw UserError(fmt::format("{}: error: {}", spec, e.what()));
  }
  return r;
}

ResolvedWorkload resolve_workload_spec(const std::string& spec, int64_t batch) {
  const std::string ext = lower_extension(spec);
  if (is_trace_path(spec) || ext == ".csv")
    return resolve_workload_text(read_input_file(spec), spec, batch);
  ResolvedWorkload r;
  const std::vector<std::string> names = zoo_names();
  if (std::find(names.begin(), names.end(), spec) != names.end()) {
    r.source = WorkloadSource::kZoo;
    r.workload = zoo_workload(spec, batch > 0 ? batch : kDefaultZooBatch);
    return r;
  }
  std::string msg = fmt::format("error: unknown workload '{}'", spec);
  const std::string guess = did_you_mean(spec, names);
  if (!guess.empty()) msg += fmt::format("; did you mean '{}'?", guess);
  if (!ext.empty()) msg += fmt::format(" (the file extension '{}' is not one lbsim reads)", ext);
  msg += fmt::format(
      "\n  a workload is a zoo network ({}), a trace file (.yaml, .yml, .json) or a SCALE-Sim "
      "topology (.csv)",
      join(names));
  throw UserError(msg);
}

Workload resolve_workload(const std::string& spec, int64_t batch) {
  return resolve_workload_spec(spec, batch).workload;
}

}  // namespace lbsim
