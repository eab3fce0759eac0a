#include "models/memory/tiling.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "models/core/error.h"

namespace lbsim {

namespace {

// Exact intermediate for bit counts (elements x bits can exceed int64 before dividing by 8).
__extension__ typedef unsigned __int128 U128;

// Bits per element are held as integers in units of 2^-16 bit; bytes are then exact multiples
// of 2^-19 byte, rounded up once per transfer.
constexpr int kBitFracShift = 16;
constexpr int kByteShift = kBitFracShift + 3;

int64_t checked_mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r))
    throw UserError(fmt::format("tiling: {} x {} overflows int64", a, b));
  return r;
}

int64_t checked_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r))
    throw UserError(fmt::format("tiling: {} + {} overflows int64", a, b));
  return r;
}

int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

struct Bits {
  int64_t q = 0;  // bits x 2^16, rounded to nearest
  double value = 0;
};

Bits quantise_bits(double bits, const char* name) {
  if (!std::isfinite(bits) || bits <= 0 || bits > 1024)
    throw UserError(fmt::format("tiling: {} must be in (0, 1024] bits, got {}", name, bits));
  Bits b;
  b.value = bits;
  b.q = std::llround(std::ldexp(bits, kBitFracShift));
  if (b.q < 1) throw UserError(fmt::format("tiling: {} = {} bits is below 2^-16", name, bits));
  return b;
}

U128 bit_units(int64_t elements, const Bits& b) {
  return static_cast<U128>(elements) * static_cast<U128>(b.q);
}

// Whole bytes of one transfer of `elements` elements.
int64_t bytes_of(int64_t elements, const Bits& b) {
  U128 r = (bit_units(elements, b) + ((U128(1) << kByteShift) - 1)) >> kByteShift;
  if (r > static_cast<U128>(std::numeric_limits<int64_t>::max()))
    throw UserError(
        fmt::format("tiling: {} elements of {} bits overflow int64 bytes", elements, b.value));
  return static_cast<int64_t>(r);
}

}  // namespace

int64_t tensor_bytes(int64_t elements, double bits, const char* what) {
  if (elements < 0) throw std::logic_error("tensor_bytes: negative element count");
  return bytes_of(elements, quantise_bits(bits, what));
}

namespace {

// A tile in array coordinates (see the header): rows x cols x time.
struct Shape {
  int64_t tr = 0, tc = 0, tt = 0;
};

struct Gemm3 {
  int64_t m = 0, n = 0, k = 0;
};

class Planner {
 public:
  explicit Planner(const TilingProblem& p);
  TilePlan plan();

 private:
  Gemm3 to_gemm(int64_t r, int64_t c, int64_t t) const;
  Shape shape(int64_t a, int64_t b, int64_t tt) const {
    return {std::min(a * m_rows, m_sr), std::min(b * m_cols, m_sc), tt};
  }
  int64_t a_bytes(const Shape& s) const;
  int64_t b_bytes(const Shape& s) const;
  int64_t o_bytes(const Shape& s) const;
  bool fits(const Shape& s) const;
  std::vector<std::string> misfits(const Shape& s, const std::string& label) const;
  void apply_override();
  void choose();
  void consider(const Shape& s);
  TileRecord make_tile(int64_t ic, int64_t ir, int64_t it) const;
  void emit(TilePlan& plan, const TileRecord& r, int64_t count) const;

  const TilingProblem& m_p;
  Dataflow m_df;
  FoldPlan m_fold;
  FoldOverhead m_overhead;
  int64_t m_rows, m_cols, m_sr, m_sc, m_t;
  Bits m_a_bits, m_b_bits, m_out_bits, m_psum_bits;
  // Search bounds: a (row folds per tile), b (column folds per tile), fixed tt (0 = free).
  int64_t m_a_lo = 1, m_a_hi = 1, m_b_lo = 1, m_b_hi = 1, m_tt_fix = 0;
  bool m_overridden = false;
  // Best candidate so far.
  bool m_have_best = false;
  Shape m_best;
  U128 m_best_traffic = 0;
  int64_t m_best_tiles = 0;
  // The chosen shape and its tile counts.
  Shape m_s;
  int64_t m_nr = 0, m_nc = 0, m_nt = 0;
};

Planner::Planner(const TilingProblem& p) : m_p(p), m_df(p.dataflow) {
  if (p.groups < 1) throw UserError(fmt::format("tiling: groups must be >= 1, got {}", p.groups));
  // Validates the dimensions and that m * n * k (hence every element count below) fits int64.
  m_fold = plan_folds(p.dataflow, p.rows, p.cols, p.m, p.n, p.k);
  m_overhead = fold_overhead(p.dataflow, p.rows, p.cols);
  m_rows = p.rows;
  m_cols = p.cols;
  m_sr = m_fold.s_r;
  m_sc = m_fold.s_c;
  m_t = m_fold.t;
  m_a_bits = quantise_bits(p.ifmap_bits, "ifmap_bits");
  m_b_bits = quantise_bits(p.filter_bits, "filter_bits");
  m_out_bits = quantise_bits(p.ofmap_bits, "ofmap_bits");
  m_psum_bits = quantise_bits(p.psum_bits == 0 ? p.ofmap_bits : p.psum_bits, "psum_bits");
  const BufferSpec* bufs[] = {&p.ifmap, &p.filter, &p.ofmap, &p.global};
  for (const BufferSpec* b : bufs)
    if (b->capacity_bytes < 0)
      throw UserError(
          fmt::format("tiling: buffer capacity must be >= 0, got {} bytes", b->capacity_bytes));
  m_a_hi = ceil_div(m_sr, m_rows);
  m_b_hi = ceil_div(m_sc, m_cols);
}

Gemm3 Planner::to_gemm(int64_t r, int64_t c, int64_t t) const {
  switch (m_df) {
    case Dataflow::kOs:
      return {r, c, t};
    case Dataflow::kWs:
      return {t, c, r};
    case Dataflow::kIs:
      return {c, t, r};
  }
  return {};
}

int64_t Planner::a_bytes(const Shape& s) const {
  Gemm3 g = to_gemm(s.tr, s.tc, s.tt);
  return bytes_of(checked_mul(g.m, g.k), m_a_bits);
}
int64_t Planner::b_bytes(const Shape& s) const {
  Gemm3 g = to_gemm(s.tr, s.tc, s.tt);
  return bytes_of(checked_mul(g.k, g.n), m_b_bits);
}
int64_t Planner::o_bytes(const Shape& s) const {
  Gemm3 g = to_gemm(s.tr, s.tc, s.tt);
  return bytes_of(checked_mul(g.m, g.n), m_psum_bits);
}

bool Planner::fits(const Shape& s) const {
  if (m_p.unified)
    return static_cast<U128>(a_bytes(s)) + static_cast<U128>(b_bytes(s)) +
               static_cast<U128>(o_bytes(s)) <=
           static_cast<U128>(m_p.global.usable_bytes());
  return a_bytes(s) <= m_p.ifmap.usable_bytes() && b_bytes(s) <= m_p.filter.usable_bytes() &&
         o_bytes(s) <= m_p.ofmap.usable_bytes();
}

std::string usable_text(const BufferSpec& b) {
  if (b.double_buffered)
    return fmt::format("has {} usable bytes of {} (double-buffered)", b.usable_bytes(),
                       b.capacity_bytes);
  return fmt::format("has {} bytes", b.capacity_bytes);
}

std::vector<std::string> Planner::misfits(const Shape& s, const std::string& label) const {
  Gemm3 g = to_gemm(s.tr, s.tc, s.tt);
  std::string what =
      fmt::format("{} of GEMM m={} n={} k={} ({}, {}x{} array; tile_m={} tile_n={} tile_k={})",
                  label, m_p.m, m_p.n, m_p.k, dataflow_name(m_df), m_rows, m_cols, g.m, g.n, g.k);
  std::string a_desc = fmt::format("A block {} x {} at {} bits", g.m, g.k, m_a_bits.value);
  std::string b_desc = fmt::format("B block {} x {} at {} bits", g.k, g.n, m_b_bits.value);
  std::string o_desc =
      fmt::format("partial-sum block {} x {} at {} bits", g.m, g.n, m_psum_bits.value);
  std::vector<std::string> out;
  if (m_p.unified) {
    U128 need = static_cast<U128>(a_bytes(s)) + static_cast<U128>(b_bytes(s)) +
                static_cast<U128>(o_bytes(s));
    if (need > static_cast<U128>(m_p.global.usable_bytes()))
      out.push_back(fmt::format(
          "tiling: global buffer too small for {}: needs {} bytes ({} + {} "
          "+ {}), {}",
          what, static_cast<int64_t>(need), a_desc, b_desc, o_desc, usable_text(m_p.global)));
    return out;
  }
  struct Item {
    const char* name;
    int64_t need;
    const BufferSpec* buf;
    const std::string* desc;
  };
  Item items[] = {{"ifmap", a_bytes(s), &m_p.ifmap, &a_desc},
                  {"filter", b_bytes(s), &m_p.filter, &b_desc},
                  {"ofmap", o_bytes(s), &m_p.ofmap, &o_desc}};
  for (const Item& it : items)
    if (it.need > it.buf->usable_bytes())
      out.push_back(fmt::format("tiling: {} buffer too small for {}: needs {} bytes ({}), {}",
                                it.name, what, it.need, *it.desc, usable_text(*it.buf)));
  return out;
}

void Planner::apply_override() {
  const TilingProblem& p = m_p;
  if (p.tile_m < 0 || p.tile_n < 0 || p.tile_k < 0)
    throw UserError(
        fmt::format("tiling: mapping override tile_m={} tile_n={} tile_k={}: values "
                    "must be >= 0 (0 = chosen by the tiling rule)",
                    p.tile_m, p.tile_n, p.tile_k));
  // The override value and name of the GEMM dimension lying on each array axis.
  struct Dim {
    int64_t value;
    const char* name;
    int64_t extent;
    char gemm;
  };
  Dim dm{p.tile_m, "tile_m", p.m, 'm'}, dn{p.tile_n, "tile_n", p.n, 'n'},
      dk{p.tile_k, "tile_k", p.k, 'k'};
  Dim r = dm, c = dn, t = dk;  // os
  if (m_df == Dataflow::kWs) {
    r = dk;
    c = dn;
    t = dm;
  } else if (m_df == Dataflow::kIs) {
    r = dk;
    c = dm;
    t = dn;
  }
  m_overridden = p.tile_m > 0 || p.tile_n > 0 || p.tile_k > 0;
  auto spatial = [&](const Dim& d, int64_t array, const char* axis, int64_t& lo, int64_t& hi) {
    if (d.value == 0) return;
    if (d.value >= d.extent) {
      lo = hi = ceil_div(d.extent, array);
    } else if (d.value % array == 0) {
      lo = hi = d.value / array;
    } else {
      throw UserError(fmt::format(
          "tiling: mapping override {}={} must be a multiple of the array {} ({}) or at least "
          "{}={}: {} maps {} onto the array {}, and a tile holds whole folds",
          d.name, d.value, axis, array, d.gemm, d.extent, dataflow_name(m_df), d.gemm, axis));
    }
  };
  spatial(r, m_rows, "rows", m_a_lo, m_a_hi);
  spatial(c, m_cols, "cols", m_b_lo, m_b_hi);
  if (t.value > 0) m_tt_fix = std::min(t.value, m_t);
  if (m_tt_fix > 0 && m_tt_fix < m_t) {
    if (m_a_lo > 1 || m_b_lo > 1)
      throw UserError(fmt::format(
          "tiling: mapping override {}={} splits the temporal extent {}={} ({} streams {} in "
          "time), which only a single-fold tile may do ({} <= {} and {} <= {}); a larger tile "
          "would restart its folds",
          t.name, t.value, t.gemm, t.extent, dataflow_name(m_df), t.gemm, r.name, m_rows, c.name,
          m_cols));
    m_a_hi = 1;
    m_b_hi = 1;
  }
}

void Planner::consider(const Shape& s) {
  int64_t nr = ceil_div(m_sr, s.tr), nc = ceil_div(m_sc, s.tc), nt = ceil_div(m_t, s.tt);
  // Exact traffic in 2^-19-byte units, without per-transfer rounding (see the header).
  U128 rc = static_cast<U128>(m_sr) * static_cast<U128>(m_sc);
  U128 rt = static_cast<U128>(m_sr) * static_cast<U128>(m_t);
  U128 ct = static_cast<U128>(m_sc) * static_cast<U128>(m_t);
  U128 rt_times = (nr == 1 && nt == 1) ? 1 : static_cast<U128>(nc);
  U128 traffic = 0;
  switch (m_df) {
    case Dataflow::kOs:  // rc = outputs, rt = A, ct = B
      traffic = rc * m_out_bits.q + rt * rt_times * m_a_bits.q +
                ct * (nt == 1 ? 1 : static_cast<U128>(nr)) * m_b_bits.q;
      break;
    case Dataflow::kWs:  // rc = B, rt = A, ct = outputs
    case Dataflow::kIs:  // rc = A, rt = B, ct = outputs
    {
      const Bits& rc_bits = m_df == Dataflow::kWs ? m_b_bits : m_a_bits;
      const Bits& rt_bits = m_df == Dataflow::kWs ? m_a_bits : m_b_bits;
      traffic = rc * rc_bits.q + rt * rt_times * rt_bits.q + ct * m_out_bits.q;
      if (nt > 1) traffic += 2 * ct * static_cast<U128>(nr - 1) * m_psum_bits.q;
      break;
    }
  }
  // nr * nc * nt <= m * n * k, which fits int64.
  int64_t tiles = nr * nc * nt;
  bool better =
      !m_have_best || traffic < m_best_traffic ||
      (traffic == m_best_traffic &&
       (tiles < m_best_tiles ||
        (tiles == m_best_tiles && (s.tr > m_best.tr || (s.tr == m_best.tr && s.tc > m_best.tc)))));
  if (better) {
    m_have_best = true;
    m_best = s;
    m_best_traffic = traffic;
    m_best_tiles = tiles;
  }
}

void Planner::choose() {
  apply_override();
  // The smallest tile the rules allow: one fold (or the fixed spatial size) for one temporal
  // step, unless the tile spans several folds, which then must cover all of T.
  int64_t tt_small = m_tt_fix > 0 ? m_tt_fix : (m_a_lo > 1 || m_b_lo > 1 ? m_t : 1);
  Shape smallest = shape(m_a_lo, m_b_lo, tt_small);
  if (!fits(smallest)) {
    const bool full = m_p.tile_m > 0 && m_p.tile_n > 0 && m_p.tile_k > 0;
    std::string label = full           ? "the tile fixed by the mapping override"
                        : m_overridden ? "the smallest tile the mapping override allows"
                                       : "the smallest legal tile (one fold, one temporal step)";
    throw UserError(join(misfits(smallest, label), "\n"));
  }
  // Whole-fold tiles (tt = T): for each row-tile size, the widest column tile that fits.
  // Fitting is monotone in a and in b (blocks only grow), so stop at the first a that fails.
  if (m_tt_fix == 0 || m_tt_fix == m_t) {
    for (int64_t a = m_a_lo; a <= m_a_hi; ++a) {
      if (!fits(shape(a, m_b_lo, m_t))) break;
      int64_t lo = m_b_lo, hi = m_b_hi;  // invariant: lo fits
      while (lo < hi) {
        int64_t mid = lo + (hi - lo + 1) / 2;
        if (fits(shape(a, mid, m_t)))
          lo = mid;
        else
          hi = mid - 1;
      }
      consider(shape(a, lo, m_t));
    }
  }
  // T-chunks of single folds: traffic does not depend on the chunk length, so the longest that
  // fits (fewest tiles).
  if (m_t > 1 && (m_tt_fix == 0 || m_tt_fix < m_t) && m_a_lo == 1 && m_b_lo == 1) {
    int64_t tt = m_tt_fix;
    if (tt == 0) {
      int64_t lo = 1, hi = m_t - 1;  // (1, 1, 1) is `smallest`, which fits
      while (lo < hi) {
        int64_t mid = lo + (hi - lo + 1) / 2;
        if (fits(shape(1, 1, mid)))
          lo = mid;
        else
          hi = mid - 1;
      }
      tt = lo;
    }
    consider(shape(1, 1, tt));
  }
  if (!m_have_best) throw std::logic_error("tiling: no candidate although the smallest tile fits");
  m_s = m_best;
  m_nr = ceil_div(m_sr, m_s.tr);
  m_nc = ceil_div(m_sc, m_s.tc);
  m_nt = ceil_div(m_t, m_s.tt);
}

TileRecord Planner::make_tile(int64_t ic, int64_t ir, int64_t it) const {
  const int64_t er = std::min(m_s.tr, m_sr - ir * m_s.tr);
  const int64_t ec = std::min(m_s.tc, m_sc - ic * m_s.tc);
  const int64_t et = std::min(m_s.tt, m_t - it * m_s.tt);
  const int64_t fr = ceil_div(er, m_rows), fc = ceil_div(ec, m_cols);
  const bool first_t = it == 0, last_t = it == m_nt - 1;
  const bool first_r = ir == 0, last_r = ir == m_nr - 1;
  const bool first_tile = ic == 0 && ir == 0 && it == 0;

  TileRecord rec;
  Gemm3 g = to_gemm(er, ec, et);
  rec.m = g.m;
  rec.n = g.n;
  rec.k = g.k;
  rec.folds = fr * fc;
  rec.starts_folds = first_t;
  rec.ends_folds = last_t;
  TileDemand& d = rec.demand;
  int64_t per_fold = et;
  if (first_t) per_fold = checked_add(per_fold, m_overhead.lead);
  if (last_t) per_fold = checked_add(per_fold, m_overhead.tail);
  d.compute_cycles = checked_mul(rec.folds, per_fold);
  d.macs = checked_mul(checked_mul(er, ec), et);

  const int64_t rc = er * ec, rt = er * et, ct = ec * et;  // each <= m * n * k
  // Row-streamed operand: A (os, ws) or B (is). Resident across tiles only when its index never
  // changes (one row tile, one T-chunk); every column fold of the tile streams it again.
  {
    const bool is_a = m_df != Dataflow::kIs;
    const Bits& bits = is_a ? m_a_bits : m_b_bits;
    int64_t& dram = is_a ? d.dram_read_ifmap_bytes : d.dram_read_filter_bytes;
    int64_t& sw = is_a ? d.sram_write_ifmap_bytes : d.sram_write_filter_bytes;
    int64_t& sr = is_a ? d.sram_read_ifmap_bytes : d.sram_read_filter_bytes;
    if (first_tile || !(m_nr == 1 && m_nt == 1)) {
      dram += bytes_of(rt, bits);
      sw += bytes_of(rt, bits);
    }
    sr += bytes_of(checked_mul(rt, fc), bits);
  }
  if (m_df == Dataflow::kOs) {
    // Stationary outputs: accumulate in the PEs, drain into the ofmap buffer after the last
    // T-chunk, and leave for DRAM.
    if (last_t) {
      d.sram_write_ofmap_bytes += bytes_of(rc, m_psum_bits);
      d.sram_read_ofmap_bytes += bytes_of(rc, m_psum_bits);
      d.dram_write_ofmap_bytes += bytes_of(rc, m_out_bits);
    }
    // B streams down the columns: resident across the row tiles only with one T-chunk.
    if (first_r || m_nt > 1) {
      d.dram_read_filter_bytes += bytes_of(ct, m_b_bits);
      d.sram_write_filter_bytes += bytes_of(ct, m_b_bits);
    }
    d.sram_read_filter_bytes += bytes_of(checked_mul(ct, fr), m_b_bits);
  } else {
    // Stationary input block, B (ws) or A (is): loaded with the first T-chunk and preloaded
    // into the array once per fold.
    const bool is_b = m_df == Dataflow::kWs;
    const Bits& bits = is_b ? m_b_bits : m_a_bits;
    if (first_t) {
      int64_t bytes = bytes_of(rc, bits);
      (is_b ? d.dram_read_filter_bytes : d.dram_read_ifmap_bytes) += bytes;
      (is_b ? d.sram_write_filter_bytes : d.sram_write_ifmap_bytes) += bytes;
      (is_b ? d.sram_read_filter_bytes : d.sram_read_ifmap_bytes) += bytes;
    }
    // Partial sums: every row fold writes a block; all but the very first reduction step read
    // the running sum back.
    d.sram_write_ofmap_bytes += bytes_of(checked_mul(ct, fr), m_psum_bits);
    d.sram_read_ofmap_bytes += bytes_of(checked_mul(ct, fr - (first_r ? 1 : 0)), m_psum_bits);
    if (m_nt > 1 && !first_r) {  // re-read the spilled running sum
      d.dram_read_psum_bytes += bytes_of(ct, m_psum_bits);
      d.sram_write_ofmap_bytes += bytes_of(ct, m_psum_bits);
    }
    if (m_nt > 1 && !last_r) {  // spill it: the next tile needs the buffer for another block
      d.dram_write_psum_bytes += bytes_of(ct, m_psum_bits);
      d.sram_read_ofmap_bytes += bytes_of(ct, m_psum_bits);
    }
    if (last_r) {
      d.dram_write_ofmap_bytes += bytes_of(ct, m_out_bits);
      d.sram_read_ofmap_bytes += bytes_of(ct, m_psum_bits);
    }
  }
  return rec;
}

void Planner::emit(TilePlan& plan, const TileRecord& r, int64_t count) const {
  if (!plan.runs.empty() && plan.runs.back().tile == r)
    plan.runs.back().count += count;
  else
    plan.runs.push_back({r, count});
}

TilePlan Planner::plan() {
  choose();
  TilePlan plan;
  plan.fold = m_fold;
  plan.groups = m_p.groups;
  switch (m_df) {
    case Dataflow::kOs:
      plan.loop_order = "n,m,k";
      break;
    case Dataflow::kWs:
      plan.loop_order = "n,k,m";
      break;
    case Dataflow::kIs:
      plan.loop_order = "m,k,n";
      break;
  }
  Gemm3 tile = to_gemm(m_s.tr, m_s.tc, m_s.tt);
  Gemm3 counts = to_gemm(m_nr, m_nc, m_nt);
  plan.tile_m = tile.m;
  plan.tile_n = tile.n;
  plan.tile_k = tile.k;
  plan.tiles_m = counts.m;
  plan.tiles_n = counts.n;
  plan.tiles_k = counts.k;
  plan.tiles_per_group = checked_mul(checked_mul(m_nr, m_nc), m_nt);
  plan.tiles = checked_mul(plan.tiles_per_group, m_p.groups);
  if (plan.tiles > kMaxTilesPerGemm)
    throw UserError(fmt::format(
        "GEMM {} x {} x {} (x {} groups): its tiling needs {} tiles ({} x {} x {} per group), more "
        "than the limit of {} tiles per GEMM; give the array larger buffers or simulate a smaller "
        "workload",
        m_p.m, m_p.n, m_p.k, m_p.groups, plan.tiles, counts.m, counts.n, counts.k,
        kMaxTilesPerGemm));
  plan.splits_time = m_nt > 1;
  plan.overridden = m_overridden;
  plan.ifmap_block_bytes = a_bytes(m_s);
  plan.filter_block_bytes = b_bytes(m_s);
  plan.ofmap_block_bytes = o_bytes(m_s);

  // Loop order: column tiles, row tiles, T-chunks. Within one (column, row) tile pair the
  // middle T-chunks are identical, so each pair yields at most three records. With one T-chunk
  // the middle row tiles of a column are identical too (neither first nor last, full size), so
  // they go in as one run.
  for (int64_t ic = 0; ic < m_nc; ++ic) {
    if (m_nt == 1 && m_nr > 3) {
      emit(plan, make_tile(ic, 0, 0), 1);
      emit(plan, make_tile(ic, 1, 0), m_nr - 2);
      emit(plan, make_tile(ic, m_nr - 1, 0), 1);
      continue;
    }
    for (int64_t ir = 0; ir < m_nr; ++ir) {
      emit(plan, make_tile(ic, ir, 0), 1);
      if (m_nt > 2) emit(plan, make_tile(ic, ir, 1), m_nt - 2);
      if (m_nt > 1) emit(plan, make_tile(ic, ir, m_nt - 1), 1);
    }
  }
  for (const TileRun& r : plan.runs) plan.per_group.add(r.tile.demand, r.count);
  plan.total.add(plan.per_group, m_p.groups);
  plan.dram_read_bytes = plan.total.dram_read_bytes();
  plan.dram_write_bytes = plan.total.dram_write_bytes();

  const int64_t a_once = bytes_of(checked_mul(m_p.m, m_p.k), m_a_bits);
  const int64_t b_once = bytes_of(checked_mul(m_p.k, m_p.n), m_b_bits);
  const int64_t o_once = bytes_of(checked_mul(m_p.m, m_p.n), m_out_bits);
  plan.min_dram_read_bytes = checked_mul(checked_add(a_once, b_once), m_p.groups);
  plan.min_dram_write_bytes = checked_mul(o_once, m_p.groups);
  const double groups = static_cast<double>(m_p.groups);
  plan.ifmap_refetch = static_cast<double>(plan.total.dram_read_ifmap_bytes) /
                       (static_cast<double>(a_once) * groups);
  plan.filter_refetch = static_cast<double>(plan.total.dram_read_filter_bytes) /
                        (static_cast<double>(b_once) * groups);
  plan.psum_spill = static_cast<double>(plan.total.dram_write_psum_bytes) /
                    static_cast<double>(plan.min_dram_write_bytes);
  return plan;
}

}  // namespace

int64_t TileDemand::dram_read_bytes() const {
  return checked_add(checked_add(dram_read_ifmap_bytes, dram_read_filter_bytes),
                     dram_read_psum_bytes);
}

int64_t TileDemand::dram_write_bytes() const {
  return checked_add(dram_write_ofmap_bytes, dram_write_psum_bytes);
}

void TileDemand::add(const TileDemand& o, int64_t times) {
  auto acc = [times](int64_t& dst, int64_t v) { dst = checked_add(dst, checked_mul(v, times)); };
  acc(compute_cycles, o.compute_cycles);
  acc(macs, o.macs);
  acc(dram_read_ifmap_bytes, o.dram_read_ifmap_bytes);
  acc(dram_read_filter_bytes, o.dram_read_filter_bytes);
  acc(dram_read_psum_bytes, o.dram_read_psum_bytes);
  acc(dram_write_ofmap_bytes, o.dram_write_ofmap_bytes);
  acc(dram_write_psum_bytes, o.dram_write_psum_bytes);
  acc(sram_read_ifmap_bytes, o.sram_read_ifmap_bytes);
  acc(sram_write_ifmap_bytes, o.sram_write_ifmap_bytes);
  acc(sram_read_filter_bytes, o.sram_read_filter_bytes);
  acc(sram_write_filter_bytes, o.sram_write_filter_bytes);
  acc(sram_read_ofmap_bytes, o.sram_read_ofmap_bytes);
  acc(sram_write_ofmap_bytes, o.sram_write_ofmap_bytes);
}

bool TileDemand::operator==(const TileDemand& o) const {
  return compute_cycles == o.compute_cycles && macs == o.macs &&
         dram_read_ifmap_bytes == o.dram_read_ifmap_bytes &&
         dram_read_filter_bytes == o.dram_read_filter_bytes &&
         dram_read_psum_bytes == o.dram_read_psum_bytes &&
         dram_write_ofmap_bytes == o.dram_write_ofmap_bytes &&
         dram_write_psum_bytes == o.dram_write_psum_bytes &&
         sram_read_ifmap_bytes == o.sram_read_ifmap_bytes &&
         sram_write_ifmap_bytes == o.sram_write_ifmap_bytes &&
         sram_read_filter_bytes == o.sram_read_filter_bytes &&
         sram_write_filter_bytes == o.sram_write_filter_bytes &&
         sram_read_ofmap_bytes == o.sram_read_ofmap_bytes &&
         sram_write_ofmap_bytes == o.sram_write_ofmap_bytes;
}

bool TileRecord::operator==(const TileRecord& o) const {
  return m == o.m && n == o.n && k == o.k && folds == o.folds && starts_folds == o.starts_folds &&
         ends_folds == o.ends_folds && demand == o.demand;
}

TilePlan plan_tiles(const TilingProblem& p) { return Planner(p).plan(); }

}  // namespace lbsim
