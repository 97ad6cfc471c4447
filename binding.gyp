{
  "targets": [
    {
      "target_name": "blockbuster",
      "sources": [
        "src/addon.cc",
        "src/loop_probe.cc",
        "src/report_line.cc",
        "src/stack_capture.cc",
        "src/thread_sampler.cc",
        "src/waker.cc",
        "src/watchdog.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["BLOCKBUSTER_NODE_ABI=<(node_module_version)", "NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++20", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++20",
        "MACOSX_DEPLOYMENT_TARGET": "10.15"
      }
    }
  ]
}
