// Cycle fidelity inside `lbsim run` (docs/design.md §3): the PE array module (pe_array_module.h)
// hands each GEMM work item to CycleCompute, which runs exactly the item's folds on the clocked
// cycle-level array (cycle_array.h, the array `lbsim verify` checks) inside the same SystemC
// simulation as the timing model's DMA, DRAM and buffers, and returns the rising edges the array
// took. Those edges are the item's compute time.
//
// Which folds. A work item is a tile of the op's tiling plan (models/memory/tiling.h), a step of a
// tile (a range of its folds) or a T-chunk of a single fold (models/sim_plan/sim_plan.h). The
// module follows the op's tile sequence (the plan's runs, repeated per group and LUQ sample; an
// item with first_of_tile moves to the next tile) and, per item:
//   whole tile        one GEMM: the tile's rows x columns x K;
//   step of a tile    its folds [lo, hi) in the array's fold order (column folds outer, row folds
//                     inner), as at most three GEMMs: the rest of a column fold, whole column
//                     folds, the start of a column fold;
//   T-chunk of a fold the fold's GEMM (its rows and columns, the whole temporal extent) is started
//                     with the fold's first chunk; each chunk but the last grants the array its
//                     closed-form share of cycles (a gated clock: between chunks the array holds
//                     every register, as the timing model's array waits between jobs), the last
//                     one runs it to its end.
// Operands are deterministic pseudo-random tensors of the op's operand formats (its layer's
// precision or the architecture's, for the op's A and B roles), covering exactly that GEMM
// (sim/modules/random_gemm.h: random_gemm, the layout verify uses), keyed by the run's seed, the op
// index, the tile's index in the op and the GEMM's index in the item; they are built when the item
// runs and dropped when its GEMM ends, so memory stays at one tile (or one fold) of data.
//
// Time. The item's first cycle starts when its compute starts (the gated clock's first rising
// edge comes at that time, sim/modules/cycle_clock.h); the item ends one period after its last
// edge, at the end of its last cycle, and the PE array thread gets there with a timed wait, as it
// does in timing mode. This matters: the timing model serves same-time requests (the DRAM
// channel) in the order the kernel runs its processes, so the job must end in the same delta
// phase as in timing mode for the runs to come out identical.
//
// Checks. The edges of an item must equal its compute_cycles in the timing plan, the sim time it
// spent must equal the edges, a non-final T-chunk must leave the fold running and the final one
// must end it: anything else throws std::logic_error naming the op, the tile and both numbers
// (cycle equality is what `lbsim verify` proves; a run must fail rather than silently diverge).
//
// Counters: the array registers its per-PE activity counters (operand_reg_writes,
// psum_reg_writes, idle_pe_cycles) in the PE array's StatGroup; this module adds cycle_gemms. The
// PE array module charges compute_cycles (edges), mac_ops (MACs issued by the PEs, macs_issued()),
// busy_cycles, folds and jobs under their timing-mode names and meanings.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/arch/arch_config.h"
#include "models/core/stats.h"
#include "models/sim_plan/sim_plan.h"
#include "models/workload/workload.h"
#include "sim/modules/cycle_array.h"
#include "sim/modules/cycle_clock.h"
#include "sim/modules/random_gemm.h"
#include "sim/modules/work_job.h"

namespace lbsim {

// What cycle fidelity needs besides the plan: per op (index = SimPlan::ops index) the formats
// and roles of the GEMM's operands (empty for element-wise ops), and the seed of the operands.
struct CycleSetup {
  struct Operands {
    FormatPtr a, b;
    Role a_role = Role::kActivation, b_role = Role::kWeight;
  };
  const ArchConfig* arch = nullptr;
  const SimPlan* plan = nullptr;
  std::vector<Operands> ops;
  uint64_t seed = 0;
};

// Builds the setup before anything is elaborated. UserError when the run cannot be simulated at
// cycle fidelity: pe_array.scalesim_compat (SCALE-Sim's count is one cycle per GEMM less than the
// clocked array takes) or a GEMM whose two operand formats cannot share a MAC array (float x
// fixed, from a layer's precision), prefixed with "layer <name> <phase> <op>: ".
CycleSetup prepare_cycle_setup(const ArchConfig& arch, const Workload& workload,
                               const SimPlan& plan, uint64_t seed);

class CycleCompute {
 public:
  // Builds the gated clock and the clocked array (children of the calling module); `setup` and
  // the plan it points to must outlive the simulation.
  CycleCompute(const CycleSetup& setup, const CycleClock& clock, StatGroup& stats);
  // From the PE array's SC_THREAD at the cycle the job's compute starts: runs the job's folds on
  // the clocked array and returns after its last edge, with the number of edges (see the checks
  // above).
  int64_t compute(const WorkJob& job);
  // MACs issued by the PEs over all finished array GEMMs.
  uint64_t macs_issued() const { return m_array.macs_issued(); }
  // Per-PE activity over all finished array GEMMs.
  const PeActivity& pe_activity() const { return m_array.pe_activity(); }

 private:
  void start_op(int32_t op);
  void next_tile();
  // Starts the array on a random GEMM of the given array-coordinate extents (rows, columns,
  // time) for the current tile.
  void start_gemm(int64_t rows_extent, int64_t cols_extent, int64_t t_extent, uint64_t sub);
  // Grants `edges` (-1: to the end of the GEMM), waits until the array stops, returns the edges.
  int64_t clock(int64_t edges);
  std::string where() const;  // "layer l phase op, tile i" for errors
  [[noreturn]] void fail(const std::string& what) const;

  const CycleSetup& m_setup;
  const CycleClock& m_clock;
  AccumulatorSpec m_acc;
  int64_t m_rows, m_cols;
  GatedClock m_gate;
  CycleArray m_array;
  uint64_t& m_gemms;
  // The op being run and its position in the tile sequence.
  int32_t m_op = -1;
  const std::vector<TileRun>* m_runs = nullptr;
  std::unique_ptr<TilePlan> m_replanned;
  size_t m_run = 0;
  int64_t m_in_run = -1;
  int64_t m_tile = -1;  // tile index in the op (all groups and samples)
  int64_t m_tile_folds_done = 0;
  int64_t m_chunk_edges = 0;  // edges of the running T-chunked fold so far
  OwnedGemm m_gemm;           // the array's current GEMM (the array reads it while it runs)
};

}  // namespace lbsim
