#include "sim/modules/buffer_module.h"

namespace lbsim {

BufferModule::BufferModule(sc_core::sc_module_name name, const BufferConfig& cfg,
                           const CycleClock& clock, StatGroup& stats)
    : sc_core::sc_module(name),
      m_clock(clock),
      m_slot_count(cfg.double_buffered ? 2 : 1),
      m_slots("slots", m_slot_count),
      m_read_bytes(stats.counter("read_bytes", "bytes", "bytes read from this SRAM")),
      m_write_bytes(stats.counter("write_bytes", "bytes", "bytes written into this SRAM")),
      m_slot_wait(
          stats.counter("slot_wait_cycles", "cycles",
                        "cycles jobs waited for a free slot (loader: inputs; compute: outputs)")) {
  stats.counter("capacity_bytes", "bytes", "configured capacity") =
      static_cast<uint64_t>(cfg.capacity_bytes);
  stats.counter("slots", "slots", "tiles in flight: 2 when double-buffered, else 1") =
      static_cast<uint64_t>(m_slot_count);
}

void BufferModule::acquire_slot() {
  if (m_slots.trywait() == 0) return;
  const int64_t t0 = m_clock.now();
  m_slots.wait();
  m_slot_wait += static_cast<uint64_t>(m_clock.now() - t0);
}

void BufferModule::release_slot() { m_slots.post(); }

}  // namespace lbsim
