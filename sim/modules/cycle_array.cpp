#include "sim/modules/cycle_array.h"

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "models/core/error.h"
#include "models/mac/fp32_arith.h"
#include "models/mac/i_mac_family.h"
#include "models/mac/pe.h"

namespace lbsim {

// ----------------------------------------------------------------------------- engine interface

class CycleEngine {
 public:
  virtual ~CycleEngine() = default;
  // Advances one clock cycle; returns true when the GEMM's last cycle has just run.
  virtual bool step(CycleArray::TraceState* tr) = 0;
  virtual void finish_into(CycleRunResult& r) = 0;
  int64_t folds = 0;
  PeActivity activity;  // per PE, this GEMM
};

namespace {

// Cell traits per PE template of pe.h (IMacFamily::pe_datapath): the engine's inner loops are
// instantiated for each, so no MAC goes through a virtual call.
struct FloatFamily {
  using Pe = FloatPe;
  using Op = FloatOperand;
  static constexpr bool kFixed = false;
  static Pe make(const GemmProblem& p, const AccumulatorSpec&) {
    return FloatPe(p.a.q->format->info(), p.b.q->format->info());
  }
  static unsigned trace_f(const Pe& pe) { return pe.accumulator(); }
  static sc_dt::int64 trace_acc(const Pe&) { return 0; }
};

struct FixedFamily {
  using Pe = FixedPe;
  using Op = FixedOperand;
  static constexpr bool kFixed = true;
  static Pe make(const GemmProblem& p, const AccumulatorSpec& acc) {
    return FixedPe(p.a.q->format->info(), p.a.q->unsigned_int, p.b.q->format->info(),
                   p.b.q->unsigned_int, acc);
  }
  static unsigned trace_f(const Pe& pe) { return pe.fp32_sum(); }
  static sc_dt::int64 trace_acc(const Pe& pe) { return pe.accumulator(); }
};

// An operand register: the decoded operand plus its control bits.
template <class Op>
struct Tok {
  Op op{};
  uint32_t code = 0;
  int32_t grp = -1;  // group index of this operand in its K segment (fixed family)
  int32_t idx = 0;   // os: k; ws/is streamed: t; stationary: k
  bool on = false;   // a token occupies the slot (drives the control even in unused rows)
  bool v = false;    // real data
  bool seg_end = false;
  bool last = false;  // last step of the stream (os: k = T-1; ws/is: t = T-1)
};

std::vector<ScaleFactor> decode_scales(const std::vector<double>& s) {
  std::vector<ScaleFactor> out;
  out.reserve(s.size());
  for (double x : s) out.push_back(ScaleFactor::from_double(x));
  return out;
}

float bits_to_float(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

template <class Fam>
class Engine : public CycleEngine {
  using Pe = typename Fam::Pe;
  using Op = typename Fam::Op;
  using T = Tok<Op>;

 public:
  Engine(Dataflow df, int rows, int cols, const GemmProblem& p, const AccumulatorSpec& acc,
         const CycleFault& fault)
      : m_df(df), m_R(rows), m_C(cols), m_p(p), m_fault(fault) {
    m_M = p.m;
    m_N = p.n;
    m_K = p.k;
    const FoldPlan plan = plan_folds(df, rows, cols, p.m, p.n, p.k);
    m_T = plan.t;
    m_folds_r = plan.folds_r;
    m_folds_c = plan.folds_c;
    folds = plan.folds;
    m_extent_c = plan.s_c;
    Pe proto = Fam::make(p, acc);
    m_a.resize(static_cast<size_t>(m_M * m_K));
    for (size_t i = 0; i < m_a.size(); ++i) m_a[i] = proto.decoder_a().decode(p.a.codes[i]);
    m_b.resize(static_cast<size_t>(m_K * m_N));
    for (size_t i = 0; i < m_b.size(); ++i) m_b[i] = proto.decoder_b().decode(p.b.codes[i]);
    m_S = p.num_segments;
    m_seg.assign(static_cast<size_t>(m_K), 0);
    m_seg_end.assign(static_cast<size_t>(m_K), true);
    if (Fam::kFixed) {
      if (static_cast<int64_t>(p.k_segment.size()) != m_K || m_S < 1 ||
          static_cast<int64_t>(p.a_seg_group.size()) != m_M * m_S ||
          static_cast<int64_t>(p.b_seg_group.size()) != m_S * m_N)
        throw std::logic_error("CycleArray: the problem is not segmented (call segment())");
      for (int64_t k = 0; k < m_K; ++k) {
        m_seg[k] = p.k_segment[k];
        m_seg_end[k] = k == m_K - 1 || p.k_segment[k + 1] != p.k_segment[k];
      }
      m_ga = decode_scales(p.a.q->group_scale);
      m_gb = decode_scales(p.b.q->group_scale);
    }
    m_ta = ScaleFactor::from_double(p.a.q->tensor_scale);
    m_tb = ScaleFactor::from_double(p.b.q->tensor_scale);
    const size_t n = static_cast<size_t>(m_R) * m_C;
    activity.resize(m_R, m_C);
    m_ra.assign(n, T{});
    m_rb.assign(n, T{});
    m_edge_r.assign(static_cast<size_t>(m_R), T{});
    m_edge_c.assign(static_cast<size_t>(m_C), T{});
    if (df == Dataflow::kOs) {
      m_pes.assign(n, proto);
    } else {
      m_pes.assign(static_cast<size_t>(m_T * m_C), proto);
      m_ph.assign(n, -1);
    }
    m_acc_bits = acc.acc_bits;
    m_out.assign(static_cast<size_t>(m_M * m_N), 0.0f);
    if (m_fault.enabled && m_fault.cycle < 0)
      m_fault.cycle = (df == Dataflow::kOs ? 0 : m_R) + (m_T - 1) + m_fault.row + m_fault.col;
    m_fault_note = m_fault.enabled ? "fault not applied: PE had no MAC at that cycle" : "";
  }

  bool step(CycleArray::TraceState* tr) override {
    const bool fold_done = m_df == Dataflow::kOs ? step_os(tr) : step_stationary(tr);
    if (tr != nullptr) {
      tr->fold = static_cast<int>(m_f);
      tr->fold_cycle = static_cast<int>(m_j);
      tr->phase = (m_df != Dataflow::kOs && m_j < m_R) ? 1 : 2;
    }
    ++m_j;
    if (!fold_done) return false;
    ++m_f;
    m_j = 0;
    return m_f == folds;
  }

  void finish_into(CycleRunResult& r) override {
    r.result.c = std::move(m_out);
    uint64_t ov = 0;
    for (const Pe& pe : m_pes) ov += pe.counters.acc_overflows;
    r.result.acc_overflows = ov;
    r.folds = folds;
    r.fault_applied = m_fault_applied;
    r.fault_note = m_fault_note;
  }

 private:
  // Flips one accumulator bit of pe by one extra datapath term (see CycleFault).
  void inject(Pe& pe, int r, int c) {
    if (m_fault_applied) return;
    if constexpr (Fam::kFixed) {
      const int b = m_fault.bit >= 0 ? m_fault.bit : m_acc_bits - 2;
      const int64_t acc = pe.accumulator();
      const bool set = ((static_cast<uint64_t>(acc) >> b) & 1u) != 0;
      FixedOperand t, one;
      t.sig = set ? -1 : 1;
      t.shift = b;
      one.sig = 1;
      pe.mac_decoded(t, one);
      m_fault_note = "flipped acc bit " + std::to_string(b) + " (" + std::to_string(acc) + " -> " +
                     std::to_string(pe.accumulator()) + ")";
    } else {
      const uint32_t f = pe.accumulator();
      const uint32_t ef = (f >> 23) & 0xFFu;
      if (ef == 0xFFu) {
        m_fault_note = "fault not applied: F is inf or NaN";
        return;
      }
      const int b = m_fault.bit >= 0 ? m_fault.bit : 22;
      const int ulp = ef == 0 ? -149 : static_cast<int>(ef) - 150;
      const bool neg = (f >> 31) != 0;
      const bool set = ((f >> b) & 1u) != 0;
      FloatOperand t, one;
      t.neg = set ? !neg : neg;
      t.sig = 1;
      t.exp2 = ulp + b;
      one.sig = 1;
      pe.mac_decoded(t, one);
      char buf[96];
      std::snprintf(buf, sizeof buf, "flipped F bit %d (0x%08x -> 0x%08x)", b, f, pe.accumulator());
      m_fault_note = buf;
    }
    m_fault_note += " in PE (" + std::to_string(r) + ", " + std::to_string(c) + ") at cycle " +
                    std::to_string(m_j) + " of fold " + std::to_string(m_f);
    m_fault_applied = true;
  }

  bool fault_here(int r, int c) const {
    return m_fault.enabled && !m_fault_applied && m_f == m_fault.fold && r == m_fault.row &&
           c == m_fault.col && m_j == m_fault.cycle;
  }

  // ---------------------------------------------------------------- output stationary
  bool step_os(CycleArray::TraceState* tr) {
    const int64_t fr = m_f % m_folds_r, fc = m_f / m_folds_r;
    const int64_t m0 = fr * m_R, n0 = fc * m_C;
    if (m_j == 0)
      for (Pe& pe : m_pes) pe.reset();
    // Edge injection with the row / column skew.
    for (int r = 0; r < m_R; ++r) {
      T& e = m_edge_r[r];
      const int64_t k = m_j - r;
      e = T{};
      if (k < 0 || k >= m_T) continue;
      const int64_t m = m0 + r;
      e.on = true;
      e.idx = static_cast<int32_t>(k);
      e.last = k == m_T - 1;
      e.seg_end = m_seg_end[k];
      if (m < m_M) {
        e.v = true;
        e.op = m_a[m * m_K + k];
        e.code = m_p.a.codes[m * m_K + k];
        if (Fam::kFixed) e.grp = m_p.a_seg_group[m * m_S + m_seg[k]];
      }
    }
    for (int c = 0; c < m_C; ++c) {
      T& e = m_edge_c[c];
      const int64_t k = m_j - c;
      e = T{};
      if (k < 0 || k >= m_T) continue;
      const int64_t n = n0 + c;
      e.on = true;
      e.idx = static_cast<int32_t>(k);
      e.last = k == m_T - 1;
      e.seg_end = m_seg_end[k];
      if (n < m_N) {
        e.v = true;
        e.op = m_b[k * m_N + n];
        e.code = m_p.b.codes[k * m_N + n];
        if (Fam::kFixed) e.grp = m_p.b_seg_group[m_seg[k] * m_N + n];
      }
    }
    bool done = false;
    // Raw counters (hoisted out of the PE loop).
    uint64_t* const n_mac = activity.mac_ops.data();
    uint64_t* const n_idle = activity.idle_cycles.data();
    uint64_t* const n_opw = activity.operand_reg_writes.data();
    for (int r = m_R - 1; r >= 0; --r) {
      for (int c = m_C - 1; c >= 0; --c) {
        const size_t i = static_cast<size_t>(r) * m_C + c;
        const T& a_in = c == 0 ? m_edge_r[r] : m_ra[i - 1];
        const T& b_in = r == 0 ? m_edge_c[c] : m_rb[i - m_C];
        m_ra[i] = a_in;
        m_rb[i] = b_in;
        n_opw[i] += static_cast<uint64_t>(a_in.v) + b_in.v;
        Pe& pe = m_pes[i];
        if (a_in.v && b_in.v) {
          pe.mac_decoded(a_in.op, b_in.op);
          ++n_mac[i];
          if (fault_here(r, c)) inject(pe, r, c);
          if constexpr (Fam::kFixed) {
            if (a_in.seg_end) pe.close_segment(group(m_ga, a_in.grp), group(m_gb, b_in.grp));
          }
          if (a_in.last) m_out[(m0 + r) * m_N + n0 + c] = bits_to_float(pe.finish(m_ta, m_tb));
        } else {
          ++n_idle[i];
        }
        if (tr != nullptr) {
          tr->op_a[i] = a_in.code;
          tr->op_b[i] = b_in.code;
          tr->v_a[i] = a_in.v;
          tr->v_b[i] = b_in.v;
          tr->psum_f[i] = Fam::trace_f(pe);
          tr->psum_acc[i] = Fam::trace_acc(pe);
        }
        if (r == m_R - 1 && c == m_C - 1 && a_in.last) done = true;
      }
    }
    return done;
  }

  // ---------------------------------------------------------------- weight / input stationary
  // ws: stationary B (k x n), streamed A rows (t = m); is: stationary A^T (k x m), streamed B
  // columns (t = n). Column index col = n (ws) or m (is).
  void stationary_token(int64_t k, int64_t col, T& s) const {
    s = T{};
    s.idx = static_cast<int32_t>(k);
    if (col >= m_extent_c) return;
    s.on = true;  // the column holds real outputs
    if (k >= m_K) return;
    s.v = true;
    s.seg_end = m_seg_end[k];
    if (m_df == Dataflow::kWs) {
      s.op = m_b[k * m_N + col];
      s.code = m_p.b.codes[k * m_N + col];
      if (Fam::kFixed) s.grp = m_p.b_seg_group[m_seg[k] * m_N + col];
    } else {
      s.op = m_a[col * m_K + k];
      s.code = m_p.a.codes[col * m_K + k];
      if (Fam::kFixed) s.grp = m_p.a_seg_group[col * m_S + m_seg[k]];
    }
  }

  bool step_stationary(CycleArray::TraceState* tr) {
    const int64_t fk = m_f % m_folds_r, fc = m_f / m_folds_r;
    const int64_t k0 = fk * m_R, c0 = fc * m_C;
    const bool ws = m_df == Dataflow::kWs;
    if (m_j < m_R) {  // preload: the stationary operand shifts down one row per cycle
      if (m_j == 0 && fk == 0)
        for (Pe& pe : m_pes) pe.reset();
      const int64_t k_in = k0 + (m_R - 1 - m_j);
      for (int c = 0; c < m_C; ++c) {
        for (int r = m_R - 1; r >= 0; --r) {
          const size_t i = static_cast<size_t>(r) * m_C + c;
          if (r == 0) {
            stationary_token(k_in, c0 + c, m_rb[i]);
          } else {
            m_rb[i] = m_rb[i - m_C];
          }
          activity.operand_reg_writes[i] += m_rb[i].v;
          if (tr != nullptr) {
            tr->op_b[i] = m_rb[i].code;
            tr->v_b[i] = m_rb[i].v;
          }
        }
      }
      for (uint64_t& idle : activity.idle_cycles) ++idle;
      return false;
    }
    const int64_t jj = m_j - m_R;
    for (int r = 0; r < m_R; ++r) {
      T& e = m_edge_r[r];
      const int64_t t = jj - r, k = k0 + r;
      e = T{};
      if (t < 0 || t >= m_T) continue;
      e.on = true;
      e.idx = static_cast<int32_t>(t);
      e.last = t == m_T - 1;
      if (k >= m_K) continue;
      e.v = true;
      if (ws) {
        e.op = m_a[t * m_K + k];
        e.code = m_p.a.codes[t * m_K + k];
        if (Fam::kFixed) e.grp = m_p.a_seg_group[t * m_S + m_seg[k]];
      } else {
        e.op = m_b[k * m_N + t];
        e.code = m_p.b.codes[k * m_N + t];
        if (Fam::kFixed) e.grp = m_p.b_seg_group[m_seg[k] * m_N + t];
      }
    }
    const bool last_row_fold = fk == m_folds_r - 1;
    bool done = false;
    // Raw counters (hoisted out of the PE loop).
    uint64_t* const n_mac = activity.mac_ops.data();
    uint64_t* const n_idle = activity.idle_cycles.data();
    uint64_t* const n_opw = activity.operand_reg_writes.data();
    for (int r = m_R - 1; r >= 0; --r) {
      for (int c = m_C - 1; c >= 0; --c) {
        const size_t i = static_cast<size_t>(r) * m_C + c;
        const T& x_in = c == 0 ? m_edge_r[r] : m_ra[i - 1];
        const T& s = m_rb[i];
        // Partial sum from above (row 0: the output's state object, fresh or parked).
        const int32_t h = r == 0 ? (x_in.on && s.on ? static_cast<int32_t>(x_in.idx * m_C + c) : -1)
                                 : m_ph[i - m_C];
        m_ra[i] = x_in;
        n_opw[i] += x_in.v;
        if (x_in.v && s.v && h >= 0) {
          Pe& pe = m_pes[static_cast<size_t>(h)];
          if (ws) {
            pe.mac_decoded(x_in.op, s.op);
          } else {
            pe.mac_decoded(s.op, x_in.op);
          }
          ++n_mac[i];
          if (fault_here(r, c)) inject(pe, r, c);
          if constexpr (Fam::kFixed) {
            if (s.seg_end) {
              if (ws) {
                pe.close_segment(group(m_ga, x_in.grp), group(m_gb, s.grp));
              } else {
                pe.close_segment(group(m_ga, s.grp), group(m_gb, x_in.grp));
              }
            }
          }
        } else {
          ++n_idle[i];
        }
        m_ph[i] = h;
        activity.psum_reg_writes[i] += h >= 0;
        if (r == m_R - 1 && h >= 0 && last_row_fold) {
          const int64_t t = x_in.idx, col = c0 + c;
          const int64_t o = ws ? t * m_N + col : col * m_N + t;
          m_out[o] = bits_to_float(m_pes[static_cast<size_t>(h)].finish(m_ta, m_tb));
        }
        if (tr != nullptr) {
          tr->op_a[i] = x_in.code;
          tr->v_a[i] = x_in.v;
          tr->psum_f[i] = h >= 0 ? Fam::trace_f(m_pes[static_cast<size_t>(h)]) : 0;
          tr->psum_acc[i] = h >= 0 ? Fam::trace_acc(m_pes[static_cast<size_t>(h)]) : 0;
        }
        if (r == m_R - 1 && c == m_C - 1 && x_in.last) done = true;
      }
    }
    return done;
  }

  static ScaleFactor group(const std::vector<ScaleFactor>& g, int32_t i) {
    return i < 0 ? ScaleFactor::power_of_two(0) : g[static_cast<size_t>(i)];
  }

  Dataflow m_df;
  int m_R, m_C;
  const GemmProblem& m_p;
  CycleFault m_fault;
  int m_acc_bits = 32;
  bool m_fault_applied = false;
  std::string m_fault_note;
  int64_t m_M = 0, m_N = 0, m_K = 0, m_T = 0, m_S = 1;
  int64_t m_folds_r = 1, m_folds_c = 1, m_extent_c = 0;
  int64_t m_f = 0, m_j = 0;  // current fold, cycle within it
  std::vector<Op> m_a, m_b;  // decoded A (M x K) and B (K x N), the edge decoders' output
  std::vector<int32_t> m_seg;
  std::vector<bool> m_seg_end;
  std::vector<ScaleFactor> m_ga, m_gb;
  ScaleFactor m_ta, m_tb;
  std::vector<T> m_ra, m_rb;          // os: A, B registers; ws/is: streamed, stationary
  std::vector<T> m_edge_r, m_edge_c;  // this cycle's edge inputs
  std::vector<int32_t> m_ph;          // ws/is: partial-sum registers (handles into m_pes)
  std::vector<Pe> m_pes;              // os: one per PE; ws/is: one per output of a column fold
  std::vector<float> m_out;
};

}  // namespace

// ----------------------------------------------------------------------------- module

namespace {
// The owner's counter in embedded mode (CycleArrayMode), else a registered one.
uint64_t& counter_or(bool registered, uint64_t& own, StatGroup& stats, const char* name,
                     const char* unit, const char* meaning) {
  return registered ? stats.counter(name, unit, meaning) : own;
}
}  // namespace

CycleArray::CycleArray(sc_core::sc_module_name name, Dataflow dataflow, int rows, int cols,
                       StatGroup& stats, CycleArrayMode mode)
    : sc_core::sc_module(name),
      clk("clk"),
      m_dataflow(dataflow),
      m_rows(rows),
      m_cols(cols),
      m_mode(mode),
      m_compute(counter_or(mode == CycleArrayMode::kStandalone, m_unregistered[0], stats,
                           "compute_cycles", "cycles",
                           "cycles the cycle-level array took for all GEMMs")),
      m_busy(counter_or(mode == CycleArrayMode::kStandalone, m_unregistered[1], stats,
                        "busy_cycles", "cycles", "cycles the array held a GEMM")),
      m_macs(counter_or(mode == CycleArrayMode::kStandalone, m_unregistered[2], stats, "mac_ops",
                        "ops", "multiply-accumulates issued by the PEs")),
      m_folds(counter_or(mode == CycleArrayMode::kStandalone, m_unregistered[3], stats, "folds",
                         "folds", "folds run")),
      m_jobs(counter_or(mode == CycleArrayMode::kStandalone, m_unregistered[4], stats, "jobs",
                        "jobs", "GEMMs computed")),
      m_op_writes(stats.counter("operand_reg_writes", "events",
                                "PE operand register writes with valid data")),
      m_psum_writes(stats.counter("psum_reg_writes", "events",
                                  "PE partial-sum register writes (ws/is: moving partial sums)")),
      m_idle(stats.counter("idle_pe_cycles", "cycles", "PE-cycles without a MAC")) {
  if (rows < 1 || rows > 4096 || cols < 1 || cols > 4096)
    throw UserError("cycle-level array: rows and cols must be in [1, 4096]");
  const size_t n = static_cast<size_t>(rows) * cols;
  m_activity.resize(rows, cols);
  m_trace.op_a.assign(n, 0);
  m_trace.op_b.assign(n, 0);
  m_trace.v_a.assign(n, 0);
  m_trace.v_b.assign(n, 0);
  m_trace.psum_f.assign(n, 0);
  m_trace.psum_acc.assign(n, 0);
  SC_METHOD(on_clock);
  sensitive << clk.pos();
  dont_initialize();
}

CycleArray::~CycleArray() = default;

void CycleArray::start(const GemmProblem& p, const AccumulatorSpec& acc, const CycleFault& fault) {
  if (m_active) throw std::logic_error("CycleArray::start: a GEMM is still running");
  if (p.m < 1 || p.n < 1 || p.k < 1) throw std::logic_error("CycleArray::start: empty GEMM");
  if (p.a.q == nullptr || p.b.q == nullptr)
    throw std::logic_error("CycleArray::start: operand without tensor");
  // Every cell is the PE template of the operands' MAC family (IMacFamily::pe_datapath): the
  // engine is instantiated for it, so no MAC goes through a virtual call.
  const IMacFamily& family = mac_family_for(p.a.q->format->info(), p.b.q->format->info());
  switch (family.pe_datapath()) {
    case MacFamily::kFloat:
      m_engine = std::make_unique<Engine<FloatFamily>>(m_dataflow, m_rows, m_cols, p, acc, fault);
      break;
    case MacFamily::kFixed:
      m_engine = std::make_unique<Engine<FixedFamily>>(m_dataflow, m_rows, m_cols, p, acc, fault);
      break;
  }
  m_result = CycleRunResult{};
  m_budget = -1;
  m_grant_edges = 0;
  m_active = true;
}

void CycleArray::grant(int64_t edges) {
  if (!m_active) throw std::logic_error("CycleArray::grant: no GEMM is running");
  if (edges == 0 || edges < -1) throw std::logic_error("CycleArray::grant: bad edge count");
  m_budget = edges;
  m_grant_edges = 0;
}

void CycleArray::on_clock() {
  if (!m_active || m_budget == 0) return;  // (a gated clock never sends such an edge)
  if (m_result.cycles == 0) m_t0 = sc_core::sc_time_stamp();
  TraceState* tr = m_tracing ? &m_trace : nullptr;
  if (tr != nullptr) tr->active = true;
  ++m_result.cycles;
  ++m_grant_edges;
  if (m_budget > 0) --m_budget;
  if (!m_engine->step(tr)) {
    if (m_budget == 0) m_stopped.notify(sc_core::SC_ZERO_TIME);  // grant used up: hold
    return;
  }
  // Last cycle of the GEMM: results out, counters into the stats.
  m_t1 = sc_core::sc_time_stamp();
  m_engine->finish_into(m_result);
  m_compute += static_cast<uint64_t>(m_result.cycles);
  m_busy += static_cast<uint64_t>(m_result.cycles);
  const PeActivity& a = m_engine->activity;
  const uint64_t macs = PeActivity::total(a.mac_ops);
  m_macs += macs;
  m_macs_total += macs;
  m_folds += static_cast<uint64_t>(m_engine->folds);
  ++m_jobs;
  m_op_writes += PeActivity::total(a.operand_reg_writes);
  m_psum_writes += PeActivity::total(a.psum_reg_writes);
  m_idle += PeActivity::total(a.idle_cycles);
  m_activity.add(a);
  m_active = false;  // (the traced `active` stays high: the next GEMM starts on the next edge)
  if (m_mode == CycleArrayMode::kStandalone) {
    sc_core::sc_pause();
  } else {
    m_stopped.notify(sc_core::SC_ZERO_TIME);
  }
}

CycleRunResult CycleArray::take_result() {
  if (m_active) throw std::logic_error("CycleArray::take_result: still running");
  m_engine.reset();
  return std::move(m_result);
}

void CycleArray::trace(sc_core::sc_trace_file* tf) {
  m_tracing = true;
  const std::string base = name();
  sc_core::sc_trace(tf, m_trace.active, base + ".active");
  sc_core::sc_trace(tf, m_trace.phase, base + ".phase", 2);
  sc_core::sc_trace(tf, m_trace.fold, base + ".fold", 32);
  sc_core::sc_trace(tf, m_trace.fold_cycle, base + ".fold_cycle", 32);
  const bool os = m_dataflow == Dataflow::kOs;
  for (int r = 0; r < m_rows; ++r) {
    for (int c = 0; c < m_cols; ++c) {
      const size_t i = static_cast<size_t>(r) * m_cols + c;
      const std::string pe = base + ".pe_" + std::to_string(r) + "_" + std::to_string(c);
      sc_core::sc_trace(tf, m_trace.op_a[i], pe + (os ? ".a_code" : ".x_code"), 32);
      sc_core::sc_trace(tf, m_trace.op_b[i], pe + (os ? ".b_code" : ".s_code"), 32);
      sc_core::sc_trace(tf, m_trace.v_a[i], pe + (os ? ".a_valid" : ".x_valid"), 1);
      sc_core::sc_trace(tf, m_trace.v_b[i], pe + (os ? ".b_valid" : ".s_valid"), 1);
      sc_core::sc_trace(tf, m_trace.psum_f[i], pe + ".psum_f", 32);
      sc_core::sc_trace(tf, m_trace.psum_acc[i], pe + ".psum_acc", 64);
    }
  }
}

// ----------------------------------------------------------------------------- runner

CycleArrayRunner::CycleArrayRunner(Dataflow dataflow, int rows, int cols, StatGroup& stats,
                                   double clock_mhz)
    : m_clock((setenv("SYSC_DISABLE_COPYRIGHT_MESSAGE", "1", 1), "cycle_clk"),
              sc_core::sc_time(1000.0 / clock_mhz, sc_core::SC_NS)),
      m_array("cycle_array", dataflow, rows, cols, stats) {
  m_array.clk(m_clock);
}

CycleArrayRunner::~CycleArrayRunner() {
  if (m_vcd != nullptr) sc_core::sc_close_vcd_trace_file(m_vcd);
}

void CycleArrayRunner::open_vcd(const std::string& path) {
  std::string p = path;
  if (p.size() > 4 && p.compare(p.size() - 4, 4, ".vcd") == 0) p.resize(p.size() - 4);
  sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  m_vcd = sc_core::sc_create_vcd_trace_file(p.c_str());
  if (m_vcd == nullptr) throw UserError(path + ": error: cannot create the VCD file");
  m_vcd->set_time_unit(1, sc_core::SC_PS);  // the clock's falling edge is at half a period
  sc_core::sc_trace(m_vcd, m_clock, "clk");
  m_array.trace(m_vcd);
}

CycleRunResult CycleArrayRunner::run(const GemmProblem& p, const AccumulatorSpec& acc,
                                     const CycleFault& fault) {
  m_array.start(p, acc, fault);
  sc_core::sc_start();
  if (m_array.busy()) throw std::logic_error("CycleArrayRunner: simulation stopped early");
  CycleRunResult r = m_array.take_result();
  // The same count from the kernel's time: first to last rising edge, inclusive.
  r.time_cycles = static_cast<int64_t>((m_array.last_edge() - m_array.first_edge()).value() /
                                       m_clock.period().value()) +
                  1;
  return r;
}

}  // namespace lbsim
