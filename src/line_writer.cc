#include "line_writer.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

namespace blockbuster {
namespace {

// How long a full output may stay full before the line waiting for it is dropped: a reader that
// drains at all keeps every line; one that stopped costs the writing thread this much per line.
constexpr int kStallMs = 1000;
// A line already started is finished unless the output stays full this long: stopping half-way
// would splice the next line into it.
constexpr int kTornStallMs = 5000;
// Live-line culprits remembered for grouping; beyond this the map starts afresh.
constexpr size_t kMaxLiveCulprits = 100;
constexpr auto kWindow = std::chrono::minutes(1);

constexpr char32_t kInvalid = 0xFFFFFFFF;

// One code point from UTF-8 at `text[*i]`, advancing `*i`. Surrogates (V8's lone ones, CESU form)
// decode as themselves; a byte that starts no sequence is kInvalid (one byte consumed).
char32_t NextCodePoint(std::string_view text, size_t* i) {
  auto byte = [&](size_t at) { return static_cast<unsigned char>(text[at]); };
  unsigned char lead = byte(*i);
  size_t length = lead < 0x80           ? 1
                  : (lead >> 5) == 0x6  ? 2
                  : (lead >> 4) == 0xE  ? 3
                  : (lead >> 3) == 0x1E ? 4
                                        : 0;
  if (length == 0 || *i + length > text.size()) {
    (*i)++;
    return length == 1 ? lead : kInvalid;
  }
  char32_t point = length == 1 ? lead : lead & (0x7F >> length);
  for (size_t k = 1; k < length; k++) {
    if ((byte(*i + k) & 0xC0) != 0x80) {
      (*i)++;
      return kInvalid;
    }
    point = (point << 6) | (byte(*i + k) & 0x3F);
  }
  static constexpr char32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (point < kSmallest[length] || point > 0x10FFFF) {
    (*i)++;
    return kInvalid;
  }
  *i += length;
  return point;
}

// The code points a terminal or a log viewer would act on rather than show.
bool IsHidden(char32_t point) {
  return point < 0x20 || (point >= 0x7F && point <= 0x9F) || point == 0x61C || point == 0x200E ||
         point == 0x200F || point == 0x2028 || point == 0x2029 ||
         (point >= 0x202A && point <= 0x202E) || (point >= 0x2066 && point <= 0x2069) ||
         (point >= 0xD800 && point <= 0xDFFF);
}

void AppendHex(std::string* out, const char* format, unsigned value) {
  char escaped[16];
  std::snprintf(escaped, sizeof escaped, format, value);
  *out += escaped;
}

void AppendUtf8(std::string* out, std::string_view text, size_t from, size_t to) {
  out->append(text.data() + from, to - from);
}

// Waits until `fd` takes bytes; false after `timeout_ms` (or when it never will).
bool WaitWritable(int fd, int timeout_ms) {
  struct pollfd entry = {fd, POLLOUT, 0};
  for (;;) {
    int ready = poll(&entry, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    return ready > 0 && (entry.revents & POLLOUT) != 0;
  }
}

}  // namespace

std::string DroppedLine(uint64_t dropped, const DroppedNotice& notice) {
  if (!notice.json) {
    return "blockbuster: " + std::to_string(dropped) +
           " lines dropped (the output stayed full for " + std::to_string(kStallMs) + " ms)\n";
  }
  std::string line = "{\"schemaVersion\":" + std::to_string(notice.schema_version) +
                     ",\"kind\":\"dropped\",\"time\":\"" + IsoTimeNow() +
                     "\",\"pid\":" + std::to_string(getpid()) + ",\"hostname\":";
  AppendJsonString(&line, Hostname());
  return line + ",\"threadId\":" + std::to_string(notice.thread_id) +
         ",\"source\":\"writer\",\"dropped\":" + std::to_string(dropped) + "}\n";
}

// ISO 8601 in UTC with milliseconds, like Date#toISOString.
std::string IsoTimeNow() {
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

std::string Hostname() {
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  return host;
}

bool HasSurrogate(std::string_view utf8) {
  for (size_t i = 0; i + 1 < utf8.size(); i++) {
    if (static_cast<unsigned char>(utf8[i]) == 0xED &&
        (static_cast<unsigned char>(utf8[i + 1]) & 0xE0) == 0xA0) {
      return true;
    }
  }
  return false;
}

std::u16string Utf16(std::string_view utf8) {
  std::u16string out;
  out.reserve(utf8.size());
  for (size_t i = 0; i < utf8.size();) {
    char32_t point = NextCodePoint(utf8, &i);
    if (point == kInvalid) point = 0xFFFD;
    if (point >= 0x10000) {
      out += static_cast<char16_t>(0xD800 + ((point - 0x10000) >> 10));
      out += static_cast<char16_t>(0xDC00 + ((point - 0x10000) & 0x3FF));
    } else {
      out += static_cast<char16_t>(point);
    }
  }
  return out;
}

std::string VisibleText(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  for (size_t i = 0; i < utf8.size();) {
    size_t start = i;
    char32_t point = NextCodePoint(utf8, &i);
    if (point == kInvalid) {
      AppendHex(&out, "\\x%02x", static_cast<unsigned char>(utf8[start]));
    } else if (point == '\t' || !IsHidden(point)) {
      AppendUtf8(&out, utf8, start, i);
    } else if (point == '\n') {
      out += "\\n";
    } else if (point == '\r') {
      out += "\\r";
    } else if (point < 0x80) {
      AppendHex(&out, "\\x%02x", static_cast<unsigned>(point));
    } else {
      AppendHex(&out, "\\u%04x", static_cast<unsigned>(point));
    }
  }
  return out;
}

void AppendJsonString(std::string* out, std::string_view utf8) {
  *out += '"';
  for (size_t i = 0; i < utf8.size();) {
    size_t start = i;
    char32_t point = NextCodePoint(utf8, &i);
    switch (point) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      case kInvalid:
        *out += "\\ufffd";
        break;
      default:
        if (IsHidden(point)) {
          AppendHex(out, "\\u%04x", static_cast<unsigned>(point));
        } else {
          AppendUtf8(out, utf8, start, i);
        }
    }
  }
  *out += '"';
}

LineWriter& LineWriter::Get() {
  // Never destroyed: a watchdog thread of a worker may write while the process exits.
  static LineWriter* writer = new LineWriter();
  return *writer;
}

LineWriter::Outcome LineWriter::WriteWhole(int fd, std::string_view line, int* error) {
  size_t offset = 0;
  while (offset < line.size()) {
    ssize_t written = write(fd, line.data() + offset, line.size() - offset);
    if (written > 0) {
      offset += static_cast<size_t>(written);
      continue;
    }
    if (written < 0 && errno == EINTR) continue;
    bool full = written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    *error = written < 0 ? errno : EIO;
    // Once the output stayed full, the next lines do not wait again until one goes out.
    int wait_ms = offset > 0 ? kTornStallMs : stalled_ ? 0 : kStallMs;
    if (full && WaitWritable(fd, wait_ms)) continue;
    if (!full && offset == 0) return Outcome::kFailed;
    stalled_ = true;
    return offset == 0 ? Outcome::kFull : Outcome::kTorn;
  }
  stalled_ = false;
  return Outcome::kWritten;
}

int LineWriter::Write(int fd, std::string_view line, const DroppedNotice& notice) {
  std::lock_guard<std::mutex> lock(mutex_);
  int error = 0;
  if (dropped_ > 0) {
    Outcome outcome = WriteWhole(fd, DroppedLine(dropped_, notice), &error);
    if (outcome == Outcome::kFull) {
      dropped_++;
      return 1;
    }
    if (outcome == Outcome::kFailed) return -error;
    // A torn notice ends in the middle: the newline keeps the next line whole.
    if (outcome == Outcome::kTorn) WriteWhole(fd, "\n", &error);
    dropped_ = 0;
  }
  switch (WriteWhole(fd, line, &error)) {
    case Outcome::kWritten:
      return 0;
    case Outcome::kFailed:
      return -error;
    case Outcome::kTorn:
      WriteWhole(fd, "\n", &error);
      break;
    case Outcome::kFull:
      break;
  }
  dropped_++;
  return 1;
}

void LineWriter::Flush(int fd, const DroppedNotice& notice) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (dropped_ == 0) return;
  // The last chance to say the count: one full wait, even after the output stayed full.
  stalled_ = false;
  int error = 0;
  Outcome outcome = WriteWhole(fd, DroppedLine(dropped_, notice), &error);
  if (outcome == Outcome::kTorn) WriteWhole(fd, "\n", &error);
  if (outcome == Outcome::kWritten || outcome == Outcome::kTorn) dropped_ = 0;
}

ReportBudget::ReportBudget(double per_minute, bool group_live_lines)
    : per_minute_(per_minute), group_live_lines_(group_live_lines) {}

bool ReportBudget::TakeLocked(Clock::time_point now) {
  while (!sent_.empty() && now - sent_.front() >= kWindow) sent_.pop_front();
  if (static_cast<double>(sent_.size()) >= per_minute_) return false;
  sent_.push_back(now);
  return true;
}

bool ReportBudget::TakeReport() {
  std::lock_guard<std::mutex> lock(mutex_);
  return TakeLocked(Clock::now());
}

bool ReportBudget::TakeLiveLine(const std::string& culprit) {
  std::lock_guard<std::mutex> lock(mutex_);
  Clock::time_point now = Clock::now();
  if (group_live_lines_) {
    auto seen = live_culprits_.find(culprit);
    if (seen != live_culprits_.end() && now - seen->second < kWindow) return false;
  }
  if (!TakeLocked(now)) return false;
  if (group_live_lines_) {
    if (live_culprits_.size() >= kMaxLiveCulprits) live_culprits_.clear();
    live_culprits_[culprit] = now;
  }
  return true;
}

}  // namespace blockbuster
