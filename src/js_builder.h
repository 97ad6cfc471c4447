// JS values built from native reports and the contract (addon.cc, evidence_js.cc, contract_js.cc).
#pragma once

#include <node_api.h>

#include <string>

#include "line_writer.h"

namespace blockbuster {

// Builds JS values with raw Node-API; after the first failed call it builds nothing more (the
// environment is closing): a failure is "stop quietly", never a throw that cannot be thrown.
class JsBuilder {
 public:
  explicit JsBuilder(napi_env env) : env_(env) {}
  bool ok() const { return ok_; }

  napi_value Object() {
    return Make([&](napi_value* v) { return napi_create_object(env_, v); });
  }
  napi_value Array(size_t length) {
    return Make([&](napi_value* v) { return napi_create_array_with_length(env_, length, v); });
  }
  napi_value Number(double value) {
    return Make([&](napi_value* v) { return napi_create_double(env_, value, v); });
  }
  napi_value Boolean(bool value) {
    return Make([&](napi_value* v) { return napi_get_boolean(env_, value, v); });
  }
  napi_value Undefined() {
    return Make([&](napi_value* v) { return napi_get_undefined(env_, v); });
  }
  // V8 gave a lone surrogate of a name as CESU bytes: it goes back to JS as that surrogate.
  napi_value String(const std::string& text) {
    return Make([&](napi_value* v) {
      if (!HasSurrogate(text)) return napi_create_string_utf8(env_, text.data(), text.size(), v);
      std::u16string utf16 = Utf16(text);
      return napi_create_string_utf16(env_, utf16.data(), utf16.size(), v);
    });
  }
  void Set(napi_value object, const char* key, napi_value value) {
    if (ok_ && napi_set_named_property(env_, object, key, value) != napi_ok) ok_ = false;
  }
  void SetAt(napi_value array, uint32_t index, napi_value value) {
    if (ok_ && napi_set_element(env_, array, index, value) != napi_ok) ok_ = false;
  }
  napi_value Freeze(napi_value object) {
    if (ok_ && napi_object_freeze(env_, object) != napi_ok) ok_ = false;
    return object;
  }

 private:
  template <typename Call>
  napi_value Make(Call call) {
    napi_value value = nullptr;
    if (ok_ && call(&value) != napi_ok) ok_ = false;
    return value;
  }

  napi_env env_;
  bool ok_ = true;
};

}  // namespace blockbuster
