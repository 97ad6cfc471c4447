// The lines the native side writes itself: while a block lasts, or for a report nobody took.
#pragma once

#include <cstdint>
#include <string>

#include "report.h"

namespace blockbuster {

struct LineContext {
  const char* status;  // "still blocked", "hang: aborting", "reported at exit"
  uint64_t duration_ms;
  uint64_t threshold_ms;
  bool json;
};

std::string FormatReportLine(const BlockReport& report, const LineContext& context);
std::string FormatDroppedLine(uint64_t dropped, bool json);

}  // namespace blockbuster
