#include "block_tracker.h"

#include <uv.h>

#include <algorithm>
#include <iterator>

namespace blockbuster {
namespace {

// True when one stack, without its innermost entry (the pc, which moves while JS runs), is the
// outer end of the other: the thread is still inside the same call, perhaps deeper.
bool SameCallers(const std::vector<void*>& a, const std::vector<void*>& b) {
  size_t length = std::min(a.size(), b.size()) - 1;
  return std::equal(a.end() - length, a.end(), b.end() - length);
}

// Whether `later` saw the thread somewhere else than `earlier`: the JS frames under a native call
// do not change while it runs; without them, the tracked-call depth, V8's state and the syscall.
bool MovedOn(const Sample& earlier, const Sample& later) {
  if (!earlier.js_frames.empty() && !later.js_frames.empty())
    return !SameCallers(earlier.js_frames, later.js_frames);
  if (earlier.in_tracked_call != later.in_tracked_call) return true;
  // GC runs inside anything; other states differ only when the thread went elsewhere.
  bool states_known = earlier.vm_state != VmState::kUnknown &&
                      later.vm_state != VmState::kUnknown && earlier.vm_state != VmState::kGc &&
                      later.vm_state != VmState::kGc;
  if (states_known && earlier.vm_state != later.vm_state) return true;
  return SyscallKnown(earlier.syscall) && SyscallKnown(later.syscall) &&
         (earlier.syscall != later.syscall || earlier.syscall_file != later.syscall_file);
}

}  // namespace

void BlockTracker::Begin(uint64_t start_ns, uint64_t detected_ns, uint64_t gc_clock_at_start,
                         bool startup, uint64_t baseline_ns, const ThreadUsage& baseline) {
  std::lock_guard<std::mutex> lock(mutex_);
  current_ = BlockReport{};
  current_.baseline_ns = baseline_ns;
  current_.usage_at_baseline = baseline;
  current_.id = next_id_++;
  current_.start_ns = start_ns;
  current_.detected_ns = detected_ns;
  current_.gc_at_start_ns = gc_clock_at_start;
  current_.startup = startup;
  active.store(true, std::memory_order_seq_cst);
  PublishPending();
}

bool BlockTracker::AddSample(uint64_t id, Sample&& sample, uint64_t cost_ns) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!active.load(std::memory_order_relaxed) || current_.id != id) {
    // The block ended while the signal was answered: the sample still belongs to it.
    if (!ready_.empty() && ready_.back().id == id && ready_.back().samples.empty()) {
      ready_.back().samples.push_back(std::move(sample));
      ready_.back().sampling_cost_ns += cost_ns;
    }
    return false;
  }
  current_.sampling_cost_ns += cost_ns;
  bool ask = pending_key_ == 0;
  if (ask) {
    pending_key_ = sample.key;
    pending_first_ = current_.samples.size();
  } else if (!current_.samples.empty() && MovedOn(current_.samples.back(), sample)) {
    // The stack will be captured later still, so it cannot be where the thread was before.
    for (size_t i = pending_first_; i < current_.samples.size(); i++)
      current_.samples[i].moved_on = true;
  }
  sample.stack_key = pending_key_;
  sample.gc_at_request_ns = gc.Read(sample.taken_ns);
  current_.samples.push_back(std::move(sample));
  return ask;
}

bool BlockTracker::Cancel(uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!active.load(std::memory_order_relaxed) || current_.id != id) return false;
  active.store(false, std::memory_order_seq_cst);
  PublishPending();
  return true;
}

bool BlockTracker::Finish(uint64_t end_ns, const ThreadUsage& usage) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!active.load(std::memory_order_relaxed)) return false;
  active.store(false, std::memory_order_seq_cst);
  current_.usage_at_end = usage;
  current_.end_ns = std::max(end_ns, current_.detected_ns);
  uint64_t gc_clock = gc.Read(current_.end_ns);
  current_.gc_ns = gc_clock > current_.gc_at_start_ns ? gc_clock - current_.gc_at_start_ns : 0;
  if (ready_.size() >= max_queued) {
    dropped_++;
  } else {
    ready_.push_back(std::move(current_));
  }
  PublishPending();
  return true;
}

void BlockTracker::Capture(uint64_t id, uint32_t key, std::vector<Frame>&& frames,
                           uint64_t took_ns) {
  uint64_t now = uv_hrtime();
  std::lock_guard<std::mutex> lock(mutex_);
  if (pending_key_ == key) pending_key_ = 0;
  if (!active.load(std::memory_order_relaxed) || current_.id != id) return;
  current_.sampling_cost_ns += took_ns;
  uint64_t gc_clock = gc.Read(now);
  for (Sample& sample : current_.samples) {
    if (sample.stack_key != key) continue;
    sample.captured_ns = now;
    sample.capture_gc_ns =
        gc_clock > sample.gc_at_request_ns ? gc_clock - sample.gc_at_request_ns : 0;
    if (sample.key == key) sample.frames = std::move(frames);
  }
}

bool BlockTracker::IsActive(uint64_t id, uint64_t* cost_ns) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!active.load(std::memory_order_relaxed) || current_.id != id) return false;
  if (cost_ns != nullptr) *cost_ns = current_.sampling_cost_ns;
  return true;
}

uint64_t BlockTracker::ActiveId() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return active.load(std::memory_order_relaxed) ? current_.id : 0;
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
  PublishPending();
  return out;
}

void BlockTracker::PublishPending() const {
  if (flags.words == nullptr) return;
  flags.SetPending(ready_.size() + (active.load(std::memory_order_relaxed) ? 1 : 0));
}

}  // namespace blockbuster
