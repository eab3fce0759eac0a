// Import of SCALE-Sim (v2) topology CSV files as lbsim Workloads.
//
// Two forms, told apart by the header row (names compared ignoring case, spaces and underscores,
// so "IFMAP Height" == "ifmap_height" == "ifmapheight"; columns must be in this order because
// SCALE-Sim reads them by position):
//
//   conv form:  Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels,
//               Num Filter, Strides [, Stride Width]
//     Each row is a conv2d LayerSpec: in_channels = Channels, out_channels = Num Filter,
//     kernel = Filter Height x Filter Width, input = IFMAP Height x IFMAP Width, no padding, no
//     dilation, groups 1, no bias. Without the 9th column both strides are "Strides"; with it
//     "Strides" is the vertical stride and "Stride Width" the horizontal one ("Stride" and
//     "Stride Height" are accepted for the 8th column). The output size follows SCALE-Sim, not
//     PyTorch, and is set explicitly in out_h/out_w:
//       out = ceil((ifmap - filter + stride) / stride)
//     i.e. floor((ifmap - filter) / stride) + 1 when stride divides ifmap - filter and one more
//     otherwise (SCALE-Sim counts a partial last window). A filter larger than the ifmap is an
//     error. Workload::input = {Channels, IFMAP Height, IFMAP Width} of the first row.
//
//   GEMM form:  Layer Name, M, N, K        ("Layer" is accepted for the first column)
//     Each row is a linear LayerSpec computing (M x K) x (K x N): rows = M,
//     in_channels (in_features) = K, out_channels (out_features) = N, no bias. M already is the
//     full row count: the batch argument does NOT scale GEMM-form rows. Workload::input =
//     {M, K} of the first row.
//
// Common rules: one header row, then one row per layer, in file order. Whitespace around fields is
// trimmed; one trailing comma per line is tolerated (SCALE-Sim writes one); blank lines are
// skipped; '#' starts a comment running to the end of the line (so whole-line comments and the
// "...,1,#dw" annotations of SCALE-Sim's own files are ignored); a UTF-8 byte-order mark is
// ignored. Quoted fields are not supported (SCALE-Sim splits on every comma) and are an error.
// Layer names must be non-empty and unique; every other field a positive decimal integer.
// SCALE-Sim topologies list only the GEMM layers and do not chain shapes, so consecutive rows are
// not checked for matching shapes. The first layer has input_grad = false; the rest true.
// Workload::network is the file stem, Workload::batch the argument, training = true.
//
// Not reproduced: SCALE-Sim's conv loader splits a layer whose name contains "DP" into per-channel
// layers; here such a row is an ordinary conv2d.
//
// Errors: every problem of the file is collected and reported at once in one UserError, one line
// each, "file:line: error: row 'name': Column: problem" (header problems "file:line: error:
// header: ..."), including missing/unknown/misplaced header columns (with the expected list and a
// did-you-mean), wrong field counts, non-integer or non-positive values, filter larger than
// ifmap, duplicate layer names, quoted fields, and an empty file. The ops are not expanded here:
// call expand_workload() on the result.
#pragma once

#include <cstdint>
#include <string>

#include "models/workload/workload.h"

namespace lbsim {

// Reads the topology file at `path` (UserError if it cannot be read); `batch` >= 1 sets
// Workload::batch and scales conv-form layers only. Diagnostics name the file as `path`.
Workload import_scalesim_csv(const std::string& path, int64_t batch);

// The same from the file's text; `display_name` is used in diagnostics and its stem becomes the
// network name (e.g. "topologies/alexnet.csv" -> "alexnet").
Workload import_scalesim_csv_text(const std::string& text, const std::string& display_name,
                                  int64_t batch);

}  // namespace lbsim
