// One on-chip SRAM buffer (ifmap, filter, ofmap, or one global buffer) at tile granularity.
//
// Capacity is enforced by the tiling model (a tile's blocks fit the usable bytes, tiling.h); in
// time the buffer enforces *slots*: 2 when double-buffered (one tile's blocks are used while the
// next tile's arrive), else 1. Input buffers (ifmap, filter): the DMA load engine acquires a slot
// before filling it, the compute unit releases it after computing. Output buffer (ofmap): the
// compute unit acquires a slot before computing (its results land there), the DMA store engine
// releases it after draining it to DRAM. A global buffer holds one slot per job, acquired by the
// load engine and released after the store. The buffer
// also counts the SRAM bytes the tiling model charges (read_bytes, write_bytes), bumped by the
// module that moves them. Banks and ports are not modelled in time (tile-level model).
#pragma once

#include <cstdint>
#include <string>
#include <systemc>

#include "models/arch/arch_config.h"
#include "models/core/stats.h"
#include "sim/modules/cycle_clock.h"

namespace lbsim {

class IBufferIf : public virtual sc_core::sc_interface {
 public:
  virtual void acquire_slot() = 0;  // blocks until a slot is free
  virtual void release_slot() = 0;
  virtual void count_read(int64_t bytes) = 0;
  virtual void count_write(int64_t bytes) = 0;
};

class BufferModule : public sc_core::sc_module, public IBufferIf {
 public:
  BufferModule(sc_core::sc_module_name name, const BufferConfig& cfg, const CycleClock& clock,
               StatGroup& stats);
  void acquire_slot() override;
  void release_slot() override;
  void count_read(int64_t bytes) override { m_read_bytes += static_cast<uint64_t>(bytes); }
  void count_write(int64_t bytes) override { m_write_bytes += static_cast<uint64_t>(bytes); }
  int slots() const { return m_slot_count; }

 private:
  const CycleClock& m_clock;
  int m_slot_count;
  sc_core::sc_semaphore m_slots;
  uint64_t &m_read_bytes, &m_write_bytes, &m_slot_wait;
};

}  // namespace lbsim
