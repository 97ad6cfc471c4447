// Elsewhere than Linux there is no /proc/self/pagemap: the linker's pages are left as they are.
#include "linker_pages.h"

namespace blockbuster {
void NoteLinkerPages() {}
void ReleaseLinkerPages() {}
}  // namespace blockbuster
