// One watchdog thread per watched event loop (the main thread's or a worker's).
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "loop_probe.h"
#include "report.h"
#include "report_line.h"
#include "stack_capture.h"
#include "thread_sampler.h"
#include "waker.h"

namespace blockbuster {

// Every field is set by start() from JS, where the defaults live (lib/watch.ts).
struct WatchdogOptions {
  uint64_t threshold_ns;
  uint64_t hang_report_ns;  // 0 = no native line while a block lasts
  uint64_t abort_after_ns;  // 0 = never abort the process
  int output_fd;
  int max_frames;
  size_t max_queued;
  uint64_t sample_interval_ns;  // after the crossing, one more sample this often
  size_t max_samples;           // per block
  bool atomics_wait_is_idle;    // a worker waiting for work in Atomics.wait is not blocked
  LineStyle line;
};

// Memory shared with the call-site recorder in JS (lib/call-sites.ts): an Int32Array.
struct SharedFlags {
  int32_t* words = nullptr;  // [0] tracked-call depth (JS writes), [1] key of the last sample
                             // taken while a tracked call ran (watchdog writes), [2] inside
                             // Atomics.wait (JS writes)
  static constexpr size_t kWords = 3;
  int32_t Depth() const;
  bool InAtomicsWait() const;
  void SetTrackedKey(uint32_t key) const;
};

// Everything a V8 interrupt may touch: shared-owned, because the interrupt can run after stop().
class BlockTracker {
 public:
  // Watchdog thread.
  void Begin(uint64_t start_ns, uint64_t detected_ns, uint64_t gc_clock_at_start, bool startup);
  // Adds a sample to block `id`; true when the caller should ask V8 for its JS stack (no
  // interrupt of ours is outstanding).
  bool AddSample(uint64_t id, Sample&& sample);
  // Any thread. Moves the active block to the ready queue; false when none was active.
  bool Finish(uint64_t end_ns);
  // Main thread (V8 interrupt). Stores the frames if block `id` is still going on.
  void Capture(uint64_t id, uint32_t key, std::vector<Frame>&& frames);
  bool ActiveCopy(BlockReport* out) const;
  std::vector<BlockReport> TakeReady(uint64_t* dropped);

  std::atomic<bool> active{false};
  IsolateSignals signals;
  Waker waker;
  size_t max_queued = 0;

 private:
  mutable std::mutex mutex_;
  BlockReport current_;
  uint64_t next_id_ = 1;
  uint32_t pending_key_ = 0;  // the sample whose interrupt has not run yet; 0 = none
  std::deque<BlockReport> ready_;
  uint64_t dropped_ = 0;
};

class Watchdog {
 public:
  using Notify = std::function<void()>;

  // Main thread: starts the probe, the isolate hooks and the thread.
  Watchdog(uv_loop_t* loop, v8::Isolate* isolate, const WatchdogOptions& options, SharedFlags flags,
           Notify notify);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  bool ok() const { return thread_.joinable(); }
  // Main thread; idempotent. Joins the thread; `on_closed` runs once libuv has closed the handle.
  void Stop(void (*on_closed)(void*) = nullptr, void* arg = nullptr);
  // Main thread. With `finish_active`, a block still going on is ended now and included.
  std::vector<BlockReport> TakeReports(bool finish_active, uint64_t* dropped);
  // Main thread: reports nobody took, written by the native side so none is lost at exit.
  void WriteUntaken();
  // Main thread: blockbuster's own report building is progress, never a block of the user's.
  void SetOwnWork(bool on);

 private:
  static void OnPrepare(void* self);
  static void OnCheck(void* self);
  void Run();
  uint64_t BusyNs(const LoopProbe::Reading& reading) const;
  // Worker only: parked in Atomics.wait for work (the wrapper says so, or the signal sample).
  bool WaitingForWork();
  void MarkIdle(uint64_t iterations);
  void WatchBlock(uint64_t start_ns);
  void TakeSample(uint64_t id);
  void WriteLine(const BlockReport& report, uint64_t now_ns, LineStatus status);

  WatchdogOptions options_;
  v8::Isolate* isolate_;
  SharedFlags flags_;
  uint32_t last_key_ = 0;
  // Watchdog thread: when the thread was last seen idle in Atomics.wait inside a callback (no
  // iteration since), busy time counts from there.
  uint64_t idle_mark_ns_ = 0;
  uint64_t idle_mark_iterations_ = UINT64_MAX;
  Notify notify_;
  std::shared_ptr<BlockTracker> tracker_;
  std::unique_ptr<LoopProbe> probe_;
  std::unique_ptr<IsolateHooks> hooks_;
  std::unique_ptr<ThreadSampler> sampler_;
  std::atomic<uint64_t> gc_clock_at_prepare_{0};
  std::atomic<bool> stopping_{false};
  // True while the thread sleeps on the loop's fd: the loop's check phase must wake it then.
  std::atomic<bool> parked_{false};
  std::atomic<bool> own_work_{false};
  // Set at the first iteration under this watcher: a block before it is start-up code.
  std::atomic<bool> loop_turned_{false};
  std::thread thread_;
};

}  // namespace blockbuster
