// contract.h as the addon's `constants` export: what lib/ reads instead of writing it again.
#pragma once

#include <node_api.h>

namespace blockbuster {

// A frozen object (its nested objects too), or nullptr when the environment is closing.
napi_value ContractToJs(napi_env env);

}  // namespace blockbuster
