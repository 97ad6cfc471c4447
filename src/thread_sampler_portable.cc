// Where no sampler is written for the platform (binding.gyp picks thread_sampler_linux.cc on
// Linux): every sample is empty, so the reports say `unknown` and rely on the JS stack and the
// tracked calls.
#include "thread_sampler.h"

namespace blockbuster {

ThreadSampler::ThreadSampler(v8::Isolate*) {}
ThreadSampler::~ThreadSampler() = default;
ThreadSample ThreadSampler::Sample(uint64_t) { return ThreadSample{}; }

}  // namespace blockbuster
