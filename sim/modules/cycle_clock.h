// Time in cycles of the array clock (clock_mhz). Every timed wait of the modules is a whole number
// of clock periods, so sc_time_stamp() / period is always an exact cycle count; the period itself
// is the clock period rounded to the kernel's time resolution (1 ps by default), which only
// affects how sc_time reads in seconds, never a cycle count (reports use cycles / clock_mhz).
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <systemc>
#include <utility>

namespace lbsim {

class CycleClock {
 public:
  explicit CycleClock(double clock_mhz)
      : m_period(sc_core::sc_time(1000.0 / clock_mhz, sc_core::SC_NS)) {
    if (m_period.value() == 0) m_period = sc_core::sc_time::from_value(1);
  }
  // The sc_time of n cycles (n >= 0); std::overflow_error instead of a wrapped time
  // (simulate() refuses runs that could get there, so this is a guard, not a user error).
  sc_core::sc_time cycles(int64_t n) const {
    sc_dt::uint64 v = 0;
    if (n < 0 || __builtin_mul_overflow(m_period.value(), static_cast<sc_dt::uint64>(n), &v))
      throw std::overflow_error("CycleClock: " + std::to_string(n) + " cycles overflow sc_time");
    return sc_core::sc_time::from_value(v);
  }
  // The current simulation time in cycles.
  int64_t now() const {
    return static_cast<int64_t>(sc_core::sc_time_stamp().value() / m_period.value());
  }
  const sc_core::sc_time& period() const { return m_period; }

 private:
  sc_core::sc_time m_period;
};

// A gated clock (a clock-enable cell) for a clocked block inside the timing model: `clk` gets a
// rising edge at whole periods only while `wanted()` holds. Idle, it schedules nothing, so the
// kernel still runs out of events when the run ends (an sc_clock would tick forever) and a
// stalled block costs no events. Cycle n of a block's work occupies [t + n period, t + (n + 1)
// period) and starts with its rising edge: wake() at time t (a whole cycle, as every wait of the
// modules is) gives a rising edge at t itself (a delta later); after each rising edge the clock
// falls half a period later and, if `wanted()` still holds then, rises again a period after the
// last rise. A block that stops wanting edges after its edge at t and is woken again before t +
// period/2 therefore runs on without a gap; otherwise it idles until woken, at t' >= t + period.
class GatedClock : public sc_core::sc_module {
 public:
  sc_core::sc_signal<bool> clk;

  SC_HAS_PROCESS(GatedClock);
  GatedClock(sc_core::sc_module_name name, const CycleClock& clock, std::function<bool()> wanted)
      : sc_core::sc_module(name), clk("clk", false), m_wanted(std::move(wanted)) {
    const sc_dt::uint64 p = clock.period().value();
    if (p < 2) throw std::logic_error("GatedClock: the clock period must be at least 2 time units");
    m_period = clock.period();
    m_high = sc_core::sc_time::from_value(p / 2);
    m_low = sc_core::sc_time::from_value(p - p / 2);
    SC_METHOD(tick);
    sensitive << m_wake;
    dont_initialize();
  }
  // Called from a process at a whole cycle when the block wants edges: a rising edge now (a delta
  // later) when idle; no effect while running (the next edge comes a period after the last).
  void wake() {
    if (m_state == State::kIdle) m_wake.notify(sc_core::SC_ZERO_TIME);
  }

 private:
  enum class State { kIdle, kHigh, kLow };
  void tick() {
    switch (m_state) {
      case State::kIdle:  // woken: rising edge now
      case State::kLow:   // rising edge
        clk.write(true);
        m_state = State::kHigh;
        next_trigger(m_high);
        return;
      case State::kHigh:  // falling edge; go on only while the block wants edges
        clk.write(false);
        if (m_wanted()) {
          m_state = State::kLow;
          next_trigger(m_low);
        } else {
          m_state = State::kIdle;
          next_trigger();  // back to the static sensitivity: m_wake
        }
        return;
    }
  }
  std::function<bool()> m_wanted;
  sc_core::sc_time m_period, m_high, m_low;
  sc_core::sc_event m_wake;
  State m_state = State::kIdle;
};

}  // namespace lbsim
