{
  "targets": [
    {
      "target_name": "finetune_native",
      "sources": [
        "src/addon.cc",
        "src/tensor_create.cc",
        "src/tensor_ops.cc",
        "src/runtime.cc",
        "src/train_ops.cc",
        "src/distributed.cc",
        "src/linear_ops.cc",
        "src/js_function.cc",
        "src/bf16_gemm.cc",
        "src/dropout_ops.cc",
        "gen/ops.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node ../scripts/find-libtorch.mjs includes)",
        "compat"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["<!@(node ../scripts/find-libtorch.mjs cflags)", "-fexceptions", "-frtti", "-O3", "-fno-math-errno", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "ldflags": ["<!@(node ../scripts/find-libtorch.mjs ldflags)"],
      "libraries": []
    }
  ]
}
