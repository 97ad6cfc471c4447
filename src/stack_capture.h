// V8 on the watched thread: interrupts that copy the JS stack, and GC signals.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "report.h"

namespace v8 {
class Isolate;
}

namespace blockbuster {

// Written by V8 callbacks on the watched thread, read by the watchdog thread.
struct IsolateSignals {
  std::atomic<uint64_t> gc_total_ns{0};
  std::atomic<uint64_t> gc_started_ns{0};  // 0 when no GC is running

  uint64_t GcClock(uint64_t now) const;
};

// Installs GC callbacks; must be created and destroyed on the isolate's thread.
class IsolateHooks {
 public:
  IsolateHooks(v8::Isolate* isolate, IsolateSignals* signals);
  ~IsolateHooks();
  IsolateHooks(const IsolateHooks&) = delete;
  IsolateHooks& operator=(const IsolateHooks&) = delete;

 private:
  v8::Isolate* isolate_;
  IsolateSignals* signals_;
};

using StackSink = std::function<void(std::vector<Frame>&& frames)>;

// Thread-safe: asks V8 to run `sink` with the current JS stack on the isolate's thread at its next
// interrupt check. Never waits; `sink` may run late (after the block) or never (isolate disposed).
// Also copies the watched AsyncLocalStorage's value, if any, into JS for sample `key`.
void RequestStackSample(v8::Isolate* isolate, int max_frames, uint32_t key, StackSink sink);

// Env teardown, after the watchdog stopped: frees the requests an isolate about to be disposed
// still holds (it will never run them).
void ForgetStackSamples(v8::Isolate* isolate);

v8::Isolate* CurrentIsolate();

}  // namespace blockbuster
