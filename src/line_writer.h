// One writer per process for every line blockbuster writes (native and, when the addon is loaded,
// JS): whole lines, in order, never spliced with another thread's, bounded waits on a full output.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace blockbuster {

// Text for a terminal or a log: control characters, C1, line separators, bidi overrides and
// invalid UTF-8 become visible escapes (`\n`, `\x1b`, `\u009b`); the same rule as lib/human.ts.
std::string VisibleText(std::string_view utf8);

// A JSON string literal that is valid UTF-8 even when V8 gave a lone surrogate (`\ud800`), and
// escapes what VisibleText escapes, so a JSON line shown raw is as harmless as a text line.
void AppendJsonString(std::string* out, std::string_view utf8);

// Whether `utf8` holds a surrogate in V8's CESU form (a lone one from a JS string).
bool HasSurrogate(std::string_view utf8);
// The UTF-16 of `utf8`, surrogates kept as they were in the JS string; invalid bytes are U+FFFD.
std::u16string Utf16(std::string_view utf8);

// Now, as Date#toISOString writes it (the `time` of every JSON line).
std::string IsoTimeNow();

// gethostname(), as os.hostname() reads it for the JS lines: the `hostname` of every JSON line.
std::string Hostname();

// Who wrote the lines a full output made the writer drop: the envelope of its one notice line.
struct DroppedNotice {
  bool json = false;
  int schema_version = 1;
  int64_t thread_id = 0;
};

// "blockbuster: N lines dropped (the output stayed full for … ms)", or its JSON line (kind dropped,
// source writer); lib/lines.ts builds the same bytes for the JS writer.
std::string DroppedLine(uint64_t dropped, const DroppedNotice& notice);

class LineWriter {
 public:
  // The process's writer (every watcher, every thread, the JS sink).
  static LineWriter& Get();

  // Writes `line` (ending in '\n') whole. A non-blocking output that stays full is waited for (a
  // bounded poll); a line that cannot start within the bound is dropped and counted, and the
  // count is written as one line before the next line that goes out. 0 when written, 1 when
  // dropped that way, -errno when the output failed otherwise (closed: not counted).
  int Write(int fd, std::string_view line, const DroppedNotice& notice);

  // Says a count still unsaid (a watcher stops), waiting for room with the same bound as a line.
  void Flush(int fd, const DroppedNotice& notice);

 private:
  enum class Outcome { kWritten, kFull, kTorn, kFailed };
  Outcome WriteWhole(int fd, std::string_view line, int* error);

  std::mutex mutex_;
  uint64_t dropped_ = 0;
  bool stalled_ = false;
};

// The report budget of one watcher (maxReportsPerMinute), spent by the JS sink's lines and by the
// native live lines alike; text live lines also obey the sink's grouping (one per culprit a
// minute).
class ReportBudget {
 public:
  ReportBudget(double per_minute, bool group_live_lines);
  // A JS report line; false when the minute's budget is spent.
  bool TakeReport();
  // A native live line for `culprit` (empty: no culprit yet).
  bool TakeLiveLine(const std::string& culprit);

 private:
  using Clock = std::chrono::steady_clock;
  bool TakeLocked(Clock::time_point now);

  std::mutex mutex_;
  const double per_minute_;
  const bool group_live_lines_;
  std::deque<Clock::time_point> sent_;
  std::unordered_map<std::string, Clock::time_point> live_culprits_;
};

}  // namespace blockbuster
