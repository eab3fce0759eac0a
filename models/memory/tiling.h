// Tiling of one GEMM onto a systolic array with three on-chip buffers: the memory-demand model
// that the timing-mode controller drives (docs/design.md §3). No time here: a plan says which tiles
// run in which order, how many cycles the array spends on each (the closed forms of
// models/mac/systolic.h) and how many bytes each one moves; the SystemC modules turn that into
// time, overlap and stalls.
//
// Terms. The GEMM is C[M x N] = A[M x K] * B[K x N], repeated `groups` times (groups run one
// after another and share nothing). A (ifmap) lives in the ifmap buffer, B (filter) in the
// filter buffer, C and its partial sums (ofmap) in the ofmap buffer. In the array's coordinates
// (systolic.h) a dataflow maps the GEMM to spatial extents S_R x S_C and a temporal extent T, and
// each operand spans two of the three axes r, c, t:
//            stationary (r x c)   row-streamed (r x t)   column side (c x t)
//   os       C (outputs, in PEs)  A                      B (streamed)
//   ws       B                    A                      C (partial sums)
//   is       A                    B                      C (partial sums)
// The reduction runs along t for os (it stays in the PEs) and along r for ws/is (partial sums
// of successive row folds are accumulated in the ofmap buffer).
//
// Tile. A tile is a sub-GEMM tile_m x tile_n x tile_k whose three operand blocks sit in the
// buffers while the array works on it. In array coordinates it is tr x tc x tt with
//   tr = min(a * R, S_R), tc = min(b * C, S_C) (a, b >= 1: whole folds, clipped to the GEMM),
//   1 <= tt <= T, and tt < T only when a = b = 1.
// The last condition keeps the compute schedule fixed: the array runs the folds of
// plan_folds back to back, each streaming all T steps. A tile with tt = T holds whole folds; a
// tile with tt < T holds one T-chunk of a single fold, whose stream continues in the next tile
// (its stationary operand stays in the array), so no fold is ever restarted. Hence, whatever the
// buffer sizes, the compute cycles of all tiles add up to plan_folds(...).compute_cycles exactly.
// Per tile: compute_cycles = folds * (tt_this_tile + lead if it holds the first T-chunk + tail if
// it holds the last), with lead/tail from fold_overhead(); whole-fold tiles get both.
//
// Loop nest (outer -> inner): column tiles, row tiles, T-chunks; i.e.
//   os: n, m, k      ws: n, k, m      is: m, k, n
// The stationary operand's loops are outermost, so its block is loaded once per tile and stays
// while the T-chunks stream. Inside a tile the array runs its folds column fold by column fold,
// row folds innermost.
//
// Residency rule. Each buffer holds the current tile's block of its operand (with double
// buffering, the other half receives the next tile's block meanwhile, so only half the capacity
// is usable per tile; with a unified buffer the three blocks share one capacity). A block is
// read from DRAM when the tile's index for that operand differs from the previous tile's; hence
// per group:
//   stationary:    read once (os: the outputs are written once, at the last T-chunk);
//   row-streamed:  read once if there is one row tile and one T-chunk, else once per column tile;
//   column side:   os (B): read once if there is one T-chunk, else once per row tile;
//                  ws/is (partial sums): if there is one T-chunk the partial-sum block stays in
//                  the ofmap buffer across the row tiles (the K split costs nothing); otherwise
//                  each row tile but the last spills its partial sums to DRAM and each row tile
//                  but the first re-reads them (psum spill and re-read bytes).
//   Outputs are written to DRAM once, after the last reduction step.
//
// Tile choice (when not overridden). Among the legal tiles whose blocks fit the buffers, the
// plan takes the one with the least DRAM traffic (read + write, counted at exact fractional
// bytes: elements x bits / 8); ties go to the fewest tiles, then the larger tr, then the larger
// tc. This is the greedy growth "stationary tile up to its buffer, then the streamed extent",
// made exact: the search visits every row-tile size with the widest column-tile size that fits
// (traffic never grows with tc), which finds the true minimum. Consequently the DRAM traffic is
// monotone non-increasing in every buffer capacity. The reported bytes round each transfer up to
// whole bytes (sub-byte elements), which can add less than one byte per transfer to that bound.
// The smallest legal tile is one fold for one temporal step (min(R, S_R) x min(C, S_C) x 1); when
// it does not fit, plan_tiles throws a UserError naming each buffer that is too small, its
// capacity and the bytes the tile needs.
//
// Mapping override. tile_m, tile_n, tile_k (0 = chosen by the rule above) fix dimensions of the
// tile. A spatial dimension must be a multiple of the array extent it lies on (R or C) or reach
// the full GEMM extent (it is clipped to it); a temporal one may be any value >= 1 (clipped to
// T); a temporal value below T needs the spatial dimensions to be one fold. Violations, and a
// fixed tile that does not fit a buffer, are UserErrors. Free dimensions are chosen by the rule.
//
// SRAM counts (per tile, bytes): buffer writes are DRAM fills (and, for ofmap, the partial sums
// and outputs the array produces); buffer reads are the elements fed to the array (a streamed
// operand is re-read by every fold that uses it; a stationary block once per fold start), the
// partial sums read back for accumulation, and the blocks read out to DRAM. The ofmap buffer
// stores partial sums and outputs at psum_bits; outputs go to DRAM at ofmap_bits.
//
// Element sizes are bits per element as doubles (e.g. 4-bit MLS elements plus amortised group
// scale bits: 4.25); they are rounded to the nearest 1/65536 bit. All byte counts are int64 and
// exact; anything that would overflow int64 is a UserError.
//
// Size limit. A plan of more than kMaxTilesPerGemm tiles (tiles per group x groups) is a
// UserError naming the count and the limit, raised once the tile size is chosen and before any
// tile is built: the timing model moves every tile as events, so such a GEMM could not be
// simulated in useful time anyway. Building the plan costs O(row tiles x column tiles) when the
// reduction is cut into several T-chunks, and O(column tiles) otherwise.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/mac/systolic.h"

namespace lbsim {

constexpr int64_t kMaxTilesPerGemm = int64_t{1} << 24;  // 16,777,216 tiles per GEMM

struct BufferSpec {
  int64_t capacity_bytes = 0;
  bool double_buffered = false;
  // Bytes one tile may occupy: the capacity, or half of it (rounded down) when double-buffered.
  int64_t usable_bytes() const { return double_buffered ? capacity_bytes / 2 : capacity_bytes; }
};

struct TilingProblem {
  int64_t m = 0, n = 0, k = 0;  // per group
  int64_t groups = 1;
  Dataflow dataflow = Dataflow::kWs;
  int64_t rows = 0, cols = 0;  // array R x C
  double ifmap_bits = 8;       // A element
  double filter_bits = 8;      // B element
  double ofmap_bits = 8;       // output element as written to DRAM
  double psum_bits = 0;        // partial sum / output in the ofmap buffer; 0 = ofmap_bits
  BufferSpec ifmap, filter, ofmap;
  bool unified = false;  // one buffer (`global`) holds all three blocks; ifmap/filter/ofmap unused
  BufferSpec global;
  int64_t tile_m = 0, tile_n = 0, tile_k = 0;  // mapping override; 0 = chosen by the rule
};

// What one tile (or a whole plan, summed) costs. Bytes are whole bytes per transfer.
struct TileDemand {
  int64_t compute_cycles = 0;
  int64_t macs = 0;
  int64_t dram_read_ifmap_bytes = 0;
  int64_t dram_read_filter_bytes = 0;
  int64_t dram_read_psum_bytes = 0;    // partial sums re-read after a spill
  int64_t dram_write_ofmap_bytes = 0;  // final outputs
  int64_t dram_write_psum_bytes = 0;   // partial-sum spills
  int64_t sram_read_ifmap_bytes = 0, sram_write_ifmap_bytes = 0;
  int64_t sram_read_filter_bytes = 0, sram_write_filter_bytes = 0;
  int64_t sram_read_ofmap_bytes = 0, sram_write_ofmap_bytes = 0;

  int64_t dram_read_bytes() const;
  int64_t dram_write_bytes() const;
  // *this += times * other, every field; UserError on int64 overflow.
  void add(const TileDemand& other, int64_t times);
  bool operator==(const TileDemand& o) const;
  bool operator!=(const TileDemand& o) const { return !(*this == o); }
};

struct TileRecord {
  int64_t m = 0, n = 0, k = 0;  // this tile's sub-GEMM (edge tiles are clipped)
  int64_t folds = 0;            // folds (or, when tiles split T, fold segments) the array runs
  bool starts_folds = false;    // holds the first T-chunk: charges lead cycles, preloads
  bool ends_folds = false;      // holds the last T-chunk: charges tail cycles, emits results
  TileDemand demand;
  bool operator==(const TileRecord& o) const;
};

// `count` consecutive identical tiles.
struct TileRun {
  TileRecord tile;
  int64_t count = 0;
};

struct TilePlan {
  FoldPlan fold;  // one group, exact closed form (no scalesim_compat)
  int64_t groups = 1;
  std::string loop_order;                         // outer -> inner, e.g. "n,k,m"
  int64_t tile_m = 0, tile_n = 0, tile_k = 0;     // full tile (clipped to the GEMM)
  int64_t tiles_m = 0, tiles_n = 0, tiles_k = 0;  // tiles along each GEMM dimension, per group
  int64_t tiles_per_group = 0;
  int64_t tiles = 0;         // all groups
  bool splits_time = false;  // tiles are T-chunks of single folds
  bool overridden = false;   // some tile dimension came from the mapping override
  // Bytes a full tile's block occupies in each buffer (compare with BufferSpec::usable_bytes).
  int64_t ifmap_block_bytes = 0, filter_block_bytes = 0, ofmap_block_bytes = 0;
  // The tiles of one group in loop order; every group repeats this sequence.
  std::vector<TileRun> runs;
  TileDemand per_group;                               // sum over runs
  TileDemand total;                                   // per_group x groups
  int64_t dram_read_bytes = 0, dram_write_bytes = 0;  // total
  // Each operand moved exactly once (all groups): A and B read, outputs written at ofmap_bits.
  int64_t min_dram_read_bytes = 0, min_dram_write_bytes = 0;
  double ifmap_refetch = 0;   // DRAM ifmap bytes read / A's bytes (1 = read once)
  double filter_refetch = 0;  // same for B
  double psum_spill = 0;      // DRAM partial-sum bytes written / output bytes written once
};

TilePlan plan_tiles(const TilingProblem& p);

// The one rule for the bytes a tensor occupies (DRAM traffic, buffer blocks): `elements` values of
// `bits` bits each (bits in (0, 1024], rounded to the nearest 2^-16 bit), the bit total rounded up
// to whole bytes once. Every transfer the tiling model and the simulation plan count uses it.
// Throws UserError when bits is out of range or the byte count overflows int64; `what` names the
// tensor in that message.
int64_t tensor_bytes(int64_t elements, double bits, const char* what = "tensor");

}  // namespace lbsim
