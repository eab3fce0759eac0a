#include "sim/modules/pe_array_module.h"

namespace lbsim {

PeArrayModule::PeArrayModule(sc_core::sc_module_name name, bool unified, const CycleClock& clock,
                             RunLedger& ledger, StatGroup& stats, const CycleSetup* cycle)
    : sc_core::sc_module(name),
      in("in"),
      out("out"),
      ifmap("ifmap"),
      filter("filter"),
      ofmap("ofmap"),
      m_unified(unified),
      m_clock(clock),
      m_ledger(ledger),
      m_compute(stats.counter("compute_cycles", "cycles",
                              cycle ? "cycles charged for all tiles: the rising edges the clocked "
                                      "array took (equal to the closed-form systolic cycles)"
                                    : "closed-form systolic cycles charged for all tiles")),
      m_busy(stats.counter("busy_cycles", "cycles",
                           "cycles the array held a tile (equals compute_cycles in timing mode)")),
      m_macs(stats.counter("mac_ops", "ops",
                           cycle ? "multiply-accumulates issued by the PEs of the clocked array"
                                 : "multiply-accumulates performed")),
      m_folds(stats.counter("folds", "folds", "folds (or fold segments) run")),
      m_jobs(stats.counter("jobs", "jobs", "tiles or tile steps computed")) {
  if (cycle != nullptr) m_cycle = std::make_unique<CycleCompute>(*cycle, clock, stats);
  SC_THREAD(run);
}

void PeArrayModule::run() {
  for (;;) {
    WorkJob job = in->read();
    const WorkItem& it = job.item;
    if (!m_unified) ofmap->acquire_slot();
    const int64_t t0 = m_clock.now();
    if (m_cycle) {
      const uint64_t macs0 = m_cycle->macs_issued();
      m_compute += static_cast<uint64_t>(m_cycle->compute(job));  // == it.compute_cycles
      m_macs += m_cycle->macs_issued() - macs0;
    } else {
      if (it.compute_cycles > 0) wait(m_clock.cycles(it.compute_cycles));
      m_compute += static_cast<uint64_t>(it.compute_cycles);
      m_macs += static_cast<uint64_t>(it.macs);
    }
    m_busy += static_cast<uint64_t>(m_clock.now() - t0);
    m_folds += static_cast<uint64_t>(it.folds);
    ++m_jobs;
    const TileDemand& d = it.demand;
    ifmap->count_read(d.sram_read_ifmap_bytes);
    filter->count_read(d.sram_read_filter_bytes);
    ofmap->count_read(d.sram_read_ofmap_bytes);
    ofmap->count_write(d.sram_write_ofmap_bytes);
    OpTally& t = m_ledger.ops[job.op];
    t.compute_cycles += it.compute_cycles;
    t.macs += it.macs;
    t.folds += it.folds;
    ++t.items;
    t.ifmap_sram_read_bytes += d.sram_read_ifmap_bytes;
    t.filter_sram_read_bytes += d.sram_read_filter_bytes;
    t.ofmap_sram_write_bytes += d.sram_write_ofmap_bytes;
    if (!m_unified) {
      ifmap->release_slot();
      filter->release_slot();
    }
    out->write(job);
  }
}

const PeActivity* PeArrayModule::pe_activity() const {
  return m_cycle ? &m_cycle->pe_activity() : nullptr;
}

}  // namespace lbsim
