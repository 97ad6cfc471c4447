#include "thread_sampler.h"

#include <uv.h>
#include <v8.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <mutex>

#if defined(__linux__)
#include <ucontext.h>
#define BLOCKBUSTER_THREAD_SAMPLER 1
#endif

namespace blockbuster {

const char* VmStateName(VmState state) {
  switch (state) {
    case VmState::kJs:
      return "js";
    case VmState::kGc:
      return "gc";
    case VmState::kCompiler:
      return "compiler";
    case VmState::kOther:
      return "other";
    case VmState::kExternal:
      return "external";
    case VmState::kAtomicsWait:
      return "atomics-wait";
    case VmState::kIdle:
      return "idle";
    case VmState::kUnknown:
      break;
  }
  return "unknown";
}

#if defined(BLOCKBUSTER_THREAD_SAMPLER)
namespace {

// A slot per watched thread, in static memory: a signal that arrives late (after its watcher
// stopped) only ever reads memory that still exists.
enum SlotState : int { kFree, kIdle, kRequested, kSampling, kDone };

struct Slot {
  std::atomic<int> state{kFree};
  std::atomic<v8::Isolate*> isolate{nullptr};
  pthread_t thread{};
  std::atomic<VmState> vm_state{VmState::kUnknown};
};

constexpr int kSlots = 256;
Slot g_slots[kSlots];
std::atomic<int> g_signal{0};
std::mutex g_install_mutex;

VmState FromV8(v8::StateTag tag) {
  switch (tag) {
    case v8::StateTag::JS:
      return VmState::kJs;
    case v8::StateTag::GC:
      return VmState::kGc;
    case v8::StateTag::PARSER:
    case v8::StateTag::BYTECODE_COMPILER:
    case v8::StateTag::COMPILER:
      return VmState::kCompiler;
    case v8::StateTag::EXTERNAL:
      return VmState::kExternal;
    case v8::StateTag::ATOMICS_WAIT:
      return VmState::kAtomicsWait;
    case v8::StateTag::IDLE:
      return VmState::kIdle;
    default:
      return VmState::kOther;
  }
}

void FillRegisters(void* context, v8::RegisterState* regs) {
  auto* mcontext = &static_cast<ucontext_t*>(context)->uc_mcontext;
#if defined(__x86_64__)
  regs->pc = reinterpret_cast<void*>(mcontext->gregs[REG_RIP]);
  regs->sp = reinterpret_cast<void*>(mcontext->gregs[REG_RSP]);
  regs->fp = reinterpret_cast<void*>(mcontext->gregs[REG_RBP]);
#elif defined(__aarch64__)
  regs->pc = reinterpret_cast<void*>(mcontext->pc);
  regs->sp = reinterpret_cast<void*>(mcontext->sp);
  regs->fp = reinterpret_cast<void*>(mcontext->regs[29]);
  regs->lr = reinterpret_cast<void*>(mcontext->regs[30]);
#else
  (void)mcontext;
#endif
}

// Async-signal-safe: atomics and V8's GetStackSample only.
void OnSampleSignal(int, siginfo_t* info, void* context) {
  int saved_errno = errno;
  int index = info->si_code == SI_QUEUE ? info->si_value.sival_int : -1;
  if (index >= 0 && index < kSlots && pthread_equal(g_slots[index].thread, pthread_self())) {
    Slot& slot = g_slots[index];
    int expected = kRequested;
    if (slot.state.compare_exchange_strong(expected, kSampling, std::memory_order_acq_rel)) {
      VmState state = VmState::kUnknown;
      if (v8::Isolate* isolate = slot.isolate.load(std::memory_order_acquire)) {
        v8::RegisterState regs;
        FillRegisters(context, &regs);
        void* frames[1];
        v8::SampleInfo sample{};
        isolate->GetStackSample(regs, frames, 1, &sample);
        state = FromV8(sample.vm_state);
      }
      slot.vm_state.store(state, std::memory_order_relaxed);
      slot.state.store(kDone, std::memory_order_release);
    }
  }
  errno = saved_errno;
}

// The first real-time signal nobody handles, counted down from SIGRTMAX (libc keeps the lowest).
int InstallHandler() {
  std::lock_guard<std::mutex> lock(g_install_mutex);
  if (int installed = g_signal.load()) return installed;
  for (int signal = SIGRTMAX; signal > SIGRTMIN; signal--) {
    struct sigaction current;
    if (sigaction(signal, nullptr, &current) != 0 || current.sa_handler != SIG_DFL) continue;
    struct sigaction action = {};
    action.sa_sigaction = OnSampleSignal;
    action.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    if (sigaction(signal, &action, nullptr) != 0) continue;
    g_signal.store(signal);
    return signal;
  }
  return 0;
}

void SleepBriefly() {
  struct timespec pause = {0, 50'000};
  nanosleep(&pause, nullptr);
}

}  // namespace

ThreadSampler::ThreadSampler(v8::Isolate* isolate) {
  if (InstallHandler() == 0) return;
  for (int i = 0; i < kSlots; i++) {
    int expected = kFree;
    if (!g_slots[i].state.compare_exchange_strong(expected, kIdle)) continue;
    g_slots[i].thread = pthread_self();
    g_slots[i].isolate.store(isolate, std::memory_order_release);
    slot_ = i;
    return;
  }
}

ThreadSampler::~ThreadSampler() {
  if (slot_ < 0) return;
  // The handler runs on this very thread, so it is not halfway through a sample now.
  g_slots[slot_].isolate.store(nullptr, std::memory_order_release);
  g_slots[slot_].state.store(kFree, std::memory_order_release);
}

ThreadSample ThreadSampler::Sample(uint64_t timeout_ns) {
  ThreadSample result;
  if (slot_ < 0) return result;
  Slot& slot = g_slots[slot_];
  int expected = kIdle;
  if (!slot.state.compare_exchange_strong(expected, kRequested)) return result;
  union sigval value;
  value.sival_int = slot_;
  if (pthread_sigqueue(slot.thread, g_signal.load(), value) != 0) {
    slot.state.store(kIdle);
    return result;
  }
  uint64_t deadline = uv_hrtime() + timeout_ns;
  for (;;) {
    if (slot.state.load(std::memory_order_acquire) == kDone) {
      result.vm_state = slot.vm_state.load(std::memory_order_relaxed);
      result.taken_ns = uv_hrtime();
      slot.state.store(kIdle, std::memory_order_release);
      return result;
    }
    if (uv_hrtime() >= deadline) {
      // Not answered in time (signal blocked for now): withdraw, unless the handler has begun.
      int requested = kRequested;
      if (slot.state.compare_exchange_strong(requested, kIdle)) return result;
    }
    SleepBriefly();
  }
}

#else

ThreadSampler::ThreadSampler(v8::Isolate*) {}
ThreadSampler::~ThreadSampler() = default;
ThreadSample ThreadSampler::Sample(uint64_t) { return ThreadSample{}; }

#endif

}  // namespace blockbuster
