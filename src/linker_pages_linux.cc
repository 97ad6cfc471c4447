// Linux: the tables are found from the section headers of the object that defines Node-API
// (node, or libnode.so), and which of their pages are mapped is read from /proc/self/pagemap.
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <node_api.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "linker_pages.h"

namespace blockbuster {
namespace {

constexpr uint64_t kPresent = uint64_t{1} << 63;
constexpr uint64_t kFileOrShared = uint64_t{1} << 61;
constexpr size_t kMaxSections = 4096;

struct Range {
  uintptr_t start;
  size_t pages;
  std::vector<bool> mapped_before;
};

struct Segment {
  uintptr_t start;
  uintptr_t end;
};

// What dl_iterate_phdr tells about the object holding `target`: its load bias, its file and its
// read-only segments (the tables live in one; a range outside them is never touched).
struct Object {
  uintptr_t target = 0;
  bool found = false;
  uintptr_t bias = 0;
  std::string path;
  std::vector<Segment> read_only;
};

int FindObject(dl_phdr_info* info, size_t, void* data) {
  auto* object = static_cast<Object*>(data);
  bool holds = false;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& phdr = info->dlpi_phdr[i];
    if (phdr.p_type != PT_LOAD) continue;
    uintptr_t start = info->dlpi_addr + phdr.p_vaddr;
    if (object->target >= start && object->target < start + phdr.p_memsz) holds = true;
  }
  if (!holds) return 0;
  object->found = true;
  object->bias = info->dlpi_addr;
  object->path =
      info->dlpi_name != nullptr && info->dlpi_name[0] != '\0' ? info->dlpi_name : "/proc/self/exe";
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& phdr = info->dlpi_phdr[i];
    if (phdr.p_type != PT_LOAD || (phdr.p_flags & PF_W) != 0) continue;
    uintptr_t start = info->dlpi_addr + phdr.p_vaddr;
    object->read_only.push_back({start, start + phdr.p_memsz});
  }
  return 1;
}

bool ReadAt(int fd, void* out, size_t bytes, off_t offset) {
  auto* to = static_cast<char*>(out);
  while (bytes > 0) {
    ssize_t got = pread(fd, to, bytes, offset);
    if (got <= 0) return false;
    to += got;
    bytes -= static_cast<size_t>(got);
    offset += got;
  }
  return true;
}

// The allocated sections the dynamic linker reads to look a symbol up: the hash tables, the
// symbol table, its string table and its version table, as page-aligned address ranges.
std::vector<Range> LookupTables(size_t page) {
  Object object;
  object.target = reinterpret_cast<uintptr_t>(&napi_create_function);
  dl_iterate_phdr(FindObject, &object);
  std::vector<Range> ranges;
  if (!object.found) return ranges;
  int fd = open(object.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ranges;
  ElfW(Ehdr) header;
  std::vector<ElfW(Shdr)> sections;
  if (ReadAt(fd, &header, sizeof header, 0) && header.e_ident[EI_MAG0] == ELFMAG0 &&
      header.e_ident[EI_MAG1] == ELFMAG1 && header.e_ident[EI_MAG2] == ELFMAG2 &&
      header.e_ident[EI_MAG3] == ELFMAG3 && header.e_shentsize == sizeof(ElfW(Shdr)) &&
      header.e_shnum > 0 && header.e_shnum < kMaxSections) {
    sections.resize(header.e_shnum);
    if (!ReadAt(fd, sections.data(), sections.size() * sizeof(ElfW(Shdr)),
                static_cast<off_t>(header.e_shoff))) {
      sections.clear();
    }
  }
  close(fd);
  std::vector<const ElfW(Shdr)*> wanted;
  for (const ElfW(Shdr) & section : sections) {
    bool table = section.sh_type == SHT_DYNSYM || section.sh_type == SHT_GNU_HASH ||
                 section.sh_type == SHT_HASH || section.sh_type == SHT_GNU_versym;
    if (!table) continue;
    wanted.push_back(&section);
    if (section.sh_type == SHT_DYNSYM && section.sh_link < sections.size()) {
      wanted.push_back(&sections[section.sh_link]);
    }
  }
  for (const ElfW(Shdr) * section : wanted) {
    if ((section->sh_flags & SHF_ALLOC) == 0 || section->sh_size == 0) continue;
    uintptr_t start = (object.bias + section->sh_addr) & ~(page - 1);
    uintptr_t end = (object.bias + section->sh_addr + section->sh_size + page - 1) & ~(page - 1);
    for (const Segment& segment : object.read_only) {
      // Only whole pages inside one read-only segment of the object.
      uintptr_t from = std::max(start, (segment.start + page - 1) & ~(page - 1));
      uintptr_t to = std::min(end, segment.end & ~(page - 1));
      if (from < to) ranges.push_back({from, (to - from) / page, {}});
    }
  }
  return ranges;
}

bool ReadPagemap(int fd, const Range& range, size_t page, std::vector<uint64_t>* entries) {
  entries->resize(range.pages);
  return ReadAt(fd, entries->data(), range.pages * sizeof(uint64_t),
                static_cast<off_t>(range.start / page * sizeof(uint64_t)));
}

struct LinkerPages {
  std::mutex mutex;
  bool noted = false;
  size_t page = 0;
  std::vector<Range> ranges;
};

// Process-wide (the dynamic linker's tables are), never destroyed: a worker may still call in
// while the process exits.
LinkerPages& Pages() {
  static auto* pages = new LinkerPages();
  return *pages;
}

}  // namespace

void NoteLinkerPages() {
  LinkerPages& pages = Pages();
  std::lock_guard<std::mutex> lock(pages.mutex);
  if (pages.noted) return;
  pages.noted = true;
  long page = sysconf(_SC_PAGESIZE);
  if (page <= 0) return;
  pages.page = static_cast<size_t>(page);
  int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  std::vector<Range> ranges = LookupTables(pages.page);
  std::vector<uint64_t> entries;
  for (Range& range : ranges) {
    if (!ReadPagemap(fd, range, pages.page, &entries)) continue;
    range.mapped_before.resize(range.pages);
    for (size_t i = 0; i < range.pages; i++) range.mapped_before[i] = (entries[i] & kPresent) != 0;
    pages.ranges.push_back(std::move(range));
  }
  close(fd);
}

void ReleaseLinkerPages() {
  LinkerPages& pages = Pages();
  std::lock_guard<std::mutex> lock(pages.mutex);
  if (pages.ranges.empty()) return;
  int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  std::vector<uint64_t> entries;
  for (const Range& range : pages.ranges) {
    if (!ReadPagemap(fd, range, pages.page, &entries)) continue;
    size_t run = 0;  // pages to drop, ending before i
    for (size_t i = 0; i <= range.pages; i++) {
      bool drop = i < range.pages && (entries[i] & kPresent) != 0 &&
                  (entries[i] & kFileOrShared) != 0 && !range.mapped_before[i];
      if (drop) {
        run++;
        continue;
      }
      if (run > 0) {
        madvise(reinterpret_cast<void*>(range.start + (i - run) * pages.page), run * pages.page,
                MADV_DONTNEED);
      }
      run = 0;
    }
  }
  close(fd);
}

}  // namespace blockbuster
