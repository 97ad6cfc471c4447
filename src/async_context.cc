#include "async_context.h"

#include <v8.h>

#include "contract.h"

namespace blockbuster {
namespace {

// The one place V8's API differs across the supported lines: the async context frame.
v8::Local<v8::Value> ContinuationData(v8::Isolate* isolate) {
#if V8_MAJOR_VERSION >= 14
  v8::Local<v8::Data> data = isolate->GetContinuationPreservedEmbedderDataV2();
  if (data.IsEmpty() || !data->IsValue()) return v8::Local<v8::Value>();
  return data.As<v8::Value>();
#elif V8_MAJOR_VERSION >= 12
  return isolate->GetContinuationPreservedEmbedderData();
#else
  return v8::Local<v8::Value>();  // Node 20: AsyncLocalStorage is not kept there
#endif
}

}  // namespace

// Where Node keeps AsyncLocalStorage in the async context frame (a Map keyed by the storage),
// the holder's storage is the key of the value that goes to its slots.
void CaptureAsyncContext(v8::Isolate* isolate, uint32_t key) {
  v8::Local<v8::Value> frame = ContinuationData(isolate);
  if (frame.IsEmpty() || !frame->IsMap()) return;
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  if (context.IsEmpty()) return;
  v8::Local<v8::Value> holder;
  v8::Local<v8::Symbol> symbol =
      v8::Symbol::For(isolate, v8::String::NewFromUtf8Literal(isolate, kContextSymbol));
  if (!context->Global()->GetRealNamedProperty(context, symbol).ToLocal(&holder) ||
      !holder->IsObject()) {
    return;
  }
  v8::Local<v8::Object> target = holder.As<v8::Object>();
  v8::Local<v8::Value> storage, slots, value;
  if (!target
           ->GetRealNamedProperty(context, v8::String::NewFromUtf8Literal(isolate, kContextStorage))
           .ToLocal(&storage) ||
      !target->GetRealNamedProperty(context, v8::String::NewFromUtf8Literal(isolate, kContextSlots))
           .ToLocal(&slots) ||
      !slots->IsObject() || !frame.As<v8::Map>()->Get(context, storage).ToLocal(&value) ||
      value->IsUndefined()) {
    return;
  }
  // Nothing to do if it fails (a frozen slots object): the report then has no context.
  slots.As<v8::Object>()->CreateDataProperty(context, key, value).FromMaybe(false);
}

}  // namespace blockbuster
