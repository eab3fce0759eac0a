// Trace files, schema v1: reading and writing Workloads as YAML (.yaml, .yml) or JSON (.json).
//
// workloads/README.md documents every key. In short:
//   schema_version: 1            (required; nothing else is accepted)
//   network: resnet20            (required)
//   batch: 32                    (required, >= 1)
//   input: [3, 32, 32]           (required, per-sample input shape, 1 to 8 sizes >= 1)
//   training: true               (default true; false = forward ops only)
//   smp_samples: 1               (default 1)
//   shapes_chain: true           (default true; see "Chaining" below)
//   layers: [...]                (required, at least one)
// Each layer has name (unique, non-empty), type (layer_type_name()), the type-specific keys of
// workload.h's mapping comment, and optionally input_grad (default true), precision {weight,
// activation, error} (number-format spec strings, checked with make_format), tensors {weight,
// activation, error} (.npy files, paths relative to the trace file's directory, must exist) and
// ops [{phase, op, name, m, n, k, groups, samples, elements, ops_per_element, vector_kind, a_role,
// b_role}].
//
// Ops: a layer without `ops` is expanded by expand_layer(). A layer with `ops` (possibly empty)
// keeps them as recorded (the tracer writes what actually executed), validated: phase fwd | dgrad
// | wgrad | update (fwd only when training is false), op gemm | vector, sizes >= 1, and
// m*n*k*groups*samples and elements*ops_per_element fit in int64. An absent optional op key takes
// the value of the matching op of the layer's own expansion: a GEMM matches the expanded GEMM of
// the same phase with the same m, n, k, else the one at the same position among that phase's
// GEMMs; a vector op matches the expanded vector op of the same phase and name. Without a match
// the defaults are name "gemm", groups 1, samples 1, ops_per_element 1, vector_kind activation and
// the phase's usual roles (fwd activation x weight, dgrad error x weight, wgrad activation x
// error).
//
// Chaining (shapes_chain: true): every conv2d and pool input (channels, h, w), every batch_norm
// input (channels, elements per sample) and every linear in_features must be produced by the
// network input or by the output of SOME earlier layer (not necessarily the previous one: residual
// networks branch). See chain_problems() for the exact rule.
//
// Errors: every problem of a file is collected and reported at once in one UserError, one line
// each, "file:line:col: error: key.path: message", sorted by position (models/core/params.h).
// Chaining is checked only when the file has no other error.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "models/workload/workload.h"

namespace lbsim {

class Params;

// Reads a map of number formats per role {weight, activation, error} (each optional; a spec is
// checked with make_format) into `prec` and closes the map: a trace layer's `precision` and a
// precision map's entries (precision_map.h).
void read_layer_precision(Params& pp, LayerPrecision& prec);

struct LoadedTrace {
  Workload workload;               // ops filled (expanded or as recorded)
  bool shapes_chain = true;        // the file's shapes_chain
  std::vector<bool> recorded_ops;  // per layer: the file gave `ops` (not expanded)
};

// Reads and validates a trace file (format by extension, case-insensitive). LayerSpec::tensors
// holds absolute, lexically normal paths of the .npy files. Throws UserError (see above).
LoadedTrace read_trace(const std::string& path);
// The same from the file's text; `path` gives the format (extension), the directory tensor paths
// are relative to, and the name in messages.
LoadedTrace parse_trace(const std::string& text, const std::string& path);
Workload load_trace(const std::string& path);  // read_trace(path).workload

struct TraceWriteOptions {
  bool shapes_chain = true;  // written as shapes_chain; true requires chain_problems() to be empty
  bool ops = true;           // write each layer's ops (false: the reader re-expands them)
};

// Writes `w` as YAML or JSON by the extension of `path`, keys in the fixed order of the README,
// atomically (temporary file in the same directory + rename). Tensor paths are written relative
// to the trace file's directory. Omits an op key when the reader would derive the same value
// (except groups, always written when above 1, so that summing m*n*k*groups*samples over the ops
// counts MACs without re-expanding), so read_trace(write_trace(w)) == w field for field. Throws
// UserError on an unknown extension, a workload that cannot be represented (output_hw with one of
// two sizes 0, a workload that does not chain while options.shapes_chain is true) or a file that
// cannot be written; nothing is written then.
void write_trace(const Workload& w, const std::string& path, const TraceWriteOptions& options = {});

// The text write_trace() would write; `json` selects the format, `trace_dir` is the directory
// tensor paths are made relative to.
std::string trace_text(const Workload& w, bool json, const std::string& trace_dir,
                       const TraceWriteOptions& options = {});

// True for a path ending in .yaml, .yml or .json (case-insensitive).
bool is_trace_path(const std::string& path);

// Chaining check of the layers' own fields (out_h/out_w = 0 are computed as expand_layer does).
// Produced so far: the network input and every earlier conv2d/pool output (C, Ho, Wo), linear
// output (out_features), embedding output (dim) and matmul output (m, n); batch_norm, layer_norm,
// activation, add and softmax_cross_entropy do not change shapes. A conv2d/pool input (C, H, W)
// must equal a produced shape; a batch_norm needs a produced shape with first size = channels and
// total size = elements; a linear's in_features must equal the total, first or last size of a
// produced shape (flattened feature maps, per-token features, channels seen as token features).
// Calls report(layer index, key, message) for every layer whose input was not produced.
void chain_problems(
    const Workload& w,
    const std::function<void(size_t, const std::string&, const std::string&)>& report);

}  // namespace lbsim
