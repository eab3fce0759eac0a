// Simulation plan: a Workload on an ArchConfig -> the work each op gives the timing model
// (sim/, docs/design.md §3). Pure C++, no SystemC: everything here is exact integer arithmetic that
// the SystemC modules only turn into time.
//
// Op order (training_order). Forward ops in layer order; then, for the layers in reverse order,
// that layer's dgrad ops, its wgrad ops, then its update ops (each group in the layer's own op
// order). An inference workload has forward ops only.
//
// Operand formats. A layer's precision (LayerPrecision: "" = the architecture default per role)
// gives the format of each role. A format that the array type cannot natively execute still runs
// on the array at the same cycle count: only the bits per element (DRAM and SRAM bytes) and the
// quantization work change. The timing model never refuses a per-layer override.
//
// Bits per element (FormatCost::bits) = code_bits + group-scale bits amortised over the group
// (FormatInfo::scale_bits(): 8 bits per scale for power-of-two scales (MLS, dfp, MX E8M0) and
// E4M3 scales (NVFP4), 32 for fp32 scales (int, int4_sawb)); a
// format with one scale per tensor costs nothing extra (negligible). The group size is asked of
// the format itself: a probe tensor of 2 x L elements (L = the operand's reduction extent, capped
// at kProbeExtent) is quantized with reduction_axis = 1, i.e. the operand in its GEMM (im2col)
// view, and the group count of the result gives the mean group size 2L / groups (MLS "nc" and
// "k16" both give 16-element groups along the reduction there). One group for the whole probe
// counts as a per-tensor scale. GEMM operands: A and B at their role's format (reduction extent
// K); outputs: fwd in the activation format, dgrad in the error format (both with extent N),
// wgrad fp32 (32 bits: the weight gradient for the update); partial sums 32 bits.
//
// Quantization work (quant_ops_per_element, per element of each produced tensor), as the format's
// MAC family states it (IMacFamily::quant_ops_per_element, models/mac/families/):
//   fp32                     0  (already the accumulator format)
//   fp16, bf16               1  convert
//   fp8 (other floats <16b)  2  max reduction + convert
//   int, int4_sawb           2  max (clip) reduction + convert
//   dfp                      2  exponent selection + shift
//   luq_fp4 (log)            2  max + log encode
//   mls                      3  tensor max + group max + encode
//   mx (OCP MX)              2  block max + encode;  nvfp4: 3 (tensor max + block max + encode)
// plus 1 stochastic-rounding draw per element when the format rounds that role stochastically
// (asked of the format: the probe quantized under two seeds differs), so dfp8 and luq_fp4 cost 3
// by default, mls 3 (nearest) or 4 (stochastic role). Produced tensors: the output of fwd and
// dgrad GEMMs (m * n * groups * samples elements: with LUQ SMP the error quantization repeats
// per sample); wgrad outputs are fp32 (0); element-wise fwd and dgrad ops produce `elements`
// values in the activation / error format; wgrad element-wise ops produce fp32 parameter
// gradients (0); update ops write the new weights in the weight format (`elements` values).
//
// Element-wise (vector) ops: vector_ops = elements * ops_per_element, vector unit cycles =
// ceil(vector_ops / lanes). DRAM traffic: `elements` values read and `elements` written at the
// phase's tensor format (fwd: activation, dgrad and wgrad: error), bits as above (scale bits with
// L = kProbeExtent). Update ops keep fp32 master weights: they read weight, gradient and momentum
// (3 x 32 bits) and write weight and momentum (2 x 32 bits) plus the quantized weight copy.
//
// GEMM work: a TilingProblem per op (the op's m, n, k, groups; the buffers of the arch; the
// mapping override), its TilePlan (models/memory/tiling.h), repeated `samples` times. The op's
// compute cycles are plan.fold.compute_cycles * groups * samples (minus 1 once per op with
// scalesim_compat, as SCALE-Sim reports one cycle less per GEMM): never a function of the
// buffers or the DRAM.
//
// Work items (WorkCursor). The timing model moves one item at a time through load -> compute ->
// quantize -> store. A GEMM item is one tile of the plan (groups and samples repeat the per-group
// tile sequence). When an op has fewer than kFewTiles tiles in all, there would be (almost) no
// load/compute overlap, so each tile is split into min(folds, kMaxSteps) steps at fold-group
// granularity: step j holds folds c_j..c_{j+1} - 1 with c_j = floor(j * F / s), and every byte and
// cycle count x of the tile is apportioned exactly: x_j = floor(x * c_{j+1} / F) -
// floor(x * c_j / F) (the tile's compute cycles are folds x per-fold cycles, so steps get whole
// folds' cycles and the sum is unchanged). A vector op is cut into chunks the same way, by
// elements: at least min(kMaxSteps, elements) chunks, and enough that one chunk's input fits the
// usable ifmap (or half the usable global) buffer and its output the ofmap one. Quantized output
// elements are apportioned over a GEMM's items by their final-output DRAM bytes; an item's
// quantization takes ceil(quant_elements / quant_elements_per_cycle) cycles when the format needs
// work (0 otherwise).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "models/arch/arch_config.h"
#include "models/memory/tiling.h"
#include "models/workload/workload.h"

namespace lbsim {

constexpr int64_t kProbeExtent = 1024;  // longest reduction extent probed for group sizes
constexpr int64_t kFewTiles = 8;        // ops with fewer tiles than this pipeline inside tiles
constexpr int64_t kMaxSteps = 8;        // most steps per tile / fewest chunks per vector op
constexpr size_t kMaxKeptRuns = 4096;   // longer tile-run lists are re-planned when the op runs
constexpr double kPsumBits = 32;        // partial sums (fp32 or int32 accumulators)
// Size limits (checked by plan_simulation before an op is tiled; UserError naming the op, its
// figure and the limit): MACs per GEMM op (m n k groups samples; 2^50 = 1.1e15, about 400 000
// ResNet-50 training iterations at batch 32, while one takes 2.6e12) and work items per run
// (tiles, steps and vector chunks; each is a few kernel events). Tiles per GEMM are limited by
// the tiling model (kMaxTilesPerGemm, models/memory/tiling.h). These make absurd sizes errors in
// milliseconds instead of hours of planning or gigabytes of allocation.
constexpr int64_t kMaxGemmMacs = int64_t{1} << 50;
constexpr int64_t kMaxWorkItems = int64_t{1} << 26;  // 67,108,864

// What one operand format costs the timing model for one role.
struct FormatCost {
  std::string name;           // canonical format name ("mls_m1e2")
  int code_bits = 32;         // element code
  double scale_bits = 0;      // group-scale bits amortised per element (0 = per tensor)
  double group_elements = 0;  // mean group size seen by the probe (0 = per tensor)
  bool stochastic = false;    // rounds this role stochastically
  int64_t quant_ops_per_element = 0;
  double bits() const { return code_bits + scale_bits; }
};

// The quantization table of the header comment: asked of the format's MAC family.
int64_t quant_ops_per_element(const FormatInfo& info, bool stochastic);
// Probes `format` for `role` with reduction extent `extent` (>= 1; capped at kProbeExtent).
FormatCost probe_format_cost(const INumberFormat& format, Role role, int64_t extent);
// fp32 cost without probing (wgrad outputs, partial sums, update master copies).
FormatCost fp32_cost();

// Caches formats made from per-layer spec strings and probe results (probing quantizes 2 x L
// elements twice, so each (format, role, L) is probed once per plan).
class FormatCostCache {
 public:
  // The format for `role` of `layer` (its precision spec, else the arch default). A bad spec is a
  // UserError naming the layer.
  FormatPtr format_for(const ArchConfig& arch, const LayerSpec& layer, Role role);
  FormatCost cost(const FormatPtr& f, Role role, int64_t extent);

 private:
  std::map<std::string, FormatPtr> m_specs;
  std::map<std::tuple<const INumberFormat*, int, int64_t>, FormatCost> m_costs;
};

// (layer index, op index within the layer) in simulation order (see the header comment).
std::vector<std::pair<size_t, size_t>> training_order(const Workload& w);

// Everything the timing model needs about one op, and its static totals.
struct OpWork {
  size_t layer_index = 0, op_index = 0;
  std::string layer;  // layer name
  Phase phase = Phase::kFwd;
  OpKind kind = OpKind::kGemm;
  std::string op;  // op name ("gemm", "bn_fwd", ...)
  int64_t m = 0, n = 0, k = 0, groups = 1, samples = 1;
  int64_t macs = 0;
  // GEMM
  FormatCost a, b, out;  // operand A, operand B, produced output
  // K segments per output of the fixed-point family's contract (gemm_problem.h): conv2d layers
  // count them from the lowering and the formats' group layouts (conv_k_segments); other GEMMs
  // from the probe's group length along K, ceil(K / length) (1 for per-tensor scales).
  int64_t k_segments = 1;
  TilingProblem problem;
  TilePlan plan;
  int64_t repeats = 0;         // groups * samples: times the per-group tile sequence runs
  int64_t tiles = 0;           // plan tiles per group * repeats
  int64_t steps_per_tile = 1;  // > 1 only when tiles < kFewTiles (at most kMaxSteps, <= folds)
  int64_t folds = 0;           // plan.fold.folds * repeats
  // Vector
  int64_t elements = 0, ops_per_element = 0;
  VectorKind vector_kind = VectorKind::kActivation;  // as the op declares it (workload.h)
  FormatCost vec;      // the phase's tensor format (weight format for update ops)
  int64_t chunks = 0;  // vector items
  // Both (totals over the whole op; equal to the sum over its work items)
  int64_t compute_cycles = 0;  // PE array (GEMM) or vector unit (vector) busy cycles
  int64_t vector_ops = 0;
  int64_t quant_elements = 0, quant_ops_per_element = 0, quant_ops = 0;
  TileDemand demand;  // GEMM: plan.per_group * repeats; vector: DRAM and SRAM bytes likewise
  int64_t items = 0;  // work items the cursor yields
};

struct SimPlan {
  std::vector<OpWork> ops;  // in training_order
  int64_t total_macs = 0;
  int64_t total_compute_cycles = 0;  // PE array only
  int64_t gemm_ops = 0, vector_ops = 0, tiles = 0, items = 0;
};

// An upper bound on the cycles the timing model can take for `plan` (either fidelity): every work
// item's load, compute, quantization and store serialised, each DRAM request charged its latency
// plus its transfer rounded up, plus one cycle per hand-off. Pipelining only shortens a run, so
// the simulated end cycle never exceeds it. A double: the bound itself may exceed int64.
double serial_cycle_bound(const SimPlan& plan, const ArchConfig& arch);

// Plans every op. UserErrors (a buffer too small for the smallest legal tile, a bad per-layer
// format spec, an impossible mapping override) are prefixed with "layer <name> <phase> <op>: ".
SimPlan plan_simulation(const ArchConfig& arch, const Workload& w);

// One unit of work through the pipeline (a tile, a step of a tile, or a chunk of a vector op).
struct WorkItem {
  int64_t compute_cycles = 0;  // PE array or vector unit
  int64_t macs = 0, folds = 0, vector_ops = 0;
  TileDemand demand;  // bytes of this item (compute_cycles and macs mirrored)
  int64_t quant_elements = 0, quant_ops = 0, quant_cycles = 0;
  bool first_of_tile = false;  // GEMM: the first step of a plan tile
  bool last = false;           // last item of the op
};

// Yields the items of one op in order (see the header comment). The items' sums equal the op's
// totals exactly.
class WorkCursor {
 public:
  WorkCursor(const OpWork& op, int64_t quant_elements_per_cycle);
  bool next(WorkItem& item);

 private:
  void fill_quant(WorkItem& item, int64_t ofmap_bytes);
  const OpWork& m_op;
  const std::vector<TileRun>* m_runs = nullptr;  // the op's runs, or m_replanned's
  std::unique_ptr<TilePlan> m_replanned;
  int64_t m_qepc;
  int64_t m_emitted = 0;
  // GEMM position: repeat, run, index in run, step
  int64_t m_rep = 0;
  size_t m_run = 0;
  int64_t m_in_run = 0, m_step = 0;
  // cumulative final-output DRAM bytes (for apportioning quantized elements)
  int64_t m_ofmap_cum = 0, m_ofmap_total = 0, m_quant_done = 0;
  // vector position
  int64_t m_chunk = 0;
};

// Integer apportionment: floor(x * num / den) for 0 <= num <= den, exact (128-bit).
int64_t scale_floor(int64_t x, int64_t num, int64_t den);

// One row of layers.csv: one op of one layer.
struct OpRow {
  std::string layer, phase, op;
  int64_t m = 0, n = 0, k = 0, macs = 0, folds = 0;
  int64_t cycles = 0, compute_cycles = 0, stall_cycles = 0;
  double utilization = 0;  // macs / (cycles * rows * cols)
  int64_t ifmap_sram_read_bytes = 0, filter_sram_read_bytes = 0, ofmap_sram_write_bytes = 0;
  int64_t dram_read_bytes = 0, dram_write_bytes = 0;
  int64_t quant_ops = 0, vector_ops = 0;
};

// The columns of layers.csv, declared once: the writer emits them in this order and every reader
// finds them by name. Exactly one member pointer is set.
struct OpRowColumn {
  const char* name;
  std::string OpRow::*text = nullptr;
  int64_t OpRow::*integer = nullptr;
  double OpRow::*real = nullptr;  // written with 6 decimals
};
const std::vector<OpRowColumn>& op_row_columns();

// The header line of layers.csv as written (no trailing newline).
std::string layers_csv_header();
// Header + one line per row; fields containing ',' or '"' are quoted (RFC 4180). Deterministic.
std::string layers_csv(const std::vector<OpRow>& rows);
// Parses layers.csv, columns matched by name (any order). A missing or unknown column, a wrong
// field count or a non-numeric value is a UserError "file:line: error: ..." (unknown columns list
// the known ones).
std::vector<OpRow> parse_layers_csv(const std::string& text, const std::string& file);

}  // namespace lbsim
