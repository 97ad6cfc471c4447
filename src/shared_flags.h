// The memory shared with the call-site recorder in JS (lib/call-sites.ts), an Int32Array whose
// slots contract.h lays out. JS writes some words, the watchdog others; neither locks.
#pragma once

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstddef>
#include <cstdint>

#include "contract.h"

namespace blockbuster {

struct SharedFlags {
  int32_t* words = nullptr;  // kFlagSlots words; null once the watcher stopped

  int32_t Depth() const { return Word(kDepthSlot).load(std::memory_order_relaxed); }
  int32_t ApiId() const { return Word(kApiSlot).load(std::memory_order_relaxed); }
  // seq_cst: pairs with the pending word (a worker sets this, then reads that; we the reverse).
  bool InAtomicsWait() const {
    return Word(kInAtomicsWaitSlot).load(std::memory_order_seq_cst) > 0;
  }
  void SetTrackedKey(uint32_t key) const {
    Word(kTrackedKeySlot).store(static_cast<int32_t>(key), std::memory_order_relaxed);
  }
  void SetPending(size_t blocks) const {
    Word(kPendingSlot)
        .store(static_cast<int32_t>(std::min<size_t>(blocks, INT32_MAX)),
               std::memory_order_seq_cst);
  }

 private:
  std::atomic_ref<int32_t> Word(FlagSlot slot) const {
    return std::atomic_ref<int32_t>(words[slot]);
  }
};

}  // namespace blockbuster
