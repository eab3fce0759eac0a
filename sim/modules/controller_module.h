// Controller: walks the ops of the simulation plan in training order (models/sim_plan/sim_plan.h)
// and, for each op, its work items in loop order (the tiling loop nest of the dataflow, groups
// and samples repeating it; steps and chunks as the plan says), issuing one job per item to the
// DMA load engine (a blocking sc_fifo write: the DMA's slots pace the controller). Ops run one
// after another: the next op's first job is issued when the previous op's last store completed,
// so an op's cycles are [its first issue, its last store] and the ops' cycles add up to the total.
#pragma once

#include <array>
#include <systemc>

#include "models/core/stats.h"
#include "models/sim_plan/sim_plan.h"
#include "sim/modules/cycle_clock.h"
#include "sim/modules/run_ledger.h"
#include "sim/modules/work_job.h"

namespace lbsim {

class ControllerModule : public sc_core::sc_module {
 public:
  sc_core::sc_fifo_out<WorkJob> jobs_out;  // to the DMA load engine
  sc_core::sc_fifo_in<int32_t> done_in;    // op index of each finished op

  SC_HAS_PROCESS(ControllerModule);
  ControllerModule(sc_core::sc_module_name name, const SimPlan& plan,
                   int64_t quant_elements_per_cycle, const CycleClock& clock, RunLedger& ledger,
                   StatGroup& stats);
  int64_t end_cycle() const { return m_end; }
  bool finished() const { return m_finished; }

 private:
  void run();
  struct PhaseCounters {
    uint64_t *cycles, *compute, *stall, *macs, *dram_read, *dram_write, *quant, *vector;
  };
  const SimPlan& m_plan;
  int64_t m_qepc;
  const CycleClock& m_clock;
  RunLedger& m_ledger;
  StatGroup& m_phase_stats;
  int64_t m_end = 0;
  bool m_finished = false;
  uint64_t &m_ops, &m_gemm_ops, &m_vector_ops, &m_tiles, &m_jobs, &m_cycles;
  std::array<PhaseCounters, 4> m_phase{};  // indexed by Phase
};

}  // namespace lbsim
