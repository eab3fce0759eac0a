// The job that travels through the timing pipeline: one work item (models/sim_plan/sim_plan.h:
// a tile, a step of a tile, or a chunk of an element-wise op) tagged with its op. Jobs move by
// value through sc_fifo channels: controller -> DMA load -> PE array or vector unit -> quant unit
// -> DMA store; the store engine reports the op index of each op's last job back to the
// controller.
#pragma once

#include <cstdint>
#include <ostream>

#include "models/sim_plan/sim_plan.h"

namespace lbsim {

struct WorkJob {
  int32_t op = -1;   // index into SimPlan::ops (and RunLedger)
  bool gemm = true;  // PE array (true) or vector unit (false)
  WorkItem item;
};

// sc_fifo<T> needs operator<< for its print()/dump().
inline std::ostream& operator<<(std::ostream& os, const WorkJob& j) {
  return os << "job(op " << j.op << (j.gemm ? ", gemm" : ", vector") << ", "
            << j.item.compute_cycles << " cycles" << (j.item.last ? ", last" : "") << ")";
}

}  // namespace lbsim
