// Deterministic parallel loops for the numerics: body(index, worker) for every index, spread over
// `threads` workers. Results are independent of the thread count as long as each index writes
// only its own outputs and per-worker accumulators are combined order-free (sums, maxima).
#pragma once

#include <cstdint>
#include <functional>

namespace lbsim {

// Runs body(i, worker) for i in [0, count) on min(threads, count) workers (worker in
// [0, workers)), the caller's thread being worker 0, indices handed out in ascending order;
// returns after all are done. A worker whose body throws stops; the others go on. The exception
// of the lowest index that threw is rethrown.
void parallel_for(int64_t count, int threads, const std::function<void(int64_t, int)>& body);

// Workers parallel_for uses for `count` indices and `threads` requested (<= 0: one).
int parallel_workers(int64_t count, int threads);

}  // namespace lbsim
