// Positive control for check-tsan.sh: an unsynchronised counter written by two threads. The check
// requires TSan to report it, so a build or runtime that catches nothing fails the run.
#include <thread>

int counter = 0;

int main() {
  std::thread other([] { counter++; });
  counter++;
  other.join();
  return 0;
}
