// The lines the native side writes itself: while a block lasts, or for a report nobody took.
// Same prefix, shape and JSON keys as the lines lib/output.ts writes for a BlockingError.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "report.h"

namespace blockbuster {

// Which frames are Node's or a dependency's: the rule JS passes in (lib/blocking-error.ts).
struct LineStyle {
  bool json = false;
  std::string thread_tag;  // `[worker 3 "resize"] `, empty on the main thread (lib/output.ts)
  // The envelope of every JSON line (lib/schema.ts), passed from JS: schema/report.schema.json.
  int schema_version = 1;
  int64_t pid = 0;
  int64_t thread_id = 0;
  std::string hostname;  // gethostname(), set by start(); formatLines() takes it from JS
  std::vector<std::string> internal_prefixes;  // a file starting with one: `node:`
  std::vector<std::string> internal_parts;     // a file containing one: `/node_modules/`
};

enum class LineStatus { kOngoing, kAborting, kAtExit };

struct LineContext {
  LineStatus status;
  uint64_t duration_ms;
  uint64_t threshold_ms;
};

std::string FormatReportLine(const BlockReport& report, const LineContext& context,
                             const LineStyle& style);
// The message alone ("Event loop still blocked after …"): lib/lines.ts builds JS's with the same
// words.
std::string LineMessage(const BlockReport& report, const LineContext& context,
                        const LineStyle& style);
// The live lines' grouping key: the culprit's function and place, empty without one.
std::string CulpritKey(const BlockReport& report, const LineStyle& style);
std::string FormatDroppedLine(uint64_t dropped, const LineStyle& style);

}  // namespace blockbuster
