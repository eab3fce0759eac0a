#include "sim/top/accelerator_top.h"

namespace lbsim {

AcceleratorTop::AcceleratorTop(sc_core::sc_module_name name, const ArchConfig& arch,
                               const SimPlan& plan, RunLedger& ledger, StatGroup& stats,
                               const CycleSetup* cycle)
    : sc_core::sc_module(name),
      m_clock(arch.clock_mhz),
      m_jobs("jobs", 2),
      m_loaded_gemm("loaded_gemm", 2),
      m_loaded_vector("loaded_vector", 2),
      m_computed_gemm("computed_gemm", 2),
      m_computed_vector("computed_vector", 2),
      m_quantized("quantized", 2),
      m_done("done", 1) {
  const bool unified = arch.buffers.unified;
  m_controller =
      std::make_unique<ControllerModule>("controller", plan, arch.quant_elements_per_cycle, m_clock,
                                         ledger, stats.child("controller"));
  m_dma = std::make_unique<DmaModule>("dma", unified, ledger, stats.child("dma"));
  m_dram = std::make_unique<DramModule>("dram", arch.dram, m_clock, stats.child("dram"));
  if (unified) {
    m_global = std::make_unique<BufferModule>("global_buffer", arch.buffers.global, m_clock,
                                              stats.child("global_buffer"));
  } else {
    m_ifmap = std::make_unique<BufferModule>("ifmap_buffer", arch.buffers.ifmap, m_clock,
                                             stats.child("ifmap_buffer"));
    m_filter = std::make_unique<BufferModule>("filter_buffer", arch.buffers.filter, m_clock,
                                              stats.child("filter_buffer"));
    m_ofmap = std::make_unique<BufferModule>("ofmap_buffer", arch.buffers.ofmap, m_clock,
                                             stats.child("ofmap_buffer"));
  }
  m_pe_array = std::make_unique<PeArrayModule>("pe_array", unified, m_clock, ledger,
                                               stats.child("pe_array"), cycle);
  m_vector = std::make_unique<VectorUnitModule>("vector_unit", unified, m_clock, ledger,
                                                stats.child("vector_unit"));
  m_quant =
      std::make_unique<QuantUnitModule>("quant_unit", m_clock, ledger, stats.child("quant_unit"));

  BufferModule& ifmap = unified ? *m_global : *m_ifmap;
  BufferModule& filter = unified ? *m_global : *m_filter;
  BufferModule& ofmap = unified ? *m_global : *m_ofmap;

  m_controller->jobs_out(m_jobs);
  m_controller->done_in(m_done);

  m_dma->jobs_in(m_jobs);
  m_dma->to_pe_array(m_loaded_gemm);
  m_dma->to_vector(m_loaded_vector);
  m_dma->store_in(m_quantized);
  m_dma->done_out(m_done);
  m_dma->dram(*m_dram);
  m_dma->ifmap(ifmap);
  m_dma->filter(filter);
  m_dma->ofmap(ofmap);

  m_pe_array->in(m_loaded_gemm);
  m_pe_array->out(m_computed_gemm);
  m_pe_array->ifmap(ifmap);
  m_pe_array->filter(filter);
  m_pe_array->ofmap(ofmap);

  m_vector->in(m_loaded_vector);
  m_vector->out(m_computed_vector);
  m_vector->ifmap(ifmap);
  m_vector->ofmap(ofmap);

  m_quant->from_pe_array(m_computed_gemm);
  m_quant->from_vector(m_computed_vector);
  m_quant->out(m_quantized);
}

}  // namespace lbsim
