#include "watchdog.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <string>

#include "cpu_clock.h"
#include "js_stack.h"
#include "linker_pages.h"
#include "report_line.h"

namespace blockbuster {
namespace {

// A parked watchdog still looks at the loop, to bound the one race left: the loop leaving poll
// and draining its fds between our idle check and our own poll(). Right after the loop ran, a
// second later; once it stayed idle through a park, a wake-up (tens to hundreds of µs of CPU)
// costs more than that µs-wide race is worth, so the next look waits this long.
constexpr int64_t kFirstParkNs = 1'000'000'000;
constexpr int64_t kIdleParkNs = 30'000'000'000;
// How long the watchdog waits for the watched thread's signal handler (it answers in µs).
constexpr uint64_t kSampleTimeoutNs = 10'000'000;
// Signals per block, whatever the syscall peek says: it bounds what the race it leaves (the
// thread entering a sleep just after the peek) can cost a host that sleeps in a retry loop.
constexpr uint32_t kMaxSignalsPerBlock = 64;
// Sampling may cost at most 1 % of the block's own time (the watchdog's CPU, the signal handler
// and the interrupts on the watched thread); samples are spaced for 2/3 of that, because an
// interrupt's cost arrives after the next sample is planned.
constexpr uint64_t kCostShareDivisor = 150;

// Every native line goes through the process's one writer: whole, in order, bounded waits.
void WriteAll(const WatchdogOptions& options, const std::string& text) {
  DroppedNotice notice{options.line.json, options.line.schema_version, options.line.thread_id};
  LineWriter::Get().Write(options.output_fd, text, notice);
}

}  // namespace

Watchdog::Watchdog(uv_loop_t* loop, v8::Isolate* isolate, const WatchdogOptions& options,
                   SharedFlags flags, Notify notify)
    : options_(options),
      isolate_(isolate),
      flags_(flags),
      notify_(std::move(notify)),
      tracker_(std::make_shared<BlockTracker>()),
      deadline_(options.threshold_ns) {
  tracker_->max_queued = options_.max_queued;
  tracker_->flags = flags_;
  if (!tracker_->waker.ok()) return;
  gc_hooks_ = std::make_unique<GcHooks>(isolate_, &tracker_->gc);
  sampler_ = std::make_unique<ThreadSampler>(isolate_);
  thread_probe_ = std::make_unique<ThreadProbe>();
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
  // The shared memory goes with the watcher; a late interrupt keeps the tracker, not the words.
  tracker_->flags = SharedFlags{};
  sampler_.reset();
  gc_hooks_.reset();
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
  self->deadline_.Progress(self->probe_->LastPrepareNs());
  self->gc_clock_at_prepare_.store(self->tracker_->gc.total_ns.load(std::memory_order_relaxed),
                                   std::memory_order_relaxed);
  if (!self->tracker_->active.load(std::memory_order_seq_cst)) return;
  if (self->tracker_->Finish(uv_hrtime(), self->UsageNow())) {
    self->tracker_->waker.Wake();
    self->notify_();
  }
}

void Watchdog::OnCheck(void* data) {
  auto* self = static_cast<Watchdog*>(data);
  if (self->parked_.load(std::memory_order_seq_cst)) self->tracker_->waker.Wake();
}

std::vector<BlockReport> Watchdog::TakeReports(bool finish_active, uint64_t* dropped) {
  if (finish_active) tracker_->Finish(uv_hrtime(), UsageNow());
  return tracker_->TakeReady(dropped);
}

void Watchdog::WriteUntaken() {
  uint64_t dropped = 0;
  std::vector<BlockReport> reports = TakeReports(true, &dropped);
  WriteReports(reports, dropped);
}

void Watchdog::WriteReports(const std::vector<BlockReport>& reports, uint64_t dropped) {
  uint64_t now = uv_hrtime();
  for (const BlockReport& report : reports) WriteLine(report, now, LineStatus::kAtExit);
  if (dropped > 0) WriteAll(options_, FormatDroppedLine(dropped, options_.line));
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
  // A hang that began in the race above still aborts within abortAfterMs.
  int64_t idle_park_ns =
      options_.abort_after_ns > 0
          ? std::clamp(static_cast<int64_t>(options_.abort_after_ns), kFirstParkNs, kIdleParkNs)
          : kIdleParkNs;
  int64_t park_ns = kFirstParkNs;
  int passes = 0;
  bool pages_released = false;
  while (!stopping_.load(std::memory_order_acquire)) {
    passes++;
    LoopProbe::Reading reading = probe_->Read();
    uint64_t busy = BusyNs(reading);
    if (busy >= options_.threshold_ns) park_ns = kFirstParkNs;
    if (busy >= options_.threshold_ns && own_work_.load(std::memory_order_acquire)) {
      tracker_->waker.Wait(static_cast<int64_t>(options_.threshold_ns), -1);
      continue;
    }
    if (busy >= options_.threshold_ns && WaitingForWork()) {
      MarkIdle(reading.at_prepare.iterations);
      tracker_->waker.Wait(static_cast<int64_t>(options_.threshold_ns), -1);
      continue;
    }
    if (busy < options_.threshold_ns) {
      looks_[1] = looks_[0];
      looks_[0] = Look{reading.now_ns, UsageNow()};
    }
    if (busy >= options_.threshold_ns) {
      uint64_t start = reading.now_ns - busy;
      // The last look before the block began, else the earliest one since, else now.
      Look baseline{reading.now_ns, UsageNow()};
      // A look more than a threshold before the start is stale: the watchdog slept on the loop's
      // deadline meanwhile, and the thread's CPU since then would dilute the block's share.
      auto before_start = [&](const Look& look) {
        return look.at_ns != 0 && look.at_ns <= start &&
               start - look.at_ns <= options_.threshold_ns;
      };
      auto since_start = [&](const Look& look) { return look.at_ns > start; };
      if (before_start(looks_[0])) {
        baseline = looks_[0];
      } else if (before_start(looks_[1])) {
        baseline = looks_[1];
      } else if (since_start(looks_[1]) || since_start(looks_[0])) {
        baseline = since_start(looks_[1]) ? looks_[1] : looks_[0];
      }
      tracker_->Begin(start, reading.now_ns, gc_clock_at_prepare_.load(std::memory_order_relaxed),
                      !loop_turned_.load(std::memory_order_relaxed), baseline.at_ns,
                      baseline.usage);
      // Pairs with OnPrepare: if the loop reached prepare meanwhile, the block ended there.
      if (probe_->Iterations() != reading.at_prepare.iterations) {
        if (tracker_->Finish(probe_->Read().at_prepare.prepare_ns, UsageNow())) notify_();
        continue;
      }
      // A worker that parked for work while we decided ended the block as we looked, as if we had
      // looked a moment later. It set its wait flag before reading the pending word Begin set, so
      // it took the block (reported with no sample), or we see the flag here; never neither.
      if (options_.atomics_wait_is_idle && flags_.InAtomicsWait()) {
        tracker_->Cancel(tracker_->ActiveId());
        MarkIdle(reading.at_prepare.iterations);
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
      if (probe_->InPoll() && passes >= 2 && !pages_released) {
        // A whole pass has bound the symbols this thread calls (libuv, the probes): what that
        // mapped of node's symbol tables is given back here, off the loop's thread, while the loop
        // waits in poll (never as it wakes, when a block may begin); then a fresh reading.
        parked_.store(false, std::memory_order_seq_cst);
        pages_released = true;
        ReleaseLinkerPages();
        continue;
      }
      if (probe_->InPoll()) {
        Waker::Result result = tracker_->waker.Wait(park_ns, probe_->BackendFd());
        parked_.store(false, std::memory_order_seq_cst);
        loop_just_woke = result != Waker::Result::kTimeout;
        park_ns = loop_just_woke ? kFirstParkNs : idle_park_ns;
        continue;
      }
      parked_.store(false, std::memory_order_seq_cst);
    }
    park_ns = kFirstParkNs;
    loop_just_woke = false;
    // The loop's deadline is at most a threshold after the start of its latest iteration, the
    // earliest a block could cross: while it lies ahead, sleep until it fires (each iteration past
    // the first half pushes it back; under load we then never wake). Else look again when the
    // current iteration would cross. The timeout only bounds a deadline that never fires.
    if (deadline_.fd() >= 0 && deadline_.Deadline() > uv_hrtime()) {
      tracker_->waker.Wait(kFirstParkNs, -1, deadline_.fd());
      continue;
    }
    tracker_->waker.Wait(static_cast<int64_t>(options_.threshold_ns - busy), -1);
  }
}

uint64_t Watchdog::BusyNs(const LoopProbe::Reading& reading) const {
  if (idle_mark_iterations_ != reading.at_prepare.iterations) return reading.busy_ns;
  return std::min(reading.busy_ns, reading.now_ns - std::min(reading.now_ns, idle_mark_ns_));
}

bool Watchdog::WaitingForWork() {
  if (!options_.atomics_wait_is_idle) return false;
  if (flags_.InAtomicsWait()) return true;
  // Atomics.wait parks in futex (V8 retries an interrupted wait); any other sleep is not it.
  int syscall = thread_probe_->Syscall().number;
  if (SyscallKnown(syscall) && SyscallWaits(syscall) &&
      SyscallName(syscall) != std::string("futex"))
    return false;
  return sampler_->Sample(kSampleTimeoutNs).vm_state == VmState::kAtomicsWait;
}

ThreadUsage Watchdog::UsageNow() const {
  return thread_probe_ != nullptr ? thread_probe_->Usage() : ThreadUsage{};
}

void Watchdog::MarkIdle(uint64_t iterations) {
  idle_mark_ns_ = uv_hrtime();
  idle_mark_iterations_ = iterations;
}

bool Watchdog::TakeSample(uint64_t id, bool may_signal) {
  uint64_t own_cpu_start = ThreadCpuNs();
  Sample sample;
  last_key_ = last_key_ >= kMaxSampleKey ? 1 : last_key_ + 1;
  sample.key = last_key_;
  // First what costs nothing: the signal below can wait until a syscall returns.
  sample.taken_ns = uv_hrtime();
  sample.in_tracked_call = flags_.Depth() > 0;
  if (sample.in_tracked_call) {
    flags_.SetTrackedKey(sample.key);
    sample.api_id = flags_.ApiId();
  }
  thread_probe_->CpuNs(&sample.cpu_ns);
  // A signal would cut short a sleep or a wait: the syscall is the evidence then.
  SyscallPeek peek = thread_probe_->Syscall();
  sample.syscall = peek.number;
  bool disk_file = false;
  if (SyscallKnown(peek.number) && SyscallOnFd(peek.number)) {
    sample.syscall_file = DescribeFd(static_cast<int>(peek.first_argument), &disk_file);
  }
  bool waits = SyscallKnown(peek.number) &&
               (SyscallWaits(peek.number) || (SyscallOnFd(peek.number) && !disk_file));
  uint64_t handler_ns = 0;
  if (may_signal && !waits) {
    // The signal answers even inside C++ or Atomics.wait, where the interrupt has to wait.
    ThreadSample seen = sampler_->Sample(kSampleTimeoutNs);
    sample.signalled = true;
    sample.vm_state = seen.vm_state;
    sample.js_frames = std::move(seen.js_frames);
    sample.native_module = std::move(seen.native_module);
    handler_ns = seen.handler_ns;
  }
  uint32_t key = sample.key;
  bool signalled = sample.signalled;
  uint64_t cost = ThreadCpuNs() - own_cpu_start + handler_ns;
  if (!tracker_->AddSample(id, std::move(sample), cost)) return signalled;
  // The interrupt may run after stop(), or never: it must not own the tracker nor the Watchdog.
  std::weak_ptr<BlockTracker> weak = tracker_;
  RequestStackSample(isolate_, options_.max_frames, key,
                     [weak, id, key](std::vector<Frame>&& frames, uint64_t took_ns) {
                       if (auto tracker = weak.lock())
                         tracker->Capture(id, key, std::move(frames), took_ns);
                     });
  return signalled;
}

void Watchdog::WatchBlock(uint64_t start_ns) {
  BlockReport block;
  if (!tracker_->ActiveCopy(&block)) return;
  uint64_t id = block.id;
  // Start-up code (requires, config) is one line in the end; a live line comes only if it hangs.
  uint64_t live_line_ns =
      block.startup ? options_.hang_report_ns * kStartupLiveLineFactor : options_.hang_report_ns;
  uint32_t signals = TakeSample(id, true) ? 1 : 0;
  size_t samples = 1;
  // Long blocks stay covered to their end: after each max_samples samples the interval doubles.
  uint64_t interval = options_.sample_interval_ns;
  uint64_t iterations = probe_->Iterations();
  uint64_t next_sample = uv_hrtime() + interval;
  bool hang_written = false;
  // The live line and the abort count from here: the block's start, or the end of the last time
  // the thread was allowed to block (allowBlocking, pause), which is never said live nor aborted.
  uint64_t judged_from = start_ns;
  while (!stopping_.load(std::memory_order_acquire)) {
    uint64_t now = uv_hrtime();
    if (allowed_.load(std::memory_order_acquire)) judged_from = now;
    // The next deadline: another sample, the live line, or the abort.
    uint64_t deadline = next_sample;
    if (live_line_ns > 0 && !hang_written) {
      deadline = std::min(deadline, judged_from + live_line_ns);
    }
    if (options_.abort_after_ns > 0) {
      deadline = std::min(deadline, judged_from + options_.abort_after_ns);
    }
    int64_t wait_ns = deadline > now ? static_cast<int64_t>(deadline - now) : 0;
    tracker_->waker.Wait(wait_ns, -1);
    uint64_t cost = 0;
    if (!tracker_->IsActive(id, &cost)) return;
    now = uv_hrtime();
    if (now >= next_sample && cost * kCostShareDivisor > now - start_ns) {
      // Over the cost budget: the next sample waits until the block has grown enough.
      next_sample = start_ns + cost * kCostShareDivisor;
    } else if (now >= next_sample) {
      // A worker back in Atomics.wait has finished its task: the block ends there.
      if (WaitingForWork()) {
        if (tracker_->Finish(now, UsageNow())) notify_();
        MarkIdle(iterations);
        return;
      }
      if (TakeSample(id, signals < kMaxSignalsPerBlock)) signals++;
      samples++;
      if (samples % options_.max_samples == 0) interval *= 2;
      next_sample = now + interval;
      if (!tracker_->IsActive(id)) return;
    }
    if (allowed_.load(std::memory_order_acquire)) judged_from = now;
    if (options_.abort_after_ns > 0 && now >= judged_from + options_.abort_after_ns) {
      if (tracker_->ActiveCopy(&block) && block.id == id)
        WriteLine(block, now, LineStatus::kAborting);
      std::abort();
    }
    if (live_line_ns > 0 && !hang_written && now >= judged_from + live_line_ns) {
      if (!tracker_->ActiveCopy(&block) || block.id != id) return;
      // Live lines spend the same budget as the JS report lines (maxReportsPerMinute).
      if (options_.budget->TakeLiveLine(CulpritKey(block, options_.line))) {
        WriteLine(block, now, LineStatus::kOngoing);
      }
      hang_written = true;
    }
  }
}

void Watchdog::WriteLine(const BlockReport& report, uint64_t now_ns, LineStatus status) {
  uint64_t end = report.end_ns != 0 ? report.end_ns : now_ns;
  LineContext context{status, (end - report.start_ns) / 1'000'000,
                      options_.threshold_ns / 1'000'000};
  WriteAll(options_, FormatReportLine(report, context, options_.line));
}

}  // namespace blockbuster
