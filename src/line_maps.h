// Source maps for the native lines: the watchdog thread writes the live line while JS cannot run,
// so it cannot read a source map itself. Once JS has loaded a file's map (for a report), it hands
// over a line-level copy: for each generated line, the original file and line. Later live lines
// then say `src/app.ts:16` where they said `dist/app.js:10`, as the reports do.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "report.h"

namespace blockbuster {

struct MappedLine {
  int32_t source = -1;  // index into the file's sources; -1: this generated line has no mapping
  int32_t line = 0;     // 1-based original line
  int32_t column = 0;   // 1-based original column of the line's mapped segment
};

// Any thread. Replaces what is known of `file` (a path or a file:// URL, as V8 names it).
void SetLineMap(const std::string& file, std::vector<std::string> sources,
                std::vector<MappedLine> lines);

// Any thread. `frame` in original coordinates where a map is known; false leaves it as it was.
bool MapFrame(Frame* frame);

}  // namespace blockbuster
