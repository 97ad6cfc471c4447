#include "report_line.h"

#include "api_names.h"
#include "line_maps.h"
#include "line_writer.h"

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
  const bool waiting =
      !report.samples.empty() && report.samples.back().vm_state == VmState::kAtomicsWait;
  // "gc" is a claim about time, as in lib/report.ts: GC took half the finished block or more. A
  // sample that landed in a scavenge says only where the code allocated.
  if (!waiting && report.end_ns != 0 && report.gc_ns * 2 >= report.end_ns - report.start_ns)
    return "gc";
  if (report.samples.empty()) return "js";
  const Sample& newest = report.samples.back();
  switch (newest.vm_state) {
    case VmState::kAtomicsWait:
      return "atomics-wait";
    case VmState::kExternal:
      return "native";
    default:
      // Without a JS stack yet, the interrupt is waiting for C++ to return.
      return report.LatestWithFrames() == nullptr ? "native" : "js";
  }
}

// A file:// URL's path (percent escapes decoded), as lib/frame-file.ts gives the reports.
std::string PathOfFileUrl(const std::string& url) {
  std::string path;
  for (size_t i = 7; i < url.size(); i++) {
    auto hex = [](char c) {
      return c >= '0' && c <= '9'   ? c - '0'
             : c >= 'a' && c <= 'f' ? c - 'a' + 10
             : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                    : -1;
    };
    if (url[i] == '%' && i + 2 < url.size() && hex(url[i + 1]) >= 0 && hex(url[i + 2]) >= 0) {
      path += static_cast<char>(hex(url[i + 1]) * 16 + hex(url[i + 2]));
      i += 2;
    } else {
      path += url[i];
    }
  }
  return path;
}

// The frame as a reader sees it: in original coordinates where JS shared the file's source map,
// and a path for a file on disk (one form, ES modules too).
Frame Shown(const Frame& frame) {
  Frame shown = frame;
  MapFrame(&shown);
  if (shown.file.rfind("file://", 0) == 0) shown.file = PathOfFileUrl(shown.file);
  return shown;
}

std::string DescribeFrame(const Frame& generated) {
  const Frame frame = Shown(generated);
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
  // The tracked API the thread is in now (the recorder said so as the call began), or its addon.
  const Sample* newest = report.samples.empty() ? nullptr : &report.samples.back();
  std::string api = newest != nullptr && newest->in_tracked_call ? ApiName(newest->api_id) : "";
  if (!api.empty()) text += " by " + api;
  if (culprit != nullptr) {
    text += " in " + DescribeFrame(*culprit);
  } else if (!api.empty()) {
    text += " (its caller is named when the block ends)";
  } else if (newest != nullptr && !newest->native_module.empty()) {
    text +=
        " in native addon " + newest->native_module + " (its JavaScript caller is not known yet)";
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
  std::string out;
  AppendJsonString(&out, text);
  return out;
}

std::string JsonFrame(const Frame& generated) {
  const Frame frame = Shown(generated);
  return "{\"functionName\":" + JsonString(frame.function_name) +
         ",\"file\":" + JsonString(frame.file) + ",\"line\":" + std::to_string(frame.line) +
         ",\"column\":" + std::to_string(frame.column) + "}";
}

// The keys every JSON line starts with; `time` is now, as JS's envelope() does.
std::string Envelope(const char* kind, const LineStyle& style) {
  return "{\"schemaVersion\":" + std::to_string(style.schema_version) + ",\"kind\":\"" + kind +
         "\",\"time\":\"" + IsoTimeNow() + "\",\"pid\":" + std::to_string(style.pid) +
         ",\"hostname\":" + JsonString(style.hostname) +
         ",\"threadId\":" + std::to_string(style.thread_id);
}

std::string TextLine(const BlockReport& report, const LineContext& context,
                     const LineStyle& style) {
  // Names and files are the program's (computed names, vm filenames): each line shown escaped.
  std::string line =
      "blockbuster: " +
      VisibleText(style.thread_tag + Message(report, context, style) + " [state=" + State(report) +
                  ", threshold=" + std::to_string(context.threshold_ms) + " ms]");
  const std::vector<Frame>& frames = FramesOf(report);
  for (size_t i = 0; i < frames.size() && i < kFramesShown; i++) {
    line += "\n    at " + VisibleText(DescribeFrame(frames[i]));
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
  const Sample* newest = report.samples.empty() ? nullptr : &report.samples.back();
  std::string api = newest != nullptr && newest->in_tracked_call ? ApiName(newest->api_id) : "";
  if (!api.empty()) line += ",\"blockingCall\":" + JsonString(api);
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

std::string LineMessage(const BlockReport& report, const LineContext& context,
                        const LineStyle& style) {
  return Message(report, context, style);
}

std::string CulpritKey(const BlockReport& report, const LineStyle& style) {
  const Frame* culprit = Culprit(report, style);
  return culprit == nullptr
             ? std::string()
             : culprit->function_name + "@" + culprit->file + ":" + std::to_string(culprit->line);
}

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
