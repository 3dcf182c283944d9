{
  "targets": [
    {
      "target_name": "mechinterp_gemm",
      "sources": ["src/gemm.cc"],
      "cflags_cc": ["-O3", "-std=c++17"],
      "conditions": [
        ["OS=='mac'", {
          "libraries": ["-framework Accelerate"],
          "defines": ["USE_ACCELERATE"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17"] }
        }],
        ["OS=='linux'", {
          "include_dirs": ["/usr/include/x86_64-linux-gnu", "/usr/include/aarch64-linux-gnu", "/usr/include/openblas"],
          "libraries": ["-lopenblas"]
        }],
        ["OS=='linux' and target_arch=='x64'", {
          "cflags_cc": ["-march=native"]
        }]
      ]
    }
  ]
}
