// Per-PE activity of the cycle-level array (cycle fidelity): for every PE (row, col) of the
// R x C array, the MACs it issued, the clock edges it idled (no MAC: skew, preload, drain, a
// partly filled fold), and the writes into its operand and partial-sum registers. For every PE,
// mac_ops + idle_cycles = the array's compute cycles (each edge, each PE either issues a MAC or
// idles). The array totals (the sums) are the pe_array counters of stats.json; `lbsim run --mode
// cycle` also writes the per-PE table as pe_activity.csv. No SystemC here.
#pragma once

#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace lbsim {

struct PeActivity {
  int rows = 0, cols = 0;
  // Row-major, rows x cols each.
  std::vector<uint64_t> mac_ops, idle_cycles, operand_reg_writes, psum_reg_writes;

  void resize(int r, int c) {
    rows = r;
    cols = c;
    const size_t n = static_cast<size_t>(r) * static_cast<size_t>(c);
    for (auto* v : {&mac_ops, &idle_cycles, &operand_reg_writes, &psum_reg_writes}) v->assign(n, 0);
  }
  void add(const PeActivity& o) {
    if (o.rows != rows || o.cols != cols)
      throw std::logic_error("PeActivity::add: arrays of different shapes");
    for (size_t i = 0; i < mac_ops.size(); ++i) {
      mac_ops[i] += o.mac_ops[i];
      idle_cycles[i] += o.idle_cycles[i];
      operand_reg_writes[i] += o.operand_reg_writes[i];
      psum_reg_writes[i] += o.psum_reg_writes[i];
    }
  }
  static uint64_t total(const std::vector<uint64_t>& v) {
    return std::accumulate(v.begin(), v.end(), uint64_t{0});
  }
  // pe_activity.csv: header "row,col,mac_ops,idle_cycles,operand_reg_writes,psum_reg_writes",
  // one row per PE in row-major order.
  std::string csv() const {
    std::string s = "row,col,mac_ops,idle_cycles,operand_reg_writes,psum_reg_writes\n";
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) {
        const size_t i = static_cast<size_t>(r) * static_cast<size_t>(cols) + c;
        s += std::to_string(r) + "," + std::to_string(c) + "," + std::to_string(mac_ops[i]) + "," +
             std::to_string(idle_cycles[i]) + "," + std::to_string(operand_reg_writes[i]) + "," +
             std::to_string(psum_reg_writes[i]) + "\n";
      }
    return s;
  }
};

}  // namespace lbsim
