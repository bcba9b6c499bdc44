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
  #
  # A source is compiled once for every build that compiles it alike: the first three targets are static
  # libraries of the objects that two or three addons share, and each addon compiles only the sources its own
  # define changes (each file that reads VKMEM_DEBUG_BUILD, VMA's debug settings or VKMEM_ORACLES is in the addon
  # targets' lists). 28 compilations instead of 51: the set-up step, the sanitizer build and the Windows build each
  # take about half as long. No header may change a type's layout by those defines (Addon::virtualBlocks is a
  # pointer for that reason): the addons share the objects compiled against it. scripts/build-win.mjs reads this
  # file and builds the same way.
  "variables": {"vkmem_oracles%": 1},
  "target_defaults": {
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
    "libraries": ["-lvulkan"],
    "conditions": [["OS!='win'", {"cflags": ["-fPIC"]}]]
  },
  "targets": [
    {
      # The sources that read neither VKMEM_DEBUG_BUILD (nor VMA's debug settings) nor VKMEM_ORACLES: compiled
      # once, the same objects in all three addons.
      "target_name": "vkmem_common",
      "type": "static_library",
      "sources": [
        "native/aliasing.cpp",
        "native/allocator.cpp",
        "native/copy_commands.cpp",
        "native/frame_commands.cpp",
        "native/defragmentation.cpp",
        "native/buddy_pool.cpp",
        "native/pages.cpp",
        "native/pool.cpp",
        "native/scatter_copy.cpp",
        "native/trace_sink.cpp",
        "native/upload_workers.cpp"
      ]
    },
    {
      # Sources that read VMA's debug settings (native/vma_config.h), built with VMA's defaults: vkmem, vkmem_oracles.
      "target_name": "vkmem_vma_defaults",
      "type": "static_library",
      "sources": ["native/allocation.cpp", "native/corruption.cpp", "native/vma_impl.cpp"]
    },
    {
      # Sources that read VKMEM_ORACLES, built without the oracles: vkmem, vkmem_debug.
      "target_name": "vkmem_no_oracles",
      "type": "static_library",
      "sources": ["native/deferred_free.cpp", "native/trace_file.cpp"]
    },
    {
      "target_name": "vkmem",
      "sources": ["native/addon.cpp", "native/batch.cpp"],
      "dependencies": ["vkmem_common", "vkmem_vma_defaults", "vkmem_no_oracles"]
    },
    {
      "target_name": "vkmem_debug",
      "defines": ["VKMEM_DEBUG_BUILD"],
      "sources": [
        "native/addon.cpp",
        "native/batch.cpp",
        "native/allocation.cpp",
        "native/corruption.cpp",
        "native/vma_impl.cpp"
      ],
      "dependencies": ["vkmem_common", "vkmem_no_oracles"]
    }
  ],
  # The oracles build only where `vkmem_oracles` is 1 (the default): a consumer's install from source
  # (scripts/install.mjs) configures with 0 and compiles the two addons that ship.
  "conditions": [
    ["vkmem_oracles==1", {
      "targets": [
        {
          "target_name": "vkmem_oracles",
          "defines": ["VKMEM_ORACLES"],
          "sources": [
            "native/addon.cpp",
            "native/batch.cpp",
            "native/deferred_free.cpp",
            "native/trace_file.cpp",
            "native/virtual_block.cpp",
            "native/buddy.cpp",
            "native/image_bench.cpp"
          ],
          "dependencies": ["vkmem_common", "vkmem_vma_defaults"]
        }
      ]
    }]
  ]
}
