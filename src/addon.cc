// Addon entry: one Watchdog per Node environment (main thread or worker), no statics.
#include <napi.h>
#include <uv.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "stack_capture.h"
#include "watchdog.h"

namespace blockbuster {
namespace {

// Calls the JS "reports are ready" callback. Raw N-API on purpose: while a worker is torn down
// the call fails, and node-addon-api would turn that failure into a fatal error.
void CallNotify(Napi::Env env, Napi::Function callback, void*, void*) {
  if (env == nullptr || callback == nullptr) return;
  napi_value undefined;
  if (napi_get_undefined(env, &undefined) != napi_ok) return;
  napi_call_function(env, undefined, callback, 0, nullptr, nullptr);
}

using NotifyFunction = Napi::TypedThreadSafeFunction<void, void, CallNotify>;

// The one way a watcher ends: stop(), the environment's cleanup hook and the destructor.
enum class Teardown { kStop, kEnvCleanup, kDestroy };

struct EnvState {
  std::unique_ptr<Watchdog> watchdog;
  NotifyFunction notify;
  // The call-site recorder's flags: kept alive until the thread that writes them is joined.
  Napi::Reference<Napi::ArrayBuffer> flags;
  napi_async_cleanup_hook_handle cleanup = nullptr;

  ~EnvState() { End(Teardown::kDestroy); }

  // `hook` is the cleanup hook being run (kEnvCleanup): removed once libuv closed our handles.
  void End(Teardown reason, napi_async_cleanup_hook_handle hook = nullptr) {
    if (cleanup != nullptr && reason != Teardown::kEnvCleanup) {
      napi_remove_async_cleanup_hook(cleanup);
    }
    cleanup = nullptr;
    if (watchdog == nullptr) {
      if (hook != nullptr) napi_remove_async_cleanup_hook(hook);
      return;
    }
    // Reports nobody will take any more are written by the native side: none is lost.
    if (reason == Teardown::kEnvCleanup) watchdog->WriteUntaken();
    watchdog->Stop(hook == nullptr ? nullptr : RemoveHook, hook);
    watchdog.reset();
    if (reason == Teardown::kEnvCleanup) ForgetStackSamples(CurrentIsolate());
    notify.Release();
    flags.Reset();
  }

  static void RemoveHook(void* hook) {
    napi_remove_async_cleanup_hook(static_cast<napi_async_cleanup_hook_handle>(hook));
  }
};

EnvState* State(Napi::Env env) { return env.GetInstanceData<EnvState>(); }

uint64_t MsToNs(double ms) { return static_cast<uint64_t>(ms * 1e6); }

double NsToMs(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

// start() takes every option from lib/watch.ts, where the defaults live; none is guessed here.
bool ReadNumber(const Napi::Object& options, const char* name, double* out) {
  Napi::Value value = options.Get(name);
  if (!value.IsNumber()) {
    Napi::TypeError::New(options.Env(),
                         std::string("start(): option ") + name + " must be a number")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = value.As<Napi::Number>().DoubleValue();
  return true;
}

bool ReadStrings(const Napi::Object& options, const char* name, std::vector<std::string>* out) {
  Napi::Value value = options.Get(name);
  if (!value.IsArray()) {
    Napi::TypeError::New(options.Env(),
                         std::string("start(): option ") + name + " must be an array of strings")
        .ThrowAsJavaScriptException();
    return false;
  }
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); i++) {
    out->push_back(array.Get(i).ToString().Utf8Value());
  }
  return true;
}

bool ReadOptions(const Napi::Object& js, WatchdogOptions* options) {
  double threshold_ms, hang_report_ms, abort_after_ms, output_fd, max_frames, max_queued,
      sample_interval_ms, max_samples, thread_id, pid, schema_version;
  if (!ReadNumber(js, "thresholdMs", &threshold_ms) ||
      !ReadNumber(js, "sampleIntervalMs", &sample_interval_ms) ||
      !ReadNumber(js, "maxSamples", &max_samples) ||
      !ReadNumber(js, "liveReportAfterMs", &hang_report_ms) ||
      !ReadNumber(js, "threadId", &thread_id) || !ReadNumber(js, "pid", &pid) ||
      !ReadNumber(js, "schemaVersion", &schema_version) ||
      !ReadNumber(js, "abortAfterMs", &abort_after_ms) || !ReadNumber(js, "outputFd", &output_fd) ||
      !ReadNumber(js, "maxFrames", &max_frames) || !ReadNumber(js, "maxQueued", &max_queued) ||
      !ReadStrings(js, "internalFilePrefixes", &options->line.internal_prefixes) ||
      !ReadStrings(js, "internalFileParts", &options->line.internal_parts)) {
    return false;
  }
  Napi::Value idle = js.Get("atomicsWaitIsIdle");
  if (!idle.IsBoolean()) {
    Napi::TypeError::New(js.Env(), "start(): option atomicsWaitIsIdle must be a boolean")
        .ThrowAsJavaScriptException();
    return false;
  }
  options->atomics_wait_is_idle = idle.As<Napi::Boolean>().Value();
  Napi::Value tag = js.Get("threadTag");
  if (!tag.IsString()) {
    Napi::TypeError::New(js.Env(), "start(): option threadTag must be a string")
        .ThrowAsJavaScriptException();
    return false;
  }
  options->line.thread_tag = tag.As<Napi::String>().Utf8Value();
  Napi::Value host = js.Get("hostname");
  if (!host.IsString()) {
    Napi::TypeError::New(js.Env(), "start(): option hostname must be a string")
        .ThrowAsJavaScriptException();
    return false;
  }
  options->line.hostname = host.As<Napi::String>().Utf8Value();
  options->line.thread_id = static_cast<int64_t>(thread_id);
  options->line.pid = static_cast<int64_t>(pid);
  options->line.schema_version = static_cast<int>(schema_version);
  Napi::Value json = js.Get("json");
  if (!json.IsBoolean()) {
    Napi::TypeError::New(js.Env(), "start(): option json must be a boolean")
        .ThrowAsJavaScriptException();
    return false;
  }
  options->threshold_ns = MsToNs(threshold_ms);
  options->hang_report_ns = MsToNs(hang_report_ms);
  options->abort_after_ns = MsToNs(abort_after_ms);
  options->output_fd = static_cast<int>(output_fd);
  options->max_frames = static_cast<int>(max_frames);
  options->max_queued = static_cast<size_t>(max_queued);
  options->sample_interval_ns = MsToNs(sample_interval_ms);
  options->max_samples = static_cast<size_t>(std::max(1.0, max_samples));
  options->line.json = json.As<Napi::Boolean>().Value();
  return true;
}

// Runs when the environment is torn down (process exit, worker.terminate()): the thread is
// joined and the handles closed before the loop goes away.
void OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* arg) {
  static_cast<EnvState*>(arg)->End(Teardown::kEnvCleanup, handle);
}

Napi::Value Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnvState* state = State(env);
  if (state->watchdog != nullptr) {
    Napi::Error::New(env, "blockbuster: this thread is already watched")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
    Napi::TypeError::New(env, "start(options, onReports) expects an object and a function")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  WatchdogOptions options;
  if (!ReadOptions(info[0].As<Napi::Object>(), &options)) return env.Undefined();

  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    Napi::Error::New(env, "blockbuster: no event loop for this thread")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  NotifyFunction notify =
      NotifyFunction::New(env, info[1].As<Napi::Function>(), "blockbuster", 0, 1);
  notify.Unref(env);
  Napi::Value flags_value = info[0].As<Napi::Object>().Get("sharedFlags");
  if (!flags_value.IsArrayBuffer() ||
      flags_value.As<Napi::ArrayBuffer>().ByteLength() < SharedFlags::kWords * sizeof(int32_t)) {
    Napi::TypeError::New(env, "start(): option sharedFlags must be an ArrayBuffer of 12 bytes")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::ArrayBuffer flags = flags_value.As<Napi::ArrayBuffer>();
  SharedFlags shared{static_cast<int32_t*>(flags.Data())};
  auto watchdog = std::make_unique<Watchdog>(loop, CurrentIsolate(), options, shared,
                                             [notify]() mutable { notify.NonBlockingCall(); });
  if (!watchdog->ok()) {
    notify.Release();
    Napi::Error::New(env, "blockbuster: could not start the watchdog thread")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  state->watchdog = std::move(watchdog);
  state->notify = notify;
  state->flags = Napi::Persistent(flags);
  // Registered after the thread-safe function, so it runs before that one's own cleanup.
  napi_add_async_cleanup_hook(env, OnEnvCleanup, state, &state->cleanup);
  return env.Undefined();
}

Napi::Value Stop(const Napi::CallbackInfo& info) {
  State(info.Env())->End(Teardown::kStop);
  return info.Env().Undefined();
}

Napi::Object FrameToJs(Napi::Env env, const Frame& frame) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("functionName", frame.function_name);
  out.Set("file", frame.file);
  out.Set("line", frame.line);
  out.Set("column", frame.column);
  return out;
}

Napi::Object SampleToJs(Napi::Env env, const BlockReport& report, const Sample& sample) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("key", sample.key);
  out.Set("stackKey", sample.stack_key);
  out.Set("atMs", NsToMs(sample.taken_ns - report.start_ns));
  out.Set("captureDelayMs",
          sample.captured_ns == 0
              ? env.Undefined()
              : Napi::Number::New(env, NsToMs(sample.captured_ns - sample.taken_ns)));
  out.Set("captureGcMs", NsToMs(sample.capture_gc_ns));
  out.Set("vmState", VmStateName(sample.vm_state));
  out.Set("inTrackedCall", sample.in_tracked_call);
  if (!sample.native_module.empty()) out.Set("nativeModule", sample.native_module);
  Napi::Array frames = Napi::Array::New(env, sample.frames.size());
  for (size_t i = 0; i < sample.frames.size(); i++) frames.Set(i, FrameToJs(env, sample.frames[i]));
  out.Set("frames", frames);
  return out;
}

Napi::Object ReportToJs(Napi::Env env, const BlockReport& report) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("id", static_cast<double>(report.id));
  out.Set("durationMs", NsToMs(report.end_ns - report.start_ns));
  out.Set("detectionDelayMs", NsToMs(report.detected_ns - report.start_ns));
  out.Set("gcMs", NsToMs(report.gc_ns));
  out.Set("startup", report.startup);
  Napi::Array samples = Napi::Array::New(env, report.samples.size());
  for (size_t i = 0; i < report.samples.size(); i++) {
    samples.Set(i, SampleToJs(env, report, report.samples[i]));
  }
  out.Set("samples", samples);
  return out;
}

// takeReports(finishActive) -> { reports, dropped }
Napi::Value TakeReports(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnvState* state = State(env);
  Napi::Object result = Napi::Object::New(env);
  uint64_t dropped = 0;
  std::vector<BlockReport> reports;
  if (state->watchdog != nullptr) {
    reports = state->watchdog->TakeReports(info[0].ToBoolean().Value(), &dropped);
  }
  Napi::Array list = Napi::Array::New(env, reports.size());
  for (size_t i = 0; i < reports.size(); i++) list.Set(i, ReportToJs(env, reports[i]));
  result.Set("reports", list);
  result.Set("dropped", static_cast<double>(dropped));
  return result;
}

// ownWork(on): brackets blockbuster's own report building on the watched thread.
Napi::Value OwnWork(const Napi::CallbackInfo& info) {
  EnvState* state = State(info.Env());
  if (state->watchdog != nullptr) state->watchdog->SetOwnWork(info[0].ToBoolean().Value());
  return info.Env().Undefined();
}

Napi::Value IsWatching(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), State(info.Env())->watchdog != nullptr);
}

// A binary built against another Node's headers must not get as far as its first V8 call (that
// ends the process with a symbol lookup error): say so as an ordinary exception instead.
bool CheckAbi(Napi::Env env) {
  Napi::Value versions = env.Global().Get("process").As<Napi::Object>().Get("versions");
  std::string running = versions.As<Napi::Object>().Get("modules").ToString().Utf8Value();
  if (running == std::to_string(BLOCKBUSTER_NODE_ABI)) return true;
  Napi::Error::New(env, "blockbuster: this binary was built for Node ABI " +
                            std::to_string(BLOCKBUSTER_NODE_ABI) + ", but this Node has ABI " +
                            running)
      .ThrowAsJavaScriptException();
  return false;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  if (!CheckAbi(env)) return exports;
  env.SetInstanceData(new EnvState());
  exports.Set("abi", BLOCKBUSTER_NODE_ABI);
  exports.Set("start", Napi::Function::New(env, Start, "start"));
  exports.Set("stop", Napi::Function::New(env, Stop, "stop"));
  exports.Set("takeReports", Napi::Function::New(env, TakeReports, "takeReports"));
  exports.Set("isWatching", Napi::Function::New(env, IsWatching, "isWatching"));
  exports.Set("ownWork", Napi::Function::New(env, OwnWork, "ownWork"));
  return exports;
}

}  // namespace
}  // namespace blockbuster

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return blockbuster::Init(env, exports);
}

NODE_API_MODULE(blockbuster, InitAddon)
