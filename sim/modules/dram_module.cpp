#include "sim/modules/dram_module.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace lbsim {

int64_t dram_transfer_cycles(int64_t bytes, double bytes_per_cycle) {
  if (bytes <= 0) return 0;
  const double q = static_cast<double>(bytes) / bytes_per_cycle;
  if (!(q < std::ldexp(1.0, 62)))  // also NaN: no cast of an out-of-range double
    throw std::overflow_error("DRAM: a transfer of " + std::to_string(bytes) +
                              " bytes overflows the cycle count");
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
                                   "cycles requests waited for the bus behind earlier ones")) {
  SC_THREAD(arbiter);
}

int64_t DramModule::transfer(int requester, DramDir dir, int64_t bytes) {
  if (bytes <= 0) return 0;
  const int64_t now = m_clock.now();
  Request r;
  r.requester = requester;
  r.seq = m_seq++;
  r.dir = dir;
  r.bytes = bytes;
  m_pending.push_back(&r);
  m_arrived.notify(sc_core::SC_ZERO_TIME);
  wait(r.served);
  return r.done - now;
}

void DramModule::arbiter() {
  for (;;) {
    wait(m_arrived);
    // Every process that can still run at this time may add a request of this cycle.
    while (sc_core::sc_pending_activity_at_current_time()) wait(sc_core::SC_ZERO_TIME);
    std::vector<Request*> batch;
    batch.swap(m_pending);
    std::sort(batch.begin(), batch.end(), [](const Request* a, const Request* b) {
      return a->requester != b->requester ? a->requester < b->requester : a->seq < b->seq;
    });
    const int64_t now = m_clock.now();
    for (Request* r : batch) r->served.notify(m_clock.cycles(serve(*r, now) - now));
  }
}

// Books the bus for one request arriving at `now`; returns its completion cycle.
int64_t DramModule::serve(Request& req, int64_t now) {
  const DramDir dir = req.dir;
  const int64_t bytes = req.bytes;
  const int64_t start = std::max(now, m_bus_free);
  const int64_t xfer = dram_transfer_cycles(bytes, m_cfg.bytes_per_cycle);
  int64_t done = 0;
  if (__builtin_add_overflow(start, xfer, &m_bus_free) ||
      __builtin_add_overflow(m_bus_free, m_cfg.latency_cycles, &done))
    throw std::overflow_error("DRAM: the completion cycle of a request overflows int64");
  m_busy += static_cast<uint64_t>(xfer);
  m_queue_cycles += static_cast<uint64_t>(start - now);
  if (dir == DramDir::kRead) {
    m_read_bytes += static_cast<uint64_t>(bytes);
    ++m_reads;
  } else {
    m_write_bytes += static_cast<uint64_t>(bytes);
    ++m_writes;
  }
  req.done = done;
  return done;
}

}  // namespace lbsim
