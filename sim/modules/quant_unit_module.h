// Quantization unit: converts each produced tensor (fp32 results) into the format its consumer
// expects, between compute and store, so it works on job i while the array computes job i+1.
// For each computed job (from the PE array or the vector unit; ops run one at a time, so the
// two inputs never interleave within an op), in order: busy for the job's quant cycles
// (ceil(quantized elements / elements_per_cycle) when the format needs work, else 0), count the
// quantization ops (elements x the format's ops per element, models/sim_plan/sim_plan.h), pass the
// job to the DMA store engine.
#pragma once

#include <systemc>

#include "models/core/stats.h"
#include "sim/modules/cycle_clock.h"
#include "sim/modules/run_ledger.h"
#include "sim/modules/work_job.h"

namespace lbsim {

class QuantUnitModule : public sc_core::sc_module {
 public:
  sc_core::sc_fifo_in<WorkJob> from_pe_array, from_vector;
  sc_core::sc_fifo_out<WorkJob> out;

  SC_HAS_PROCESS(QuantUnitModule);
  QuantUnitModule(sc_core::sc_module_name name, const CycleClock& clock, RunLedger& ledger,
                  StatGroup& stats);

 private:
  void run();
  const CycleClock& m_clock;
  RunLedger& m_ledger;
  uint64_t &m_ops, &m_elements, &m_busy;
};

}  // namespace lbsim
