#include "thread_probe.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace blockbuster {
namespace {

struct SyscallEntry {
  int number;
  const char* name;
  bool waits;  // a signal cuts it short
  bool on_fd;  // its first argument is a file descriptor
};

// The names come from <sys/syscall.h>, so one table serves x64 and arm64 (which lacks the old
// poll/select/epoll_wait/pause forms).
#define BLOCKBUSTER_SYSCALL(name, waits, on_fd) {SYS_##name, #name, waits, on_fd},
const SyscallEntry kSyscalls[] = {
#if defined(__linux__)
    BLOCKBUSTER_SYSCALL(nanosleep, true, false) BLOCKBUSTER_SYSCALL(
        clock_nanosleep, true, false) BLOCKBUSTER_SYSCALL(futex, true, false)
#ifdef SYS_futex_waitv
        BLOCKBUSTER_SYSCALL(futex_waitv, true, false)
#endif
#ifdef SYS_poll
            BLOCKBUSTER_SYSCALL(poll, true, false)
#endif
#ifdef SYS_select
                BLOCKBUSTER_SYSCALL(select, true, false)
#endif
#ifdef SYS_epoll_wait
                    BLOCKBUSTER_SYSCALL(epoll_wait, true, false)
#endif
#ifdef SYS_pause
                        BLOCKBUSTER_SYSCALL(pause, true, false)
#endif
                            BLOCKBUSTER_SYSCALL(ppoll, true, false) BLOCKBUSTER_SYSCALL(
                                pselect6, true, false) BLOCKBUSTER_SYSCALL(epoll_pwait, true, false)
#ifdef SYS_epoll_pwait2
                                BLOCKBUSTER_SYSCALL(epoll_pwait2, true, false)
#endif
                                    BLOCKBUSTER_SYSCALL(
                                        rt_sigsuspend, true,
                                        false) BLOCKBUSTER_SYSCALL(rt_sigtimedwait, true,
                                                                   false) BLOCKBUSTER_SYSCALL(wait4,
                                                                                              true,
                                                                                              false)
                                        BLOCKBUSTER_SYSCALL(waitid, true, false) BLOCKBUSTER_SYSCALL(
                                            accept, true, true) BLOCKBUSTER_SYSCALL(accept4, true,
                                                                                    true)
                                            BLOCKBUSTER_SYSCALL(
                                                connect, true, true) BLOCKBUSTER_SYSCALL(recvfrom,
                                                                                         true, true)
                                                BLOCKBUSTER_SYSCALL(
                                                    recvmsg, true,
                                                    true) BLOCKBUSTER_SYSCALL(recvmmsg, true, true)
                                                    BLOCKBUSTER_SYSCALL(
                                                        sendto, true,
                                                        true) BLOCKBUSTER_SYSCALL(sendmsg, true,
                                                                                  true)
                                                        BLOCKBUSTER_SYSCALL(
                                                            sendmmsg, true,
                                                            true) BLOCKBUSTER_SYSCALL(flock, true,
                                                                                      true)
                                                            BLOCKBUSTER_SYSCALL(
                                                                fcntl, true,
                                                                true) BLOCKBUSTER_SYSCALL(semop,
                                                                                          true,
                                                                                          false)
                                                                BLOCKBUSTER_SYSCALL(semtimedop,
                                                                                    true, false)
                                                                    BLOCKBUSTER_SYSCALL(msgrcv,
                                                                                        true, false)
                                                                        BLOCKBUSTER_SYSCALL(
                                                                            msgsnd, true, false)
                                                                            BLOCKBUSTER_SYSCALL(
                                                                                io_getevents, true,
                                                                                false)
#ifdef SYS_io_uring_enter
                                                                                BLOCKBUSTER_SYSCALL(
                                                                                    io_uring_enter,
                                                                                    true, true)
#endif
    // Reads and writes wait only on pipes, sockets and terminals: see DescribeFd.
    BLOCKBUSTER_SYSCALL(read, false, true) BLOCKBUSTER_SYSCALL(
        write, false, true) BLOCKBUSTER_SYSCALL(readv, false, true)
        BLOCKBUSTER_SYSCALL(writev, false, true) BLOCKBUSTER_SYSCALL(
            pread64, false, true) BLOCKBUSTER_SYSCALL(pwrite64, false,
                                                      true) BLOCKBUSTER_SYSCALL(preadv, false, true)
            BLOCKBUSTER_SYSCALL(pwritev, false, true) BLOCKBUSTER_SYSCALL(
                preadv2, false, true) BLOCKBUSTER_SYSCALL(pwritev2, false, true)
                BLOCKBUSTER_SYSCALL(fsync, false, true) BLOCKBUSTER_SYSCALL(
                    fdatasync, false, true) BLOCKBUSTER_SYSCALL(sync_file_range, false, true)
                    BLOCKBUSTER_SYSCALL(ftruncate, false, true) BLOCKBUSTER_SYSCALL(
                        fallocate, false, true) BLOCKBUSTER_SYSCALL(sendfile, false, true)
                        BLOCKBUSTER_SYSCALL(copy_file_range, false, true) BLOCKBUSTER_SYSCALL(
                            ioctl, false, true) BLOCKBUSTER_SYSCALL(getdents64, false, true)
                            BLOCKBUSTER_SYSCALL(openat, false, false) BLOCKBUSTER_SYSCALL(
                                unlinkat, false, false) BLOCKBUSTER_SYSCALL(renameat2, false, false)
                                BLOCKBUSTER_SYSCALL(newfstatat, false, false) BLOCKBUSTER_SYSCALL(
                                    statx, false, false) BLOCKBUSTER_SYSCALL(mmap, false, false)
                                    BLOCKBUSTER_SYSCALL(munmap, false, false)
                                        BLOCKBUSTER_SYSCALL(madvise, false, false)
                                            BLOCKBUSTER_SYSCALL(sched_yield, false, false)
                                                BLOCKBUSTER_SYSCALL(execve, false, false)
                                                    BLOCKBUSTER_SYSCALL(clone, false, false)
#endif
};
#undef BLOCKBUSTER_SYSCALL

const SyscallEntry* Find(int number) {
  for (const SyscallEntry& entry : kSyscalls) {
    if (entry.number == number) return &entry;
  }
  return nullptr;
}

// Reads a small /proc file from its start into `buffer` (NUL-terminated); false on failure.
bool ReadAt0(int fd, char* buffer, size_t size) {
  if (fd < 0) return false;
  ssize_t length = pread(fd, buffer, size - 1, 0);
  if (length <= 0) return false;
  buffer[length] = '\0';
  return true;
}

uint64_t FieldAfter(const char* text, const char* key, bool* found) {
  const char* at = strstr(text, key);
  if (at == nullptr) return 0;
  *found = true;
  return strtoull(at + strlen(key), nullptr, 10);
}

// The cpu.stat of this process's cgroup: v2 ("0::<path>") or v1's cpu controller
// ("<n>:cpu,cpuacct:<path>"); -1 when neither can be opened.
int OpenCgroupCpuStat() {
  FILE* file = fopen("/proc/self/cgroup", "re");
  if (file == nullptr) return -1;
  char line[PATH_MAX];
  int fd = -1;
  while (fd < 0 && fgets(line, sizeof(line), file) != nullptr) {
    line[strcspn(line, "\n")] = '\0';
    char* controllers = strchr(line, ':');
    char* path = controllers == nullptr ? nullptr : strchr(controllers + 1, ':');
    if (path == nullptr) continue;
    std::string names(controllers + 1, path - controllers - 1);
    std::string relative = std::string(path + 1) + (path[strlen(path) - 1] == '/' ? "" : "/");
    if (names.empty()) {
      fd = open(("/sys/fs/cgroup" + relative + "cpu.stat").c_str(), O_RDONLY | O_CLOEXEC);
    } else if (("," + names + ",").find(",cpu,") != std::string::npos) {
      fd = open(("/sys/fs/cgroup/" + names + relative + "cpu.stat").c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        fd = open(("/sys/fs/cgroup/cpu" + relative + "cpu.stat").c_str(), O_RDONLY | O_CLOEXEC);
    }
  }
  fclose(file);
  return fd;
}

}  // namespace

const char* SyscallName(int number) {
  const SyscallEntry* entry = Find(number);
  return entry == nullptr ? nullptr : entry->name;
}

bool SyscallWaits(int number) {
  const SyscallEntry* entry = Find(number);
  return entry != nullptr && entry->waits;
}

bool SyscallOnFd(int number) {
  const SyscallEntry* entry = Find(number);
  return entry != nullptr && entry->on_fd;
}

std::string DescribeFd(int fd, bool* is_disk_file) {
  *is_disk_file = false;
  if (fd < 0) return std::string();
  char link[64];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  char target[PATH_MAX];
  ssize_t length = readlink(link, target, sizeof(target) - 1);
  if (length <= 0) return std::string();
  // fds are the process's, so the watchdog thread can look at the watched thread's one itself.
  struct stat info;
  if (fstat(fd, &info) == 0) *is_disk_file = S_ISREG(info.st_mode) || S_ISBLK(info.st_mode);
  return std::string(target, static_cast<size_t>(length));
}

ThreadProbe::ThreadProbe() {
#if defined(__linux__)
  char path[64];
  long tid = syscall(SYS_gettid);
  snprintf(path, sizeof(path), "/proc/self/task/%ld/syscall", tid);
  syscall_fd_ = open(path, O_RDONLY | O_CLOEXEC);
  snprintf(path, sizeof(path), "/proc/self/task/%ld/schedstat", tid);
  schedstat_fd_ = open(path, O_RDONLY | O_CLOEXEC);
  cgroup_cpu_stat_fd_ = OpenCgroupCpuStat();
#endif
  has_cpu_clock_ = pthread_getcpuclockid(pthread_self(), &cpu_clock_) == 0;
}

ThreadProbe::~ThreadProbe() {
  for (int fd : {syscall_fd_, schedstat_fd_, cgroup_cpu_stat_fd_}) {
    if (fd >= 0) close(fd);
  }
}

SyscallPeek ThreadProbe::Syscall() const {
  SyscallPeek peek;
  char text[256];
  if (!ReadAt0(syscall_fd_, text, sizeof(text))) return peek;
  // "running", "-1 <sp> <pc>" (blocked outside a syscall) or "<nr> <6 arguments> <sp> <pc>".
  if (text[0] == 'r' || text[0] == '-') {
    peek.number = SyscallPeek::kRunning;
    return peek;
  }
  char* rest = nullptr;
  peek.number = static_cast<int>(strtol(text, &rest, 10));
  peek.first_argument = strtoull(rest, nullptr, 16);
  return peek;
}

bool ThreadProbe::CpuNs(uint64_t* out) const {
  struct timespec now;
  if (!has_cpu_clock_ || clock_gettime(cpu_clock_, &now) != 0) return false;
  *out = static_cast<uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(now.tv_nsec);
  return true;
}

ThreadUsage ThreadProbe::Usage() const {
  ThreadUsage usage;
  usage.has_cpu = CpuNs(&usage.cpu_ns);
  char text[1024];
  if (ReadAt0(schedstat_fd_, text, sizeof(text))) {
    char* rest = nullptr;
    strtoull(text, &rest, 10);
    if (rest != text) {
      usage.run_delay_ns = strtoull(rest, nullptr, 10);
      usage.has_run_delay = true;
    }
  }
  if (ReadAt0(cgroup_cpu_stat_fd_, text, sizeof(text))) {
    bool periods = false, v2_time = false, v1_time = false;
    usage.throttled_periods = FieldAfter(text, "nr_throttled ", &periods);
    usage.throttled_us = FieldAfter(text, "throttled_usec ", &v2_time);
    if (!v2_time) usage.throttled_us = FieldAfter(text, "throttled_time ", &v1_time) / 1000;
    usage.has_throttling = periods && (v2_time || v1_time);
  }
  return usage;
}

}  // namespace blockbuster
