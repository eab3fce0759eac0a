// One DRAM channel (timing mode). A hierarchical channel: the DMA engines call transfer() through
// an sc_port<IDramIf>, which blocks the calling thread until the request completes.
//
// Timing contract. Requests are served in the order they arrive (simulation time order); reads
// and writes share one data bus. Requests that arrive in the same cycle are served in ascending
// requester id (IDramIf::kLoadEngine before kStoreEngine), then in call order for one requester,
// whatever order the kernel happens to run the requesting processes in: the DRAM collects a
// cycle's requests and arbitrates once no process can still run at that time
// (sc_pending_activity_at_current_time), so results never depend on SystemC's process order. A
// request of b bytes arriving at cycle t starts its transfer at s = max(t, bus_free), occupies the
// bus for x = ceil(b / bytes_per_cycle) cycles (bus_free = s + x), and completes at s + latency +
// x: the access latency is pipelined across requests (the next request's transfer can start while
// this one's latency elapses), the bandwidth is not. Hence n bytes can never move in fewer than n /
// bytes_per_cycle cycles, and an isolated request costs exactly latency + ceil(b /
// bytes_per_cycle). Zero-byte requests are not made (the DMA skips them). Bursts are not modelled
// in time (burst_bytes is for energy).
#pragma once

#include <cstdint>
#include <systemc>
#include <vector>

#include "models/arch/arch_config.h"
#include "models/core/stats.h"
#include "sim/modules/cycle_clock.h"

namespace lbsim {

enum class DramDir { kRead, kWrite };

class IDramIf : public virtual sc_core::sc_interface {
 public:
  // Requester ids: the arbitration key of same-cycle requests (lower first).
  static constexpr int kLoadEngine = 0;
  static constexpr int kStoreEngine = 1;
  // Blocks until `bytes` (> 0) have moved; returns the cycles the caller waited.
  virtual int64_t transfer(int requester, DramDir dir, int64_t bytes) = 0;
};

// ceil(bytes / bytes_per_cycle) with a tolerance of 1e-9 relative for quotients that are whole
// numbers up to floating-point noise (25.6 bytes per cycle and 256 bytes is 10 cycles, not 11).
int64_t dram_transfer_cycles(int64_t bytes, double bytes_per_cycle);

class DramModule : public sc_core::sc_module, public IDramIf {
 public:
  SC_HAS_PROCESS(DramModule);
  DramModule(sc_core::sc_module_name name, const DramConfig& cfg, const CycleClock& clock,
             StatGroup& stats);
  int64_t transfer(int requester, DramDir dir, int64_t bytes) override;

 private:
  struct Request {
    int requester = 0;
    uint64_t seq = 0;  // call order (ties within one requester)
    DramDir dir = DramDir::kRead;
    int64_t bytes = 0;
    int64_t done = 0;  // completion cycle, set by the arbiter
    sc_core::sc_event served;
  };
  void arbiter();  // SC_THREAD: serves each cycle's requests in key order
  int64_t serve(Request& r, int64_t now);

  std::vector<Request*> m_pending;
  sc_core::sc_event m_arrived;
  uint64_t m_seq = 0;
  DramConfig m_cfg;
  const CycleClock& m_clock;
  int64_t m_bus_free = 0;  // first cycle the data bus is free
  uint64_t &m_read_bytes, &m_write_bytes, &m_reads, &m_writes, &m_busy, &m_queue_cycles;
};

}  // namespace lbsim
