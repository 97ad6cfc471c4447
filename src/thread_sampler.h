// Asks the watched thread, from the watchdog thread, what V8 is doing right now: a thread-directed
// signal whose handler calls v8::Isolate::GetStackSample (async-signal-safe; V8's own profiler
// calls it from SIGPROF). Unlike an interrupt, it answers while the thread sits in C++ or a wait.
#pragma once

#include <pthread.h>

#include <cstdint>
#include <string>
#include <vector>

#include "report.h"

namespace v8 {
class Isolate;
}

namespace blockbuster {

struct ThreadSample {
  VmState vm_state = VmState::kUnknown;
  uint64_t taken_ns = 0;  // 0 when no sample was taken (unsupported platform, signal blocked)
  // The first native addon (a .node file other than ours) on the thread's native stack, named
  // `file` or `file!symbol` when the symbol is exported; empty when none.
  std::string native_module;
  // The JS frames' addresses, innermost first, as V8 walked them (empty when none were seen).
  std::vector<void*> js_frames;
  uint64_t handler_ns = 0;  // CPU time the handler took on the watched thread
};

class ThreadSampler {
 public:
  // Thread to watch: creates the sampler for the calling thread and its isolate.
  explicit ThreadSampler(v8::Isolate* isolate);
  // Thread to watch, after the watchdog thread that sampled it was joined.
  ~ThreadSampler();
  ThreadSampler(const ThreadSampler&) = delete;
  ThreadSampler& operator=(const ThreadSampler&) = delete;

  // Watchdog thread. Waits at most `timeout_ns` for the handler; a thread that has the signal
  // blocked gives an empty sample, and a late handler then finds nothing to do.
  ThreadSample Sample(uint64_t timeout_ns);

 private:
  int slot_ = -1;
};

}  // namespace blockbuster
