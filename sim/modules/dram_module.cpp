#include "sim/modules/dram_module.h"

#include <algorithm>
#include <cmath>

namespace lbsim {

int64_t dram_transfer_cycles(int64_t bytes, double bytes_per_cycle) {
  if (bytes <= 0) return 0;
  const double q = static_cast<double>(bytes) / bytes_per_cycle;
  const double r = std::round(q);
  if (std::fabs(q - r) <= 1e-9 * std::max(1.0, r)) return std::max<int64_t>(1, std::llround(r));
  return static_cast<int64_t>(std::ceil(q));
}

DramModule::DramModule(sc_core::sc_module_name name, const DramConfig& cfg, const CycleClock& clock,
                       StatGroup& stats)
    : sc_core::sc_module(name),
      m_cfg(cfg),
      m_clock(clock),
      m_read_bytes(stats.counter("read_bytes", "bytes", "bytes read from DRAM")),
      m_write_bytes(stats.counter("write_bytes", "bytes", "bytes written to DRAM")),
      m_reads(stats.counter("read_requests", "requests", "read requests (one per DMA load)")),
      m_writes(stats.counter("write_requests", "requests", "write requests (one per DMA store)")),
      m_busy(
          stats.counter("busy_cycles", "cycles",
                        "cycles the data bus transferred: sum of ceil(bytes / bytes_per_cycle)")),
      m_queue_cycles(stats.counter("queue_cycles", "cycles",
                                   "cycles requests waited for the bus behind earlier ones")) {}

int64_t DramModule::transfer(DramDir dir, int64_t bytes) {
  if (bytes <= 0) return 0;
  const int64_t now = m_clock.now();
  const int64_t start = std::max(now, m_bus_free);
  const int64_t xfer = dram_transfer_cycles(bytes, m_cfg.bytes_per_cycle);
  m_bus_free = start + xfer;
  const int64_t done = start + m_cfg.latency_cycles + xfer;
  m_busy += static_cast<uint64_t>(xfer);
  m_queue_cycles += static_cast<uint64_t>(start - now);
  if (dir == DramDir::kRead) {
    m_read_bytes += static_cast<uint64_t>(bytes);
    ++m_reads;
  } else {
    m_write_bytes += static_cast<uint64_t>(bytes);
    ++m_writes;
  }
  if (done > now) wait(m_clock.cycles(done - now));
  return done - now;
}

}  // namespace lbsim
