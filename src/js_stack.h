// The JS stack, copied by a V8 interrupt on the watched thread at the watchdog's request.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "report.h"

namespace v8 {
class Isolate;
}

namespace blockbuster {

// `took_ns`: the CPU time the capture took on the watched thread (part of the sampling cost).
using StackSink = std::function<void(std::vector<Frame>&& frames, uint64_t took_ns)>;

// Thread-safe: asks V8 to run `sink` with the current JS stack on the isolate's thread at its next
// interrupt check. Never waits; `sink` may run late (after the block) or never (isolate disposed).
// Also copies the watched AsyncLocalStorage's value, if any, into JS for sample `key`.
void RequestStackSample(v8::Isolate* isolate, int max_frames, uint32_t key, StackSink sink);

// Env teardown, after the watchdog stopped: frees the requests an isolate about to be disposed
// still holds (it will never run them).
void ForgetStackSamples(v8::Isolate* isolate);

v8::Isolate* CurrentIsolate();

}  // namespace blockbuster
