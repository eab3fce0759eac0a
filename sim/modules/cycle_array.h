// Cycle-level PE array (cycle fidelity): an R x C systolic array clocked by an sc_clock, whose PEs
// compute with the bit-level datapaths of models/mac (FloatPe / FixedPe), so a GEMM run through it
// is checked both for its values (== run_reference bit for bit) and for its cycle count (==
// plan_folds(...).compute_cycles, the closed form timing mode charges).
//
// One SC_METHOD on the clock's rising edge advances the whole array by one cycle: every PE reads
// the registers its neighbours wrote on the previous edge and writes its own (the loop runs from
// the bottom-right PE to the top-left one, so an in-place update reads last cycle's values). The
// per-PE state lives in plain arrays (operand registers, partial-sum registers, PE datapaths).
//
// Folds are run in the tiling loop order of models/memory/tiling.h (column folds outer, row folds
// inner) and each takes exactly the closed-form number of cycles, which emerges from the
// propagation of the `last` control bit through the array (a partly filled fold still clocks its
// control tokens through the unused rows and columns, as the closed form charges):
//   os  operands enter at the left (A row m = m0 + r into array row r) and top (B column n into
//       array column c) edges with the skew of their row/column: A[m][k] enters row r at fold
//       cycle k + r and moves one PE right per cycle, B[k][n] enters column c at cycle k + c and
//       moves one PE down per cycle, so PE (r, c) sees the pair of step k at cycle k + r + c. Each
//       PE owns one datapath and accumulates its own output over all K in ascending k. Each
//       operand token carries its K-segment end bit and its group index (A: the row's group of
//       that segment, B: the column's), so FixedPe::close_segment happens inside the PE right
//       after the segment's last MAC; after k = K-1 the PE finishes (tensor scales) into its
//       output register, shifted out while the next fold runs (the closed form charges no
//       drain). Fold = T + R + C - 2 cycles (last pair reaches PE (R-1, C-1) at T-1+R-1+C-1).
//   ws  stationary B[k][n] at PE (k - k0, n - n0), preloaded down the columns in R cycles;
//   is  stationary A[m][k] at PE (k - k0, m - m0) (transposed), preloaded the same way.
//       The streamed operand (ws: A row m at step t = m; is: B column n at step t = n) enters
//       array row r = k - k0 at cycle R + t + r and moves right; partial sums move down: PE (r, c)
//       takes the partial sum of output (t, c) from PE (r-1, c), adds its product and hands it on,
//       so a column reduces one output over its R rows in ascending k, and a later row fold
//       continues the same partial sum (parked between K folds). The partial sum is the whole
//       datapath state: FloatPe's fp32 F, or FixedPe's integer accumulator acc plus the fp32
//       inter-segment sum F; the partial-sum register holds a handle to that state (a pool of
//       datapath objects, one per output of the column fold), and the PE holding k runs
//       mac_decoded on it, then close_segment when k ends its K segment (the end bit rides with
//       the stationary operand; the group of the streamed operand rides with it). Segments need
//       not align with R: a segment that crosses a row-fold boundary simply leaves the bottom
//       row with acc open and the next row fold continues it, exactly as the contract's ascending
//       k loop does. Rows holding k >= K in the last row fold pass the partial sum through. The
//       bottom row of the last row fold finishes the output. Fold = T + 2R + C - 2 cycles.
// Hence every dataflow performs exactly the contract's operations in the contract's order for
// every output: all family x dataflow combinations are bit-exact.
//
// Per-PE activity is counted (operand register writes, partial-sum register writes, MACs issued,
// idle PE-cycles) into the StatGroup given at construction, next to the timing-mode names
// (compute_cycles, busy_cycles, mac_ops, folds, jobs). Every PE-cycle of the array issues a MAC
// or is idle, so idle_pe_cycles = cycles x R x C - mac_ops exactly.
//
// The module runs one GEMM at a time, in one of two modes:
//   standalone (`lbsim verify`, CycleArrayRunner): start() loads a GEMM, sc_start() runs until it
//     is done (the module calls sc_pause()), results are read back, and the next GEMM can be
//     started. It registers all eight counters above.
//   embedded (`lbsim run` at cycle fidelity, sim/modules/cycle_compute.h): the array is part of
//     the timing model's module tree and is clocked by a GatedClock (sim/modules/cycle_clock.h)
//     that runs only while the array wants edges. The owner calls start(), then grant(n) (at most
//     n more rising edges; -1 = until the GEMM ends) and waits for stopped_event(), notified on
//     the edge that ends the GEMM or uses up the grant; a grant lets the owner stop the array
//     between the T-chunks of one fold (a stall between work items: the clock is gated, every
//     register holds). In this mode the array registers only the per-PE activity counters
//     (operand_reg_writes, psum_reg_writes, idle_pe_cycles); the owner charges compute_cycles,
//     busy_cycles, mac_ops (macs_issued()), folds and jobs under the timing model's meanings.
// SystemC elaborates once per process, so the array (and CycleArrayRunner) is built once per
// process.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "models/core/stats.h"
#include "models/mac/systolic.h"
#include "models/numerics/gemm_problem.h"
#include "sim/modules/pe_activity.h"

namespace lbsim {

// A test hook: after the MAC that PE (row, col) issues at `cycle` (counted from the fold's first
// cycle) of fold `fold`, one bit of the accumulator it just updated is flipped by one extra
// datapath term (FloatPe: fraction bit `bit` of F, default 22; FixedPe: bit `bit` of acc,
// default acc_bits - 2, never the sign bit). cycle = -1: that PE's last MAC of the fold.
struct CycleFault {
  bool enabled = false;
  int64_t fold = 0;
  int row = 0, col = 0;
  int64_t cycle = -1;
  int bit = -1;
};

struct CycleRunResult {
  GemmResult result;
  int64_t cycles = 0;          // rising edges from the first to the last cycle of the GEMM
  int64_t folds = 0;           // folds run
  int64_t time_cycles = 0;     // the same measured on sc_time_stamp() (elapsed / period)
  bool fault_applied = false;  // CycleFault was enabled and its PE had a MAC at that cycle
  std::string fault_note;      // where it was applied / why not
};

class CycleEngine;  // per-family implementation (cycle_array.cpp)

enum class CycleArrayMode { kStandalone, kEmbedded };

class CycleArray : public sc_core::sc_module {
 public:
  sc_core::sc_in<bool> clk;

  SC_HAS_PROCESS(CycleArray);
  // Throws UserError for rows or cols outside [1, 4096].
  CycleArray(sc_core::sc_module_name name, Dataflow dataflow, int rows, int cols, StatGroup& stats,
             CycleArrayMode mode = CycleArrayMode::kStandalone);
  ~CycleArray() override;

  // Loads a segmented GemmProblem (all dims >= 1; the problem must outlive the run). The next
  // rising edge is its first cycle. The grant is unlimited until grant() is called.
  void start(const GemmProblem& p, const AccumulatorSpec& acc, const CycleFault& fault = {});
  bool busy() const { return m_active; }
  CycleRunResult take_result();

  // Embedded mode: allow at most `edges` more rising edges (-1: until the GEMM ends; 0 is not
  // allowed) and restart the count of granted_edges(). stopped_event() is notified (delta) on
  // the edge that ends the GEMM or uses up the grant.
  void grant(int64_t edges);
  int64_t granted_edges() const { return m_grant_edges; }  // edges run since the last grant()
  bool wants_clock() const { return m_active && m_budget != 0; }
  const sc_core::sc_event& stopped_event() const { return m_stopped; }
  // MACs issued by the PEs over all finished GEMMs (also counted in embedded mode).
  uint64_t macs_issued() const { return m_macs_total; }
  // Per-PE activity summed over all finished GEMMs (sim/modules/pe_activity.h).
  const PeActivity& pe_activity() const { return m_activity; }

  // Traces control (active, phase, fold, fold cycle), per-PE operand registers (codes and valid
  // bits) and partial sums (FloatPe F bits; FixedPe acc and F bits). Call before sc_start().
  void trace(sc_core::sc_trace_file* tf);

  Dataflow dataflow() const { return m_dataflow; }
  int rows() const { return m_rows; }
  int cols() const { return m_cols; }
  // Times of the first and last rising edge of the last GEMM run.
  const sc_core::sc_time& first_edge() const { return m_t0; }
  const sc_core::sc_time& last_edge() const { return m_t1; }

  // Trace mirrors (written only when tracing); public for the engine.
  struct TraceState {
    bool active = false;
    int phase = 0;  // 0 idle, 1 preload, 2 stream
    int fold = 0;
    int fold_cycle = 0;
    std::vector<unsigned> op_a, op_b;    // codes in the PE's operand registers (os: A, B; ws/is:
                                         // streamed, stationary)
    std::vector<unsigned> v_a, v_b;      // valid bits of those registers
    std::vector<unsigned> psum_f;        // F of the PE's (os) / passing (ws, is) partial sum
    std::vector<sc_dt::int64> psum_acc;  // FixedPe acc of the same
  };

 private:
  void on_clock();

  Dataflow m_dataflow;
  int m_rows, m_cols;
  CycleArrayMode m_mode;
  bool m_active = false;
  bool m_tracing = false;
  int64_t m_budget = -1;  // rising edges still granted (-1: unlimited)
  int64_t m_grant_edges = 0;
  sc_core::sc_event m_stopped;
  sc_core::sc_time m_t0, m_t1;
  std::unique_ptr<CycleEngine> m_engine;
  CycleRunResult m_result;
  TraceState m_trace;
  // Embedded mode: the totals the owner charges under its own counter names live here.
  uint64_t m_unregistered[5] = {0, 0, 0, 0, 0};
  uint64_t m_macs_total = 0;
  PeActivity m_activity;
  uint64_t &m_compute, &m_busy, &m_macs, &m_folds, &m_jobs, &m_op_writes, &m_psum_writes, &m_idle;
};

// The clock and the array, built once per process (SystemC elaborates once).
class CycleArrayRunner {
 public:
  CycleArrayRunner(Dataflow dataflow, int rows, int cols, StatGroup& stats,
                   double clock_mhz = 1000);
  // Opens a VCD file (path without ".vcd" is fine, SystemC appends it) before the first run.
  void open_vcd(const std::string& path);
  ~CycleArrayRunner();
  CycleRunResult run(const GemmProblem& p, const AccumulatorSpec& acc,
                     const CycleFault& fault = {});
  CycleArray& array() { return m_array; }

 private:
  sc_core::sc_clock m_clock;
  CycleArray m_array;
  sc_core::sc_trace_file* m_vcd = nullptr;
};

}  // namespace lbsim
