// contract.h as the addon's `constants` export: what lib/ reads instead of writing it again.
#pragma once

#include <node_api.h>

#include <vector>

namespace blockbuster {

// A frozen object (its nested objects too), or nullptr when the environment is closing.
// `start_options`: the keys start() reads, which JS must pass (a stale binary's differ).
napi_value ContractToJs(napi_env env, const std::vector<const char*>& start_options);

}  // namespace blockbuster
