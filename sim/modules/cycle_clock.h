// Time in cycles of the array clock (clock_mhz). Every timed wait of the modules is a whole number
// of clock periods, so sc_time_stamp() / period is always an exact cycle count; the period itself
// is the clock period rounded to the kernel's time resolution (1 ps by default), which only
// affects how sc_time reads in seconds, never a cycle count (reports use cycles / clock_mhz).
#pragma once

#include <cstdint>
#include <systemc>

namespace lbsim {

class CycleClock {
 public:
  explicit CycleClock(double clock_mhz)
      : m_period(sc_core::sc_time(1000.0 / clock_mhz, sc_core::SC_NS)) {
    if (m_period.value() == 0) m_period = sc_core::sc_time::from_value(1);
  }
  // The sc_time of n cycles (n >= 0).
  sc_core::sc_time cycles(int64_t n) const {
    return sc_core::sc_time::from_value(m_period.value() * static_cast<sc_dt::uint64>(n));
  }
  // The current simulation time in cycles.
  int64_t now() const {
    return static_cast<int64_t>(sc_core::sc_time_stamp().value() / m_period.value());
  }
  const sc_core::sc_time& period() const { return m_period; }

 private:
  sc_core::sc_time m_period;
};

}  // namespace lbsim
