#include "sim/modules/cycle_compute.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "models/core/error.h"
#include "models/numerics/rng.h"

namespace lbsim {

CycleSetup prepare_cycle_setup(const ArchConfig& arch, const Workload& workload,
                               const SimPlan& plan, uint64_t seed) {
  if (arch.pe.scalesim_compat)
    throw UserError(
        "error: pe_array.scalesim_compat reports SCALE-Sim's count, one cycle per GEMM less "
        "than the clocked array takes; cycle fidelity needs scalesim_compat: false");
  CycleSetup s;
  s.arch = &arch;
  s.plan = &plan;
  s.seed = seed;
  s.ops.resize(plan.ops.size());
  FormatCostCache cache;
  for (size_t i = 0; i < plan.ops.size(); ++i) {
    const OpWork& w = plan.ops[i];
    if (w.kind != OpKind::kGemm) continue;
    const LayerSpec& layer = workload.layers.at(w.layer_index);
    const Op& op = layer.ops.at(w.op_index);
    CycleSetup::Operands& o = s.ops[i];
    try {
      o.a_role = op.a_role;
      o.b_role = op.b_role;
      o.a = cache.format_for(arch, layer, op.a_role);
      o.b = cache.format_for(arch, layer, op.b_role);
      mac_family(o.a->info(), o.b->info());  // UserError: float x fixed
    } catch (const UserError& e) {
      throw UserError(
          fmt::format("layer {} {} {}: {}", w.layer, phase_name(w.phase), w.op, e.what()));
    }
  }
  return s;
}

CycleCompute::CycleCompute(const CycleSetup& setup, const CycleClock& clock, StatGroup& stats)
    : m_setup(setup),
      m_clock(clock),
      m_acc(setup.arch->pe.accumulator),
      m_rows(setup.arch->pe.rows),
      m_cols(setup.arch->pe.cols),
      m_gate("clock_gate", clock, [this] { return m_array.wants_clock(); }),
      m_array("cycle_array", setup.arch->pe.dataflow, static_cast<int>(setup.arch->pe.rows),
              static_cast<int>(setup.arch->pe.cols), stats, CycleArrayMode::kEmbedded),
      m_gemms(stats.counter("cycle_gemms", "jobs",
                            "GEMMs loaded into the clocked array (a tile, a fold range of a tile, "
                            "or a T-chunked fold)")) {
  m_array.clk(m_gate.clk);
}

void CycleCompute::start_op(int32_t op) {
  const OpWork& w = m_setup.plan->ops.at(static_cast<size_t>(op));
  if (w.kind != OpKind::kGemm || !m_setup.ops.at(static_cast<size_t>(op)).a)
    throw std::logic_error(fmt::format("cycle fidelity: op {} ({} {}) is not a GEMM", op, w.layer,
                                       phase_name(w.phase)));
  if (m_array.busy()) fail("a new op started while the previous op's fold was still running");
  m_op = op;
  m_replanned.reset();
  m_runs = &w.plan.runs;
  if (w.items > 0 && w.plan.runs.empty()) {  // dropped by plan_simulation (kMaxKeptRuns)
    m_replanned = std::make_unique<TilePlan>(plan_tiles(w.problem));
    m_runs = &m_replanned->runs;
  }
  m_run = 0;
  m_in_run = -1;
  m_tile = -1;
  m_tile_folds_done = 0;
}

void CycleCompute::next_tile() {
  const std::vector<TileRun>& runs = *m_runs;
  if (runs.empty()) fail("the op has no tiles");
  if (m_tile >= 0 && ++m_in_run == runs[m_run].count) {
    m_in_run = 0;
    if (++m_run == runs.size()) m_run = 0;  // the next group or sample repeats the sequence
  }
  if (m_tile < 0) m_in_run = 0;
  ++m_tile;
  m_tile_folds_done = 0;
}

std::string CycleCompute::where() const {
  const OpWork& w = m_setup.plan->ops.at(static_cast<size_t>(m_op));
  return fmt::format("op {} (layer {} {} {}, {}x{}x{}), tile {}", m_op, w.layer,
                     phase_name(w.phase), w.op, w.m, w.n, w.k, m_tile);
}

void CycleCompute::fail(const std::string& what) const {
  throw std::logic_error(fmt::format("cycle fidelity: {}: {}", where(), what));
}

void CycleCompute::start_gemm(int64_t rows_extent, int64_t cols_extent, int64_t t_extent,
                              uint64_t sub) {
  const CycleSetup::Operands& o = m_setup.ops[static_cast<size_t>(m_op)];
  const GemmDims d =
      gemm_dims(m_setup.arch->pe.dataflow, FoldAxes{rows_extent, cols_extent, t_extent});
  const uint64_t id =
      splitmix64(splitmix64(static_cast<uint64_t>(m_op)) ^ static_cast<uint64_t>(m_tile)) ^ sub;
  m_gemm = random_gemm(o.a, o.a_role, o.b, o.b_role, d.m, d.n, d.k, m_setup.seed, id);
  m_array.start(m_gemm.p, m_acc);
  ++m_gemms;
}

int64_t CycleCompute::clock(int64_t edges) {
  m_array.grant(edges);
  m_gate.wake();
  sc_core::wait(m_array.stopped_event());
  return m_array.granted_edges();
}

int64_t CycleCompute::compute(const WorkJob& job) {
  const WorkItem& it = job.item;
  if (job.op != m_op) start_op(job.op);
  if (it.first_of_tile) next_tile();
  if (m_tile < 0) fail("the op's first item does not start a tile");
  const OpWork& w = m_setup.plan->ops[static_cast<size_t>(m_op)];
  const Dataflow df = m_setup.arch->pe.dataflow;
  const TileRecord& t = (*m_runs)[m_run].tile;
  const int64_t t0 = m_clock.now();
  int64_t edges = 0;
  if (!(t.starts_folds && t.ends_folds)) {
    // A T-chunk of one fold: the fold's GEMM spans the tile's rows and columns and the whole
    // temporal extent of the op.
    if (t.folds != 1 || it.folds != 1)
      fail(fmt::format("a T-chunk tile holds {} fold(s), its item {}", t.folds, it.folds));
    if (t.starts_folds) {
      if (m_array.busy()) fail("a fold started while the previous fold was still running");
      const FoldAxes tile = fold_axes(df, t.m, t.n, t.k);
      start_gemm(tile.s_r, tile.s_c, fold_axes(df, w.m, w.n, w.k).t, 0);
      m_chunk_edges = 0;
    } else if (!m_array.busy()) {
      fail("a T-chunk arrived after its fold had ended");
    }
    edges = clock(t.ends_folds ? -1 : it.compute_cycles);
    m_chunk_edges += edges;
    if (!t.ends_folds && !m_array.busy())
      fail(
          fmt::format("the clocked array ended the fold after {} cycles, in a T-chunk that is "
                      "not the fold's last (this chunk: {} cycles, timing plan {})",
                      m_chunk_edges, edges, it.compute_cycles));
    if (t.ends_folds) m_array.take_result();
  } else {
    // Whole folds [lo, hi) of the tile, in the array's order: column folds outer, row folds inner.
    const FoldAxes tile = fold_axes(df, t.m, t.n, t.k);
    const int64_t fr = (tile.s_r + m_rows - 1) / m_rows, fc_n = (tile.s_c + m_cols - 1) / m_cols;
    if (fr * fc_n != t.folds)
      fail(fmt::format("the tile's {} folds are not its {} x {} fold grid", t.folds, fr, fc_n));
    const int64_t lo = m_tile_folds_done, hi = lo + it.folds;
    if (it.folds < 1 || hi > t.folds)
      fail(fmt::format("item folds {}..{} outside the tile's {}", lo, hi, t.folds));
    m_tile_folds_done = hi;
    uint64_t sub = 0;
    for (int64_t f = lo; f < hi;) {
      const int64_t fc = f / fr, r0 = f % fr;
      int64_t rows = 0, cols = 0;
      if (r0 == 0 && hi >= (fc + 1) * fr) {  // whole column folds fc .. hi / fr - 1
        const int64_t fc_end = hi / fr;
        rows = tile.s_r;
        cols = std::min(fc_end * m_cols, tile.s_c) - fc * m_cols;
        f = fc_end * fr;
      } else {  // row folds r0 .. r_end - 1 of column fold fc
        const int64_t r_end = std::min(hi - fc * fr, fr);
        rows = std::min(r_end * m_rows, tile.s_r) - r0 * m_rows;
        cols = std::min((fc + 1) * m_cols, tile.s_c) - fc * m_cols;
        f = fc * fr + r_end;
      }
      start_gemm(rows, cols, tile.t, sub++);
      edges += clock(-1);
      m_array.take_result();
    }
  }
  // The item ends with its last cycle, a period after that cycle's edge (see the header).
  sc_core::wait(m_clock.cycles(1));
  if (edges != it.compute_cycles)
    fail(fmt::format(
        "the clocked array took {} cycles for the work item, the timing plan charges "
        "{} ({} fold(s){})",
        edges, it.compute_cycles, it.folds, t.starts_folds && t.ends_folds ? "" : ", a T-chunk"));
  if (m_clock.now() - t0 != edges)
    fail(fmt::format("the item took {} cycles of simulated time for {} clock edges",
                     m_clock.now() - t0, edges));
  if (it.last && m_array.busy()) fail("the op's last item left a fold running");
  return edges;
}

}  // namespace lbsim
