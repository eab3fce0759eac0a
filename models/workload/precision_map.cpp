#include "models/workload/precision_map.h"

#include <fmt/format.h>

#include <map>

#include "models/core/input_file.h"
#include "models/core/params.h"
#include "models/workload/trace_io.h"

namespace lbsim {

namespace {

bool sets_anything(const LayerPrecision& p) {
  return !p.weight.empty() || !p.activation.empty() || !p.error.empty();
}

// Each role `over` sets replaces the role of `prec`.
void overlay(LayerPrecision& prec, const LayerPrecision& over) {
  if (!over.weight.empty()) prec.weight = over.weight;
  if (!over.activation.empty()) prec.activation = over.activation;
  if (!over.error.empty()) prec.error = over.error;
}

std::string gemm_layer_list(const Workload& w) {
  std::vector<std::string> names;
  for (const LayerSpec& l : w.layers)
    if (layer_takes_precision(l.type)) names.push_back(l.name);
  constexpr size_t kShown = 12;
  if (names.empty()) return "none";
  if (names.size() <= kShown) return join(names);
  const size_t more = names.size() - kShown;
  names.resize(kShown);
  return fmt::format("{}, ... ({} more; `lbsim workload show` lists them)", join(names), more);
}

}  // namespace

bool layer_takes_precision(LayerType t) {
  return t == LayerType::kConv2d || t == LayerType::kLinear || t == LayerType::kMatmul;
}

PrecisionMap parse_precision_map(const std::string& text, const std::string& file) {
  return with_yaml_errors(file, [&] {
    const ConfigFile cfg = ConfigFile::parse(text, file);
    Params root = cfg.root("precision map");
    PrecisionMap map;
    map.file = file;
    map.has_default = root.has("default");
    Params d = root.child("default", "default",
                          "formats of every conv2d/linear/matmul layer not under layers");
    map.default_loc = d.where();
    read_layer_precision(d, map.defaults);
    Params layers = root.child("layers", "layers", "formats per layer name");
    for (const std::string& name : layers.keys()) {
      const std::string problem = name_problem(name);
      if (!problem.empty()) {
        layers.error(name, "layer name: " + problem);
        continue;
      }
      const size_t errors_before = root.diagnostics()->count();
      Params lp = layers.child(name, "layer '" + name + "'", "formats of this layer");
      PrecisionMap::Entry e{name, {}, lp.where()};
      read_layer_precision(lp, e.precision);
      if (!sets_anything(e.precision) && root.diagnostics()->count() == errors_before)
        layers.error(name, "sets no format; give at least one of weight, activation, error");
      map.layers.push_back(std::move(e));
    }
    root.close();
    if (root.diagnostics()->empty() && !sets_anything(map.defaults) && map.layers.empty())
      root.error("layers", "the map sets no format: give `default` and/or `layers` entries");
    root.diagnostics()->throw_if_any();
    return map;
  });
}

PrecisionMap load_precision_map(const std::string& path) {
  return parse_precision_map(read_input_file(path), path);
}

void apply_precision_map(const PrecisionMap& map, Workload& w) {
  std::map<std::string, size_t> index;
  std::vector<std::string> gemm_names;
  for (size_t i = 0; i < w.layers.size(); ++i) {
    index.emplace(w.layers[i].name, i);
    if (layer_takes_precision(w.layers[i].type)) gemm_names.push_back(w.layers[i].name);
  }
  Diagnostics diag;
  for (const PrecisionMap::Entry& e : map.layers) {
    const std::string key = "layers." + e.layer;
    auto it = index.find(e.layer);
    if (it == index.end()) {
      const std::string close = did_you_mean(e.layer, gemm_names);
      diag.error(e.loc, key,
                 fmt::format("workload '{}' has no layer '{}'{}; its conv2d/linear/matmul "
                             "layers: {}",
                             w.network, e.layer,
                             close.empty() ? "" : fmt::format(" (did you mean '{}'?)", close),
                             gemm_layer_list(w)));
    } else if (!layer_takes_precision(w.layers[it->second].type)) {
      diag.error(e.loc, key,
                 fmt::format("layer '{}' is a {} layer; a precision map sets the formats of "
                             "conv2d, linear and matmul layers",
                             e.layer, layer_type_name(w.layers[it->second].type)));
    }
  }
  diag.throw_if_any();
  std::map<std::string, const LayerPrecision*> given;
  for (const PrecisionMap::Entry& e : map.layers) given[e.layer] = &e.precision;
  for (LayerSpec& l : w.layers) {
    if (!layer_takes_precision(l.type)) continue;
    if (map.has_default) overlay(l.precision, map.defaults);
    auto it = given.find(l.name);
    if (it != given.end()) overlay(l.precision, *it->second);
  }
}

}  // namespace lbsim
