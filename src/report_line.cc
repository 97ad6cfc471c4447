#include "report_line.h"

#include <cstdio>
#include <vector>

namespace blockbuster {
namespace {

constexpr size_t kFramesShown = 5;

bool IsInternal(const Frame& frame) {
  return frame.file.empty() || frame.file.rfind("node:", 0) == 0 ||
         frame.file.find("/node_modules/") != std::string::npos;
}

// User frames first; the innermost frame when the whole sample is internal.
std::vector<const Frame*> FramesShown(const BlockReport& report) {
  std::vector<const Frame*> shown;
  for (const Frame& frame : report.frames) {
    if (shown.size() < kFramesShown && !IsInternal(frame)) shown.push_back(&frame);
  }
  if (shown.empty() && !report.frames.empty()) shown.push_back(&report.frames.front());
  return shown;
}

std::string DescribeFrame(const Frame& frame) {
  std::string where =
      frame.file + ":" + std::to_string(frame.line) + ":" + std::to_string(frame.column);
  return frame.function_name.empty() ? where : frame.function_name + " (" + where + ")";
}

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string TextLine(const BlockReport& report, const LineContext& context) {
  std::string line = "blockbuster: event loop blocked for " + std::to_string(context.duration_ms) +
                     " ms (" + context.status + ", threshold " +
                     std::to_string(context.threshold_ms) + " ms)";
  if (report.in_atomics_wait) line += " in Atomics.wait";
  std::vector<const Frame*> shown = FramesShown(report);
  if (shown.empty()) return line + "; no JS stack yet (the thread is in native code)";
  line += " at ";
  for (size_t i = 0; i < shown.size(); i++) {
    if (i > 0) line += " <- ";
    line += DescribeFrame(*shown[i]);
  }
  return line;
}

std::string JsonLine(const BlockReport& report, const LineContext& context) {
  std::string line =
      "{\"name\":\"BlockingError\",\"source\":\"watchdog\",\"status\":" +
      JsonString(context.status) + ",\"durationMs\":" + std::to_string(context.duration_ms) +
      ",\"thresholdMs\":" + std::to_string(context.threshold_ms) +
      ",\"atomicsWait\":" + (report.in_atomics_wait ? "true" : "false") + ",\"frames\":[";
  std::vector<const Frame*> shown = FramesShown(report);
  for (size_t i = 0; i < shown.size(); i++) {
    if (i > 0) line += ",";
    line += "{\"functionName\":" + JsonString(shown[i]->function_name) +
            ",\"file\":" + JsonString(shown[i]->file) +
            ",\"line\":" + std::to_string(shown[i]->line) +
            ",\"column\":" + std::to_string(shown[i]->column) + "}";
  }
  return line + "]}";
}

}  // namespace

std::string FormatReportLine(const BlockReport& report, const LineContext& context) {
  return (context.json ? JsonLine(report, context) : TextLine(report, context)) + "\n";
}

std::string FormatDroppedLine(uint64_t dropped, bool json) {
  if (json) return "{\"name\":\"BlockingError\",\"dropped\":" + std::to_string(dropped) + "}\n";
  return "blockbuster: " + std::to_string(dropped) +
         " more blocks were not reported (report queue full)\n";
}

}  // namespace blockbuster
