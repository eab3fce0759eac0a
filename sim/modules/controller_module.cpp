#include "sim/modules/controller_module.h"

#include <stdexcept>

namespace lbsim {

ControllerModule::ControllerModule(sc_core::sc_module_name name, const SimPlan& plan,
                                   int64_t quant_elements_per_cycle, const CycleClock& clock,
                                   RunLedger& ledger, StatGroup& stats)
    : sc_core::sc_module(name),
      jobs_out("jobs_out"),
      done_in("done_in"),
      m_plan(plan),
      m_qepc(quant_elements_per_cycle),
      m_clock(clock),
      m_ledger(ledger),
      m_phase_stats(stats.child("phases")),
      m_ops(stats.counter("ops", "ops", "ops executed (GEMMs and element-wise ops)")),
      m_gemm_ops(stats.counter("gemm_ops", "ops", "GEMM ops executed")),
      m_vector_ops(stats.counter("vector_ops", "ops", "element-wise ops executed")),
      m_tiles(stats.counter("tiles", "tiles", "GEMM tiles issued (all groups and samples)")),
      m_jobs(stats.counter("jobs", "jobs", "jobs issued: tiles, tile steps, element-wise chunks")),
      m_cycles(stats.counter("cycles", "cycles", "total cycles: end of the last op's last store")) {
  for (Phase p : {Phase::kFwd, Phase::kDgrad, Phase::kWgrad, Phase::kUpdate}) {
    StatGroup& g = m_phase_stats.child(phase_name(p));
    PhaseCounters& c = m_phase[static_cast<size_t>(p)];
    c.cycles = &g.counter("cycles", "cycles", "cycles of this phase's ops");
    c.compute = &g.counter("compute_cycles", "cycles", "PE array and vector unit compute cycles");
    c.stall = &g.counter("stall_cycles", "cycles", "cycles - compute_cycles");
    c.macs = &g.counter("mac_ops", "ops", "multiply-accumulates");
    c.dram_read = &g.counter("dram_read_bytes", "bytes", "bytes read from DRAM");
    c.dram_write = &g.counter("dram_write_bytes", "bytes", "bytes written to DRAM");
    c.quant = &g.counter("quant_ops", "ops", "quantization ops");
    c.vector = &g.counter("vector_ops", "ops", "element-wise ops");
  }
  SC_THREAD(run);
}

void ControllerModule::run() {
  for (size_t i = 0; i < m_plan.ops.size(); ++i) {
    const OpWork& op = m_plan.ops[i];
    OpTally& t = m_ledger.ops[i];
    t.start = m_clock.now();
    WorkCursor cursor(op, m_qepc);
    WorkJob job;
    job.op = static_cast<int32_t>(i);
    job.gemm = op.kind == OpKind::kGemm;
    int64_t issued = 0;
    while (cursor.next(job.item)) {
      if (job.gemm && job.item.first_of_tile) ++m_tiles;
      ++m_jobs;
      ++issued;
      jobs_out->write(job);
    }
    if (issued > 0) {
      const int32_t done = done_in->read();
      if (done != job.op) throw std::logic_error("controller: ops completed out of order");
    }
    t.end = m_clock.now();
    t.done = true;
    ++m_ops;
    ++(job.gemm ? m_gemm_ops : m_vector_ops);
    PhaseCounters& c = m_phase[static_cast<size_t>(op.phase)];
    const int64_t cycles = t.end - t.start;
    *c.cycles += static_cast<uint64_t>(cycles);
    *c.compute += static_cast<uint64_t>(t.compute_cycles);
    *c.stall += static_cast<uint64_t>(cycles - t.compute_cycles);
    *c.macs += static_cast<uint64_t>(t.macs);
    *c.dram_read += static_cast<uint64_t>(t.dram_read_bytes);
    *c.dram_write += static_cast<uint64_t>(t.dram_write_bytes);
    *c.quant += static_cast<uint64_t>(t.quant_ops);
    *c.vector += static_cast<uint64_t>(t.vector_ops);
    if (m_ledger.on_op_done)
      m_ledger.on_op_done(static_cast<int64_t>(i + 1), static_cast<int64_t>(m_plan.ops.size()),
                          phase_name(op.phase));
  }
  m_end = m_clock.now();
  m_cycles = static_cast<uint64_t>(m_end);
  m_finished = true;
}

}  // namespace lbsim
