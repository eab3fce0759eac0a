// Architecture description, schema v1: the validated form of an arch YAML file
// (arch_configs/README.md documents every key). SystemC modules receive these structs already
// validated and only add time (docs/design.md §7).
//
//   schema_version: 1
//   name: mls_m1e2_32x32
//   clock_mhz: 1000
//   pe_array:
//     type: mls                 # registered PE-array types: fp32 fp16 bf16 fp8 int dfp luq mls
//     rows: 32
//     cols: 32
//     dataflow: ws              # ws | os | is
//     fidelity: timing          # timing | cycle
//     scalesim_compat: false
//     formats: {weight: mls_m1e2, activation: mls_m1e2, error: mls_m1e2}   # defaults per type
//     accumulator: {bits: 24, overflow: saturate}
//     mls_unit_mantissa_bits: 0 # mls: 0 = datapath sized to the formats; N = built for m <= N
//   buffers:                    # separate SRAMs (as SCALE-Sim) ...
//     ifmap: {size_kib: 256, banks: 8, word_bits: 64, read_ports: 1, write_ports: 1,
//             double_buffered: true}
//     filter: {size_kib: 256, ...}
//     ofmap: {size_kib: 128, ...}
//   # ... or one global buffer shared by all operands:  buffers: {global: {size_kib: 640, ...}}
//   dram: {type: ddr4, bandwidth_gbps: 25.6, latency_ns: 100, burst_bytes: 64}
//         # or bandwidth_bytes_per_cycle instead of bandwidth_gbps
//   vector_unit: {lanes: 32}
//   quant_unit: {elements_per_cycle: 32}
//   mapping: {tile_m: 0, tile_n: 0, tile_k: 0,   # 0 = chosen by the tiling rule
//             dgrad_lowering: im2col}            # im2col | transposed (conv_lowering.h)
#pragma once

#include <cstdint>
#include <string>

#include "models/mac/systolic.h"
#include "models/numerics/conv_lowering.h"
#include "models/numerics/gemm_problem.h"
#include "models/numerics/i_number_format.h"

namespace lbsim {

struct PeArrayConfig {
  std::string type;  // registered PE-array type name
  int64_t rows = 32, cols = 32;
  Dataflow dataflow = Dataflow::kWs;
  bool cycle_fidelity = false;  // fidelity: cycle
  bool scalesim_compat = false;
  FormatPtr weight, activation, error;  // default operand formats per role
  AccumulatorSpec accumulator;
  // MLS datapath width (mls_unit_mantissa_bits): 0 = each MAC sized to its operands' mantissa
  // bits; N = one unit built for mantissas up to N bits runs every MLS format (energy: (N+1)-bit
  // significand multiplier, shifter and operand registers whatever the format's m).
  int mls_unit_mantissa_bits = 0;
};

struct BufferConfig {
  std::string name;  // "ifmap", "filter", "ofmap" or "global"
  int64_t capacity_bytes = 0;
  int64_t banks = 1;
  int64_t word_bits = 64;
  int64_t read_ports = 1, write_ports = 1;
  bool double_buffered = true;
};

struct BuffersConfig {
  bool unified = false;  // one global buffer holds every operand
  BufferConfig ifmap, filter, ofmap, global;
};

struct DramConfig {
  std::string type = "ddr4";      // ddr4 | lpddr4 | hbm2 (selects the energy per bit later)
  double bytes_per_cycle = 25.6;  // derived from bandwidth_gbps and clock_mhz when given in GB/s
  int64_t latency_cycles = 100;   // derived from latency_ns and clock_mhz
  int64_t burst_bytes = 64;
};

struct MappingOverride {
  int64_t tile_m = 0, tile_n = 0, tile_k = 0;  // 0 = chosen by the tiling rule
  // How conv layers' input-gradient GEMM is lowered (models/numerics/conv_lowering.h): im2col
  // (K = Cout, then col2im) or transposed (K = Cout*R*S, no col2im).
  DgradLowering dgrad_lowering = DgradLowering::kIm2col;
};

struct ArchConfig {
  int schema_version = 1;
  std::string name;
  std::string source;  // file the config came from ("<built-in default>")
  double clock_mhz = 1000;
  PeArrayConfig pe;
  BuffersConfig buffers;
  DramConfig dram;
  int64_t vector_lanes = 32;
  int64_t quant_elements_per_cycle = 32;
  MappingOverride mapping;
};

}  // namespace lbsim
