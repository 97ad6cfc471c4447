#include "js_stack.h"

#include <v8.h>

#include <memory>
#include <mutex>
#include <unordered_set>

#include "async_context.h"
#include "cpu_clock.h"

namespace blockbuster {
namespace {

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

void OnInterrupt(v8::Isolate* isolate, void* data) {
  std::unique_ptr<SampleRequest> request = Claim(data);
  if (request == nullptr) return;
  uint64_t started = ThreadCpuNs();
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
  request->sink(std::move(frames), ThreadCpuNs() - started);
}

}  // namespace

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
