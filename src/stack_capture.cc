#include "stack_capture.h"

#include <uv.h>
#include <v8.h>

#include <memory>
#include <mutex>
#include <unordered_set>

namespace blockbuster {
namespace {

void OnGcPrologue(v8::Isolate*, v8::GCType, v8::GCCallbackFlags, void* data) {
  static_cast<IsolateSignals*>(data)->gc_started_ns.store(uv_hrtime(), std::memory_order_release);
}

void OnGcEpilogue(v8::Isolate*, v8::GCType, v8::GCCallbackFlags, void* data) {
  auto* signals = static_cast<IsolateSignals*>(data);
  uint64_t started = signals->gc_started_ns.exchange(0, std::memory_order_acq_rel);
  if (started != 0)
    signals->gc_total_ns.fetch_add(uv_hrtime() - started, std::memory_order_acq_rel);
}

std::string ToUtf8(v8::Isolate* isolate, v8::Local<v8::String> value) {
  if (value.IsEmpty()) return std::string();
  v8::String::Utf8Value utf8(isolate, value);
  return *utf8 == nullptr ? std::string() : std::string(*utf8, utf8.length());
}

struct SampleRequest {
  v8::Isolate* isolate;
  int max_frames;
  uint32_t key;
  StackSink sink;
};

// Requests V8 still holds. An isolate disposed before running them (a worker terminated mid-block)
// never calls back, so its env cleanup frees them; a call for a freed one is recognised and
// ignored.
std::mutex g_requests_mutex;
std::unordered_set<SampleRequest*> g_requests;

std::unique_ptr<SampleRequest> Claim(void* data) {
  std::lock_guard<std::mutex> lock(g_requests_mutex);
  auto found = g_requests.find(static_cast<SampleRequest*>(data));
  if (found == g_requests.end()) return nullptr;
  std::unique_ptr<SampleRequest> request(*found);
  g_requests.erase(found);
  return request;
}

// The one place V8's API differs across the supported lines: the async context frame.
v8::Local<v8::Value> ContinuationData(v8::Isolate* isolate) {
#if V8_MAJOR_VERSION >= 14
  v8::Local<v8::Data> data = isolate->GetContinuationPreservedEmbedderDataV2();
  if (data.IsEmpty() || !data->IsValue()) return v8::Local<v8::Value>();
  return data.As<v8::Value>();
#elif V8_MAJOR_VERSION >= 12
  return isolate->GetContinuationPreservedEmbedderData();
#else
  return v8::Local<v8::Value>();  // Node 20: AsyncLocalStorage is not kept there
#endif
}

// watch({ context: als }) leaves { storage, slots } on the global object under this symbol (see
// lib/async-context.ts). Where Node keeps AsyncLocalStorage in the async context frame (a Map keyed
// by the storage), the storage's value while the block runs goes to slots[sample key]. Only data
// properties are read and written: no JS runs inside the interrupt.
void CaptureAsyncContext(v8::Isolate* isolate, uint32_t key) {
  v8::Local<v8::Value> frame = ContinuationData(isolate);
  if (frame.IsEmpty() || !frame->IsMap()) return;
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  if (context.IsEmpty()) return;
  v8::Local<v8::Value> holder;
  v8::Local<v8::Symbol> name =
      v8::Symbol::For(isolate, v8::String::NewFromUtf8Literal(isolate, "blockbuster.context"));
  if (!context->Global()->GetRealNamedProperty(context, name).ToLocal(&holder) ||
      !holder->IsObject()) {
    return;
  }
  v8::Local<v8::Object> target = holder.As<v8::Object>();
  v8::Local<v8::Value> storage, slots, value;
  if (!target->GetRealNamedProperty(context, v8::String::NewFromUtf8Literal(isolate, "storage"))
           .ToLocal(&storage) ||
      !target->GetRealNamedProperty(context, v8::String::NewFromUtf8Literal(isolate, "slots"))
           .ToLocal(&slots) ||
      !slots->IsObject() || !frame.As<v8::Map>()->Get(context, storage).ToLocal(&value) ||
      value->IsUndefined()) {
    return;
  }
  // Nothing to do if it fails (a frozen slots object): the report then has no context.
  slots.As<v8::Object>()->CreateDataProperty(context, key, value).FromMaybe(false);
}

void OnInterrupt(v8::Isolate* isolate, void* data) {
  std::unique_ptr<SampleRequest> request = Claim(data);
  if (request == nullptr) return;
  v8::HandleScope scope(isolate);
  v8::Local<v8::StackTrace> trace =
      v8::StackTrace::CurrentStackTrace(isolate, request->max_frames, v8::StackTrace::kDetailed);
  std::vector<Frame> frames;
  frames.reserve(trace->GetFrameCount());
  for (int i = 0; i < trace->GetFrameCount(); i++) {
    v8::Local<v8::StackFrame> frame = trace->GetFrame(isolate, i);
    frames.push_back(Frame{ToUtf8(isolate, frame->GetFunctionName()),
                           ToUtf8(isolate, frame->GetScriptNameOrSourceURL()),
                           frame->GetLineNumber(), frame->GetColumn()});
  }
  CaptureAsyncContext(isolate, request->key);
  request->sink(std::move(frames));
}

}  // namespace

uint64_t IsolateSignals::GcClock(uint64_t now) const {
  uint64_t started = gc_started_ns.load(std::memory_order_acquire);
  uint64_t total = gc_total_ns.load(std::memory_order_acquire);
  return started != 0 && now > started ? total + (now - started) : total;
}

IsolateHooks::IsolateHooks(v8::Isolate* isolate, IsolateSignals* signals)
    : isolate_(isolate), signals_(signals) {
  isolate_->AddGCPrologueCallback(OnGcPrologue, signals_);
  isolate_->AddGCEpilogueCallback(OnGcEpilogue, signals_);
}

IsolateHooks::~IsolateHooks() {
  isolate_->RemoveGCEpilogueCallback(OnGcEpilogue, signals_);
  isolate_->RemoveGCPrologueCallback(OnGcPrologue, signals_);
}

void RequestStackSample(v8::Isolate* isolate, int max_frames, uint32_t key, StackSink sink) {
  auto* request = new SampleRequest{isolate, max_frames, key, std::move(sink)};
  {
    std::lock_guard<std::mutex> lock(g_requests_mutex);
    g_requests.insert(request);
  }
  isolate->RequestInterrupt(OnInterrupt, request);
}

void ForgetStackSamples(v8::Isolate* isolate) {
  std::lock_guard<std::mutex> lock(g_requests_mutex);
  for (auto it = g_requests.begin(); it != g_requests.end();) {
    if ((*it)->isolate != isolate) {
      ++it;
      continue;
    }
    delete *it;
    it = g_requests.erase(it);
  }
}

v8::Isolate* CurrentIsolate() { return v8::Isolate::GetCurrent(); }

}  // namespace blockbuster
