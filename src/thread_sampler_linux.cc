// The Linux sampler (binding.gyp picks it on Linux; thread_sampler_portable.cc elsewhere):
// pthread_sigqueue, the ucontext registers and dl_iterate_phdr.
#include <dlfcn.h>
#include <link.h>
#include <ucontext.h>
#include <uv.h>
#include <v8.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>
#include <vector>

#include "cpu_clock.h"
#include "thread_sampler.h"

namespace blockbuster {

namespace {

// A slot per watched thread, in static memory: a signal that arrives late (after its watcher
// stopped) only ever reads memory that still exists.
enum SlotState : int { kFree, kIdle, kRequested, kSampling, kDone };

constexpr int kTopWords = 32;
constexpr int kJsFrames = 32;
constexpr int kMaxNativeFrames = kTopWords + 48;

struct Slot {
  std::atomic<int> state{kFree};
  std::atomic<v8::Isolate*> isolate{nullptr};
  pthread_t thread{};
  uintptr_t stack_low = 0;  // the thread's stack, so the frame-pointer walk reads nothing else
  uintptr_t stack_high = 0;
  std::atomic<VmState> vm_state{VmState::kUnknown};
  void* js_frames[kJsFrames]{};
  int js_frame_count = 0;
  uint64_t handler_ns = 0;
  // Written by the handler before it publishes kDone; read by the watchdog after.
  void* pcs[kMaxNativeFrames]{};
  int pc_count = 0;
};

constexpr int kSlots = 256;
// constinit: all-zero, so the array stays in untouched .bss pages. A dynamic initializer (which an
// uninitialized member array forces) wrote every slot at dlopen: 240 KB of resident memory.
constinit Slot g_slots[kSlots];
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

// Return addresses along the frame-pointer chain, reading only inside the thread's own stack.
int WalkNativeStack(const v8::RegisterState& regs, const Slot& slot, void** pcs) {
  int count = 0;
  if (regs.pc != nullptr) pcs[count++] = regs.pc;
  // Leaves without frames of their own (libc's clock_gettime calling the vDSO's) hide their
  // callers from the frame chain; their return addresses are among the top words of the stack.
  auto sp = reinterpret_cast<uintptr_t>(regs.sp);
  if (sp >= slot.stack_low && sp % sizeof(void*) == 0) {
    for (int i = 0; i < kTopWords && sp + (i + 1) * sizeof(void*) <= slot.stack_high; i++) {
      pcs[count++] = reinterpret_cast<void**>(sp)[i];
    }
  }
  auto fp = reinterpret_cast<uintptr_t>(regs.fp);
  auto low = std::max(reinterpret_cast<uintptr_t>(regs.sp), slot.stack_low);
  while (count < kMaxNativeFrames && fp >= low && fp + 2 * sizeof(void*) <= slot.stack_high &&
         fp % sizeof(void*) == 0) {
    auto* frame = reinterpret_cast<uintptr_t*>(fp);
    if (frame[1] == 0) break;
    pcs[count++] = reinterpret_cast<void*>(frame[1]);
    if (frame[0] <= fp) break;  // the chain only goes up the stack
    fp = frame[0];
  }
  return count;
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

// The value a probe signal carries instead of a slot index (slots are 0..kSlots-1).
constexpr int kProbe = -2;
constexpr uint64_t kProbeTimeoutNs = 10'000'000;
std::atomic<int> g_probe_arrived{0};  // the signal number a probe came in on

// Async-signal-safe: atomics, clock_gettime and V8's GetStackSample only.
void OnSampleSignal(int signal, siginfo_t* info, void* context) {
  int saved_errno = errno;
  uint64_t started = ThreadCpuNs();
  int index = info->si_code == SI_QUEUE ? info->si_value.sival_int : -1;
  if (index == kProbe) g_probe_arrived.store(signal, std::memory_order_release);
  if (index >= 0 && index < kSlots && pthread_equal(g_slots[index].thread, pthread_self())) {
    Slot& slot = g_slots[index];
    int expected = kRequested;
    if (slot.state.compare_exchange_strong(expected, kSampling, std::memory_order_acq_rel)) {
      VmState state = VmState::kUnknown;
      if (v8::Isolate* isolate = slot.isolate.load(std::memory_order_acquire)) {
        v8::RegisterState regs;
        FillRegisters(context, &regs);
        v8::SampleInfo sample{};
        isolate->GetStackSample(regs, slot.js_frames, kJsFrames, &sample);
        state = FromV8(sample.vm_state);
        slot.js_frame_count = static_cast<int>(sample.frames_count);
        slot.pc_count = WalkNativeStack(regs, slot, slot.pcs);
      }
      if (state == VmState::kUnknown) {
        slot.pc_count = 0;
        slot.js_frame_count = 0;
      }
      slot.vm_state.store(state, std::memory_order_relaxed);
      slot.handler_ns = ThreadCpuNs() - started;
      slot.state.store(kDone, std::memory_order_release);
    }
  }
  errno = saved_errno;
}

void SleepBriefly() {
  struct timespec pause = {0, 50'000};
  nanosleep(&pause, nullptr);
}

enum class Probe { kArrived, kRefused, kUnanswered };

// Whether `signal`, now handled by OnSampleSignal, reaches this thread. qemu-user has no host
// signal for the guest's top two (SIGRTMAX-1, SIGRTMAX): sigaction succeeds, sending fails.
Probe ProbeSignal(int signal) {
  union sigval value;
  value.sival_int = kProbe;
  g_probe_arrived.store(0);
  if (pthread_sigqueue(pthread_self(), signal, value) != 0) return Probe::kRefused;
  sigset_t blocked;
  // Blocked here (a thread that masks it cannot be sampled anyway): the send itself is the answer.
  if (pthread_sigmask(SIG_BLOCK, nullptr, &blocked) != 0 || sigismember(&blocked, signal) == 1) {
    return Probe::kArrived;
  }
  // An unblocked signal sent to oneself is handled before pthread_sigqueue returns, except under
  // a tool that delivers signals itself (valgrind): give it a few milliseconds.
  uint64_t deadline = uv_hrtime() + kProbeTimeoutNs;
  while (g_probe_arrived.load(std::memory_order_acquire) != signal) {
    if (uv_hrtime() >= deadline) return Probe::kUnanswered;
    SleepBriefly();
  }
  return Probe::kArrived;
}

// The first real-time signal nobody handles and that arrives, counted down from SIGRTMAX (libc
// keeps the lowest).
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
    Probe probe = ProbeSignal(signal);
    if (probe == Probe::kArrived) {
      g_signal.store(signal);
      return signal;
    }
    // A refused send leaves nothing pending. An unanswered one may still arrive, and only our
    // handler may take it then: a real-time signal's default action ends the process.
    if (probe == Probe::kRefused) sigaction(signal, &current, nullptr);
  }
  return 0;
}

bool EndsWith(const char* text, const char* suffix) {
  size_t length = strlen(text), suffix_length = strlen(suffix);
  return length >= suffix_length && strcmp(text + length - suffix_length, suffix) == 0;
}

struct CodeRange {
  uintptr_t start;
  uintptr_t end;
  const char* file;
};

// The executable segments of every loaded addon (.node) but ours. dl_iterate_phdr is cheap;
// dladdr is not (it scans node's whole symbol table for each address), so dladdr runs only once,
// for an address already known to be an addon's.
std::vector<CodeRange> AddonCode() {
  struct Search {
    uintptr_t self;
    std::vector<CodeRange> ranges;
  } search{reinterpret_cast<uintptr_t>(&AddonCode), {}};
  dl_iterate_phdr(
      [](struct dl_phdr_info* info, size_t, void* data) {
        auto* search = static_cast<Search*>(data);
        if (info->dlpi_name == nullptr || !EndsWith(info->dlpi_name, ".node")) return 0;
        std::vector<CodeRange> ranges;
        bool ours = false;
        for (int i = 0; i < info->dlpi_phnum; i++) {
          const ElfW(Phdr)& header = info->dlpi_phdr[i];
          if (header.p_type != PT_LOAD || (header.p_flags & PF_X) == 0) continue;
          uintptr_t start = info->dlpi_addr + header.p_vaddr;
          uintptr_t end = start + header.p_memsz;
          ours = ours || (search->self >= start && search->self < end);
          ranges.push_back({start, end, info->dlpi_name});
        }
        if (!ours) search->ranges.insert(search->ranges.end(), ranges.begin(), ranges.end());
        return 0;
      },
      &search);
  return search.ranges;
}

// Watchdog thread. The stack words scanned are not all return addresses, but one that lands in
// an addon's code is.
std::string FirstAddon(void* const* pcs, int count) {
  if (count == 0) return std::string();
  std::vector<CodeRange> addons = AddonCode();
  for (int i = 0; i < count; i++) {
    auto pc = reinterpret_cast<uintptr_t>(pcs[i]);
    for (const CodeRange& range : addons) {
      if (pc < range.start || pc >= range.end) continue;
      std::string name = range.file;
      Dl_info info;
      if (dladdr(pcs[i], &info) != 0 && info.dli_sname != nullptr) {
        name += std::string("!") + info.dli_sname;
      }
      return name;
    }
  }
  return std::string();
}

}  // namespace

ThreadSampler::ThreadSampler(v8::Isolate* isolate) {
  if (InstallHandler() == 0) return;
  for (int i = 0; i < kSlots; i++) {
    int expected = kFree;
    if (!g_slots[i].state.compare_exchange_strong(expected, kIdle)) continue;
    g_slots[i].thread = pthread_self();
    pthread_attr_t attributes;
    if (pthread_getattr_np(pthread_self(), &attributes) == 0) {
      void* base = nullptr;
      size_t size = 0;
      pthread_attr_getstack(&attributes, &base, &size);
      pthread_attr_destroy(&attributes);
      g_slots[i].stack_low = reinterpret_cast<uintptr_t>(base);
      g_slots[i].stack_high = reinterpret_cast<uintptr_t>(base) + size;
    }
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
      result.native_module = FirstAddon(slot.pcs, slot.pc_count);
      result.js_frames.assign(slot.js_frames, slot.js_frames + slot.js_frame_count);
      result.handler_ns = slot.handler_ns;
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

}  // namespace blockbuster
