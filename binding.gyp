{
  "targets": [
    {
      "target_name": "blockbuster",
      "sources": [
        "src/addon.cc",
        "src/api_names.cc",
        "src/async_context.cc",
        "src/block_tracker.cc",
        "src/contract_js.cc",
        "src/evidence_js.cc",
        "src/gc_clock.cc",
        "src/js_stack.cc",
        "src/line_maps.cc",
        "src/line_writer.cc",
        "src/loop_probe.cc",
        "src/report_line.cc",
        "src/thread_probe.cc",
        "src/waker.cc",
        "src/watchdog.cc"
      ],
      # Platform code is chosen by file, not by #ifdef (as libuv does): the signal sampler needs
      # Linux's pthread_sigqueue, ucontext and dl_iterate_phdr; elsewhere it answers nothing.
      "conditions": [
        ["OS=='linux'",
          {"sources": ["src/thread_sampler_linux.cc", "src/linker_pages_linux.cc"]},
          {"sources": ["src/thread_sampler_portable.cc", "src/linker_pages_portable.cc"]}]
      ],
      # NAPI_VERSION here picks which Node-API functions the code may call; it does not make the
      # binary ABI-stable. The watchdog reaches into V8 (v8::Isolate interrupts, GC callbacks, the
      # VM state), whose C++ ABI changes with every Node major: hence one prebuild per
      # node_module_version (BLOCKBUSTER_NODE_ABI), which the loader checks before it dlopens.
      # Raw Node-API (node_api.h) only: no node-addon-api header is compiled in (src/addon.cc says why).
      "defines": ["BLOCKBUSTER_NODE_ABI=<(node_module_version)", "NAPI_VERSION=8"],
      # -Os: every page of the addon's code a process runs stays in its RSS; 67 KB of code instead
      # of 200 KB at -O3, and nothing here is hot (the per-iteration loop hooks are a few loads).
      # Hidden visibility: only the Node-API entry is exported, so the addon's calls to its own
      # functions are not looked up through node's symbol tables (src/linker_pages.h).
      "cflags_cc": ["-std=c++20", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Os",
                    "-fvisibility=hidden", "-fvisibility-inlines-hidden"],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++20",
        "MACOSX_DEPLOYMENT_TARGET": "10.15"
      }
    }
  ]
}
