// The GC clock: how much time V8 has spent collecting garbage on the watched thread, counting a
// collection still running. V8's GC callbacks write it; the watchdog thread reads it.
#pragma once

#include <atomic>
#include <cstdint>

namespace v8 {
class Isolate;
}

namespace blockbuster {

struct GcClock {
  std::atomic<uint64_t> total_ns{0};
  std::atomic<uint64_t> started_ns{0};  // 0 when no GC is running

  // Any thread: GC time so far, at `now` (uv_hrtime).
  uint64_t Read(uint64_t now) const {
    uint64_t started = started_ns.load(std::memory_order_acquire);
    uint64_t total = total_ns.load(std::memory_order_acquire);
    return started != 0 && now > started ? total + (now - started) : total;
  }
};

// Installs the GC callbacks that run `clock`; created and destroyed on the isolate's thread.
class GcHooks {
 public:
  GcHooks(v8::Isolate* isolate, GcClock* clock);
  ~GcHooks();
  GcHooks(const GcHooks&) = delete;
  GcHooks& operator=(const GcHooks&) = delete;

 private:
  v8::Isolate* isolate_;
  GcClock* clock_;
};

}  // namespace blockbuster
