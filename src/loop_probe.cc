#include "loop_probe.h"

namespace blockbuster {
namespace {

struct CloseRequest {
  void (*on_closed)(void*);
  void* arg;
};

}  // namespace

LoopProbe::LoopProbe(uv_loop_t* loop, PrepareCallback on_prepare, void* data)
    : loop_(loop), handle_(new uv_prepare_t), on_prepare_(on_prepare), data_(data) {
  prepare_ns_.store(uv_hrtime());
  idle_at_prepare_ns_.store(uv_metrics_idle_time(loop_));
  poll_timeout_ms_.store(-1);
  uv_prepare_init(loop_, handle_);
  handle_->data = this;
  uv_prepare_start(handle_, OnPrepare);
  uv_unref(reinterpret_cast<uv_handle_t*>(handle_));
}

LoopProbe::~LoopProbe() {
  if (handle_ != nullptr) Close(nullptr, nullptr);
}

void LoopProbe::Close(void (*on_closed)(void*), void* arg) {
  uv_prepare_stop(handle_);
  handle_->data = new CloseRequest{on_closed, arg};
  uv_close(reinterpret_cast<uv_handle_t*>(handle_), [](uv_handle_t* handle) {
    auto* request = static_cast<CloseRequest*>(handle->data);
    if (request->on_closed != nullptr) request->on_closed(request->arg);
    delete request;
    delete reinterpret_cast<uv_prepare_t*>(handle);
  });
  handle_ = nullptr;
}

void LoopProbe::OnPrepare(uv_prepare_t* handle) {
  auto* self = static_cast<LoopProbe*>(handle->data);
  uint64_t seq = self->seq_.load(std::memory_order_relaxed);
  self->seq_.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  self->prepare_ns_.store(uv_hrtime(), std::memory_order_relaxed);
  self->idle_at_prepare_ns_.store(uv_metrics_idle_time(self->loop_), std::memory_order_relaxed);
  self->poll_timeout_ms_.store(uv_backend_timeout(self->loop_), std::memory_order_relaxed);
  self->seq_.store(seq + 2, std::memory_order_release);
  // seq_cst pairs with the watchdog's "block active" store: one of the two sees the other.
  self->iterations_.fetch_add(1, std::memory_order_seq_cst);
  self->on_prepare_(self->data_);
}

LoopProbe::Reading LoopProbe::Read() const {
  Reading reading{};
  for (;;) {
    uint64_t before = seq_.load(std::memory_order_acquire);
    if (before & 1) continue;
    reading.at_prepare.prepare_ns = prepare_ns_.load(std::memory_order_relaxed);
    reading.at_prepare.idle_at_prepare_ns = idle_at_prepare_ns_.load(std::memory_order_relaxed);
    reading.at_prepare.poll_timeout_ms = poll_timeout_ms_.load(std::memory_order_relaxed);
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
