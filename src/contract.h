// The JS<->native contract: every value lib/ and src/ must agree on, defined here once. The addon
// exports them as its frozen `constants` (contract_js.cc); lib/binding.ts checks them at load.
#pragma once

#include <cstddef>
#include <cstdint>

namespace blockbuster {

// The Int32 words shared with the call-site recorder (lib/call-sites.ts): who writes each.
enum FlagSlot : size_t {
  kDepthSlot,          // tracked-call depth (JS)
  kTrackedKeySlot,     // key of the last sample taken while a tracked call ran (watchdog)
  kInAtomicsWaitSlot,  // inside Atomics.wait (JS)
  kPendingSlot,        // blocks JS has not taken, the one going on included (the tracker)
  kApiSlot,            // the outermost tracked call's API id (api_names.h; JS)
  kFlagSlots
};
constexpr size_t kFlagsBytes = kFlagSlots * sizeof(int32_t);

// Sample keys run from 1 to this, then wrap back to 1: they fit the Int32 slot, 0 means "none".
constexpr uint32_t kMaxSampleKey = INT32_MAX;

// A start-up block's live line waits this many times longer than a loop block's.
constexpr uint64_t kStartupLiveLineFactor = 10;

// What V8 said the watched thread was doing when the watchdog sampled it (v8::StateTag).
enum class VmState : uint8_t {
  kUnknown,
  kJs,
  kGc,
  kCompiler,
  kOther,
  kExternal,
  kAtomicsWait,
  kIdle,
  kCount
};

// Each VmState's name in a sample (RawSample.vmState); a switch, so that -Wswitch names a state
// added without one.
constexpr const char* VmStateName(VmState state) {
  switch (state) {
    case VmState::kUnknown:
      return "unknown";
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
    case VmState::kCount:
      break;
  }
  return "unknown";
}

// watch({ context: als }) leaves a holder on the global object under Symbol.for(kContextSymbol):
// { [kContextStorage]: the AsyncLocalStorage, [kContextSlots]: sample key -> its value }.
constexpr const char kContextSymbol[] = "blockbuster.context";
constexpr const char kContextStorage[] = "storage";
constexpr const char kContextSlots[] = "slots";

}  // namespace blockbuster
