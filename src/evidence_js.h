// The kernel's evidence about the watched thread (syscall, CPU time, throttling) as JS properties
// of a raw sample and a raw report (lib/binding.ts: RawSample, RawReport).
#pragma once

#include "js_builder.h"
#include "report.h"

namespace blockbuster {

void SetSampleEvidence(JsBuilder& js, napi_value out, const BlockReport& report,
                       const Sample& sample);
void SetBlockUsage(JsBuilder& js, napi_value out, const BlockReport& report);

}  // namespace blockbuster
