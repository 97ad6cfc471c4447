#include "gc_clock.h"

#include <uv.h>
#include <v8.h>

namespace blockbuster {
namespace {

void OnGcPrologue(v8::Isolate*, v8::GCType, v8::GCCallbackFlags, void* data) {
  static_cast<GcClock*>(data)->started_ns.store(uv_hrtime(), std::memory_order_release);
}

void OnGcEpilogue(v8::Isolate*, v8::GCType, v8::GCCallbackFlags, void* data) {
  auto* clock = static_cast<GcClock*>(data);
  uint64_t started = clock->started_ns.exchange(0, std::memory_order_acq_rel);
  if (started != 0) clock->total_ns.fetch_add(uv_hrtime() - started, std::memory_order_acq_rel);
}

}  // namespace

GcHooks::GcHooks(v8::Isolate* isolate, GcClock* clock) : isolate_(isolate), clock_(clock) {
  isolate_->AddGCPrologueCallback(OnGcPrologue, clock_);
  isolate_->AddGCEpilogueCallback(OnGcEpilogue, clock_);
}

GcHooks::~GcHooks() {
  isolate_->RemoveGCEpilogueCallback(OnGcEpilogue, clock_);
  isolate_->RemoveGCPrologueCallback(OnGcPrologue, clock_);
}

}  // namespace blockbuster
