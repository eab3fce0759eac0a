#include "sim/modules/quant_unit_module.h"

namespace lbsim {

QuantUnitModule::QuantUnitModule(sc_core::sc_module_name name, const CycleClock& clock,
                                 RunLedger& ledger, StatGroup& stats)
    : sc_core::sc_module(name),
      from_pe_array("from_pe_array"),
      from_vector("from_vector"),
      out("out"),
      m_clock(clock),
      m_ledger(ledger),
      m_ops(stats.counter("ops", "ops",
                          "quantization ops: elements x per-format ops (max, scale, encode, SR)")),
      m_elements(stats.counter("elements", "elements", "elements quantized")),
      m_busy(stats.counter("busy_cycles", "cycles", "cycles the unit worked")) {
  SC_THREAD(run);
}

void QuantUnitModule::run() {
  for (;;) {
    WorkJob job;
    while (!from_pe_array->nb_read(job) && !from_vector->nb_read(job))
      wait(from_pe_array->data_written_event() | from_vector->data_written_event());
    const WorkItem& it = job.item;
    if (it.quant_cycles > 0) wait(m_clock.cycles(it.quant_cycles));
    m_busy += static_cast<uint64_t>(it.quant_cycles);
    m_ops += static_cast<uint64_t>(it.quant_ops);
    m_elements += static_cast<uint64_t>(it.quant_elements);
    m_ledger.ops[job.op].quant_ops += it.quant_ops;
    out->write(job);
  }
}

}  // namespace lbsim
