#include "evidence_js.h"

#include <algorithm>
#include <string>

#include "thread_probe.h"

namespace blockbuster {
namespace {

double NsToMs(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

}  // namespace

void SetSampleEvidence(JsBuilder& js, napi_value out, const BlockReport& report,
                       const Sample& sample) {
  js.Set(out, "signalled", js.Boolean(sample.signalled));
  js.Set(out, "movedOn", js.Boolean(sample.moved_on));
  if (sample.syscall >= 0) {
    const char* name = SyscallName(sample.syscall);
    js.Set(out, "syscall",
           js.String(name != nullptr ? std::string(name)
                                     : "syscall " + std::to_string(sample.syscall)));
    if (!sample.syscall_file.empty()) js.Set(out, "syscallFile", js.String(sample.syscall_file));
  } else if (sample.syscall == SyscallPeek::kRunning) {
    js.Set(out, "syscall", js.String("running"));
  }
  const ThreadUsage& start = report.usage_at_baseline;
  if (start.has_cpu && sample.cpu_ns >= start.cpu_ns && sample.cpu_ns != 0) {
    js.Set(out, "cpuMs", js.Number(NsToMs(sample.cpu_ns - start.cpu_ns)));
  }
}

void SetBlockUsage(JsBuilder& js, napi_value out, const BlockReport& report) {
  const ThreadUsage& start = report.usage_at_baseline;
  const ThreadUsage& end = report.usage_at_end;
  // CPU before the block start counts as the block's (a look is at most a little before it):
  // that errs toward "it ran", never toward "starved".
  uint64_t from = std::max(report.baseline_ns, report.start_ns);
  js.Set(out, "watchedMs", js.Number(NsToMs(report.end_ns > from ? report.end_ns - from : 0)));
  js.Set(out, "samplingCostMs", js.Number(NsToMs(report.sampling_cost_ns)));
  if (start.has_cpu && end.has_cpu && end.cpu_ns >= start.cpu_ns) {
    js.Set(out, "ranMs", js.Number(NsToMs(end.cpu_ns - start.cpu_ns)));
  }
  if (start.has_run_delay && end.has_run_delay && end.run_delay_ns >= start.run_delay_ns) {
    js.Set(out, "waitedForCpuMs", js.Number(NsToMs(end.run_delay_ns - start.run_delay_ns)));
  }
  if (start.has_throttling && end.has_throttling &&
      end.throttled_periods >= start.throttled_periods) {
    napi_value throttled = js.Object();
    js.Set(throttled, "periods",
           js.Number(static_cast<double>(end.throttled_periods - start.throttled_periods)));
    js.Set(throttled, "ms",
           js.Number(static_cast<double>(end.throttled_us - start.throttled_us) / 1e3));
    js.Set(out, "throttled", throttled);
  }
}

}  // namespace blockbuster
