// Vector unit: element-wise work (normalisation, activations, pooling, residual adds, the weight
// update). For each loaded job, in order: take an ofmap slot (freed by the DMA store), be busy for
// its cycles (its share of
// ceil(vector_ops / lanes), models/sim_plan/sim_plan.h), count its SRAM reads and writes, release
// the input slot and pass the job to the quant unit.
#pragma once

#include <systemc>

#include "models/core/stats.h"
#include "sim/modules/buffer_module.h"
#include "sim/modules/cycle_clock.h"
#include "sim/modules/run_ledger.h"
#include "sim/modules/work_job.h"

namespace lbsim {

class VectorUnitModule : public sc_core::sc_module {
 public:
  sc_core::sc_fifo_in<WorkJob> in;
  sc_core::sc_fifo_out<WorkJob> out;
  sc_core::sc_port<IBufferIf> ifmap, ofmap;

  SC_HAS_PROCESS(VectorUnitModule);
  VectorUnitModule(sc_core::sc_module_name name, bool unified, const CycleClock& clock,
                   RunLedger& ledger, StatGroup& stats);

 private:
  void run();
  bool m_unified;
  const CycleClock& m_clock;
  RunLedger& m_ledger;
  uint64_t &m_ops, &m_busy, &m_jobs;
};

}  // namespace lbsim
