// Plain data that crosses threads: no V8 handles, no N-API values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace blockbuster {

// What V8 said the watched thread was doing when the watchdog sampled it (v8::StateTag).
enum class VmState : uint8_t {
  kUnknown,
  kJs,
  kGc,
  kCompiler,
  kOther,
  kExternal,
  kAtomicsWait,
  kIdle
};

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
  std::string native_module;     // the addon (.node) the thread was in, when one was on its stack
  std::vector<Frame> frames;     // only on the sample that asked for the interrupt
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
  std::vector<Sample> samples;  // at the crossing, then every threshold (bounded)

  // The newest sample whose JS stack arrived, for lines written while the block lasts.
  const Sample* LatestWithFrames() const {
    for (auto it = samples.rbegin(); it != samples.rend(); ++it) {
      if (it->captured_ns != 0) return &*it;
    }
    return nullptr;
  }
};

}  // namespace blockbuster
