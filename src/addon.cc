// Addon entry: one Watchdog per Node environment (main thread or worker), no statics.
// Raw Node-API throughout: every call can fail while the environment is torn down, and each
// failure here means "stop quietly" (node-addon-api turns some into a fatal error).
#include <node_api.h>
#include <uv.h>

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "api_names.h"
#include "contract.h"
#include "contract_js.h"
#include "evidence_js.h"
#include "js_builder.h"
#include "js_stack.h"
#include "line_maps.h"
#include "line_writer.h"
#include "linker_pages.h"
#include "watchdog.h"

namespace blockbuster {
namespace {

// Calls the JS "reports are ready" callback; while a worker is torn down the call fails quietly.
void CallNotify(napi_env env, napi_value callback, void*, void*) {
  if (env == nullptr || callback == nullptr) return;
  napi_value undefined;
  if (napi_get_undefined(env, &undefined) != napi_ok) return;
  napi_call_function(env, undefined, callback, 0, nullptr, nullptr);
}

// The one way a watcher ends: stop(), the environment's cleanup hook and the destructor.
enum class Teardown { kStop, kEnvCleanup, kDestroy };

struct EnvState {
  explicit EnvState(napi_env env) : env(env) {}

  napi_env env;
  std::unique_ptr<Watchdog> watchdog;
  napi_threadsafe_function notify = nullptr;
  // The call-site recorder's flags: kept alive until the thread that writes them is joined.
  napi_ref flags = nullptr;
  // This watcher's maxReportsPerMinute, spent by the JS sink and the native live lines; kept
  // after stop(), whose last reports still spend it, until the next start().
  std::shared_ptr<ReportBudget> budget;
  napi_async_cleanup_hook_handle cleanup = nullptr;
  // Whether the first reports' lookups in node's symbol tables were given back (linker_pages.h).
  bool released_after_report = false;

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
    if (notify != nullptr) napi_release_threadsafe_function(notify, napi_tsfn_release);
    notify = nullptr;
    if (flags != nullptr) napi_delete_reference(env, flags);
    flags = nullptr;
  }

  static void RemoveHook(void* hook) {
    napi_remove_async_cleanup_hook(static_cast<napi_async_cleanup_hook_handle>(hook));
  }
};

EnvState* State(napi_env env) {
  void* data = nullptr;
  return napi_get_instance_data(env, &data) == napi_ok ? static_cast<EnvState*>(data) : nullptr;
}

uint64_t MsToNs(double ms) { return static_cast<uint64_t>(ms * 1e6); }

double NsToMs(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

// Every call into JS below is raw Node-API with its status checked: while an environment is torn
// down (worker.terminate()) any of them fails, and node-addon-api would turn the failure into a
// throw that cannot be thrown, which aborts the process. A failed call means "stop quietly".
void Throw(napi_env env, const std::string& message, bool type_error = true) {
  // Nothing to do when it fails: the environment is closing or an exception is already pending.
  if (type_error) {
    napi_throw_type_error(env, nullptr, message.c_str());
  } else {
    napi_throw_error(env, nullptr, message.c_str());
  }
}

napi_valuetype TypeOf(napi_env env, napi_value value) {
  napi_valuetype type = napi_undefined;
  if (value == nullptr || napi_typeof(env, value, &type) != napi_ok) return napi_undefined;
  return type;
}

// The property, or nullptr when reading it failed (a getter threw, or the environment closes).
napi_value Get(napi_env env, napi_value object, const char* name) {
  napi_value value = nullptr;
  return napi_get_named_property(env, object, name, &value) == napi_ok ? value : nullptr;
}

bool Utf8(napi_env env, napi_value value, std::string* out) {
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, nullptr, 0, &length) != napi_ok) return false;
  out->resize(length + 1);
  if (napi_get_value_string_utf8(env, value, out->data(), length + 1, &length) != napi_ok) {
    return false;
  }
  out->resize(length);
  return true;
}

// The first argument, or nullptr.
napi_value FirstArgument(napi_env env, napi_callback_info info, size_t wanted, napi_value* args) {
  size_t count = wanted;
  for (size_t i = 0; i < wanted; i++) args[i] = nullptr;
  if (napi_get_cb_info(env, info, &count, args, nullptr, nullptr) != napi_ok) return nullptr;
  return args[0];
}

bool Truthy(napi_env env, napi_value value) {
  bool result = false;
  return value != nullptr && napi_get_value_bool(env, value, &result) == napi_ok && result;
}

// What start()'s options set: the watchdog's options and the report budget.
struct StartSettings {
  WatchdogOptions watchdog;
  double per_minute = 0;
};

// Where one option's value goes; the type is the option's kind.
using NumberTo = void (*)(StartSettings&, double);
using BooleanTo = void (*)(StartSettings&, bool);
using StringTo = void (*)(StartSettings&, std::string&&);
using StringsTo = void (*)(StartSettings&, std::vector<std::string>&&);

struct StartOption {
  const char* name;
  std::variant<NumberTo, BooleanTo, StringTo, StringsTo> to;
  // Numbers only: what the destination holds (JS checks the user's values against tighter rules).
  double min = 0;
  double max = 0;
};

// The largest duration in ms whose ns fit a uint64_t with room to add (317 years).
constexpr double kMaxMs = 1e13;
constexpr double kMaxInt = INT32_MAX;
constexpr double kMaxSafeInteger = 9007199254740991;

// start() takes every option from lib/watch.ts, where the defaults live; none is guessed here.
constexpr StartOption kStartOptions[] = {
    {"thresholdMs",
     NumberTo{[](StartSettings& s, double v) { s.watchdog.threshold_ns = MsToNs(v); }}, 1, kMaxMs},
    {"sampleIntervalMs",
     NumberTo{[](StartSettings& s, double v) { s.watchdog.sample_interval_ns = MsToNs(v); }}, 1,
     kMaxMs},
    {"maxSamples",
     NumberTo{[](StartSettings& s, double v) { s.watchdog.max_samples = static_cast<size_t>(v); }},
     1, kMaxInt},
    {"liveReportAfterMs",
     NumberTo{[](StartSettings& s, double v) { s.watchdog.hang_report_ns = MsToNs(v); }}, 0,
     kMaxMs},
    {"threadId", NumberTo{[](StartSettings& s, double v) {
       s.watchdog.line.thread_id = static_cast<int64_t>(v);
     }},
     0, kMaxSafeInteger},
    {"pid",
     NumberTo{[](StartSettings& s, double v) { s.watchdog.line.pid = static_cast<int64_t>(v); }}, 0,
     kMaxSafeInteger},
    {"schemaVersion", NumberTo{[](StartSettings& s, double v) {
       s.watchdog.line.schema_version = static_cast<int>(v);
     }},
     1, kMaxInt},
    {"abortAfterMs",
     NumberTo{[](StartSettings& s, double v) { s.watchdog.abort_after_ns = MsToNs(v); }}, 0,
     kMaxMs},
    {"outputFd",
     NumberTo{[](StartSettings& s, double v) { s.watchdog.output_fd = static_cast<int>(v); }}, 0,
     kMaxInt},
    {"maxFrames",
     NumberTo{[](StartSettings& s, double v) { s.watchdog.max_frames = static_cast<int>(v); }}, 0,
     kMaxInt},
    {"maxQueued",
     NumberTo{[](StartSettings& s, double v) { s.watchdog.max_queued = static_cast<size_t>(v); }},
     0, kMaxInt},
    {"maxReportsPerMinute", NumberTo{[](StartSettings& s, double v) { s.per_minute = v; }}, 0,
     kMaxSafeInteger},
    {"internalFilePrefixes", StringsTo{[](StartSettings& s, std::vector<std::string>&& v) {
       s.watchdog.line.internal_prefixes = std::move(v);
     }}},
    {"internalFileParts", StringsTo{[](StartSettings& s, std::vector<std::string>&& v) {
       s.watchdog.line.internal_parts = std::move(v);
     }}},
    {"atomicsWaitIsIdle",
     BooleanTo{[](StartSettings& s, bool v) { s.watchdog.atomics_wait_is_idle = v; }}},
    {"threadTag", StringTo{[](StartSettings& s, std::string&& v) {
       s.watchdog.line.thread_tag = std::move(v);
     }}},
    {"json", BooleanTo{[](StartSettings& s, bool v) { s.watchdog.line.json = v; }}},
};

// Throws "start(): option <name> must be <expected>"; returns false for the reader to return.
bool Reject(napi_env env, const StartOption& option, const std::string& expected) {
  Throw(env, std::string("start(): option ") + option.name + " must be " + expected);
  return false;
}

std::string Integer(double value) { return std::to_string(static_cast<int64_t>(value)); }

// One reader per kind. Each returns false with an exception pending (ours, a getter's) or the env
// closing.
bool ReadValue(napi_env env, napi_value value, const StartOption& option, NumberTo to,
               StartSettings* out) {
  double number = 0;
  if (TypeOf(env, value) != napi_number || napi_get_value_double(env, value, &number) != napi_ok) {
    return Reject(env, option, "a number");
  }
  // Written so that NaN fails too.
  if (!(number >= option.min && number <= option.max)) {
    return Reject(env, option,
                  "a number from " + Integer(option.min) + " to " + Integer(option.max));
  }
  to(*out, number);
  return true;
}

bool ReadValue(napi_env env, napi_value value, const StartOption& option, BooleanTo to,
               StartSettings* out) {
  bool flag = false;
  if (TypeOf(env, value) != napi_boolean || napi_get_value_bool(env, value, &flag) != napi_ok) {
    return Reject(env, option, "a boolean");
  }
  to(*out, flag);
  return true;
}

bool ReadValue(napi_env env, napi_value value, const StartOption& option, StringTo to,
               StartSettings* out) {
  std::string text;
  if (TypeOf(env, value) != napi_string || !Utf8(env, value, &text)) {
    return Reject(env, option, "a string");
  }
  to(*out, std::move(text));
  return true;
}

bool ReadValue(napi_env env, napi_value value, const StartOption& option, StringsTo to,
               StartSettings* out) {
  bool is_array = false;
  uint32_t length = 0;
  if (napi_is_array(env, value, &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, value, &length) != napi_ok) {
    return Reject(env, option, "an array of strings");
  }
  std::vector<std::string> texts;
  for (uint32_t i = 0; i < length; i++) {
    napi_value element = nullptr;
    if (napi_get_element(env, value, i, &element) != napi_ok) return false;
    std::string text;
    if (TypeOf(env, element) != napi_string || !Utf8(env, element, &text)) {
      return Reject(env, option, "an array of strings");
    }
    texts.push_back(std::move(text));
  }
  to(*out, std::move(texts));
  return true;
}

bool ReadOptions(napi_env env, napi_value js, StartSettings* out) {
  for (const StartOption& option : kStartOptions) {
    napi_value value = Get(env, js, option.name);
    if (value == nullptr) return false;
    if (!std::visit([&](auto to) { return ReadValue(env, value, option, to, out); }, option.to)) {
      return false;
    }
  }
  return true;
}

// Runs when the environment is torn down (process exit, worker.terminate()): the thread is
// joined and the handles closed before the loop goes away.
void OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* arg) {
  static_cast<EnvState*>(arg)->End(Teardown::kEnvCleanup, handle);
}

napi_value Start(napi_env env, napi_callback_info info) {
  EnvState* state = State(env);
  if (state == nullptr) return nullptr;
  if (state->watchdog != nullptr) {
    Throw(env, "blockbuster: this thread is already watched", false);
    return nullptr;
  }
  napi_value args[2];
  FirstArgument(env, info, 2, args);
  if (TypeOf(env, args[0]) != napi_object || TypeOf(env, args[1]) != napi_function) {
    Throw(env, "start(options, onReports) expects an object and a function");
    return nullptr;
  }
  StartSettings settings;
  if (!ReadOptions(env, args[0], &settings)) return nullptr;
  WatchdogOptions& options = settings.watchdog;
  // Read here, not passed from JS: os.hostname() would load the os module into an idle app.
  options.line.hostname = Hostname();
  napi_value flags_value = Get(env, args[0], "sharedFlags");
  if (flags_value == nullptr) return nullptr;
  bool is_buffer = false;
  void* flags_data = nullptr;
  size_t flags_bytes = 0;
  if (napi_is_arraybuffer(env, flags_value, &is_buffer) != napi_ok || !is_buffer ||
      napi_get_arraybuffer_info(env, flags_value, &flags_data, &flags_bytes) != napi_ok ||
      flags_bytes < kFlagsBytes) {
    Throw(env, "start(): option sharedFlags must be an ArrayBuffer of " +
                   std::to_string(kFlagsBytes) + " bytes");
    return nullptr;
  }
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    Throw(env, "blockbuster: no event loop for this thread", false);
    return nullptr;
  }
  napi_ref flags = nullptr;
  if (napi_create_reference(env, flags_value, 1, &flags) != napi_ok) return nullptr;
  napi_value name = nullptr;
  napi_threadsafe_function raw_notify = nullptr;
  if (napi_create_string_utf8(env, "blockbuster", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, args[1], nullptr, name, 0, 1, nullptr, nullptr, nullptr,
                                      CallNotify, &raw_notify) != napi_ok) {
    napi_delete_reference(env, flags);
    return nullptr;
  }
  napi_unref_threadsafe_function(env, raw_notify);
  options.budget = std::make_shared<ReportBudget>(settings.per_minute, !options.line.json);
  auto watchdog = std::make_unique<Watchdog>(
      loop, CurrentIsolate(), options, SharedFlags{static_cast<int32_t*>(flags_data)},
      [raw_notify]() {
        napi_call_threadsafe_function(raw_notify, nullptr, napi_tsfn_nonblocking);
      });
  if (!watchdog->ok()) {
    napi_release_threadsafe_function(raw_notify, napi_tsfn_release);
    napi_delete_reference(env, flags);
    Throw(env, "blockbuster: could not start the watchdog thread", false);
    return nullptr;
  }
  state->watchdog = std::move(watchdog);
  state->notify = raw_notify;
  state->flags = flags;
  state->budget = options.budget;
  // Registered after the thread-safe function, so it runs before that one's own cleanup.
  napi_add_async_cleanup_hook(env, OnEnvCleanup, state, &state->cleanup);
  // Loading (Init) and starting bound most of the Node-API, V8 and libuv symbols the addon calls;
  // only watch() loads the addon, and it starts at once.
  ReleaseLinkerPages();
  return nullptr;
}

napi_value Stop(napi_env env, napi_callback_info info) {
  if (EnvState* state = State(env)) state->End(Teardown::kStop);
  return nullptr;
}

napi_value FrameToJs(JsBuilder& js, const Frame& frame) {
  napi_value out = js.Object();
  js.Set(out, "functionName", js.String(frame.function_name));
  js.Set(out, "file", js.String(frame.file));
  js.Set(out, "line", js.Number(frame.line));
  js.Set(out, "column", js.Number(frame.column));
  return out;
}

napi_value SampleToJs(JsBuilder& js, const BlockReport& report, const Sample& sample) {
  napi_value out = js.Object();
  js.Set(out, "key", js.Number(sample.key));
  js.Set(out, "stackKey", js.Number(sample.stack_key));
  js.Set(out, "atMs", js.Number(NsToMs(sample.taken_ns - report.start_ns)));
  js.Set(out, "captureDelayMs",
         sample.captured_ns == 0 ? js.Undefined()
                                 : js.Number(NsToMs(sample.captured_ns - sample.taken_ns)));
  js.Set(out, "captureGcMs", js.Number(NsToMs(sample.capture_gc_ns)));
  js.Set(out, "vmState", js.String(VmStateName(sample.vm_state)));
  js.Set(out, "inTrackedCall", js.Boolean(sample.in_tracked_call));
  if (!sample.native_module.empty()) js.Set(out, "nativeModule", js.String(sample.native_module));
  SetSampleEvidence(js, out, report, sample);
  napi_value frames = js.Array(sample.frames.size());
  for (size_t i = 0; i < sample.frames.size() && js.ok(); i++) {
    js.SetAt(frames, static_cast<uint32_t>(i), FrameToJs(js, sample.frames[i]));
  }
  js.Set(out, "frames", frames);
  return out;
}

napi_value ReportToJs(JsBuilder& js, const BlockReport& report) {
  napi_value out = js.Object();
  js.Set(out, "id", js.Number(static_cast<double>(report.id)));
  // On uv_hrtime's clock, as process.hrtime(): JS matches it against allowed spans.
  js.Set(out, "startMs", js.Number(NsToMs(report.start_ns)));
  js.Set(out, "durationMs", js.Number(NsToMs(report.end_ns - report.start_ns)));
  js.Set(out, "detectionDelayMs", js.Number(NsToMs(report.detected_ns - report.start_ns)));
  js.Set(out, "gcMs", js.Number(NsToMs(report.gc_ns)));
  js.Set(out, "startup", js.Boolean(report.startup));
  SetBlockUsage(js, out, report);
  napi_value samples = js.Array(report.samples.size());
  for (size_t i = 0; i < report.samples.size() && js.ok(); i++) {
    js.SetAt(samples, static_cast<uint32_t>(i), SampleToJs(js, report, report.samples[i]));
  }
  js.Set(out, "samples", samples);
  return out;
}

// takeReports(finishActive) -> { reports, dropped }, or undefined while the environment closes:
// then the reports taken are written by the native side, as at exit, so none is lost.
napi_value TakeReports(napi_env env, napi_callback_info info) {
  EnvState* state = State(env);
  napi_value args[1];
  bool finish_active = Truthy(env, FirstArgument(env, info, 1, args));
  uint64_t dropped = 0;
  std::vector<BlockReport> reports;
  if (state != nullptr && state->watchdog != nullptr) {
    reports = state->watchdog->TakeReports(finish_active, &dropped);
  }
  JsBuilder js(env);
  napi_value result = js.Object();
  napi_value list = js.Array(reports.size());
  for (size_t i = 0; i < reports.size() && js.ok(); i++) {
    js.SetAt(list, static_cast<uint32_t>(i), ReportToJs(js, reports[i]));
  }
  js.Set(result, "reports", list);
  js.Set(result, "dropped", js.Number(static_cast<double>(dropped)));
  // The report path binds symbols of its own (V8's sampler, libuv) at its first use.
  if (state != nullptr && !reports.empty() && !state->released_after_report) {
    state->released_after_report = true;
    ReleaseLinkerPages();
  }
  if (js.ok()) return result;
  if (state != nullptr && state->watchdog != nullptr) {
    state->watchdog->WriteReports(reports, dropped);
  }
  return nullptr;
}

// Passes the first argument's truthiness to one of this environment's watchdog switches.
napi_value SwitchWatchdog(napi_env env, napi_callback_info info, void (Watchdog::*set)(bool)) {
  EnvState* state = State(env);
  napi_value args[1];
  bool on = Truthy(env, FirstArgument(env, info, 1, args));
  if (state != nullptr && state->watchdog != nullptr) ((*state->watchdog).*set)(on);
  return nullptr;
}

// ownWork(on): brackets blockbuster's own report building on the watched thread.
napi_value OwnWork(napi_env env, napi_callback_info info) {
  return SwitchWatchdog(env, info, &Watchdog::SetOwnWork);
}

// setAllowed(on): the thread runs code allowed to block (allowBlocking, pause): no live line and
// no abort.
napi_value SetAllowed(napi_env env, napi_callback_info info) {
  return SwitchWatchdog(env, info, &Watchdog::SetAllowed);
}

// apiId(name) -> the id the recorder writes into the shared flags as a call to `name` begins
// (0: not a string, or the table is full).
napi_value ApiId(napi_env env, napi_callback_info info) {
  napi_value args[1];
  napi_value name_value = FirstArgument(env, info, 1, args);
  std::string name;
  int32_t id = name_value != nullptr && Utf8(env, name_value, &name) ? ApiNameId(name) : 0;
  napi_value result = nullptr;
  napi_create_int32(env, id, &result);
  return result;
}

// mapLines(file, sources, lines): a line-level copy of `file`'s source map for the native lines
// (line_maps.h); `lines` holds [source index or -1, line, column] per generated line. Returns
// whether it was taken; never throws (JS calls it from inside a report).
napi_value MapLines(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value args[3] = {nullptr, nullptr, nullptr};
  bool taken = false;
  std::string file;
  bool is_array = false;
  uint32_t count = 0;
  bool is_typed = false;
  if (napi_get_cb_info(env, info, &argc, args, nullptr, nullptr) == napi_ok && argc == 3 &&
      TypeOf(env, args[0]) == napi_string && Utf8(env, args[0], &file) &&
      napi_is_array(env, args[1], &is_array) == napi_ok && is_array &&
      napi_get_array_length(env, args[1], &count) == napi_ok &&
      napi_is_typedarray(env, args[2], &is_typed) == napi_ok && is_typed) {
    std::vector<std::string> sources;
    bool ok = true;
    for (uint32_t i = 0; i < count && ok; i++) {
      napi_value element = nullptr;
      std::string source;
      ok = napi_get_element(env, args[1], i, &element) == napi_ok &&
           TypeOf(env, element) == napi_string && Utf8(env, element, &source);
      if (ok) sources.push_back(std::move(source));
    }
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (ok &&
        napi_get_typedarray_info(env, args[2], &type, &length, &data, nullptr, nullptr) ==
            napi_ok &&
        type == napi_int32_array && length % 3 == 0) {
      const int32_t* words = static_cast<const int32_t*>(data);
      std::vector<MappedLine> lines(length / 3);
      for (size_t i = 0; i < lines.size(); i++) {
        lines[i] = MappedLine{words[3 * i], words[3 * i + 1], words[3 * i + 2]};
      }
      SetLineMap(file, std::move(sources), std::move(lines));
      taken = true;
    }
  }
  napi_value result = nullptr;
  napi_get_boolean(env, taken, &result);
  return result;
}

napi_value IsWatching(napi_env env, napi_callback_info info) {
  EnvState* state = State(env);
  napi_value result = nullptr;
  napi_get_boolean(env, state != nullptr && state->watchdog != nullptr, &result);
  return result;
}

// The arguments of writeLine and flushLines: the fd, and whose lines (for the dropped notice).
bool ReadLineTarget(napi_env env, napi_value* args, int* fd, DroppedNotice* notice) {
  double fd_value = -1, thread_id = 0, schema_version = 1;
  if (TypeOf(env, args[0]) != napi_number ||
      napi_get_value_double(env, args[0], &fd_value) != napi_ok) {
    return false;
  }
  if (TypeOf(env, args[2]) == napi_number) napi_get_value_double(env, args[2], &thread_id);
  if (TypeOf(env, args[3]) == napi_number) napi_get_value_double(env, args[3], &schema_version);
  *fd = static_cast<int>(fd_value);
  *notice = DroppedNotice{Truthy(env, args[1]), static_cast<int>(schema_version),
                          static_cast<int64_t>(thread_id)};
  return true;
}

// writeLine(fd, json, threadId, schemaVersion, line) -> 0 written, 1 dropped (the output stayed
// full), -errno: the JS sink's lines go through the process's one writer.
napi_value WriteLine(napi_env env, napi_callback_info info) {
  napi_value args[5];
  FirstArgument(env, info, 5, args);
  int fd = -1;
  DroppedNotice notice;
  std::string line;
  if (!ReadLineTarget(env, args, &fd, &notice) || TypeOf(env, args[4]) != napi_string ||
      !Utf8(env, args[4], &line)) {
    Throw(env, "writeLine(fd, json, threadId, schemaVersion, line) expects a number and a string");
    return nullptr;
  }
  napi_value result = nullptr;
  napi_create_int32(env, LineWriter::Get().Write(fd, line, notice), &result);
  return result;
}

// flushLines(fd, json, threadId, schemaVersion): says a dropped count still unsaid (the sink
// closes).
napi_value FlushLines(napi_env env, napi_callback_info info) {
  napi_value args[4];
  FirstArgument(env, info, 4, args);
  int fd = -1;
  DroppedNotice notice;
  if (ReadLineTarget(env, args, &fd, &notice)) LineWriter::Get().Flush(fd, notice);
  return nullptr;
}

// takeReportSlot() -> whether this thread's watcher may write one more report line this minute
// (the budget its native live lines spend too); true when nothing watches.
napi_value TakeReportSlot(napi_env env, napi_callback_info info) {
  EnvState* state = State(env);
  bool granted = state == nullptr || state->budget == nullptr || state->budget->TakeReport();
  napi_value result = nullptr;
  napi_get_boolean(env, granted, &result);
  return result;
}

// visibleText(text) -> the text as native text lines show it (the golden test of the escaping).
napi_value VisibleTextJs(napi_env env, napi_callback_info info) {
  napi_value args[1];
  std::string text;
  napi_value value = FirstArgument(env, info, 1, args);
  if (TypeOf(env, value) != napi_string || !Utf8(env, value, &text)) {
    Throw(env, "visibleText(text) expects a string");
    return nullptr;
  }
  std::string visible = VisibleText(text);
  napi_value result = nullptr;
  napi_create_string_utf8(env, visible.data(), visible.size(), &result);
  return result;
}

// formatLines({ count, json, threadId, schemaVersion, hostname, atMs, thresholdMs, frame }) ->
// { queueDropped, writerDropped, stillBlocked }: the notices and the live message exactly as the
// native side writes them (the golden test holds lib/lines.ts to them).
napi_value FormatLinesJs(napi_env env, napi_callback_info info) {
  napi_value args[1];
  napi_value input = FirstArgument(env, info, 1, args);
  auto number = [&](napi_value object, const char* name) {
    double value = 0;
    napi_value field = object == nullptr ? nullptr : Get(env, object, name);
    if (TypeOf(env, field) == napi_number) napi_get_value_double(env, field, &value);
    return value;
  };
  auto text = [&](napi_value object, const char* name) {
    std::string value;
    napi_value field = object == nullptr ? nullptr : Get(env, object, name);
    if (TypeOf(env, field) == napi_string) Utf8(env, field, &value);
    return value;
  };
  if (TypeOf(env, input) != napi_object) {
    Throw(env, "formatLines(input) expects an object");
    return nullptr;
  }
  const uint64_t count = static_cast<uint64_t>(number(input, "count"));
  LineStyle style;
  style.json = Truthy(env, Get(env, input, "json"));
  style.schema_version = static_cast<int>(number(input, "schemaVersion"));
  style.pid = static_cast<int64_t>(uv_os_getpid());
  style.thread_id = static_cast<int64_t>(number(input, "threadId"));
  style.hostname = text(input, "hostname");
  const DroppedNotice notice{style.json, style.schema_version, style.thread_id};
  // A block whose newest stack has one frame, the culprit.
  BlockReport report;
  Sample sample;
  sample.captured_ns = 1;
  napi_value frame = Get(env, input, "frame");
  sample.frames.push_back(Frame{text(frame, "functionName"), text(frame, "file"),
                                static_cast<int>(number(frame, "line")),
                                static_cast<int>(number(frame, "column"))});
  report.samples.push_back(sample);
  const LineContext ongoing{LineStatus::kOngoing, static_cast<uint64_t>(number(input, "atMs")),
                            static_cast<uint64_t>(number(input, "thresholdMs"))};
  JsBuilder js(env);
  napi_value result = js.Object();
  js.Set(result, "queueDropped", js.String(FormatDroppedLine(count, style)));
  js.Set(result, "writerDropped", js.String(DroppedLine(count, notice)));
  js.Set(result, "stillBlocked", js.String(LineMessage(report, ongoing, style)));
  return js.ok() ? result : nullptr;
}

// A binary built against another Node's headers must not get as far as its first V8 call (that
// ends the process with a symbol lookup error): say so as an ordinary exception instead.
bool CheckAbi(napi_env env) {
  napi_value global = nullptr, process = nullptr, versions = nullptr, modules = nullptr;
  std::string running;
  if (napi_get_global(env, &global) != napi_ok ||
      (process = Get(env, global, "process")) == nullptr ||
      (versions = Get(env, process, "versions")) == nullptr ||
      (modules = Get(env, versions, "modules")) == nullptr || !Utf8(env, modules, &running)) {
    return false;
  }
  if (running == std::to_string(BLOCKBUSTER_NODE_ABI)) return true;
  Throw(env,
        "blockbuster: this binary was built for Node ABI " + std::to_string(BLOCKBUSTER_NODE_ABI) +
            ", but this Node has ABI " + running,
        false);
  return false;
}

void DeleteState(napi_env, void* data, void*) { delete static_cast<EnvState*>(data); }

bool Export(napi_env env, napi_value exports, const char* name, napi_callback callback) {
  napi_value function = nullptr;
  return napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, nullptr, &function) ==
             napi_ok &&
         napi_set_named_property(env, exports, name, function) == napi_ok;
}

napi_value Init(napi_env env, napi_value exports) {
  // Before the first Node-API call, which is the first lookup in node's symbol tables.
  NoteLinkerPages();
  if (!CheckAbi(env)) return exports;
  auto* state = new EnvState(env);
  if (napi_set_instance_data(env, state, DeleteState, nullptr) != napi_ok) {
    delete state;
    return exports;
  }
  napi_value abi = nullptr;
  if (napi_create_int32(env, BLOCKBUSTER_NODE_ABI, &abi) == napi_ok) {
    napi_set_named_property(env, exports, "abi", abi);
  }
  std::vector<const char*> start_options{"sharedFlags"};
  for (const StartOption& option : kStartOptions) start_options.push_back(option.name);
  if (napi_value constants = ContractToJs(env, start_options)) {
    napi_set_named_property(env, exports, "constants", constants);
  }
  static constexpr struct {
    const char* name;
    napi_callback callback;
  } kExports[] = {{"start", Start},
                  {"stop", Stop},
                  {"takeReports", TakeReports},
                  {"isWatching", IsWatching},
                  {"ownWork", OwnWork},
                  {"setAllowed", SetAllowed},
                  {"apiId", ApiId},
                  {"mapLines", MapLines},
                  {"writeLine", WriteLine},
                  {"flushLines", FlushLines},
                  {"takeReportSlot", TakeReportSlot},
                  {"visibleText", VisibleTextJs},
                  {"formatLines", FormatLinesJs}};
  // A failed export (the environment closing) leaves the binding incomplete, never the process.
  for (const auto& entry : kExports) {
    if (!Export(env, exports, entry.name, entry.callback)) break;
  }
  return exports;
}

}  // namespace
}  // namespace blockbuster

NAPI_MODULE_INIT() { return blockbuster::Init(env, exports); }
