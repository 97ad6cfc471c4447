// watch({ context: als }): the AsyncLocalStorage's value in the callback that blocked, copied
// into JS from inside the stack interrupt (the holder's shape is in contract.h).
#pragma once

#include <cstdint>

namespace v8 {
class Isolate;
}

namespace blockbuster {

// Watched thread, inside a V8 interrupt: writes the storage's current value to the holder's
// slots[key]. Reads and writes data properties only: no JS runs. Does nothing without a holder,
// or where Node does not keep AsyncLocalStorage in the async context frame (Node 20).
void CaptureAsyncContext(v8::Isolate* isolate, uint32_t key);

}  // namespace blockbuster
