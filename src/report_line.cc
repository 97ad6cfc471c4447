#include "report_line.h"

#include <cstdio>
#include <ctime>

namespace blockbuster {
namespace {

constexpr size_t kFramesShown = 8;

bool IsInternal(const Frame& frame, const LineStyle& style) {
  if (frame.file.empty()) return true;
  for (const std::string& prefix : style.internal_prefixes) {
    if (frame.file.rfind(prefix, 0) == 0) return true;
  }
  for (const std::string& part : style.internal_parts) {
    if (frame.file.find(part) != std::string::npos) return true;
  }
  return false;
}

const std::vector<Frame> kNoFrames;

// The newest JS stack of the block: what a reader of a live line wants to see.
const std::vector<Frame>& FramesOf(const BlockReport& report) {
  const Sample* sample = report.LatestWithFrames();
  return sample == nullptr ? kNoFrames : sample->frames;
}

const Frame* Culprit(const BlockReport& report, const LineStyle& style) {
  for (const Frame& frame : FramesOf(report)) {
    if (!IsInternal(frame, style)) return &frame;
  }
  return nullptr;
}

// The same states lib/report.ts decides, from what the native side knows during the block.
const char* State(const BlockReport& report) {
  if (report.samples.empty()) return "js";
  const Sample& newest = report.samples.back();
  switch (newest.vm_state) {
    case VmState::kAtomicsWait:
      return "atomics-wait";
    case VmState::kGc:
      return "gc";
    case VmState::kExternal:
      return "native";
    default:
      // Without a JS stack yet, the interrupt is waiting for C++ to return.
      return report.LatestWithFrames() == nullptr ? "native" : "js";
  }
}

std::string DescribeFrame(const Frame& frame) {
  std::string where =
      frame.file + ":" + std::to_string(frame.line) + ":" + std::to_string(frame.column);
  return frame.function_name.empty() ? where : frame.function_name + " (" + where + ")";
}

std::string Message(const BlockReport& report, const LineContext& context, const LineStyle& style) {
  std::string duration = std::to_string(context.duration_ms) + " ms";
  std::string text = context.status == LineStatus::kOngoing
                         ? "Event loop still blocked after " + duration
                         : "Event loop blocked for " + duration;
  const Frame* culprit = Culprit(report, style);
  if (culprit != nullptr) {
    text += " in " + DescribeFrame(*culprit);
  } else if (FramesOf(report).empty()) {
    text += " in native code (no JavaScript stack sampled yet)";
  }
  if (context.status == LineStatus::kAborting) text += "; aborting the process (abortAfterMs)";
  if (context.status == LineStatus::kAtExit) text += " (reported at exit)";
  return text;
}

const char* StatusName(LineStatus status) {
  switch (status) {
    case LineStatus::kOngoing:
      return "ongoing";
    case LineStatus::kAborting:
      return "aborting";
    case LineStatus::kAtExit:
      return "at-exit";
  }
  return "ongoing";
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

std::string JsonFrame(const Frame& frame) {
  return "{\"functionName\":" + JsonString(frame.function_name) +
         ",\"file\":" + JsonString(frame.file) + ",\"line\":" + std::to_string(frame.line) +
         ",\"column\":" + std::to_string(frame.column) + "}";
}

// ISO 8601 in UTC with milliseconds, like Date#toISOString.
std::string IsoTime() {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  struct tm utc;
  gmtime_r(&now.tv_sec, &utc);
  char text[32];
  size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + length, sizeof text - length, ".%03dZ",
                static_cast<int>(now.tv_nsec / 1'000'000));
  return text;
}

// The keys every JSON line starts with; `time` is now, as JS's envelope() does.
std::string Envelope(const char* kind, const LineStyle& style) {
  return "{\"schemaVersion\":" + std::to_string(style.schema_version) + ",\"kind\":\"" + kind +
         "\",\"time\":\"" + IsoTime() + "\",\"pid\":" + std::to_string(style.pid) +
         ",\"hostname\":" + JsonString(style.hostname) +
         ",\"threadId\":" + std::to_string(style.thread_id);
}

std::string TextLine(const BlockReport& report, const LineContext& context,
                     const LineStyle& style) {
  std::string line = "blockbuster: " + Message(report, context, style) +
                     " [state=" + State(report) +
                     ", threshold=" + std::to_string(context.threshold_ms) + " ms]";
  const std::vector<Frame>& frames = FramesOf(report);
  for (size_t i = 0; i < frames.size() && i < kFramesShown; i++) {
    line += "\n    at " + DescribeFrame(frames[i]);
  }
  return line;
}

std::string JsonLine(const BlockReport& report, const LineContext& context,
                     const LineStyle& style) {
  // A report nobody took (at exit) is the block's report; the others are live lines.
  const char* kind = context.status == LineStatus::kAtExit ? "block" : "ongoing";
  std::string line =
      Envelope(kind, style) +
      ",\"name\":\"BlockingError\",\"message\":" + JsonString(Message(report, context, style)) +
      ",\"source\":\"watchdog\",\"status\":\"" + StatusName(context.status) + "\",\"phase\":\"" +
      (report.startup ? "startup" : "loop") +
      "\",\"durationMs\":" + std::to_string(context.duration_ms) +
      ",\"thresholdMs\":" + std::to_string(context.threshold_ms) + ",\"state\":\"" + State(report) +
      "\"";
  if (const Frame* culprit = Culprit(report, style)) line += ",\"culprit\":" + JsonFrame(*culprit);
  line += ",\"frames\":[";
  const std::vector<Frame>& frames = FramesOf(report);
  for (size_t i = 0; i < frames.size(); i++) {
    if (i > 0) line += ",";
    line += JsonFrame(frames[i]);
  }
  return line + "]}";
}

}  // namespace

std::string FormatReportLine(const BlockReport& report, const LineContext& context,
                             const LineStyle& style) {
  return (style.json ? JsonLine(report, context, style) : TextLine(report, context, style)) + "\n";
}

std::string FormatDroppedLine(uint64_t dropped, const LineStyle& style) {
  if (style.json) {
    return Envelope("dropped", style) +
           ",\"source\":\"watchdog\",\"dropped\":" + std::to_string(dropped) + "}\n";
  }
  return "blockbuster: " + std::to_string(dropped) +
         " blocks were not reported (report queue full)\n";
}

}  // namespace blockbuster
