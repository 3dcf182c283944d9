{
  "variables": {
    # "openblas", "accelerate" or "none" (our portable kernel only): see detect-blas.js.
    "blas%": "<!(node ./detect-blas.js)"
  },
  "targets": [
    {
      "target_name": "mechinterp_gemm",
      "sources": ["src/gemm.cc", "src/gemm_select.cc", "src/sgemm_dispatch.cc", "src/portable_sgemm.cc"],
      "cflags_cc": ["-O3", "-std=c++17"],
      "conditions": [
        ["blas=='accelerate'", {
          "libraries": ["-framework Accelerate"],
          "defines": ["USE_ACCELERATE"]
        }],
        ["blas=='openblas'", {
          "defines": ["MECHINTERP_HAVE_OPENBLAS"],
          "include_dirs": ["/usr/include/x86_64-linux-gnu", "/usr/include/aarch64-linux-gnu", "/usr/include/openblas", "/usr/local/include", "/opt/homebrew/opt/openblas/include"],
          "libraries": ["-L/usr/local/lib", "-L/opt/homebrew/opt/openblas/lib", "-lopenblas"]
        }],
        ["OS=='mac'", {
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17"], "MACOSX_DEPLOYMENT_TARGET": "11.0" }
        }],
        ["OS=='linux' and target_arch=='x64'", {
          "cflags_cc": ["-march=native"]
        }]
      ]
    }
  ]
}
