"use strict";
// Prints the BLAS binding.gyp links against: "openblas", "accelerate" or "none" (then the addon
// multiplies with its own portable kernel, src/portable_sgemm.cc).
//   MECHINTERP_BLAS=none (or "portable") skips the search; MECHINTERP_BLAS=openblas insists.
// On Linux it compiles and links a three-line program that calls cblas_sgemm, so a header without
// the library (or the reverse) counts as absent. The reason goes to stderr.
const { spawnSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

/** Extra include directories where distributions put cblas.h (also read by binding.gyp). */
const INCLUDE_DIRS = ["/usr/include/x86_64-linux-gnu", "/usr/include/aarch64-linux-gnu", "/usr/include/openblas", "/usr/local/include", "/opt/homebrew/opt/openblas/include"];
const LIB_DIRS = ["/usr/local/lib", "/opt/homebrew/opt/openblas/lib"];

function say(message) {
  process.stderr.write(`mechinterp-native-gemm: ${message}\n`);
}

/** Whether a program calling cblas_sgemm compiles and links with -lopenblas. */
function openblasLinks() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mechinterp-blas-"));
  try {
    const src = path.join(dir, "check.cc");
    fs.writeFileSync(src, "#include <cblas.h>\nint main() { float a = 1, b = 1, c = 0;\n" +
      "cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1); return c == 1 ? 0 : 1; }\n");
    const cxx = process.env.CXX || "c++";
    const args = [src, "-o", path.join(dir, "check"), ...INCLUDE_DIRS.map((d) => `-I${d}`), ...LIB_DIRS.map((d) => `-L${d}`), "-lopenblas"];
    const r = spawnSync(cxx, args, { encoding: "utf8" });
    if (r.error) return `${cxx} could not be run (${r.error.message})`;
    if (r.status !== 0) return (r.stderr || "").split("\n").find((l) => /error/.test(l)) || `${cxx} exited with ${r.status}`;
    return true;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function detect() {
  const forced = (process.env.MECHINTERP_BLAS || "").trim().toLowerCase();
  if (forced === "none" || forced === "portable") {
    say(`MECHINTERP_BLAS=${forced}: building the portable matrix multiply only`);
    return "none";
  }
  if (process.platform === "darwin") return "accelerate";
  const ok = openblasLinks();
  if (ok === true) return "openblas";
  if (forced === "openblas") {
    say(`MECHINTERP_BLAS=openblas but OpenBLAS does not link: ${ok}`);
    process.exit(1);
  }
  say(`OpenBLAS not found (${ok}); building the portable matrix multiply instead. ` +
    "For OpenBLAS's speed install it (Debian/Ubuntu: sudo apt-get install libopenblas-dev) and run npm rebuild mechinterp-native-gemm.");
  return "none";
}

process.stdout.write(detect());
