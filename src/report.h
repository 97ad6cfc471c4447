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

// One block of the event loop, from the moment it started until the loop reached prepare again.
struct BlockReport {
  uint64_t id = 0;
  uint64_t start_ns = 0;       // when the loop stopped making progress
  uint64_t detected_ns = 0;    // when the watchdog noticed (≈ start + threshold)
  uint64_t requested_ns = 0;   // when the stack was requested from V8
  uint64_t captured_ns = 0;    // when V8 ran the interrupt; 0 = never during the block
  uint64_t capture_gc_ns = 0;  // GC time between request and capture (GC delays interrupts)
  uint64_t gc_at_request_ns = 0;
  uint64_t end_ns = 0;          // when the loop made progress again
  uint64_t gc_ns = 0;           // GC time inside the block
  uint64_t gc_at_start_ns = 0;  // GC clock at block start, to compute gc_ns
  bool startup = false;         // began before the loop's first iteration under this watcher
  VmState vm_state = VmState::kUnknown;  // sampled at the threshold crossing
  std::vector<Frame> frames;
};

}  // namespace blockbuster
