// The names of the APIs the call-site recorder tracks (fs.readFileSync, better_sqlite3
// Statement.get, ...), by a small id JS writes into the shared flags as a tracked call begins, so
// that the native live line can say which API the thread is in while JS cannot run.
#pragma once

#include <cstdint>
#include <string>

namespace blockbuster {

// Any thread. The id of `name` (1, 2, ...), the same in every environment of the process; 0 when
// the table is full.
int32_t ApiNameId(const std::string& name);

// Any thread. The name of `id`, or empty for 0 and unknown ids.
std::string ApiName(int32_t id);

}  // namespace blockbuster
