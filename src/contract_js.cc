#include "contract_js.h"

#include <initializer_list>
#include <type_traits>
#include <utility>

#include "contract.h"
#include "js_builder.h"

namespace blockbuster {
namespace {

// A frozen object of numbers, or of strings.
template <typename Value>
napi_value Frozen(JsBuilder& js, std::initializer_list<std::pair<const char*, Value>> fields) {
  napi_value object = js.Object();
  for (const auto& [name, value] : fields) {
    if constexpr (std::is_same_v<Value, const char*>) {
      js.Set(object, name, js.String(value));
    } else {
      js.Set(object, name, js.Number(static_cast<double>(value)));
    }
  }
  return js.Freeze(object);
}

}  // namespace

napi_value ContractToJs(napi_env env, const std::vector<const char*>& start_options) {
  JsBuilder js(env);
  napi_value options = js.Array(static_cast<uint32_t>(start_options.size()));
  for (uint32_t i = 0; i < start_options.size(); i++) {
    js.SetAt(options, i, js.String(start_options[i]));
  }
  constexpr auto kVmStates = static_cast<uint32_t>(VmState::kCount);
  napi_value vm_states = js.Array(kVmStates);
  for (uint32_t i = 0; i < kVmStates; i++) {
    js.SetAt(vm_states, i, js.String(VmStateName(static_cast<VmState>(i))));
  }
  napi_value constants = js.Object();
  js.Set(constants, "flagSlots",
         Frozen<size_t>(js, {{"depth", kDepthSlot},
                             {"trackedKey", kTrackedKeySlot},
                             {"inAtomicsWait", kInAtomicsWaitSlot},
                             {"pending", kPendingSlot},
                             {"api", kApiSlot}}));
  js.Set(constants, "flagsBytes", js.Number(kFlagsBytes));
  js.Set(constants, "maxSampleKey", js.Number(kMaxSampleKey));
  js.Set(constants, "startupLiveLineFactor", js.Number(kStartupLiveLineFactor));
  js.Set(constants, "vmStates", js.Freeze(vm_states));
  js.Set(constants, "startOptions", js.Freeze(options));
  js.Set(constants, "contextHolder",
         Frozen<const char*>(
             js,
             {{"symbol", kContextSymbol}, {"storage", kContextStorage}, {"slots", kContextSlots}}));
  js.Freeze(constants);
  return js.ok() ? constants : nullptr;
}

}  // namespace blockbuster
