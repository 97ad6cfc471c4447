// Positive control for check-asan.sh: built with the same flags and dlopen()ed by node under the
// same ASan runtime and options, its constructor overflows a heap buffer. The check requires the
// resulting report, so a runtime or log path that silently catches nothing fails the run.
#include <stdlib.h>

__attribute__((constructor)) static void overflow(void) {
  volatile char* buffer = malloc(8);
  buffer[8] = 1;
  free((void*)buffer);
}
