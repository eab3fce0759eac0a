// PE array. For each loaded GEMM job, in order: take an ofmap slot (the half of the ofmap buffer
// its results go to; it is freed when the DMA store has drained it), compute the job, then count
// the SRAM traffic the tiling model charges the tile (operand reads; partial-sum and output reads
// and writes of the ofmap buffer), release the ifmap and filter slots, and pass the job to the
// quant unit. The array never waits for memory inside a job: stalls happen only between jobs, when
// the next one has not arrived.
//
// Computing a job depends on the fidelity (pe_array.fidelity, or `lbsim run --mode`):
//   timing  be busy for exactly the job's compute cycles (the closed-form systolic cycles of its
//           folds, models/mac/systolic.h);
//   cycle   hand the job's folds to the clocked cycle-level array (CycleCompute,
//           sim/modules/cycle_compute.h, owned here) and wait until it has clocked them; its edges
//           must equal the job's compute cycles (std::logic_error otherwise), so every other
//           module, the ledger and layers.csv see exactly what timing mode sees. compute_cycles
//           are then the edges the array took and mac_ops the MACs its PEs issued; the array adds
//           its per-PE activity counters (operand_reg_writes, psum_reg_writes, idle_pe_cycles)
//           and cycle_gemms to this module's StatGroup.
#pragma once

#include <memory>
#include <systemc>

#include "models/core/stats.h"
#include "sim/modules/buffer_module.h"
#include "sim/modules/cycle_clock.h"
#include "sim/modules/cycle_compute.h"
#include "sim/modules/run_ledger.h"
#include "sim/modules/work_job.h"

namespace lbsim {

class PeArrayModule : public sc_core::sc_module {
 public:
  sc_core::sc_fifo_in<WorkJob> in;    // loaded jobs from the DMA
  sc_core::sc_fifo_out<WorkJob> out;  // computed jobs to the quant unit
  sc_core::sc_port<IBufferIf> ifmap, filter, ofmap;

  SC_HAS_PROCESS(PeArrayModule);
  // `cycle` != nullptr: cycle fidelity (it must outlive the simulation).
  PeArrayModule(sc_core::sc_module_name name, bool unified, const CycleClock& clock,
                RunLedger& ledger, StatGroup& stats, const CycleSetup* cycle = nullptr);
  // Cycle fidelity: the clocked array's per-PE activity; null at timing fidelity.
  const PeActivity* pe_activity() const;

 private:
  void run();
  bool m_unified;
  const CycleClock& m_clock;
  RunLedger& m_ledger;
  uint64_t &m_compute, &m_busy, &m_macs, &m_folds, &m_jobs;
  std::unique_ptr<CycleCompute> m_cycle;
};

}  // namespace lbsim
