// Tiling / memory-demand model (models/memory/tiling.h).
//  * Hand examples on a 4x4 array (m=n=k=8) with every byte count derived in the comments.
//  * Properties on random GEMMs, arrays, buffers and dataflows: the compute cycles of all tiles
//    add up to plan_folds exactly; the DRAM traffic equals an independent brute-force walk of
//    the tile loop nest under the documented residency rule; the chosen tile has the least
//    traffic of every legal tile (exhaustive enumeration); traffic is monotone in buffer size.
//  * Mapping override, errors (exact messages), groups, unified buffer, sub-byte elements.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "models/core/error.h"
#include "models/mac/systolic.h"
#include "models/memory/tiling.h"

using namespace lbsim;

namespace {

TilingProblem small_ws(int64_t ifmap, int64_t filter, int64_t ofmap) {
  TilingProblem p;
  p.m = p.n = p.k = 8;
  p.dataflow = Dataflow::kWs;
  p.rows = p.cols = 4;
  p.ifmap_bits = 8;
  p.filter_bits = 8;
  p.ofmap_bits = 8;
  p.psum_bits = 32;
  p.ifmap.capacity_bytes = ifmap;
  p.filter.capacity_bytes = filter;
  p.ofmap.capacity_bytes = ofmap;
  return p;
}

int64_t tiles_in(const TilePlan& plan) {
  int64_t n = 0;
  for (const TileRun& r : plan.runs) n += r.count;
  return n;
}

// ---------------------------------------------------------------- independent reference
// Walks every tile of a (tm, tn, tk) tiling in the documented loop order and applies the
// residency rule literally: a buffer keeps the previous tile's block; an input block is read
// when its index changes; the output block in the ofmap buffer is spilled when the walk leaves
// it before its reduction is complete, re-read when the walk returns to it, and written once
// when the reduction completes. Bits must be whole bytes (multiples of 8).
struct RefTraffic {
  int64_t a = 0, b = 0, psum_read = 0, psum_write = 0, out = 0;
  int64_t tiles = 0;
  int64_t total() const { return a + b + psum_read + psum_write + out; }
};

RefTraffic walk(const TilingProblem& p, int64_t tm, int64_t tn, int64_t tk) {
  const int64_t abytes = static_cast<int64_t>(p.ifmap_bits) / 8;
  const int64_t bbytes = static_cast<int64_t>(p.filter_bits) / 8;
  const int64_t obytes = static_cast<int64_t>(p.ofmap_bits) / 8;
  const int64_t pbytes = static_cast<int64_t>(p.psum_bits == 0 ? p.ofmap_bits : p.psum_bits) / 8;
  const int64_t nm = (p.m + tm - 1) / tm, nn = (p.n + tn - 1) / tn, nk = (p.k + tk - 1) / tk;
  // Loop order, outer -> inner.
  std::vector<char> order = p.dataflow == Dataflow::kOs   ? std::vector<char>{'n', 'm', 'k'}
                            : p.dataflow == Dataflow::kWs ? std::vector<char>{'n', 'k', 'm'}
                                                          : std::vector<char>{'m', 'k', 'n'};
  auto count = [&](char d) { return d == 'm' ? nm : d == 'n' ? nn : nk; };
  RefTraffic t;
  std::pair<int64_t, int64_t> prev_a{-1, -1}, prev_b{-1, -1}, res_c{-1, -1};
  std::map<std::pair<int64_t, int64_t>, bool> spilled;
  std::map<std::pair<int64_t, int64_t>, int64_t> size_c;
  for (int64_t i0 = 0; i0 < count(order[0]); ++i0)
    for (int64_t i1 = 0; i1 < count(order[1]); ++i1)
      for (int64_t i2 = 0; i2 < count(order[2]); ++i2) {
        int64_t idx[3] = {i0, i1, i2};
        int64_t im = 0, in = 0, ik = 0;
        for (int j = 0; j < 3; ++j) (order[j] == 'm' ? im : order[j] == 'n' ? in : ik) = idx[j];
        const int64_t em = std::min(tm, p.m - im * tm), en = std::min(tn, p.n - in * tn),
                      ek = std::min(tk, p.k - ik * tk);
        ++t.tiles;
        if (std::make_pair(im, ik) != prev_a) t.a += em * ek * abytes;
        if (std::make_pair(ik, in) != prev_b) t.b += ek * en * bbytes;
        prev_a = {im, ik};
        prev_b = {ik, in};
        std::pair<int64_t, int64_t> c{im, in};
        if (c != res_c) {
          if (res_c.first >= 0 && size_c.count(res_c)) {  // leaving an incomplete block
            t.psum_write += size_c[res_c] * pbytes;
            spilled[res_c] = true;
          }
          res_c = c;
          if (spilled[c]) t.psum_read += em * en * pbytes;
        }
        size_c[c] = em * en;
        if (ik == nk - 1) {  // reduction complete
          t.out += em * en * obytes;
          size_c.erase(c);
        }
      }
  return t;
}

// Fold-axis helpers: (a, b, tt) -> (tm, tn, tk) for the legal-tile enumeration.
struct Tile3 {
  int64_t m, n, k;
};
Tile3 tile_of(const TilingProblem& p, int64_t a, int64_t b, int64_t tt) {
  FoldAxes ax = fold_axes(p.dataflow, p.m, p.n, p.k);
  int64_t tr = std::min(a * p.rows, ax.s_r), tc = std::min(b * p.cols, ax.s_c);
  switch (p.dataflow) {
    case Dataflow::kOs:
      return {tr, tc, tt};
    case Dataflow::kWs:
      return {tt, tc, tr};
    case Dataflow::kIs:
      return {tc, tt, tr};
  }
  return {0, 0, 0};
}

bool ref_fits(const TilingProblem& p, const Tile3& t) {
  const int64_t a = t.m * t.k * static_cast<int64_t>(p.ifmap_bits) / 8;
  const int64_t b = t.k * t.n * static_cast<int64_t>(p.filter_bits) / 8;
  const int64_t o =
      t.m * t.n * static_cast<int64_t>(p.psum_bits == 0 ? p.ofmap_bits : p.psum_bits) / 8;
  if (p.unified) return a + b + o <= p.global.usable_bytes();
  return a <= p.ifmap.usable_bytes() && b <= p.filter.usable_bytes() && o <= p.ofmap.usable_bytes();
}

// Least reference traffic over every legal tile that fits; -1 when none fits.
int64_t best_legal_traffic(const TilingProblem& p) {
  FoldAxes ax = fold_axes(p.dataflow, p.m, p.n, p.k);
  const int64_t amax = (ax.s_r + p.rows - 1) / p.rows, bmax = (ax.s_c + p.cols - 1) / p.cols;
  int64_t best = -1;
  for (int64_t a = 1; a <= amax; ++a)
    for (int64_t b = 1; b <= bmax; ++b)
      for (int64_t tt = 1; tt <= ax.t; ++tt) {
        if (tt < ax.t && (a > 1 || b > 1)) continue;  // splitting T needs a single fold
        Tile3 t = tile_of(p, a, b, tt);
        if (!ref_fits(p, t)) continue;
        int64_t traffic = walk(p, t.m, t.n, t.k).total();
        if (best < 0 || traffic < best) best = traffic;
      }
  return best;
}

// Checks the structural properties every plan must have.
void check_plan(const TilingProblem& p, const TilePlan& plan) {
  FoldPlan f = plan_folds(p.dataflow, p.rows, p.cols, p.m, p.n, p.k);
  // The compute schedule never depends on the buffers.
  CHECK(plan.per_group.compute_cycles == f.compute_cycles);
  CHECK(plan.total.compute_cycles == f.compute_cycles * p.groups);
  CHECK(plan.per_group.macs == p.m * p.n * p.k);
  CHECK(tiles_in(plan) == plan.tiles_per_group);
  CHECK(plan.tiles_per_group == plan.tiles_m * plan.tiles_n * plan.tiles_k);
  CHECK(plan.tiles == plan.tiles_per_group * p.groups);
  CHECK(plan.tiles_m == (p.m + plan.tile_m - 1) / plan.tile_m);
  CHECK(plan.tiles_n == (p.n + plan.tile_n - 1) / plan.tile_n);
  CHECK(plan.tiles_k == (p.k + plan.tile_k - 1) / plan.tile_k);
  // Each operand moves at least once; outputs are written exactly once (whole-byte outputs).
  CHECK(plan.dram_read_bytes >= plan.min_dram_read_bytes);
  CHECK(plan.dram_write_bytes >= plan.min_dram_write_bytes);
  CHECK(plan.ifmap_refetch >= 1.0);
  CHECK(plan.filter_refetch >= 1.0);
  // Blocks fit the buffers.
  if (p.unified) {
    CHECK(plan.ifmap_block_bytes + plan.filter_block_bytes + plan.ofmap_block_bytes <=
          p.global.usable_bytes());
  } else {
    CHECK(plan.ifmap_block_bytes <= p.ifmap.usable_bytes());
    CHECK(plan.filter_block_bytes <= p.filter.usable_bytes());
    CHECK(plan.ofmap_block_bytes <= p.ofmap.usable_bytes());
  }
  // Runs are maximal (adjacent runs differ) and every tile lies within the full tile.
  for (size_t i = 0; i < plan.runs.size(); ++i) {
    const TileRecord& t = plan.runs[i].tile;
    CHECK(plan.runs[i].count >= 1);
    if (i > 0) CHECK_FALSE(plan.runs[i - 1].tile == t);
    CHECK(t.m >= 1);
    CHECK(t.m <= plan.tile_m);
    CHECK(t.n >= 1);
    CHECK(t.n <= plan.tile_n);
    CHECK(t.k >= 1);
    CHECK(t.k <= plan.tile_k);
    CHECK(t.demand.macs == t.m * t.n * t.k);
    // Tiles that split T hold a single fold.
    if (plan.splits_time) CHECK(t.folds == 1);
  }
  if (p.dataflow == Dataflow::kOs) {  // the reduction stays in the PEs
    CHECK(plan.total.dram_write_psum_bytes == 0);
    CHECK(plan.total.dram_read_psum_bytes == 0);
  }
}

}  // namespace

// ------------------------------------------------------------------------- hand examples

TEST_CASE("hand example: ws, tiny buffers split K and M and spill partial sums", "[tiling]") {
  // ws on 4x4, m=n=k=8: rows hold K (2 folds), columns N (2 folds), M=8 streams. F=4,
  // cycles per fold 8 + 2*4 + 4 - 2 = 18, compute 72; lead 2R-1 = 7, tail C-1 = 3.
  // Buffers (single): ifmap 16 B, filter 16 B, ofmap 64 B; A, B, outputs 8 bits, psums 32.
  //  * filter 16 B holds one 4x4 weight fold only -> tk = tn = 4.
  //  * whole-fold tile (tm = 8): A block 8x4 = 32 B > 16 -> tiles must split M:
  //    tm <= 16/4 = 4 (ifmap) and tm*4*4 B <= 64 (ofmap) -> tm = 4.
  // Tile 4 x 4 x 4, tiles_n = 2, tiles_k = 2, tiles_m = 2; loop n, k, m.
  TilingProblem p = small_ws(16, 16, 64);
  TilePlan plan = plan_tiles(p);
  CHECK(plan.loop_order == "n,k,m");
  CHECK(plan.tile_m == 4);
  CHECK(plan.tile_n == 4);
  CHECK(plan.tile_k == 4);
  CHECK(plan.tiles_m == 2);
  CHECK(plan.tiles_n == 2);
  CHECK(plan.tiles_k == 2);
  CHECK(plan.tiles_per_group == 8);
  CHECK(plan.splits_time);
  CHECK_FALSE(plan.overridden);
  CHECK(plan.ifmap_block_bytes == 16);   // 4 x 4 A at 1 B
  CHECK(plan.filter_block_bytes == 16);  // 4 x 4 B at 1 B
  CHECK(plan.ofmap_block_bytes == 64);   // 4 x 4 psums at 4 B
  // Per column tile, in order (k-tile, m-chunk):
  //  (k0,m0): cycles 4+7 = 11; A 16 read; B 16 read; psums written by the array 16 x 4 B = 64
  //           into ofmap SRAM, nothing to accumulate (first K step), spilled: DRAM psum write
  //           64 (SRAM read 64).
  //  (k0,m1): cycles 4+3 = 7; A 16; B resident; psums 64 written, spilled 64.
  //  (k1,m0): cycles 11; A 16; B 16; psum re-read 64 (DRAM read, SRAM write), array writes 64
  //           and reads 64 to accumulate; final outputs 16 x 1 B = 16 to DRAM (SRAM read 64).
  //  (k1,m1): cycles 7; A 16; psum re-read 64; outputs 16.
  REQUIRE(plan.runs.size() == 8);
  struct Want {
    int64_t cycles, a, b, pr, pw, out, ofmap_sram_w, ofmap_sram_r, filter_sram;
  };
  const Want want[4] = {{11, 16, 16, 0, 64, 0, 64, 64, 16},
                        {7, 16, 0, 0, 64, 0, 64, 64, 0},
                        {11, 16, 16, 64, 0, 16, 128, 128, 16},
                        {7, 16, 0, 64, 0, 16, 128, 128, 0}};
  for (size_t i = 0; i < 8; ++i) {
    INFO("tile " << i);
    const TileRun& r = plan.runs[i];
    const Want& w = want[i % 4];
    CHECK(r.count == 1);
    CHECK(r.tile.m == 4);
    CHECK(r.tile.folds == 1);
    CHECK(r.tile.starts_folds == (i % 2 == 0));
    CHECK(r.tile.ends_folds == (i % 2 == 1));
    const TileDemand& d = r.tile.demand;
    CHECK(d.compute_cycles == w.cycles);
    CHECK(d.macs == 64);
    CHECK(d.dram_read_ifmap_bytes == w.a);
    CHECK(d.dram_read_filter_bytes == w.b);
    CHECK(d.dram_read_psum_bytes == w.pr);
    CHECK(d.dram_write_psum_bytes == w.pw);
    CHECK(d.dram_write_ofmap_bytes == w.out);
    CHECK(d.sram_write_ifmap_bytes == 16);
    CHECK(d.sram_read_ifmap_bytes == 16);  // one column fold streams the 4x4 A chunk
    CHECK(d.sram_write_filter_bytes == w.filter_sram);
    CHECK(d.sram_read_filter_bytes == w.filter_sram);  // preload once per fold start
    CHECK(d.sram_write_ofmap_bytes == w.ofmap_sram_w);
    CHECK(d.sram_read_ofmap_bytes == w.ofmap_sram_r);
  }
  // Totals: cycles 2*(11+7+11+7) = 72 = plan_folds. A read 8 x 16 = 128 (A is 64 B: refetch 2,
  // once per column tile); B 4 x 16 = 64 (once); psums 4 x 64 = 256 each way; outputs 64.
  CHECK(plan.total.compute_cycles == 72);
  CHECK(plan.total.dram_read_ifmap_bytes == 128);
  CHECK(plan.total.dram_read_filter_bytes == 64);
  CHECK(plan.total.dram_read_psum_bytes == 256);
  CHECK(plan.total.dram_write_psum_bytes == 256);
  CHECK(plan.total.dram_write_ofmap_bytes == 64);
  CHECK(plan.dram_read_bytes == 448);
  CHECK(plan.dram_write_bytes == 320);
  CHECK(plan.min_dram_read_bytes == 128);
  CHECK(plan.min_dram_write_bytes == 64);
  CHECK(plan.ifmap_refetch == 2.0);
  CHECK(plan.filter_refetch == 1.0);
  CHECK(plan.psum_spill == 4.0);  // 256 / 64
  CHECK(plan.total.sram_read_ifmap_bytes == 128);
  CHECK(plan.total.sram_write_ofmap_bytes == 768);
  CHECK(plan.total.sram_read_ofmap_bytes == 768);
  check_plan(p, plan);
}

TEST_CASE("hand example: ws, larger buffers keep K whole and reach the minimum", "[tiling]") {
  // Same GEMM; ifmap 64 B, filter 32 B, ofmap 128 B.
  //  Whole-fold tiles (tm = 8). a = 1 (tk = 4): filter 4 x 4b <= 32 -> b <= 2, ofmap
  //  8 x 4b x 4 B <= 128 -> b = 1; traffic A 2 x 64 (two K tiles -> once per column tile)
  //  + B 64 + out 64 = 256. a = 2 (tk = 8): filter 8 x 4 = 32, ifmap 8 x 8 = 64, ofmap 128
  //  all fit with b = 1; A is resident (one K tile, one M chunk): 64 + 64 + 64 = 192. -> a = 2.
  // Tile m=8, n=4, k=8: two tiles along n, each two folds of 18 cycles = 36.
  TilingProblem p = small_ws(64, 32, 128);
  TilePlan plan = plan_tiles(p);
  CHECK(plan.tile_m == 8);
  CHECK(plan.tile_n == 4);
  CHECK(plan.tile_k == 8);
  CHECK(plan.tiles_n == 2);
  CHECK(plan.tiles_per_group == 2);
  CHECK_FALSE(plan.splits_time);
  REQUIRE(plan.runs.size() == 2);
  for (int i = 0; i < 2; ++i) {
    const TileDemand& d = plan.runs[i].tile.demand;
    CHECK(plan.runs[i].tile.folds == 2);
    CHECK(d.compute_cycles == 36);
    CHECK(d.dram_read_ifmap_bytes == (i == 0 ? 64 : 0));  // A stays for the second tile
    CHECK(d.dram_read_filter_bytes == 32);
    CHECK(d.dram_write_ofmap_bytes == 32);  // 8 x 4 outputs at 1 B
    CHECK(d.dram_read_psum_bytes == 0);
    CHECK(d.dram_write_psum_bytes == 0);
    CHECK(d.sram_read_ifmap_bytes == 64);   // 8 x 8 A streamed by the one column fold
    CHECK(d.sram_read_filter_bytes == 32);  // two 4x4 folds preloaded
    // Array writes 8 x 4 psums per row fold (2 folds) = 64 x 4 B = 256; the second fold
    // accumulates (reads 128); the DMA reads the 32 outputs (128 B at 32 bits) out.
    CHECK(d.sram_write_ofmap_bytes == 256);
    CHECK(d.sram_read_ofmap_bytes == 256);
  }
  CHECK(plan.dram_read_bytes == plan.min_dram_read_bytes);
  CHECK(plan.dram_write_bytes == plan.min_dram_write_bytes);
  CHECK(plan.ifmap_refetch == 1.0);
  CHECK(plan.psum_spill == 0.0);
  check_plan(p, plan);
  // Smaller buffers cost more traffic: the first hand example's 448 + 320 > 128 + 64.
  TilePlan tight = plan_tiles(small_ws(16, 16, 64));
  CHECK(tight.dram_read_bytes + tight.dram_write_bytes >
        plan.dram_read_bytes + plan.dram_write_bytes);
}

TEST_CASE("hand example: os keeps the reduction in the PEs", "[tiling]") {
  // os on 4x4, m=n=k=8: rows M (2 folds), columns N (2 folds), K streams; cycles per fold
  // 8 + 4 + 4 - 2 = 14, compute 56; lead R-1 = 3, tail C-1 = 3.
  // ifmap 8 B, filter 8 B, ofmap 64 B (8-bit operands, 32-bit psums):
  //  smallest tile m=4 n=4 k=1: A 4 B, B 4 B, out 4x4x4 = 64 B: fits.
  //  whole-fold tile (k=8): A 4x8 = 32 B > 8 -> split K: k <= 2 (ifmap 4k <= 8, filter 4k <= 8).
  // Tile 4 x 4 x 2, tiles m 2, n 2, k 4 = 16 tiles; loop n, m, k.
  TilingProblem p = small_ws(8, 8, 64);
  p.dataflow = Dataflow::kOs;
  TilePlan plan = plan_tiles(p);
  CHECK(plan.loop_order == "n,m,k");
  CHECK(plan.tile_m == 4);
  CHECK(plan.tile_n == 4);
  CHECK(plan.tile_k == 2);
  CHECK(plan.tiles_per_group == 16);
  // Per (n, m) pair: chunk 0: 2 + 3 = 5 cycles, chunks 1-2: 2, chunk 3: 2 + 3 = 5 -> 14.
  // Every chunk reads A 4x2 = 8 B and B 2x4 = 8 B; the last writes 16 outputs (16 B).
  REQUIRE(plan.runs.size() == 12);  // 4 pairs x (first, 2 middle merged, last)
  CHECK(plan.runs[0].tile.demand.compute_cycles == 5);
  CHECK(plan.runs[1].count == 2);
  CHECK(plan.runs[1].tile.demand.compute_cycles == 2);
  CHECK(plan.runs[2].tile.demand.compute_cycles == 5);
  CHECK(plan.runs[2].tile.demand.dram_write_ofmap_bytes == 16);
  CHECK(plan.runs[2].tile.demand.sram_write_ofmap_bytes == 64);  // drained at 32 bits
  CHECK(plan.runs[0].tile.demand.dram_write_ofmap_bytes == 0);
  CHECK(plan.total.compute_cycles == 56);
  // A: 16 tiles x 8 = 128 (refetch 2, once per column tile); B: 16 x 8 = 128 (refetch 2,
  // once per row tile); outputs 64.
  CHECK(plan.total.dram_read_ifmap_bytes == 128);
  CHECK(plan.total.dram_read_filter_bytes == 128);
  CHECK(plan.total.dram_write_ofmap_bytes == 64);
  CHECK(plan.total.dram_write_psum_bytes == 0);
  check_plan(p, plan);
}

TEST_CASE("hand example: is streams N past stationary inputs", "[tiling]") {
  // is on 4x4, m=n=k=8: rows K (2 folds), columns M (2 folds), N streams; per fold
  // 8 + 8 + 4 - 2 = 18, compute 72. Huge buffers: one tile, each operand moved once.
  TilingProblem p = small_ws(1 << 20, 1 << 20, 1 << 20);
  p.dataflow = Dataflow::kIs;
  TilePlan plan = plan_tiles(p);
  CHECK(plan.loop_order == "m,k,n");
  CHECK(plan.tiles_per_group == 1);
  CHECK(plan.tile_m == 8);
  CHECK(plan.tile_n == 8);
  CHECK(plan.tile_k == 8);
  REQUIRE(plan.runs.size() == 1);
  const TileDemand& d = plan.runs[0].tile.demand;
  CHECK(d.compute_cycles == 72);
  CHECK(plan.runs[0].tile.folds == 4);
  CHECK(d.dram_read_ifmap_bytes == 64);
  CHECK(d.dram_read_filter_bytes == 64);
  CHECK(d.dram_write_ofmap_bytes == 64);
  // A is stationary: preloaded once (64 B). B (8 x 8) streams past both column folds: 128 B.
  CHECK(d.sram_read_ifmap_bytes == 64);
  CHECK(d.sram_read_filter_bytes == 128);
  // Psums: 2 row folds x 64 x 4 B written = 512; 1 accumulating fold reads 256 + 256 drained.
  CHECK(d.sram_write_ofmap_bytes == 512);
  CHECK(d.sram_read_ofmap_bytes == 512);
  check_plan(p, plan);
}

// ------------------------------------------------------------------------------ properties

TEST_CASE("random plans: cycles invariant, reference traffic, optimal tile", "[tiling]") {
  std::mt19937_64 rng(20240601);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  const double whole_bits[] = {8, 16, 32};
  int planned = 0, too_small = 0;
  for (int iter = 0; iter < 600; ++iter) {
    TilingProblem p;
    p.dataflow = static_cast<Dataflow>(pick(0, 2));
    p.rows = pick(1, 8);
    p.cols = pick(1, 8);
    p.m = pick(1, 24);
    p.n = pick(1, 24);
    p.k = pick(1, 24);
    p.groups = pick(1, 3);
    p.ifmap_bits = whole_bits[pick(0, 1)];
    p.filter_bits = whole_bits[pick(0, 1)];
    p.ofmap_bits = whole_bits[pick(0, 1)];
    p.psum_bits = whole_bits[pick(0, 2)];
    p.unified = pick(0, 5) == 0;
    const int64_t span = 8 * (p.m + p.n) * (p.k + p.n);
    for (BufferSpec* b : {&p.ifmap, &p.filter, &p.ofmap, &p.global}) {
      b->capacity_bytes = pick(0, 3) == 0 ? pick(0, 64) : pick(0, span);
      b->double_buffered = pick(0, 1) == 1;
    }
    INFO("iter " << iter << " " << dataflow_name(p.dataflow) << " " << p.rows << "x" << p.cols
                 << " m=" << p.m << " n=" << p.n << " k=" << p.k);
    TilePlan plan;
    try {
      plan = plan_tiles(p);
    } catch (const UserError&) {
      ++too_small;
      CHECK(best_legal_traffic(p) < 0);  // really nothing fits
      continue;
    }
    ++planned;
    check_plan(p, plan);
    RefTraffic ref = walk(p, plan.tile_m, plan.tile_n, plan.tile_k);
    CHECK(ref.tiles == plan.tiles_per_group);
    CHECK(plan.total.dram_read_ifmap_bytes == ref.a * p.groups);
    CHECK(plan.total.dram_read_filter_bytes == ref.b * p.groups);
    CHECK(plan.total.dram_read_psum_bytes == ref.psum_read * p.groups);
    CHECK(plan.total.dram_write_psum_bytes == ref.psum_write * p.groups);
    CHECK(plan.total.dram_write_ofmap_bytes == ref.out * p.groups);
    CHECK(plan.dram_write_bytes - plan.total.dram_write_psum_bytes == plan.min_dram_write_bytes);
    CHECK(ref.total() == best_legal_traffic(p));
  }
  CHECK(planned > 300);
  CHECK(too_small > 20);
}

TEST_CASE("huge buffers: one tile, every operand moved once", "[tiling]") {
  std::mt19937_64 rng(7);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int iter = 0; iter < 200; ++iter) {
    TilingProblem p;
    p.dataflow = static_cast<Dataflow>(pick(0, 2));
    p.rows = pick(1, 32);
    p.cols = pick(1, 32);
    p.m = pick(1, 300);
    p.n = pick(1, 300);
    p.k = pick(1, 300);
    p.ifmap_bits = 4.25;  // sub-byte elements with amortised scales
    p.filter_bits = 4;
    p.ofmap_bits = 16;
    p.psum_bits = 32;
    for (BufferSpec* b : {&p.ifmap, &p.filter, &p.ofmap}) {
      b->capacity_bytes = int64_t(1) << 30;
      b->double_buffered = true;
    }
    TilePlan plan = plan_tiles(p);
    check_plan(p, plan);
    CHECK(plan.tiles_per_group == 1);
    CHECK(plan.dram_read_bytes == plan.min_dram_read_bytes);
    CHECK(plan.dram_write_bytes == plan.min_dram_write_bytes);
    // ceil(m*k*4.25/8) + ceil(k*n*4/8); ceil(m*n*16/8).
    CHECK(plan.min_dram_read_bytes == (p.m * p.k * 17 + 31) / 32 + (p.k * p.n + 1) / 2);
    CHECK(plan.min_dram_write_bytes == p.m * p.n * 2);
  }
}

TEST_CASE("DRAM traffic is monotone non-increasing in each buffer size", "[tiling]") {
  std::mt19937_64 rng(99);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  int sweeps = 0;
  for (int iter = 0; iter < 60; ++iter) {
    TilingProblem p;
    p.dataflow = static_cast<Dataflow>(pick(0, 2));
    p.rows = pick(1, 16);
    p.cols = pick(1, 16);
    p.m = pick(1, 120);
    p.n = pick(1, 120);
    p.k = pick(1, 120);
    p.ifmap_bits = 8;
    p.filter_bits = 16;
    p.ofmap_bits = 8;
    p.psum_bits = 32;
    const int64_t full = 4 * (p.m + p.n) * (p.n + p.k);
    for (BufferSpec* b : {&p.ifmap, &p.filter, &p.ofmap}) {
      b->capacity_bytes = pick(full / 8, full);
      b->double_buffered = pick(0, 1) == 1;
    }
    for (BufferSpec* swept : {&p.ifmap, &p.filter, &p.ofmap}) {
      TilingProblem q = p;
      BufferSpec* b = swept == &p.ifmap ? &q.ifmap : swept == &p.filter ? &q.filter : &q.ofmap;
      int64_t prev = -1;
      int feasible = 0;
      for (int64_t cap = 0; cap <= 2 * full; cap += std::max<int64_t>(1, full / 40)) {
        b->capacity_bytes = cap;
        TilePlan plan;
        try {
          plan = plan_tiles(q);
        } catch (const UserError&) {
          CHECK(feasible == 0);  // once a capacity fits, every larger one does
          continue;
        }
        ++feasible;
        int64_t traffic = plan.dram_read_bytes + plan.dram_write_bytes;
        INFO("cap " << cap << " " << dataflow_name(q.dataflow));
        if (prev >= 0) CHECK(traffic <= prev);
        prev = traffic;
        CHECK(plan.total.compute_cycles ==
              plan_folds(q.dataflow, q.rows, q.cols, q.m, q.n, q.k).compute_cycles);
      }
      if (feasible > 1) ++sweeps;
    }
  }
  CHECK(sweeps > 100);
}

TEST_CASE("large GEMMs plan quickly and keep the invariants", "[tiling]") {
  // ResNet-50-sized convolutions lowered to GEMMs (batch 32): 56x56x64 3x3 layer, a 1x1
  // expansion and the classifier; a 128x128 and a 32x32 array, 256 KiB double-buffered SRAMs.
  struct G {
    int64_t m, n, k;
  };
  const G gemms[] = {{100352, 64, 576}, {100352, 256, 64}, {32, 1000, 2048}, {1568, 512, 4608}};
  for (int64_t array : {128, 32})
    for (Dataflow d : {Dataflow::kOs, Dataflow::kWs, Dataflow::kIs})
      for (const G& g : gemms) {
        TilingProblem p;
        p.dataflow = d;
        p.rows = p.cols = array;
        p.m = g.m;
        p.n = g.n;
        p.k = g.k;
        p.ifmap_bits = 4.25;
        p.filter_bits = 4.25;
        p.ofmap_bits = 8;
        p.psum_bits = 32;
        for (BufferSpec* b : {&p.ifmap, &p.filter, &p.ofmap}) {
          b->capacity_bytes = 256 * 1024;
          b->double_buffered = true;
        }
        INFO(dataflow_name(d) << " " << array << " m=" << g.m << " n=" << g.n << " k=" << g.k);
        TilePlan plan = plan_tiles(p);
        check_plan(p, plan);
        CHECK(plan.runs.size() <= static_cast<size_t>(3 * plan.tiles_per_group));
      }
}

// -------------------------------------------------------------------------- override, errors

TEST_CASE("mapping override is respected", "[tiling]") {
  // ws 4x4 m=n=k=8, roomy buffers; tile m=8 n=4 k=4: whole folds (m = T), 2 K tiles, 2 N tiles.
  // A: two K tiles -> re-read per column tile: 2 x 64 = 128; B 64; outputs 64; no spills
  // (one M chunk: partial sums stay in the ofmap buffer across K).
  TilingProblem p = small_ws(1024, 1024, 1024);
  p.tile_m = 8;
  p.tile_n = 4;
  p.tile_k = 4;
  TilePlan plan = plan_tiles(p);
  CHECK(plan.overridden);
  CHECK(plan.tile_m == 8);
  CHECK(plan.tile_n == 4);
  CHECK(plan.tile_k == 4);
  CHECK(plan.tiles_k == 2);
  CHECK(plan.tiles_n == 2);
  CHECK(plan.total.dram_read_ifmap_bytes == 128);
  CHECK(plan.total.dram_read_filter_bytes == 64);
  CHECK(plan.total.dram_write_psum_bytes == 0);
  CHECK(plan.total.compute_cycles == 72);
  check_plan(p, plan);

  // Partial override: tile_n fixed to one column fold, the rest chosen (whole K, whole M).
  TilingProblem q = small_ws(1024, 1024, 1024);
  q.tile_n = 4;
  TilePlan qp = plan_tiles(q);
  CHECK(qp.tile_n == 4);
  CHECK(qp.tile_m == 8);
  CHECK(qp.tile_k == 8);
  CHECK(qp.dram_read_bytes == qp.min_dram_read_bytes);

  // Values beyond the GEMM are clipped.
  TilingProblem c = small_ws(1024, 1024, 1024);
  c.tile_m = 100;
  c.tile_n = 100;
  c.tile_k = 100;
  TilePlan cp = plan_tiles(c);
  CHECK(cp.tile_m == 8);
  CHECK(cp.tile_n == 8);
  CHECK(cp.tile_k == 8);
  CHECK(cp.tiles_per_group == 1);

  // A temporal chunk may be any size when the tile is one fold: m chunks 3, 3, 2.
  TilingProblem r = small_ws(1024, 1024, 1024);
  r.tile_m = 3;
  r.tile_n = 4;
  r.tile_k = 4;
  TilePlan rp = plan_tiles(r);
  CHECK(rp.tile_m == 3);
  CHECK(rp.tiles_m == 3);
  CHECK(rp.splits_time);
  REQUIRE(rp.runs.size() == 12);  // 4 folds x (first, middle, last) chunk
  CHECK(rp.runs[0].tile.m == 3);
  CHECK(rp.runs[0].tile.demand.compute_cycles == 3 + 7);
  CHECK(rp.runs[1].tile.demand.compute_cycles == 3);
  CHECK(rp.runs[2].tile.m == 2);
  CHECK(rp.runs[2].tile.demand.compute_cycles == 2 + 3);
  check_plan(r, rp);
}

TEST_CASE("invalid mapping overrides are user errors", "[tiling]") {
  TilingProblem p = small_ws(1024, 1024, 1024);
  p.tile_k = 6;  // ws puts k on the 4 array rows; 6 is neither a multiple of 4 nor >= 8
  CHECK_THROWS_WITH(plan_tiles(p),
                    "tiling: mapping override tile_k=6 must be a multiple of the array rows (4) "
                    "or at least k=8: ws maps k onto the array rows, and a tile holds whole "
                    "folds");
  p = small_ws(1024, 1024, 1024);
  p.dataflow = Dataflow::kIs;
  p.tile_m = 2;  // is puts m on the array columns
  CHECK_THROWS_WITH(plan_tiles(p),
                    "tiling: mapping override tile_m=2 must be a multiple of the array cols (4) "
                    "or at least m=8: is maps m onto the array cols, and a tile holds whole "
                    "folds");
  p = small_ws(1024, 1024, 1024);
  p.tile_m = 4;  // splits M (time) while the tile holds two K folds
  p.tile_k = 8;
  CHECK_THROWS_WITH(plan_tiles(p),
                    "tiling: mapping override tile_m=4 splits the temporal extent m=8 (ws "
                    "streams m in time), which only a single-fold tile may do (tile_k <= 4 and "
                    "tile_n <= 4); a larger tile would restart its folds");
  p = small_ws(1024, 1024, 1024);
  p.tile_n = -4;
  CHECK_THROWS_AS(plan_tiles(p), UserError);
  // A fixed tile that does not fit a buffer names it.
  p = small_ws(1024, 32, 1024);
  p.tile_m = 8;
  p.tile_n = 8;
  p.tile_k = 8;
  CHECK_THROWS_WITH(plan_tiles(p),
                    "tiling: filter buffer too small for the tile fixed by the mapping override "
                    "of GEMM m=8 n=8 k=8 (ws, 4x4 array; tile_m=8 tile_n=8 tile_k=8): needs 64 "
                    "bytes (B block 8 x 8 at 8 bits), has 32 bytes");
}

TEST_CASE("a buffer too small for one fold is an exact error", "[tiling]") {
  // Smallest ws tile on 4x4: one fold (k=4, n=4) for one step (m=1): A 1x4 = 4 B, B 4x4 = 16 B,
  // psums 1x4 at 32 bits = 16 B.
  TilingProblem p = small_ws(16, 15, 64);
  CHECK_THROWS_WITH(plan_tiles(p),
                    "tiling: filter buffer too small for the smallest legal tile (one fold, one "
                    "temporal step) of GEMM m=8 n=8 k=8 (ws, 4x4 array; tile_m=1 tile_n=4 "
                    "tile_k=4): needs 16 bytes (B block 4 x 4 at 8 bits), has 15 bytes");
  // Two buffers too small: both reported, one per line; double buffering halves the capacity.
  p = small_ws(6, 15, 64);
  p.ifmap.double_buffered = true;
  CHECK_THROWS_WITH(
      plan_tiles(p),
      "tiling: ifmap buffer too small for the smallest legal tile (one fold, one temporal step) "
      "of GEMM m=8 n=8 k=8 (ws, 4x4 array; tile_m=1 tile_n=4 tile_k=4): needs 4 bytes (A block "
      "1 x 4 at 8 bits), has 3 usable bytes of 6 (double-buffered)\n"
      "tiling: filter buffer too small for the smallest legal tile (one fold, one temporal "
      "step) of GEMM m=8 n=8 k=8 (ws, 4x4 array; tile_m=1 tile_n=4 tile_k=4): needs 16 bytes (B "
      "block 4 x 4 at 8 bits), has 15 bytes");
  // Exactly enough is enough: 16 B filter, 8 B double-buffered ifmap, 16 B ofmap.
  p = small_ws(8, 16, 16);
  p.ifmap.double_buffered = true;
  TilePlan plan = plan_tiles(p);
  CHECK(plan.tile_m == 1);
  CHECK(plan.tiles_m == 8);
  CHECK(plan.total.compute_cycles == 72);
  // Sub-byte elements: os smallest tile m=4, n=4, k=1 needs A 4 x 4.25 bits = 17 bits -> 3 B.
  TilingProblem q = small_ws(2, 1024, 1024);
  q.dataflow = Dataflow::kOs;
  q.ifmap_bits = 4.25;
  CHECK_THROWS_WITH(plan_tiles(q),
                    "tiling: ifmap buffer too small for the smallest legal tile (one fold, one "
                    "temporal step) of GEMM m=8 n=8 k=8 (os, 4x4 array; tile_m=4 tile_n=4 "
                    "tile_k=1): needs 3 bytes (A block 4 x 1 at 4.25 bits), has 2 bytes");
  q.ifmap.capacity_bytes = 3;
  CHECK_NOTHROW(plan_tiles(q));
}

TEST_CASE("unified buffer shares one capacity", "[tiling]") {
  // ws 4x4 m=n=k=8, one 100 B buffer for A + B + psums. Smallest tile 4 + 16 + 16 = 36 B.
  // Whole-fold tile (m=8): 32 + 16 + 128 > 100; single fold with m chunk t:
  // 4t + 16 + 16t <= 100 -> t = 4: the first hand example's tiling and traffic.
  TilingProblem p = small_ws(0, 0, 0);
  p.unified = true;
  p.global.capacity_bytes = 100;
  TilePlan plan = plan_tiles(p);
  CHECK(plan.tile_m == 4);
  CHECK(plan.tile_n == 4);
  CHECK(plan.tile_k == 4);
  CHECK(plan.dram_read_bytes == 448);
  CHECK(plan.dram_write_bytes == 320);
  check_plan(p, plan);
  p.global.capacity_bytes = 35;
  CHECK_THROWS_WITH(plan_tiles(p),
                    "tiling: global buffer too small for the smallest legal tile (one fold, one "
                    "temporal step) of GEMM m=8 n=8 k=8 (ws, 4x4 array; tile_m=1 tile_n=4 "
                    "tile_k=4): needs 36 bytes (A block 1 x 4 at 8 bits + B block 4 x 4 at 8 "
                    "bits + partial-sum block 1 x 4 at 32 bits), has 35 bytes");
}

TEST_CASE("groups repeat the per-group plan", "[tiling]") {
  TilingProblem p = small_ws(16, 16, 64);
  p.groups = 3;
  TilePlan plan = plan_tiles(p);
  CHECK(plan.groups == 3);
  CHECK(plan.tiles_per_group == 8);
  CHECK(plan.tiles == 24);
  CHECK(plan.per_group.compute_cycles == 72);
  CHECK(plan.total.compute_cycles == 216);
  CHECK(plan.dram_read_bytes == 3 * 448);
  CHECK(plan.dram_write_bytes == 3 * 320);
  CHECK(plan.min_dram_read_bytes == 3 * 128);
  CHECK(plan.ifmap_refetch == 2.0);
  check_plan(p, plan);
}

TEST_CASE("bad problem values are user errors", "[tiling]") {
  TilingProblem p = small_ws(1024, 1024, 1024);
  p.groups = 0;
  CHECK_THROWS_AS(plan_tiles(p), UserError);
  p = small_ws(1024, 1024, 1024);
  p.m = 0;
  CHECK_THROWS_AS(plan_tiles(p), UserError);
  p = small_ws(1024, 1024, 1024);
  p.ifmap_bits = 0;
  CHECK_THROWS_WITH(plan_tiles(p), "tiling: ifmap_bits must be in (0, 1024] bits, got 0");
  p = small_ws(-1, 1024, 1024);
  CHECK_THROWS_AS(plan_tiles(p), UserError);
}
