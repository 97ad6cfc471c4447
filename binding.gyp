{
  "targets": [
    {
      "target_name": "blockbuster",
      "sources": [
        "src/addon.cc",
        "src/loop_probe.cc",
        "src/report_line.cc",
        "src/stack_capture.cc",
        "src/waker.cc",
        "src/watchdog.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "MACOSX_DEPLOYMENT_TARGET": "10.15"
      }
    }
  ]
}
