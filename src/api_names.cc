#include "api_names.h"

#include <mutex>
#include <unordered_map>
#include <vector>

namespace blockbuster {
namespace {

// Builtins plus every export of every addon the app loads: bounded, a process never has more.
constexpr size_t kMaxNames = 4096;

struct Table {
  std::mutex mutex;
  std::vector<std::string> names;  // id - 1
  std::unordered_map<std::string, int32_t> ids;
};

// Never destroyed: a watchdog thread may still read it while the process exits.
Table& TheTable() {
  static Table* table = new Table();
  return *table;
}

}  // namespace

int32_t ApiNameId(const std::string& name) {
  Table& table = TheTable();
  std::lock_guard<std::mutex> lock(table.mutex);
  auto found = table.ids.find(name);
  if (found != table.ids.end()) return found->second;
  if (table.names.size() >= kMaxNames) return 0;
  table.names.push_back(name);
  int32_t id = static_cast<int32_t>(table.names.size());
  table.ids.emplace(name, id);
  return id;
}

std::string ApiName(int32_t id) {
  Table& table = TheTable();
  std::lock_guard<std::mutex> lock(table.mutex);
  if (id <= 0 || static_cast<size_t>(id) > table.names.size()) return std::string();
  return table.names[static_cast<size_t>(id) - 1];
}

}  // namespace blockbuster
