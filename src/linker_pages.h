// The pages of Node's dynamic symbol tables that binding this addon maps into the process.
//
// The dynamic linker resolves each Node-API and V8 symbol this addon calls (lazily, at its
// first call) by reading the hash table, the symbol table and the string table of the object
// that defines them: node itself, or libnode.so. Those tables are 7.6 MB in Node 20 and every
// lookup lands on a page of its own; the kernel maps 64 KB around each fault, so binding ~70
// symbols leaves ~1 MB of them in the process's RSS. They are clean pages of a read-only file
// mapping: dropping them from the page tables changes no byte the process can read (a later
// access maps the same page-cache page again), and the kernel keeps them in its page cache.
#pragma once

namespace blockbuster {

// Notes which pages of those tables are mapped now, before this addon binds anything. Once per
// process; later calls do nothing. Cheap: one pread of /proc/self/pagemap (~15 KB in Node 20).
void NoteLinkerPages();

// Unmaps the pages of those tables that are mapped now but were not when NoteLinkerPages ran,
// if each is still a clean page of the file (never one written to: that would be anonymous).
// Pages the process had mapped before this addon loaded are left as they were.
// Thread-safe; does nothing where the tables cannot be found (no section headers, not Linux).
void ReleaseLinkerPages();

}  // namespace blockbuster
