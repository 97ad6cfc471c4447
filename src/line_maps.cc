#include "line_maps.h"

#include <mutex>
#include <unordered_map>
#include <utility>

namespace blockbuster {
namespace {

// A process maps few files in its reports; past this many, later maps are not kept.
constexpr size_t kMaxFiles = 256;

struct FileMap {
  std::vector<std::string> sources;
  std::vector<MappedLine> lines;  // by generated line - 1
};

struct Maps {
  std::mutex mutex;
  std::unordered_map<std::string, FileMap> files;
};

// Never destroyed: a watchdog thread may still read it while the process exits.
Maps& TheMaps() {
  static Maps* maps = new Maps();
  return *maps;
}

}  // namespace

void SetLineMap(const std::string& file, std::vector<std::string> sources,
                std::vector<MappedLine> lines) {
  Maps& maps = TheMaps();
  std::lock_guard<std::mutex> lock(maps.mutex);
  if (maps.files.size() >= kMaxFiles && maps.files.count(file) == 0) return;
  maps.files[file] = FileMap{std::move(sources), std::move(lines)};
}

bool MapFrame(Frame* frame) {
  Maps& maps = TheMaps();
  std::lock_guard<std::mutex> lock(maps.mutex);
  auto found = maps.files.find(frame->file);
  if (found == maps.files.end() || frame->line < 1) return false;
  const FileMap& map = found->second;
  size_t index = static_cast<size_t>(frame->line) - 1;
  if (index >= map.lines.size()) return false;
  const MappedLine& mapped = map.lines[index];
  if (mapped.source < 0 || static_cast<size_t>(mapped.source) >= map.sources.size()) return false;
  frame->file = map.sources[static_cast<size_t>(mapped.source)];
  frame->line = mapped.line;
  frame->column = mapped.column;
  return true;
}

}  // namespace blockbuster
