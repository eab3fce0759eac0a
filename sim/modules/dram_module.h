// One DRAM channel (timing mode). A hierarchical channel: the DMA engines call transfer() through
// an sc_port<IDramIf>, which blocks the calling thread until the request completes.
//
// Timing contract. Requests are served in the order they arrive (call order, which is simulation
// time order); reads and writes share one data bus. A request of b bytes arriving at cycle t
// starts its transfer at s = max(t, bus_free), occupies the bus for x = ceil(b / bytes_per_cycle)
// cycles (bus_free = s + x), and completes at s + latency + x: the access latency is pipelined
// across requests (the next request's transfer can start while this one's latency elapses), the
// bandwidth is not. Hence n bytes can never move in fewer than n / bytes_per_cycle cycles, and an
// isolated request costs exactly latency + ceil(b / bytes_per_cycle). Zero-byte requests are not
// made (the DMA skips them). Bursts are not modelled in time (burst_bytes is for energy).
#pragma once

#include <cstdint>
#include <systemc>

#include "models/arch/arch_config.h"
#include "models/core/stats.h"
#include "sim/modules/cycle_clock.h"

namespace lbsim {

enum class DramDir { kRead, kWrite };

class IDramIf : public virtual sc_core::sc_interface {
 public:
  // Blocks until `bytes` (> 0) have moved; returns the cycles the caller waited.
  virtual int64_t transfer(DramDir dir, int64_t bytes) = 0;
};

// ceil(bytes / bytes_per_cycle) with a tolerance of 1e-9 relative for quotients that are whole
// numbers up to floating-point noise (25.6 bytes per cycle and 256 bytes is 10 cycles, not 11).
int64_t dram_transfer_cycles(int64_t bytes, double bytes_per_cycle);

class DramModule : public sc_core::sc_module, public IDramIf {
 public:
  DramModule(sc_core::sc_module_name name, const DramConfig& cfg, const CycleClock& clock,
             StatGroup& stats);
  int64_t transfer(DramDir dir, int64_t bytes) override;

 private:
  DramConfig m_cfg;
  const CycleClock& m_clock;
  int64_t m_bus_free = 0;  // first cycle the data bus is free
  uint64_t &m_read_bytes, &m_write_bytes, &m_reads, &m_writes, &m_busy, &m_queue_cycles;
};

}  // namespace lbsim
