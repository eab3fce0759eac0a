// DMA: a load engine and a store engine between the DRAM channel and the buffers.
//
// Load engine (SC_THREAD): for each job from the controller, in order: acquire a slot in each input
// buffer the job uses (GEMM: ifmap and filter; element-wise: ifmap; with a global buffer its one
// slot per job), read the job's DRAM bytes (ifmap + filter + partial-sum re-reads) in one request
// when there are any, count the fills as buffer writes, and hand the job to the PE array or the
// vector unit. With two slots it therefore loads job i+1 while job i computes. (The compute unit
// takes the ofmap slot when it starts computing.)
// Store engine (SC_THREAD): for each quantized job, in order: write its DRAM bytes (outputs +
// partial-sum spills) in one request when there are any, release the output slot, and report the
// op's last job to the controller.
#pragma once

#include <systemc>

#include "models/core/stats.h"
#include "sim/modules/buffer_module.h"
#include "sim/modules/cycle_clock.h"
#include "sim/modules/dram_module.h"
#include "sim/modules/run_ledger.h"
#include "sim/modules/work_job.h"

namespace lbsim {

class DmaModule : public sc_core::sc_module {
 public:
  sc_core::sc_fifo_in<WorkJob> jobs_in;       // from the controller
  sc_core::sc_fifo_out<WorkJob> to_pe_array;  // loaded GEMM jobs
  sc_core::sc_fifo_out<WorkJob> to_vector;    // loaded element-wise jobs
  sc_core::sc_fifo_in<WorkJob> store_in;      // quantized jobs to drain
  sc_core::sc_fifo_out<int32_t> done_out;     // op index of each op's last stored job
  sc_core::sc_port<IDramIf> dram;
  sc_core::sc_port<IBufferIf> ifmap, filter, ofmap;  // all three bound to `global` when unified

  SC_HAS_PROCESS(DmaModule);
  DmaModule(sc_core::sc_module_name name, bool unified, RunLedger& ledger, StatGroup& stats);

 private:
  void load_thread();
  void store_thread();
  bool m_unified;
  RunLedger& m_ledger;
  uint64_t &m_loads, &m_stores, &m_load_wait, &m_store_wait;
};

}  // namespace lbsim
