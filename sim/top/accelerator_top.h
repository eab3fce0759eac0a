// The module tree of one accelerator in timing mode (docs/design.md §3), built from a validated
// ArchConfig and a SimPlan:
//
//   ControllerModule --jobs--> DmaModule.load --loaded--> PeArrayModule ----+
//          ^                      |     ^               \-> VectorUnitModule-+-> QuantUnitModule
//          |                      v     | slots                                      |
//          +------done------ DmaModule.store <---------------quantized---------------+
//                                 |  (both engines)
//                                 v
//                             DramModule          BufferModule x3 (ifmap, filter, ofmap) or x1
//
// Jobs move through sc_fifo channels (depth 2; buffer slots bound the jobs in flight, so only the
// controller's fifo ever blocks a writer); the DRAM and the buffers are hierarchical channels the
// other modules reach through sc_ports (DramModule::transfer, BufferModule slots and counters).
// Every module registers its counters under `stats` at construction.
//
// At cycle fidelity (`cycle` given) the tree is the same; the PE array module additionally owns the
// clocked cycle-level array and its gated clock (sim/modules/cycle_compute.h), which compute the
// GEMM jobs in place of the closed-form wait.
#pragma once

#include <memory>
#include <systemc>

#include "models/arch/arch_config.h"
#include "models/core/stats.h"
#include "models/sim_plan/sim_plan.h"
#include "sim/modules/buffer_module.h"
#include "sim/modules/controller_module.h"
#include "sim/modules/cycle_clock.h"
#include "sim/modules/cycle_compute.h"
#include "sim/modules/dma_module.h"
#include "sim/modules/dram_module.h"
#include "sim/modules/pe_array_module.h"
#include "sim/modules/quant_unit_module.h"
#include "sim/modules/run_ledger.h"
#include "sim/modules/vector_unit_module.h"
#include "sim/modules/work_job.h"

namespace lbsim {

class AcceleratorTop : public sc_core::sc_module {
 public:
  AcceleratorTop(sc_core::sc_module_name name, const ArchConfig& arch, const SimPlan& plan,
                 RunLedger& ledger, StatGroup& stats, const CycleSetup* cycle = nullptr);
  const ControllerModule& controller() const { return *m_controller; }
  const PeArrayModule& pe_array() const { return *m_pe_array; }

 private:
  CycleClock m_clock;
  sc_core::sc_fifo<WorkJob> m_jobs, m_loaded_gemm, m_loaded_vector, m_computed_gemm,
      m_computed_vector, m_quantized;
  sc_core::sc_fifo<int32_t> m_done;
  std::unique_ptr<ControllerModule> m_controller;
  std::unique_ptr<DmaModule> m_dma;
  std::unique_ptr<DramModule> m_dram;
  std::unique_ptr<BufferModule> m_ifmap, m_filter, m_ofmap, m_global;
  std::unique_ptr<PeArrayModule> m_pe_array;
  std::unique_ptr<VectorUnitModule> m_vector;
  std::unique_ptr<QuantUnitModule> m_quant;
};

}  // namespace lbsim
