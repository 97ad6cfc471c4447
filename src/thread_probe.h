// What the kernel says about the watched thread, read from another thread without disturbing it:
// the syscall it is in (/proc/self/task/<tid>/syscall), its CPU time (its CPU clock), the time it
// waited for a CPU (schedstat) and the CPU-limit throttling of its cgroup (cpu.stat).
#pragma once

#include <time.h>

#include <cstdint>
#include <string>

namespace blockbuster {

// One look at the thread's syscall.
struct SyscallPeek {
  static constexpr int kRunning = -1;  // on the CPU, or blocked outside a syscall
  static constexpr int kUnknown = -2;  // no /proc, or the read failed
  int number = kUnknown;
  uint64_t first_argument = 0;
};

// Counters that only grow; a block's share is the difference between two readings.
struct ThreadUsage {
  uint64_t cpu_ns = 0;
  uint64_t run_delay_ns = 0;  // waiting on a run queue (needs schedstat)
  uint64_t throttled_us = 0;  // the cgroup's CPU limit held the process back (cgroup v2)
  uint64_t throttled_periods = 0;
  bool has_cpu = false;
  bool has_run_delay = false;
  bool has_throttling = false;
};

// A syscall number the peek read (neither kRunning nor kUnknown).
inline bool SyscallKnown(int number) { return number >= 0; }

// The syscall's name on this architecture; nullptr for one we do not name.
const char* SyscallName(int number);
// A sleep or wait that a signal would cut short (EINTR, or a shorter sleep): never signal then.
bool SyscallWaits(int number);
// A read/write-family syscall whose first argument is a file descriptor.
bool SyscallOnFd(int number);
// The file behind one of this process's descriptors (`/proc/self/fd/<fd>`), and whether it is a
// regular file or a block device: a signal cannot cut short I/O on those.
std::string DescribeFd(int fd, bool* is_disk_file);

class ThreadProbe {
 public:
  // Thread to watch: opens its files and its CPU clock.
  ThreadProbe();
  ~ThreadProbe();
  ThreadProbe(const ThreadProbe&) = delete;
  ThreadProbe& operator=(const ThreadProbe&) = delete;

  // Any thread. One pread of the task's syscall file (~13 µs).
  SyscallPeek Syscall() const;
  // Any thread. The CPU clock alone (no file read).
  bool CpuNs(uint64_t* out) const;
  // Any thread. CPU clock, schedstat and the cgroup's cpu.stat.
  ThreadUsage Usage() const;

 private:
  int syscall_fd_ = -1;
  int schedstat_fd_ = -1;
  int cgroup_cpu_stat_fd_ = -1;
  clockid_t cpu_clock_{};
  bool has_cpu_clock_ = false;
};

}  // namespace blockbuster
