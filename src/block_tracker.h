// One watched thread's blocks: the one going on, its samples, and those ready for JS.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "gc_clock.h"
#include "report.h"
#include "shared_flags.h"
#include "thread_probe.h"
#include "waker.h"

namespace blockbuster {

// Everything a V8 interrupt may touch: shared-owned, because the interrupt can run after stop().
class BlockTracker {
 public:
  // Watchdog thread.
  void Begin(uint64_t start_ns, uint64_t detected_ns, uint64_t gc_clock_at_start, bool startup,
             uint64_t baseline_ns, const ThreadUsage& baseline);
  // Adds a sample to block `id`; true when the caller should ask V8 for its JS stack (no
  // interrupt of ours is outstanding).
  bool AddSample(uint64_t id, Sample&& sample, uint64_t cost_ns);
  // Any thread. Moves the active block to the ready queue; false when none was active.
  bool Finish(uint64_t end_ns, const ThreadUsage& usage);
  // Watchdog thread: drops block `id` while it is still going on (a worker parked as it began).
  bool Cancel(uint64_t id);
  // The block going on, 0 when none.
  uint64_t ActiveId() const;
  // Main thread (V8 interrupt). Stores the frames if block `id` is still going on.
  void Capture(uint64_t id, uint32_t key, std::vector<Frame>&& frames, uint64_t took_ns);
  bool ActiveCopy(BlockReport* out) const;
  // Watchdog thread: whether block `id` still goes on, and what sampling it has cost so far.
  bool IsActive(uint64_t id, uint64_t* cost_ns = nullptr) const;
  std::vector<BlockReport> TakeReady(uint64_t* dropped);

  std::atomic<bool> active{false};
  // A worker parked in Atomics.wait takes its reports before it parks when this says some wait.
  SharedFlags flags;
  GcClock gc;
  Waker waker;
  size_t max_queued = 0;

 private:
  mutable std::mutex mutex_;
  BlockReport current_;
  uint64_t next_id_ = 1;
  uint32_t pending_key_ = 0;  // the sample whose interrupt has not run yet; 0 = none
  size_t pending_first_ = 0;  // index in current_.samples of the first sample sharing it
  std::deque<BlockReport> ready_;
  uint64_t dropped_ = 0;
  // Under mutex_: tells JS how many blocks it has not taken yet.
  void PublishPending() const;
};

}  // namespace blockbuster
