// Per-layer precision maps: number formats for named GEMM layers of a workload, applied on top of
// the workload's own precision before planning (`lbsim run --precision-map FILE`,
// lbsim.run(..., precision_map=FILE)). A mixed-precision selection (constrained QAT's layers kept
// precise, GPFQ's bit-width per layer) is written as one, so any workload (a zoo network, a trace)
// can be costed with it without editing the workload.
//
// File (YAML; workloads/README.md "Precision maps"):
//   default:                          optional: every conv2d / linear / matmul layer not listed
//     weight: int2                    under `layers`
//     activation: int2
//   layers:                           optional: per layer name (as `lbsim workload show` lists
//     layer1.0.conv1: {weight: fp32, activation: fp32}                                   them)
// Roles are weight, activation and error; each value is a number-format spec (`lbsim formats`).
// Per role, the layer's own entry wins over `default`; a role the map gives a layer replaces that
// layer's format for the role (a trace's per-layer `precision`, else the architecture's
// pe_array.formats); a role it leaves out keeps the workload's.
//
// Errors (UserError, every problem at once, "file:line:col: error: key.path: message"): a key
// other than default / layers, an unknown role, a bad spec, a layer name with control characters,
// a map that sets nothing; when applied, a name that is not a layer of the workload (the GEMM
// layers are listed, with a did-you-mean) or names a layer without GEMMs.
#pragma once

#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/workload/workload.h"

namespace lbsim {

struct PrecisionMap {
  std::string file;
  bool has_default = false;
  LayerPrecision defaults;
  SourceLoc default_loc;
  struct Entry {
    std::string layer;
    LayerPrecision precision;
    SourceLoc loc;
  };
  std::vector<Entry> layers;  // sorted by name (names are unique: duplicate keys are errors)
};

PrecisionMap parse_precision_map(const std::string& text, const std::string& file);
PrecisionMap load_precision_map(const std::string& path);  // read_input_file + parse

// Whether layer type `t` runs GEMMs and so takes a precision (conv2d, linear, matmul).
bool layer_takes_precision(LayerType t);

// Applies `map` to `w` (see the file comment). Throws UserError before changing anything.
void apply_precision_map(const PrecisionMap& map, Workload& w);

}  // namespace lbsim
