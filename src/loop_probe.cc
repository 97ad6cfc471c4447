#include "loop_probe.h"

namespace blockbuster {
namespace {

// Both handles close asynchronously; the last close callback runs `on_closed`.
struct CloseRequest {
  void (*on_closed)(void*);
  void* arg;
  int pending;
};

void OnHandleClosed(uv_handle_t* handle) {
  auto* request = static_cast<CloseRequest*>(handle->data);
  if (handle->type == UV_PREPARE) {
    delete reinterpret_cast<uv_prepare_t*>(handle);
  } else {
    delete reinterpret_cast<uv_check_t*>(handle);
  }
  if (--request->pending > 0) return;
  if (request->on_closed != nullptr) request->on_closed(request->arg);
  delete request;
}

}  // namespace

LoopProbe::LoopProbe(uv_loop_t* loop, Callback on_prepare, Callback on_check, void* data)
    : loop_(loop),
      prepare_(new uv_prepare_t),
      check_(new uv_check_t),
      on_prepare_(on_prepare),
      on_check_(on_check),
      data_(data) {
  // Node turns idle-time metrics on for its loops; an embedder may not have. Idempotent.
  uv_loop_configure(loop_, UV_METRICS_IDLE_TIME);
  prepare_ns_.store(uv_hrtime());
  idle_at_prepare_ns_.store(uv_metrics_idle_time(loop_));
  uv_prepare_init(loop_, prepare_);
  prepare_->data = this;
  uv_prepare_start(prepare_, OnPrepare);
  uv_unref(reinterpret_cast<uv_handle_t*>(prepare_));
  uv_check_init(loop_, check_);
  check_->data = this;
  uv_check_start(check_, [](uv_check_t* handle) {
    auto* self = static_cast<LoopProbe*>(handle->data);
    self->on_check_(self->data_);
  });
  uv_unref(reinterpret_cast<uv_handle_t*>(check_));
}

LoopProbe::~LoopProbe() {
  if (prepare_ != nullptr) Close(nullptr, nullptr);
}

void LoopProbe::Close(void (*on_closed)(void*), void* arg) {
  uv_prepare_stop(prepare_);
  uv_check_stop(check_);
  auto* request = new CloseRequest{on_closed, arg, 2};
  prepare_->data = request;
  check_->data = request;
  uv_close(reinterpret_cast<uv_handle_t*>(prepare_), OnHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(check_), OnHandleClosed);
  prepare_ = nullptr;
  check_ = nullptr;
}

void LoopProbe::OnPrepare(uv_prepare_t* handle) {
  static_cast<LoopProbe*>(handle->data)->MarkProgress();
}

void LoopProbe::MarkProgress() {
  uint64_t seq = seq_.load(std::memory_order_relaxed);
  seq_.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  prepare_ns_.store(uv_hrtime(), std::memory_order_relaxed);
  idle_at_prepare_ns_.store(uv_metrics_idle_time(loop_), std::memory_order_relaxed);
  seq_.store(seq + 2, std::memory_order_release);
  // seq_cst pairs with the watchdog's "block active" store: one of the two sees the other.
  iterations_.fetch_add(1, std::memory_order_seq_cst);
  on_prepare_(data_);
}

LoopProbe::Reading LoopProbe::Read() const {
  Reading reading{};
  for (;;) {
    uint64_t before = seq_.load(std::memory_order_acquire);
    if (before & 1) continue;
    reading.at_prepare.prepare_ns = prepare_ns_.load(std::memory_order_relaxed);
    reading.at_prepare.idle_at_prepare_ns = idle_at_prepare_ns_.load(std::memory_order_relaxed);
    uint64_t idle_now = uv_metrics_idle_time(loop_);
    reading.now_ns = uv_hrtime();
    std::atomic_thread_fence(std::memory_order_acquire);
    if (seq_.load(std::memory_order_relaxed) != before) continue;
    reading.at_prepare.iterations = before / 2;
    uint64_t since_prepare = reading.now_ns - reading.at_prepare.prepare_ns;
    uint64_t idle_since = idle_now - reading.at_prepare.idle_at_prepare_ns;
    reading.busy_ns = since_prepare > idle_since ? since_prepare - idle_since : 0;
    return reading;
  }
}

bool LoopProbe::InPoll() const {
  uint64_t first = uv_metrics_idle_time(loop_);
  return uv_metrics_idle_time(loop_) > first;
}

}  // namespace blockbuster
