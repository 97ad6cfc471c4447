// The calling thread's CPU time: what a cost measured on a busy machine actually ran, not the
// time it waited for a CPU. Async-signal-safe (clock_gettime), so the sample handler uses it too.
#pragma once

#include <time.h>

#include <cstdint>

namespace blockbuster {

inline uint64_t ThreadCpuNs() {
  struct timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(now.tv_nsec);
}

}  // namespace blockbuster
