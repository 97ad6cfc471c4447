#include "watchdog.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <string>

#include "report_line.h"

namespace blockbuster {
namespace {

// A parked watchdog still looks at the loop this often, to bound the one race left: the loop
// leaving poll and draining its fds between our idle check and our own poll().
constexpr int64_t kMaxParkNs = 1'000'000'000;
// A start-up block's live line waits this many times longer than a loop block's.
constexpr uint64_t kStartupLiveLineFactor = 10;
// How long the watchdog waits for the watched thread's signal handler (it answers in µs).
constexpr uint64_t kSampleTimeoutNs = 10'000'000;

void WriteAll(int fd, const std::string& text) {
  size_t offset = 0;
  while (offset < text.size()) {
    ssize_t written = write(fd, text.data() + offset, text.size() - offset);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return;
    offset += static_cast<size_t>(written);
  }
}

}  // namespace

void BlockTracker::Begin(uint64_t start_ns, uint64_t detected_ns, uint64_t gc_clock_at_start,
                         bool startup) {
  std::lock_guard<std::mutex> lock(mutex_);
  current_ = BlockReport{};
  current_.id = next_id_++;
  current_.start_ns = start_ns;
  current_.detected_ns = detected_ns;
  current_.gc_at_start_ns = gc_clock_at_start;
  current_.startup = startup;
  active.store(true, std::memory_order_seq_cst);
}

bool BlockTracker::AddSample(uint64_t id, Sample&& sample) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!active.load(std::memory_order_relaxed) || current_.id != id) {
    // The block ended while the signal was answered: the sample still belongs to it.
    if (!ready_.empty() && ready_.back().id == id && ready_.back().samples.empty()) {
      ready_.back().samples.push_back(std::move(sample));
    }
    return false;
  }
  bool ask = pending_key_ == 0;
  if (ask) pending_key_ = sample.key;
  sample.stack_key = pending_key_;
  sample.gc_at_request_ns = signals.GcClock(sample.taken_ns);
  current_.samples.push_back(std::move(sample));
  return ask;
}

bool BlockTracker::Finish(uint64_t end_ns) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!active.load(std::memory_order_relaxed)) return false;
  active.store(false, std::memory_order_seq_cst);
  current_.end_ns = std::max(end_ns, current_.detected_ns);
  uint64_t gc_clock = signals.GcClock(current_.end_ns);
  current_.gc_ns = gc_clock > current_.gc_at_start_ns ? gc_clock - current_.gc_at_start_ns : 0;
  if (ready_.size() >= max_queued) {
    dropped_++;
  } else {
    ready_.push_back(std::move(current_));
  }
  return true;
}

void BlockTracker::Capture(uint64_t id, uint32_t key, std::vector<Frame>&& frames) {
  uint64_t now = uv_hrtime();
  std::lock_guard<std::mutex> lock(mutex_);
  if (pending_key_ == key) pending_key_ = 0;
  if (!active.load(std::memory_order_relaxed) || current_.id != id) return;
  uint64_t gc_clock = signals.GcClock(now);
  for (Sample& sample : current_.samples) {
    if (sample.stack_key != key) continue;
    sample.captured_ns = now;
    sample.capture_gc_ns =
        gc_clock > sample.gc_at_request_ns ? gc_clock - sample.gc_at_request_ns : 0;
    if (sample.key == key) sample.frames = std::move(frames);
  }
}

bool BlockTracker::ActiveCopy(BlockReport* out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!active.load(std::memory_order_relaxed)) return false;
  *out = current_;
  return true;
}

std::vector<BlockReport> BlockTracker::TakeReady(uint64_t* dropped) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<BlockReport> out(std::make_move_iterator(ready_.begin()),
                               std::make_move_iterator(ready_.end()));
  ready_.clear();
  *dropped = dropped_;
  dropped_ = 0;
  return out;
}

int32_t SharedFlags::Depth() const {
  return std::atomic_ref<int32_t>(words[0]).load(std::memory_order_relaxed);
}

bool SharedFlags::InAtomicsWait() const {
  return std::atomic_ref<int32_t>(words[2]).load(std::memory_order_relaxed) > 0;
}

void SharedFlags::SetTrackedKey(uint32_t key) const {
  std::atomic_ref<int32_t>(words[1]).store(static_cast<int32_t>(key), std::memory_order_relaxed);
}

Watchdog::Watchdog(uv_loop_t* loop, v8::Isolate* isolate, const WatchdogOptions& options,
                   SharedFlags flags, Notify notify)
    : options_(options),
      isolate_(isolate),
      flags_(flags),
      notify_(std::move(notify)),
      tracker_(std::make_shared<BlockTracker>()) {
  tracker_->max_queued = options_.max_queued;
  if (!tracker_->waker.ok()) return;
  hooks_ = std::make_unique<IsolateHooks>(isolate_, &tracker_->signals);
  sampler_ = std::make_unique<ThreadSampler>(isolate_);
  probe_ = std::make_unique<LoopProbe>(loop, OnPrepare, OnCheck, this);
  thread_ = std::thread(&Watchdog::Run, this);
}

Watchdog::~Watchdog() { Stop(); }

void Watchdog::Stop(void (*on_closed)(void*), void* arg) {
  if (stopping_.exchange(true)) {
    if (on_closed != nullptr) on_closed(arg);
    return;
  }
  tracker_->waker.Wake();
  if (thread_.joinable()) thread_.join();
  sampler_.reset();
  hooks_.reset();
  if (probe_ != nullptr) {
    probe_->Close(on_closed, arg);
    probe_.reset();
  } else if (on_closed != nullptr) {
    on_closed(arg);
  }
}

void Watchdog::OnPrepare(void* data) {
  auto* self = static_cast<Watchdog*>(data);
  self->loop_turned_.store(true, std::memory_order_relaxed);
  self->gc_clock_at_prepare_.store(
      self->tracker_->signals.gc_total_ns.load(std::memory_order_relaxed),
      std::memory_order_relaxed);
  if (!self->tracker_->active.load(std::memory_order_seq_cst)) return;
  if (self->tracker_->Finish(uv_hrtime())) {
    self->tracker_->waker.Wake();
    self->notify_();
  }
}

void Watchdog::OnCheck(void* data) {
  auto* self = static_cast<Watchdog*>(data);
  if (self->parked_.load(std::memory_order_seq_cst)) self->tracker_->waker.Wake();
}

std::vector<BlockReport> Watchdog::TakeReports(bool finish_active, uint64_t* dropped) {
  if (finish_active) tracker_->Finish(uv_hrtime());
  return tracker_->TakeReady(dropped);
}

void Watchdog::WriteUntaken() {
  uint64_t dropped = 0;
  uint64_t now = uv_hrtime();
  for (const BlockReport& report : TakeReports(true, &dropped))
    WriteLine(report, now, LineStatus::kAtExit);
  if (dropped > 0) {
    WriteAll(options_.output_fd, FormatDroppedLine(dropped, options_.line));
  }
}

void Watchdog::SetOwnWork(bool on) {
  if (on) probe_->MarkProgress();
  own_work_.store(on, std::memory_order_release);
  if (!on) probe_->MarkProgress();
}

void Watchdog::Run() {
#if defined(__linux__)
  // Operators see the thread by name in top -H, gdb and /proc.
  pthread_setname_np(pthread_self(), "blockbuster");
#endif
  bool loop_just_woke = false;
  while (!stopping_.load(std::memory_order_acquire)) {
    LoopProbe::Reading reading = probe_->Read();
    uint64_t busy = BusyNs(reading);
    if (busy >= options_.threshold_ns && own_work_.load(std::memory_order_acquire)) {
      tracker_->waker.Wait(static_cast<int64_t>(options_.threshold_ns), -1);
      continue;
    }
    if (busy >= options_.threshold_ns && WaitingForWork()) {
      MarkIdle(reading.at_prepare.iterations);
      tracker_->waker.Wait(static_cast<int64_t>(options_.threshold_ns), -1);
      continue;
    }
    if (busy >= options_.threshold_ns) {
      uint64_t start = reading.now_ns - busy;
      tracker_->Begin(start, reading.now_ns, gc_clock_at_prepare_.load(std::memory_order_relaxed),
                      !loop_turned_.load(std::memory_order_relaxed));
      // Pairs with OnPrepare: if the loop reached prepare meanwhile, the block ended there.
      if (probe_->Iterations() != reading.at_prepare.iterations) {
        if (tracker_->Finish(probe_->Read().at_prepare.prepare_ns)) notify_();
        continue;
      }
      WatchBlock(start);
      loop_just_woke = false;
      continue;
    }
    // Sleeping on the loop's own fd costs nothing while the process is idle: an fd event wakes
    // us with the loop, a timer firing wakes us from the loop's check phase. Right after such a
    // wake-up, a timed sleep keeps a still-readable fd from spinning us.
    if (!loop_just_woke && probe_->BackendFd() >= 0) {
      parked_.store(true, std::memory_order_seq_cst);
      if (probe_->InPoll()) {
        Waker::Result result = tracker_->waker.Wait(kMaxParkNs, probe_->BackendFd());
        parked_.store(false, std::memory_order_seq_cst);
        loop_just_woke = result != Waker::Result::kTimeout;
        continue;
      }
      parked_.store(false, std::memory_order_seq_cst);
    }
    loop_just_woke = false;
    tracker_->waker.Wait(static_cast<int64_t>(options_.threshold_ns - busy), -1);
  }
}

uint64_t Watchdog::BusyNs(const LoopProbe::Reading& reading) const {
  if (idle_mark_iterations_ != reading.at_prepare.iterations) return reading.busy_ns;
  return std::min(reading.busy_ns, reading.now_ns - std::min(reading.now_ns, idle_mark_ns_));
}

bool Watchdog::WaitingForWork() {
  if (!options_.atomics_wait_is_idle) return false;
  return flags_.InAtomicsWait() ||
         sampler_->Sample(kSampleTimeoutNs).vm_state == VmState::kAtomicsWait;
}

void Watchdog::MarkIdle(uint64_t iterations) {
  idle_mark_ns_ = uv_hrtime();
  idle_mark_iterations_ = iterations;
}

void Watchdog::TakeSample(uint64_t id) {
  Sample sample;
  // Keys stay positive int32 for JS; 0 means "none".
  last_key_ = last_key_ >= 0x7fffffff ? 1 : last_key_ + 1;
  sample.key = last_key_;
  // First what costs nothing: the signal below can wait until a syscall returns.
  sample.taken_ns = uv_hrtime();
  sample.in_tracked_call = flags_.Depth() > 0;
  if (sample.in_tracked_call) flags_.SetTrackedKey(sample.key);
  // The signal answers even inside C++ or Atomics.wait, where the interrupt has to wait.
  ThreadSample seen = sampler_->Sample(kSampleTimeoutNs);
  sample.vm_state = seen.vm_state;
  sample.native_module = std::move(seen.native_module);
  uint32_t key = sample.key;
  if (!tracker_->AddSample(id, std::move(sample))) return;
  // The interrupt may run after stop(), or never: it must not own the tracker nor the Watchdog.
  std::weak_ptr<BlockTracker> weak = tracker_;
  RequestStackSample(isolate_, options_.max_frames, key,
                     [weak, id, key](std::vector<Frame>&& frames) {
                       if (auto tracker = weak.lock()) tracker->Capture(id, key, std::move(frames));
                     });
}

void Watchdog::WatchBlock(uint64_t start_ns) {
  BlockReport block;
  if (!tracker_->ActiveCopy(&block)) return;
  uint64_t id = block.id;
  // Start-up code (requires, config) is one line in the end; a live line comes only if it hangs.
  uint64_t live_line_ns =
      block.startup ? options_.hang_report_ns * kStartupLiveLineFactor : options_.hang_report_ns;
  TakeSample(id);
  size_t samples = 1;
  uint64_t iterations = probe_->Iterations();
  uint64_t next_sample = uv_hrtime() + options_.sample_interval_ns;
  bool hang_written = false;
  while (!stopping_.load(std::memory_order_acquire)) {
    uint64_t now = uv_hrtime();
    // The next deadline: another sample, the live line, or the abort.
    uint64_t deadline = UINT64_MAX;
    if (samples < options_.max_samples) deadline = next_sample;
    if (live_line_ns > 0 && !hang_written) {
      deadline = std::min(deadline, start_ns + live_line_ns);
    }
    if (options_.abort_after_ns > 0) {
      deadline = std::min(deadline, start_ns + options_.abort_after_ns);
    }
    int64_t wait_ns = deadline == UINT64_MAX ? -1
                      : deadline > now       ? static_cast<int64_t>(deadline - now)
                                             : 0;
    tracker_->waker.Wait(wait_ns, -1);
    if (!tracker_->ActiveCopy(&block) || block.id != id) return;
    now = uv_hrtime();
    if (samples < options_.max_samples && now >= next_sample) {
      // A worker back in Atomics.wait has finished its task: the block ends there.
      if (WaitingForWork()) {
        if (tracker_->Finish(now)) notify_();
        MarkIdle(iterations);
        return;
      }
      TakeSample(id);
      samples++;
      next_sample = now + options_.sample_interval_ns;
      if (!tracker_->ActiveCopy(&block) || block.id != id) return;
    }
    if (options_.abort_after_ns > 0 && now >= start_ns + options_.abort_after_ns) {
      WriteLine(block, now, LineStatus::kAborting);
      std::abort();
    }
    if (live_line_ns > 0 && !hang_written && now >= start_ns + live_line_ns) {
      WriteLine(block, now, LineStatus::kOngoing);
      hang_written = true;
    }
  }
}

void Watchdog::WriteLine(const BlockReport& report, uint64_t now_ns, LineStatus status) {
  uint64_t end = report.end_ns != 0 ? report.end_ns : now_ns;
  LineContext context{status, (end - report.start_ns) / 1'000'000,
                      options_.threshold_ns / 1'000'000};
  WriteAll(options_.output_fd, FormatReportLine(report, context, options_.line));
}

}  // namespace blockbuster
