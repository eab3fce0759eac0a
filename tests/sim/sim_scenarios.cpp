// SystemC timing-mode scenarios (sim/top/simulate.h). One executable; the first argument names
// the scenario, and CTest runs each scenario as its own test (SystemC elaborates once per
// process; the double-buffering scenario compares two runs, each in a forked child).
// Every expected value is derived by hand in the comments from the closed forms of
// models/mac/systolic.h and the timing contracts of sim/modules.
#include <sys/wait.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "models/arch/arch_loader.h"
#include "models/core/error.h"
#include "models/mac/systolic.h"
#include "models/memory/tiling.h"
#include "models/sim_plan/sim_plan.h"
#include "models/workload/zoo.h"
#include "sim/modules/cycle_clock.h"
#include "sim/modules/dram_module.h"
#include "sim/top/simulate.h"
#include "tests/sim/scenario_check.h"

using namespace lbsim;

namespace {

using scenario::g_failures;

// fp32 array (no quantization work), rows x cols, buffers of `buffer_bytes` each, DRAM of
// `bytes_per_cycle` and `latency` cycles.
ArchConfig arch(Dataflow df, int64_t rows, int64_t cols, int64_t buffer_bytes,
                double bytes_per_cycle, int64_t latency, bool double_buffered = true) {
  ArchConfig a;
  a.name = "scenario";
  a.source = "<scenario>";
  a.clock_mhz = 1000;
  a.pe.type = "fp32";
  a.pe.rows = rows;
  a.pe.cols = cols;
  a.pe.dataflow = df;
  FormatPtr fp32 = make_format("fp32", SourceLoc{"<scenario>"});
  a.pe.weight = a.pe.activation = a.pe.error = fp32;
  for (BufferConfig* b : {&a.buffers.ifmap, &a.buffers.filter, &a.buffers.ofmap}) {
    b->capacity_bytes = buffer_bytes;
    b->double_buffered = double_buffered;
  }
  a.buffers.ifmap.name = "ifmap";
  a.buffers.filter.name = "filter";
  a.buffers.ofmap.name = "ofmap";
  a.dram.bytes_per_cycle = bytes_per_cycle;
  a.dram.latency_cycles = latency;
  a.vector_lanes = 32;
  a.quant_elements_per_cycle = 32;
  return a;
}

// Ideal memory: 1 GiB buffers, 1e9 bytes per cycle, no latency. Every transfer then takes
// exactly ceil(bytes / 1e9) = 1 cycle.
ArchConfig ideal(Dataflow df, int64_t rows, int64_t cols) {
  return arch(df, rows, cols, int64_t{1} << 30, 1e9, 0);
}

Op gemm_op(int64_t m, int64_t n, int64_t k, int64_t groups = 1) {
  Op op;
  op.phase = Phase::kFwd;
  op.kind = OpKind::kGemm;
  op.name = "gemm";
  op.m = m;
  op.n = n;
  op.k = k;
  op.groups = groups;
  return op;
}

Op vector_op(int64_t elements, int64_t ops_per_element) {
  Op op;
  op.phase = Phase::kFwd;
  op.kind = OpKind::kVector;
  op.name = "relu_fwd";
  op.elements = elements;
  op.ops_per_element = ops_per_element;
  return op;
}

// A forward-only workload with one layer per op ("g0", "g1", ...).
Workload workload(const std::vector<Op>& ops) {
  Workload w;
  w.network = "scenario";
  w.training = false;
  for (size_t i = 0; i < ops.size(); ++i) {
    LayerSpec l;
    l.name = "g" + std::to_string(i);
    l.type = LayerType::kMatmul;
    l.ops = {ops[i]};
    w.layers.push_back(l);
  }
  return w;
}

Dataflow dataflow_of(const std::string& s) { return parse_dataflow(s); }

// Ideal memory, one op per GEMM: compute == hand-derived closed form, and
// cycles == compute + 2: the first job's load (1 cycle) cannot overlap anything and the last
// job's store (1 cycle) comes after the last compute; fp32 needs no quantization (0 cycles);
// every other transfer (1 cycle) hides behind a compute step of >= 2 cycles.
void ideal_case(const std::string& df_name, const std::vector<Op>& ops,
                const std::vector<int64_t>& expect_compute) {
  const Dataflow df = dataflow_of(df_name);
  ArchConfig a = ideal(df, 8, 8);
  RunResult r = simulate(a, workload(ops));
  EXPECT_EQ(r.rows.size(), ops.size());
  int64_t total = 0;
  for (size_t i = 0; i < ops.size() && i < r.rows.size(); ++i) {
    const OpRow& row = r.rows[i];
    const Op& op = ops[i];
    const int64_t closed =
        plan_folds(df, 8, 8, op.m, op.n, op.k).compute_cycles * op.groups * op.samples;
    EXPECT_EQ(closed, expect_compute[i]);  // the hand derivation agrees with systolic.h
    EXPECT_EQ(row.compute_cycles, expect_compute[i]);
    EXPECT_EQ(row.cycles, expect_compute[i] + 2);
    EXPECT_EQ(row.stall_cycles, 2);
    EXPECT_EQ(row.macs, op.m * op.n * op.k * op.groups);
    total += row.cycles;
  }
  EXPECT_EQ(r.total_cycles, total);
  int64_t compute = 0;
  for (int64_t c : expect_compute) compute += c;
  EXPECT_EQ(r.stats->value("pe_array.compute_cycles"), compute);
  EXPECT_EQ(r.stats->value("pe_array.busy_cycles"), compute);
  EXPECT_EQ(r.stats->value("controller.cycles"), total);
}

// Single fold: m = 6, n = 7, k = 5 on 8x8 (every extent below 8: one partly filled fold).
//   os: T = K = 5,  5 + 8 + 8 - 2 = 19
//   ws: T = M = 6,  6 + 16 + 8 - 2 = 28
//   is: T = N = 7,  7 + 16 + 8 - 2 = 29
void single_fold(const std::string& df) {
  const std::map<std::string, int64_t> expect = {{"os", 19}, {"ws", 28}, {"is", 29}};
  ideal_case(df, {gemm_op(6, 7, 5)}, {expect.at(df)});
}

// Multi-fold, two ops on 8x8: A = (m 50, n 20, k 30), B = (m 40, n 9, k 17, groups 3).
//   os: A: S_R = M 50 -> 7, S_C = N 20 -> 3, F = 21, T = K = 30: 21 x (30 + 14) = 924
//       B: S_R = 40 -> 5, S_C = 9 -> 2, F = 10, T = 17: 10 x 31 = 310, x 3 groups = 930
//   ws: A: S_R = K 30 -> 4, S_C = N 20 -> 3, F = 12, T = M = 50: 12 x (50 + 22) = 864
//       B: S_R = 17 -> 3, S_C = 9 -> 2, F = 6, T = 40: 6 x 62 = 372, x 3 = 1116
//   is: A: S_R = K 30 -> 4, S_C = M 50 -> 7, F = 28, T = N = 20: 28 x (20 + 22) = 1176
//       B: S_R = 17 -> 3, S_C = 40 -> 5, F = 15, T = 9: 15 x 31 = 465, x 3 = 1395
// Both ops have fewer than 8 tiles, so they run in fold steps (A: 8 steps, B: one step per fold).
void multi_fold(const std::string& df) {
  const std::map<std::string, std::vector<int64_t>> expect = {
      {"os", {924, 930}}, {"ws", {864, 1116}}, {"is", {1176, 1395}}};
  ideal_case(df, {gemm_op(50, 20, 30), gemm_op(40, 9, 17, 3)}, expect.at(df));
}

// Ideal memory, element-wise ops: 1000 elements x 2 ops on 32 lanes = ceil(2000 / 32) = 63
// cycles in 8 chunks of 125 elements; chunk j computes floor(63 (j+1) / 8) - floor(63 j / 8)
// cycles: 7, 8, 8, 8, 8, 8, 8, 8.
//   g0 (fp32): cycles = 1 (first load) + 63 + 1 (last store) = 65
//   g1 (activations in mls_m1e2): each chunk also takes ceil(125 / 32) = 4 quant cycles and its
//      ofmap half is free again 4 + 1 cycles after its compute, before the chunk after next needs
//      it (>= 7 cycles later); only the last chunk's quantization is exposed:
//      1 + 63 + 4 + 1 = 69; quant ops = 1000 x 3.
void vector_ideal() {
  ArchConfig a = ideal(Dataflow::kWs, 8, 8);
  Workload w = workload({vector_op(1000, 2), vector_op(1000, 2)});
  w.layers[1].precision.activation = "mls_m1e2";
  RunResult r = simulate(a, w);
  EXPECT_EQ(r.rows.size(), 2);
  if (r.rows.size() != 2) return;
  EXPECT_EQ(r.rows[0].compute_cycles, 63);
  EXPECT_EQ(r.rows[0].cycles, 65);
  EXPECT_EQ(r.rows[0].vector_ops, 2000);
  EXPECT_EQ(r.rows[0].quant_ops, 0);
  EXPECT_EQ(r.rows[1].compute_cycles, 63);
  EXPECT_EQ(r.rows[1].cycles, 69);
  EXPECT_EQ(r.rows[1].quant_ops, 3000);
  EXPECT_EQ(r.stats->value("vector_unit.ops"), 4000);
  EXPECT_EQ(r.stats->value("quant_unit.ops"), 3000);
  EXPECT_EQ(r.stats->value("quant_unit.busy_cycles"), 32);  // 8 chunks x 4
}

// Bandwidth-starved: 8x8 ws, 2 KiB buffers, 2 bytes per cycle, 20 cycles latency, m 200, n 40,
// k 60. No schedule can move the bytes faster than the bus: cycles >= ceil(bytes / 2); the
// compute cycles stay the closed form (ws: S_R = 60 -> 8, S_C = 40 -> 5, T = 200:
// 40 x (200 + 22) = 8880).
void bandwidth_starved() {
  ArchConfig a = arch(Dataflow::kWs, 8, 8, 2048, 2.0, 20);
  RunResult r = simulate(a, workload({gemm_op(200, 40, 60)}));
  EXPECT_EQ(r.rows.size(), 1);
  if (r.rows.empty()) return;
  const OpRow& row = r.rows[0];
  const int64_t bytes = row.dram_read_bytes + row.dram_write_bytes;
  EXPECT_EQ(row.compute_cycles, 8880);
  EXPECT_TRUE(row.cycles >= (bytes + 1) / 2);
  EXPECT_TRUE(row.stall_cycles > 0);
  EXPECT_EQ(row.cycles, row.compute_cycles + row.stall_cycles);
  // The DRAM bus was busy at least bytes / 2 cycles, and the traffic is what the tiling says.
  EXPECT_TRUE(static_cast<int64_t>(r.stats->value("dram.busy_cycles")) >= bytes / 2);
  TilingProblem p;
  p.m = 200;
  p.n = 40;
  p.k = 60;
  p.dataflow = Dataflow::kWs;
  p.rows = p.cols = 8;
  p.ifmap_bits = p.filter_bits = p.ofmap_bits = p.psum_bits = 32;
  p.ifmap = p.filter = p.ofmap = BufferSpec{2048, true};
  TilePlan plan = plan_tiles(p);
  EXPECT_EQ(row.dram_read_bytes, plan.dram_read_bytes);
  EXPECT_EQ(row.dram_write_bytes, plan.dram_write_bytes);
  EXPECT_EQ(r.stats->value("dram.read_bytes"), plan.dram_read_bytes);
  EXPECT_TRUE(row.dram_read_bytes > 0);
  std::printf("bandwidth_starved: cycles %" PRId64 " >= bytes/2 = %" PRId64 "\n", row.cycles,
              (bytes + 1) / 2);
}

struct ChildResult {
  int64_t cycles = 0, compute = 0, stall = 0, tiles = 0;
};

// Runs one simulation in a forked child (SystemC elaborates once per process).
ChildResult run_in_child(const ArchConfig& a, const Workload& w) {
  int fd[2];
  if (pipe(fd) != 0) {
    std::perror("pipe");
    std::exit(2);
  }
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    close(fd[0]);
    ChildResult c;
    RunResult r = simulate(a, w);
    c.cycles = r.rows.at(0).cycles;
    c.compute = r.rows.at(0).compute_cycles;
    c.stall = r.rows.at(0).stall_cycles;
    c.tiles = r.tiles;
    ssize_t n = write(fd[1], &c, sizeof c);
    _exit(n == static_cast<ssize_t>(sizeof c) ? 0 : 3);
  }
  close(fd[1]);
  ChildResult c;
  ssize_t n = read(fd[0], &c, sizeof c);
  close(fd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (n != static_cast<ssize_t>(sizeof c) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "child simulation failed\n");
    std::exit(1);
  }
  return c;
}

// Double buffering hides loads when compute dominates. fp32 4x4 ws array, GEMM m 256, n 16,
// k 16, tiles fixed by the mapping override to one fold each (tile_k 4, tile_n 4, tile_m 256):
// 4 row tiles x 4 column tiles = 16 tiles, loop order n, k, m. Per tile: compute
// 256 + 2*4 + 4 - 2 = 266 cycles; DRAM reads A 4 x 256 x 4 B = 4096 (A is re-read every tile:
// 4 row tiles) + B 4 x 4 x 4 B = 64 = 4160 bytes: ceil(4160 / 64) + 10 = 75 cycles; the last row
// tile of each column (tiles 3, 7, 11, 15) writes 4 x 256 x 4 B = 4096 bytes: 64 + 10 = 74 cycles.
// Buffers hold exactly one tile's blocks in each half (ifmap 8192, filter 128, ofmap 8192).
//   double-buffered: the first load (75) and the last store (74) are exposed, every other load
//     and store overlaps a 266-cycle compute: stall = 149, cycles = 16 x 266 + 149 = 4405.
//   single-buffered: a tile's load starts when the previous tile's compute has freed the one
//     ifmap/filter slot, and its compute needs the one ofmap slot, freed by the previous store.
//     A tile with no store waits for its own load: 75 cycles between computes (12 times, plus
//     the first load). After a storing tile (3, 7, 11) the next load and the store start
//     together; same-cycle requests are served load engine first (dram_module.h), so the load
//     takes the bus first (65 cycles) and the store follows (64 + 10): the next compute waits for
//     the store, 65 + 64 + 10 = 139 cycles. The last store is 74. cycles = 75 + 16 x 266 + 12 x 75
//     + 3 x 139 + 74 = 5722, stall = 5722 - 4256 = 1466.
void double_buffering() {
  auto make = [](bool dbl) {
    ArchConfig a = arch(Dataflow::kWs, 4, 4, 0, 64.0, 10, dbl);
    a.buffers.ifmap.capacity_bytes = 8192;
    a.buffers.filter.capacity_bytes = 128;
    a.buffers.ofmap.capacity_bytes = 8192;
    a.mapping.tile_m = 256;
    a.mapping.tile_n = 4;
    a.mapping.tile_k = 4;
    return a;
  };
  Workload w = workload({gemm_op(256, 16, 16)});
  ChildResult d = run_in_child(make(true), w);
  ChildResult s = run_in_child(make(false), w);
  EXPECT_EQ(d.tiles, 16);
  EXPECT_EQ(d.compute, 16 * 266);
  EXPECT_EQ(s.compute, 16 * 266);
  EXPECT_EQ(d.stall, 75 + 74);
  EXPECT_EQ(d.cycles, 4405);
  EXPECT_EQ(s.stall, 1466);
  EXPECT_EQ(s.cycles, 5722);
  std::printf("double_buffering: stall %" PRId64 " (double) vs %" PRId64 " (single)\n", d.stall,
              s.stall);
}

// A buffer too small for the smallest legal tile: simulate() throws the tiling error, prefixed
// with the op, before any SystemC object exists. ws 4x4 fp32: the smallest tile's A block is
// 4 x 1 x 4 B = 16 bytes; a 16-byte double-buffered ifmap has 8 usable bytes.
void buffer_too_small() {
  ArchConfig a = arch(Dataflow::kWs, 4, 4, 4096, 8.0, 10);
  a.buffers.ifmap.capacity_bytes = 16;
  try {
    simulate(a, workload({gemm_op(16, 16, 16)}));
    EXPECT_TRUE(!"expected a UserError");
  } catch (const UserError& e) {
    const std::string msg = e.what();
    const std::string want =
        "layer g0 fwd gemm: tiling: ifmap buffer too small for the smallest legal tile (one fold, "
        "one temporal step) of GEMM m=16 n=16 k=16 (ws, 4x4 array; tile_m=1 tile_n=4 tile_k=4): "
        "needs 16 bytes (A block 1 x 4 at 32 bits), has 8 usable bytes of 16 (double-buffered)";
    if (msg != want) {
      std::fprintf(stderr, "unexpected message:\n%s\nwanted:\n%s\n", msg.c_str(), want.c_str());
      ++g_failures;
    }
  }
}

// A whole training iteration (ResNet-20, batch 2) on tiny_4x4.yaml (fp32 4x4, 1 KiB buffers,
// 8 bytes per cycle): every op in training order, every GEMM's compute cycles equal to the closed
// form although the buffers force many small tiles, rows adding up to the totals.
void training_iteration() {
  ArchConfig a = load_arch(std::string(LBSIM_SOURCE_DIR) + "/arch_configs/tiny_4x4.yaml");
  Workload w = zoo_workload("resnet20", 2);
  SimPlan plan = plan_simulation(a, w);
  RunResult r = simulate(a, w);
  EXPECT_EQ(r.rows.size(), plan.ops.size());
  int64_t cycles = 0, compute = 0, read = 0, write = 0, macs = 0;
  for (size_t i = 0; i < r.rows.size() && i < plan.ops.size(); ++i) {
    const OpRow& row = r.rows[i];
    const OpWork& op = plan.ops[i];
    EXPECT_TRUE(row.layer == op.layer && row.phase == phase_name(op.phase));
    EXPECT_EQ(row.cycles, row.compute_cycles + row.stall_cycles);
    EXPECT_TRUE(row.stall_cycles >= 0);
    if (op.kind == OpKind::kGemm) {
      const Op& o = w.layers[op.layer_index].ops[op.op_index];
      EXPECT_EQ(row.compute_cycles, plan_folds(a.pe.dataflow, 4, 4, o.m, o.n, o.k).compute_cycles *
                                        o.groups * o.samples);
      compute += row.compute_cycles;
    }
    cycles += row.cycles;
    read += row.dram_read_bytes;
    write += row.dram_write_bytes;
    macs += row.macs;
  }
  EXPECT_EQ(cycles, r.total_cycles);
  EXPECT_EQ(compute, r.stats->value("pe_array.compute_cycles"));
  EXPECT_EQ(read, r.stats->value("dram.read_bytes"));
  EXPECT_EQ(write, r.stats->value("dram.write_bytes"));
  EXPECT_EQ(macs,
            w.total_macs(Phase::kFwd) + w.total_macs(Phase::kDgrad) + w.total_macs(Phase::kWgrad));
  EXPECT_EQ(r.stats->value("controller.ops"), plan.ops.size());
  EXPECT_EQ(r.stats->value("controller.tiles"), plan.tiles);
  EXPECT_EQ(r.stats->value("ifmap_buffer.slots"), 2);
  // Phase sums add up too.
  int64_t phase_cycles = 0;
  for (const char* p : {"fwd", "dgrad", "wgrad", "update"})
    phase_cycles += r.stats->value(std::string("controller.phases.") + p + ".cycles");
  EXPECT_EQ(phase_cycles, r.total_cycles);
  std::printf("training_iteration: %zu ops, %" PRId64 " cycles, %" PRId64 " tiles\n", r.rows.size(),
              r.total_cycles, r.tiles);
}

// A unified (global) buffer runs the same compute schedule with one slot per tile.
void unified_buffer() {
  ArchConfig a = arch(Dataflow::kOs, 8, 8, 0, 16.0, 30);
  a.buffers.unified = true;
  a.buffers.global.name = "global";
  a.buffers.global.capacity_bytes = 16384;
  a.buffers.global.double_buffered = true;
  RunResult r = simulate(a, workload({gemm_op(100, 50, 70)}));
  // os: S_R = M 100 -> 13, S_C = N 50 -> 7, F = 91, T = K = 70: 91 x (70 + 14) = 7644.
  EXPECT_EQ(r.rows.at(0).compute_cycles, 7644);
  EXPECT_TRUE(r.rows.at(0).stall_cycles > 0);
  EXPECT_EQ(r.stats->value("global_buffer.slots"), 2);
  EXPECT_TRUE(r.stats->value("global_buffer.read_bytes") > 0);
}

// Same-cycle DRAM requests are served in requester-id order whatever order the kernel runs the
// requesting processes in (sim/modules/dram_module.h). The store engine's thread is created
// first and issues at once; the load engine's request arrives three delta cycles later in the
// same cycle, yet is served first. 1 byte/cycle, latency 10: the load (100 bytes) occupies the
// bus for cycles [t, t + 100) and completes at t + 110; the store (50 bytes) starts at t + 100
// and completes at t + 160. Round two at t = 500 repeats it.
struct DramRequesters : sc_core::sc_module {
  SC_HAS_PROCESS(DramRequesters);
  sc_core::sc_port<IDramIf> dram;
  const CycleClock& clock;
  std::vector<std::pair<int64_t, int64_t>> load_waits, store_waits;  // (start cycle, waited)
  DramRequesters(sc_core::sc_module_name n, const CycleClock& c) : sc_module(n), clock(c) {
    SC_THREAD(store);  // created first: the kernel tends to run it first
    SC_THREAD(load);
  }
  void store() {
    for (int64_t t : {0, 500}) {
      wait(clock.cycles(t - clock.now()));
      store_waits.emplace_back(t, dram->transfer(IDramIf::kStoreEngine, DramDir::kWrite, 50));
    }
  }
  void load() {
    for (int64_t t : {0, 500}) {
      wait(clock.cycles(t - clock.now()));
      for (int i = 0; i < 3; ++i) wait(sc_core::SC_ZERO_TIME);
      load_waits.emplace_back(t, dram->transfer(IDramIf::kLoadEngine, DramDir::kRead, 100));
    }
  }
};

void dram_same_cycle_order() {
  setenv("SYSC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  DramConfig cfg;
  cfg.bytes_per_cycle = 1;
  cfg.latency_cycles = 10;
  static CycleClock clock(1000);
  static StatGroup stats("dram");
  auto* dram = new DramModule("dram", cfg, clock, stats);
  auto* req = new DramRequesters("requesters", clock);
  req->dram(*dram);
  sc_core::sc_start();
  EXPECT_EQ(req->load_waits.size(), 2);
  EXPECT_EQ(req->store_waits.size(), 2);
  for (size_t i = 0; i < req->load_waits.size() && i < req->store_waits.size(); ++i) {
    EXPECT_EQ(req->load_waits[i].second, 110);
    EXPECT_EQ(req->store_waits[i].second, 160);
  }
  EXPECT_EQ(stats.value("queue_cycles"), 200);  // the store waited 100 cycles, twice
}

}  // namespace

int main(int argc, char** argv) {
  const std::map<std::string, std::function<void()>> scenarios = {
      {"ideal_single_fold_os", [] { single_fold("os"); }},
      {"ideal_single_fold_ws", [] { single_fold("ws"); }},
      {"ideal_single_fold_is", [] { single_fold("is"); }},
      {"ideal_multi_fold_os", [] { multi_fold("os"); }},
      {"ideal_multi_fold_ws", [] { multi_fold("ws"); }},
      {"ideal_multi_fold_is", [] { multi_fold("is"); }},
      {"vector_ideal", vector_ideal},
      {"bandwidth_starved", bandwidth_starved},
      {"double_buffering", double_buffering},
      {"buffer_too_small", buffer_too_small},
      {"training_iteration", training_iteration},
      {"unified_buffer", unified_buffer},
      {"dram_same_cycle_order", dram_same_cycle_order}};
  if (argc != 2 || scenarios.count(argv[1]) == 0) {
    std::fprintf(stderr, "usage: %s SCENARIO\nscenarios:", argv[0]);
    for (const auto& s : scenarios) std::fprintf(stderr, " %s", s.first.c_str());
    std::fprintf(stderr, "\n");
    return 2;
  }
  try {
    scenarios.at(argv[1])();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: exception: %s\n", argv[1], e.what());
    return 1;
  }
  if (g_failures > 0) {
    std::fprintf(stderr, "%s: %d check(s) failed\n", argv[1], g_failures);
    return 1;
  }
  std::printf("%s: ok\n", argv[1]);
  return 0;
}
