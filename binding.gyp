{
  # The vkmem addon: node-addon-api over VMA 3.x. The VMA header is fetched into vendor/vma/include
  # (git-ignored) by vendor/vma/fetch.sh. Release builds define NDEBUG; VMA's asserts are routed
  # to a recorder in native/vma_config.h so that nothing VMA checks can abort Node.
  #
  # Two builds of the same sources: `vkmem` (build/Release/vkmem.node), the normal one, and `vkmem_debug`
  # (build/Release/vkmem_debug.node) with VKMEM_DEBUG_BUILD, which turns on VMA's debug margin, corruption
  # detection and allocation fill patterns (native/vma_config.h). VMA's debug settings are compile-time
  # constants, hence a whole second build; an allocator created with `debug` options runs on it.
  #
  # A third, `vkmem_oracles` (build/Release/vkmem_oracles.node), is for the repository's tests and benches only: the
  # normal build plus the cross-check oracles that the TypeScript TLSF, linear and buddy allocators are compared
  # with (VMA's virtual blocks through native/virtual_block.cpp, vkmem's C++ buddy allocator native/buddy.cpp),
  # exported only there (VKMEM_ORACLES). It is never copied into prebuilds/ (scripts/prebuild.mjs copies the two
  # above) and nothing under engine/ loads it unless a test or bench asks (engine/native.ts, oracleNative).
  "target_defaults": {
    "sources": [
      "native/addon.cpp",
      "native/aliasing.cpp",
      "native/allocator.cpp",
      "native/allocation.cpp",
      "native/copy_commands.cpp",
      "native/batch.cpp",
      "native/corruption.cpp",
      "native/defragmentation.cpp",
      "native/deferred_free.cpp",
      "native/buddy_pool.cpp",
      "native/pages.cpp",
      "native/pool.cpp",
      "native/trace_file.cpp",
      "native/trace_sink.cpp",
      "native/upload_workers.cpp",
      "native/vma_impl.cpp"
    ],
    "include_dirs": [
      "<!(node -p \"require('node-addon-api').include_dir\")",
      "vendor/vma/include",
      "native"
    ],
    "defines": [
      "NAPI_VERSION=8",
      "NODE_ADDON_API_DISABLE_DEPRECATED",
      "NAPI_CPP_EXCEPTIONS",
      "NDEBUG"
    ],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
    "cflags_cc": ["-std=c++17", "-O2", "-fvisibility=hidden", "-Wall", "-Wno-unused-variable", "-Wno-unused-parameter", "-Wno-missing-field-initializers", "-Wno-unused-function"],
    "libraries": ["-lvulkan"]
  },
  "targets": [
    {
      "target_name": "vkmem"
    },
    {
      "target_name": "vkmem_debug",
      "defines": ["VKMEM_DEBUG_BUILD"]
    },
    {
      "target_name": "vkmem_oracles",
      "sources": ["native/virtual_block.cpp", "native/buddy.cpp", "native/image_bench.cpp"],
      "defines": ["VKMEM_ORACLES"]
    }
  ]
}
