#include "sim/modules/dma_module.h"

namespace lbsim {

DmaModule::DmaModule(sc_core::sc_module_name name, bool unified, RunLedger& ledger,
                     StatGroup& stats)
    : sc_core::sc_module(name),
      jobs_in("jobs_in"),
      to_pe_array("to_pe_array"),
      to_vector("to_vector"),
      store_in("store_in"),
      done_out("done_out"),
      dram("dram"),
      ifmap("ifmap"),
      filter("filter"),
      ofmap("ofmap"),
      m_unified(unified),
      m_ledger(ledger),
      m_loads(stats.counter("load_jobs", "jobs", "jobs the load engine brought into the buffers")),
      m_stores(stats.counter("store_jobs", "jobs", "jobs the store engine drained")),
      m_load_wait(stats.counter("load_dram_cycles", "cycles",
                                "cycles the load engine waited for DRAM reads to complete")),
      m_store_wait(stats.counter("store_dram_cycles", "cycles",
                                 "cycles the store engine waited for DRAM writes to complete")) {
  SC_THREAD(load_thread);
  SC_THREAD(store_thread);
}

void DmaModule::load_thread() {
  for (;;) {
    WorkJob job = jobs_in->read();
    if (m_unified) {
      ofmap->acquire_slot();  // the global buffer: one slot per job, released after the store
    } else {
      ifmap->acquire_slot();
      if (job.gemm) filter->acquire_slot();
    }
    const TileDemand& d = job.item.demand;
    const int64_t bytes = d.dram_read_bytes();
    if (bytes > 0)
      m_load_wait +=
          static_cast<uint64_t>(dram->transfer(IDramIf::kLoadEngine, DramDir::kRead, bytes));
    ifmap->count_write(d.sram_write_ifmap_bytes);
    filter->count_write(d.sram_write_filter_bytes);
    m_ledger.ops[job.op].dram_read_bytes += bytes;
    ++m_loads;
    if (job.gemm)
      to_pe_array->write(job);
    else
      to_vector->write(job);
  }
}

void DmaModule::store_thread() {
  for (;;) {
    WorkJob job = store_in->read();
    const int64_t bytes = job.item.demand.dram_write_bytes();
    if (bytes > 0)
      m_store_wait +=
          static_cast<uint64_t>(dram->transfer(IDramIf::kStoreEngine, DramDir::kWrite, bytes));
    m_ledger.ops[job.op].dram_write_bytes += bytes;
    ++m_stores;
    ofmap->release_slot();
    if (job.item.last) done_out->write(job.op);
  }
}

}  // namespace lbsim
