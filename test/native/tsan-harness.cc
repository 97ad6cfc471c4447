// ThreadSanitizer harness for the cross-thread parts of src/watchdog.cc without V8: the real
// Watchdog, BlockTracker, LoopProbe (seqlock) and Waker run against real libuv loops, with V8's
// side (interrupts, GC callbacks, the signal sample) replaced by stubs that cross threads the same
// way: the watchdog thread queues a stack request, the loop thread runs it while "blocked".
// Built and run by scripts/check-tsan.sh; exits non-zero if a loop saw no report.
#include <fcntl.h>
#include <uv.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "gc_clock.h"
#include "js_stack.h"
#include "thread_sampler.h"
#include "watchdog.h"

namespace v8 {
class Isolate {};
}  // namespace v8

namespace {

// One per watched loop: what V8 keeps per isolate (queued interrupts, GC hooks).
struct FakeIsolate : v8::Isolate {
  std::mutex mutex;
  std::vector<std::pair<uint32_t, blockbuster::StackSink>> interrupts;
  blockbuster::GcClock* gc = nullptr;
};

thread_local FakeIsolate* t_isolate = nullptr;

// Loop thread, as V8 does at its interrupt checks: run what the watchdog asked for.
void RunInterrupts(FakeIsolate* isolate) {
  std::vector<std::pair<uint32_t, blockbuster::StackSink>> due;
  {
    std::lock_guard<std::mutex> lock(isolate->mutex);
    due.swap(isolate->interrupts);
  }
  for (auto& [key, sink] : due) {
    std::vector<blockbuster::Frame> frames{{"spin", "/app/harness.js", int(key % 100) + 1, 3}};
    sink(std::move(frames), 0);
  }
}

}  // namespace

// The V8-facing functions of src/gc_clock.cc, src/js_stack.cc and src/thread_sampler_linux.cc,
// as stubs.
namespace blockbuster {

GcHooks::GcHooks(v8::Isolate* isolate, GcClock* clock) : isolate_(isolate), clock_(clock) {
  static_cast<FakeIsolate*>(isolate)->gc = clock;
}

GcHooks::~GcHooks() { static_cast<FakeIsolate*>(isolate_)->gc = nullptr; }

void RequestStackSample(v8::Isolate* isolate, int, uint32_t key, StackSink sink) {
  auto* fake = static_cast<FakeIsolate*>(isolate);
  std::lock_guard<std::mutex> lock(fake->mutex);
  fake->interrupts.emplace_back(key, std::move(sink));
}

void ForgetStackSamples(v8::Isolate* isolate) {
  auto* fake = static_cast<FakeIsolate*>(isolate);
  std::lock_guard<std::mutex> lock(fake->mutex);
  fake->interrupts.clear();
}

v8::Isolate* CurrentIsolate() { return t_isolate; }

// The real one signals the thread; here the answer is immediate (TSan and signal handlers that
// read another frame's stack do not mix, and that part is covered by test:asan).
ThreadSampler::ThreadSampler(v8::Isolate*) {}
ThreadSampler::~ThreadSampler() = default;
ThreadSample ThreadSampler::Sample(uint64_t) {
  ThreadSample sample;
  sample.vm_state = VmState::kJs;
  sample.taken_ns = uv_hrtime();
  return sample;
}

}  // namespace blockbuster

namespace {

struct Run {
  uv_loop_t loop;
  uv_async_t async;
  uv_timer_t timer;
  FakeIsolate isolate;
  int32_t words[blockbuster::kFlagSlots] = {};
  std::unique_ptr<blockbuster::Watchdog> watchdog;
  int blocks_left = 0;
  int notified = 0;
  size_t reports = 0;
  uint64_t dropped = 0;
};

blockbuster::WatchdogOptions Options(int fd) {
  blockbuster::WatchdogOptions options{};
  options.threshold_ns = 5'000'000;
  options.hang_report_ns = 12'000'000;  // the watchdog writes its live line mid-block
  options.abort_after_ns = 0;
  options.output_fd = fd;
  options.max_frames = 8;
  options.max_queued = 2;  // small: the overflow count is exercised too
  options.sample_interval_ns = 3'000'000;
  options.max_samples = 50;
  options.atomics_wait_is_idle = false;
  options.line.internal_prefixes = {"node:"};
  options.line.internal_parts = {"/node_modules/"};
  // Spent by the watchdog thread's live lines (the JS sink's side is the loop thread's).
  options.budget = std::make_shared<blockbuster::ReportBudget>(1000, false);
  return options;
}

void Busy(Run* run, uint64_t ms, bool tracked, bool gc) {
  std::atomic_ref<int32_t> depth(run->words[0]);
  if (tracked) depth.fetch_add(1, std::memory_order_relaxed);
  uint64_t end = uv_hrtime() + ms * 1'000'000;
  uint64_t gc_started = 0;
  while (uv_hrtime() < end) {
    RunInterrupts(&run->isolate);
    // A GC in the middle of the block, as V8's prologue/epilogue callbacks would record it.
    if (gc && run->isolate.gc != nullptr && gc_started == 0 && uv_hrtime() + 5'000'000 > end) {
      gc_started = uv_hrtime();
      run->isolate.gc->started_ns.store(gc_started, std::memory_order_release);
    }
  }
  if (gc_started != 0 && run->isolate.gc != nullptr) {
    run->isolate.gc->started_ns.store(0, std::memory_order_release);
    run->isolate.gc->total_ns.fetch_add(uv_hrtime() - gc_started, std::memory_order_acq_rel);
  }
  if (tracked) depth.fetch_sub(1, std::memory_order_relaxed);
}

void Take(Run* run) {
  run->watchdog->SetOwnWork(true);
  uint64_t dropped = 0;
  run->reports += run->watchdog->TakeReports(false, &dropped).size();
  run->dropped += dropped;
  run->watchdog->SetOwnWork(false);
}

// One watched loop: `blocks` blocks of 6-30 ms from a timer, some "tracked", some with GC, then stop.
void WatchLoop(Run* run, int fd, int blocks) {
  t_isolate = &run->isolate;
  uv_loop_init(&run->loop);
  run->async.data = run;
  // Takes every third notification only, so the bounded queue overflows and counts drops too.
  uv_async_init(&run->loop, &run->async, [](uv_async_t* handle) {
    auto* run = static_cast<Run*>(handle->data);
    if (++run->notified % 3 == 0) Take(run);
  });
  run->watchdog = std::make_unique<blockbuster::Watchdog>(
      &run->loop, &run->isolate, Options(fd), blockbuster::SharedFlags{run->words},
      [run]() { uv_async_send(&run->async); });
  run->blocks_left = blocks;
  run->timer.data = run;
  uv_timer_init(&run->loop, &run->timer);
  uv_timer_start(
      &run->timer,
      [](uv_timer_t* timer) {
        auto* run = static_cast<Run*>(timer->data);
        int n = run->blocks_left--;
        if (n <= 0) {
          uv_timer_stop(timer);
          Take(run);
          run->watchdog->Stop();
          run->watchdog->WriteUntaken();
          // Interrupts still queued run after the watcher is gone (the weak_ptr path).
          run->watchdog.reset();
          RunInterrupts(&run->isolate);
          uv_close(reinterpret_cast<uv_handle_t*>(&run->async), nullptr);
          uv_close(reinterpret_cast<uv_handle_t*>(timer), nullptr);
          return;
        }
        Busy(run, 6 + (n * 7) % 25, n % 3 == 0, n % 4 == 0);
      },
      2, 8);
  uv_run(&run->loop, UV_RUN_DEFAULT);
  uv_loop_close(&run->loop);
}

// Watchers started and stopped back to back while the loop turns, as between tests.
size_t Cycles(int fd, int count) {
  Run run;
  t_isolate = &run.isolate;
  uv_loop_init(&run.loop);
  for (int i = 0; i < count; i++) {
    run.watchdog = std::make_unique<blockbuster::Watchdog>(
        &run.loop, &run.isolate, Options(fd), blockbuster::SharedFlags{run.words}, []() {});
    if (i % 5 == 0) Busy(&run, 8, false, false);
    uv_run(&run.loop, UV_RUN_NOWAIT);
    run.watchdog->Stop();
    uint64_t dropped = 0;
    run.reports += run.watchdog->TakeReports(true, &dropped).size();
    run.watchdog.reset();
    RunInterrupts(&run.isolate);
    uv_run(&run.loop, UV_RUN_NOWAIT);
  }
  uv_loop_close(&run.loop);
  return run.reports;
}

}  // namespace

int main() {
  int fd = open("/dev/null", O_WRONLY);
  // Two loops watched at once (main thread and a "worker"), each with its own watchdog thread.
  Run main_run, worker_run;
  std::thread worker([&] { WatchLoop(&worker_run, fd, 40); });
  WatchLoop(&main_run, fd, 40);
  worker.join();
  size_t cycled = Cycles(fd, 200);
  std::printf("tsan-harness: main loop %zu reports (%llu dropped), worker loop %zu reports (%llu dropped), 200 cycles %zu reports\n",
              main_run.reports, static_cast<unsigned long long>(main_run.dropped), worker_run.reports,
              static_cast<unsigned long long>(worker_run.dropped), cycled);
  return main_run.reports + main_run.dropped > 0 && worker_run.reports + worker_run.dropped > 0 ? 0 : 1;
}
