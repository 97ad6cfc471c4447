// Plain data that crosses threads: no V8 handles, no N-API values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "contract.h"
#include "thread_probe.h"

namespace blockbuster {

struct Frame {
  std::string function_name;
  std::string file;
  int line = 0;
  int column = 0;
};

// One look at the watched thread during a block: what V8 said (signal) and, once the interrupt
// ran, the JS stack (which lands only when the thread is back in JS).
struct Sample {
  uint32_t key = 0;            // shared with JS: the call-site recorder tags its record with it
  uint32_t stack_key = 0;      // the sample whose interrupt brings this one's JS stack (one at a
                               // time is outstanding: later samples share it)
  uint64_t taken_ns = 0;       // when the watchdog took it (signal answered, interrupt asked)
  uint64_t captured_ns = 0;    // when V8 ran the interrupt; 0 = not during the block
  uint64_t capture_gc_ns = 0;  // GC time between request and capture (GC delays interrupts)
  uint64_t gc_at_request_ns = 0;
  VmState vm_state = VmState::kUnknown;
  bool in_tracked_call = false;  // a Node API the recorder wraps was running at `taken_ns`
  int32_t api_id = 0;            // which one (api_names.h); 0 = not known
  bool signalled = false;        // the signal was sent (the syscall peek allowed it)
  // The JS frames' addresses at the signal, innermost first (empty = not known): the callers'
  // return points do not change while the thread stays inside one call.
  std::vector<void*> js_frames;
  // Evidence against the outstanding interrupt's stack: this sample saw the thread elsewhere than
  // the sample that asked for it (another JS stack, syscall, VM state or tracked-call depth).
  bool moved_on = false;
  int syscall = -2;           // SyscallPeek::number: the syscall, -1 running, -2 unknown
  std::string syscall_file;   // the file behind the syscall's fd, for read/write and the like
  uint64_t cpu_ns = 0;        // the thread's CPU clock at `taken_ns`; 0 = not known
  std::string native_module;  // the addon (.node) the thread was in, when one was on its stack
  std::vector<Frame> frames;  // only on the sample that asked for the interrupt
};

// One block of the event loop, from the moment it started until the loop reached prepare again.
struct BlockReport {
  uint64_t id = 0;
  uint64_t start_ns = 0;        // when the loop stopped making progress
  uint64_t detected_ns = 0;     // when the watchdog noticed (≈ start + threshold)
  uint64_t end_ns = 0;          // when the loop made progress again
  uint64_t gc_ns = 0;           // GC time inside the block
  uint64_t gc_at_start_ns = 0;  // GC clock at block start, to compute gc_ns
  bool startup = false;         // began before the loop's first iteration under this watcher
  // The thread's CPU and the cgroup's throttling from the watchdog's last look before the
  // crossing (`baseline_ns`, near the start) to the end.
  uint64_t baseline_ns = 0;
  ThreadUsage usage_at_baseline;
  ThreadUsage usage_at_end;
  uint64_t sampling_cost_ns = 0;  // the watchdog's CPU, the handler's and the interrupts' time
  std::vector<Sample> samples;    // at the crossing, then every threshold (bounded)

  // The newest sample whose JS stack arrived, for lines written while the block lasts.
  const Sample* LatestWithFrames() const {
    for (auto it = samples.rbegin(); it != samples.rend(); ++it) {
      if (it->captured_ns != 0) return &*it;
    }
    return nullptr;
  }
};

}  // namespace blockbuster
