// Per-op tallies the modules fill while the simulation runs (the rows of layers.csv are made from
// them after sc_start returns). Plain C++: modules hold a reference and add to the entry of the
// job's op; the controller stamps start and end cycles.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace lbsim {

struct OpTally {
  int64_t start = 0, end = 0;  // cycles: the op's first job issued, its last store completed
  int64_t compute_cycles = 0;  // charged by the PE array or the vector unit
  int64_t macs = 0, folds = 0, items = 0;
  int64_t dram_read_bytes = 0, dram_write_bytes = 0;  // moved by the DMA engines
  int64_t ifmap_sram_read_bytes = 0, filter_sram_read_bytes = 0, ofmap_sram_write_bytes = 0;
  int64_t quant_ops = 0, vector_ops = 0;
  bool done = false;
};

struct RunLedger {
  std::vector<OpTally> ops;
  // Progress hook: called by the controller after each op (ops done, ops, the op's phase).
  std::function<void(int64_t, int64_t, const char*)> on_op_done;
};

}  // namespace lbsim
