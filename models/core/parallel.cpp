#include "models/core/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>
#include <vector>

namespace lbsim {

int parallel_workers(int64_t count, int threads) {
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, count)));
}

void parallel_for(int64_t count, int threads, const std::function<void(int64_t, int)>& body) {
  const int workers = parallel_workers(count, threads);
  if (workers == 1) {
    for (int64_t i = 0; i < count; ++i) body(i, 0);
    return;
  }
  std::atomic<int64_t> next{0};
  std::vector<std::exception_ptr> error(static_cast<size_t>(workers));
  std::vector<int64_t> error_at(static_cast<size_t>(workers), count);
  auto work = [&](int w) {
    for (int64_t i; (i = next.fetch_add(1)) < count;) {
      try {
        body(i, w);
      } catch (...) {
        error[w] = std::current_exception();
        error_at[w] = i;
        return;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < workers; ++w) pool.emplace_back(work, w);
  work(0);
  for (auto& t : pool) t.join();
  int first = -1;
  for (int w = 0; w < workers; ++w)
    if (error[w] && (first < 0 || error_at[w] < error_at[first])) first = w;
  if (first >= 0) std::rethrow_exception(error[first]);
}

}  // namespace lbsim
