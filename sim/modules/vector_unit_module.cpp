#include "sim/modules/vector_unit_module.h"

namespace lbsim {

VectorUnitModule::VectorUnitModule(sc_core::sc_module_name name, bool unified,
                                   const CycleClock& clock, RunLedger& ledger, StatGroup& stats)
    : sc_core::sc_module(name),
      in("in"),
      out("out"),
      ifmap("ifmap"),
      ofmap("ofmap"),
      m_unified(unified),
      m_clock(clock),
      m_ledger(ledger),
      m_ops(stats.counter("ops", "ops", "element-wise operations (elements x ops_per_element)")),
      m_busy(stats.counter("busy_cycles", "cycles", "cycles the unit computed")),
      m_jobs(stats.counter("jobs", "jobs", "element-wise chunks processed")) {
  SC_THREAD(run);
}

void VectorUnitModule::run() {
  for (;;) {
    WorkJob job = in->read();
    const WorkItem& it = job.item;
    if (!m_unified) ofmap->acquire_slot();
    if (it.compute_cycles > 0) wait(m_clock.cycles(it.compute_cycles));
    m_busy += static_cast<uint64_t>(it.compute_cycles);
    m_ops += static_cast<uint64_t>(it.vector_ops);
    ++m_jobs;
    const TileDemand& d = it.demand;
    ifmap->count_read(d.sram_read_ifmap_bytes);
    ofmap->count_read(d.sram_read_ofmap_bytes);
    ofmap->count_write(d.sram_write_ofmap_bytes);
    OpTally& t = m_ledger.ops[job.op];
    t.compute_cycles += it.compute_cycles;
    t.vector_ops += it.vector_ops;
    ++t.items;
    t.ifmap_sram_read_bytes += d.sram_read_ifmap_bytes;
    t.ofmap_sram_write_bytes += d.sram_write_ofmap_bytes;
    if (!m_unified) ifmap->release_slot();
    out->write(job);
  }
}

}  // namespace lbsim
