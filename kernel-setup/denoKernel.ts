/**
 * The second kernel: Deno's own Jupyter kernel (`deno jupyter --kernel`), run by the `deno` binary
 * in this checkout's node_modules (the optional dependency `deno`, whose prebuilt binary comes in a
 * platform package such as `@deno/linux-x64-glibc`; nothing installed globally).
 *
 * kernel.json runs that binary directly (no launcher): Deno resolves `import ... from
 * "mechinterp-ts"` from the kernel's working folder, which Jupyter sets to the notebook's folder, so
 * a notebook inside any checkout uses that checkout's node_modules and build, whichever checkout's
 * Deno started the kernel. tslab stays the default kernel: committed notebooks name `mechinterp-ts`.
 *
 * Permissions: `deno jupyter` takes no permission flags and grants every permission to the cells it
 * runs. kernel.json lists what this project's cells use them for (`metadata.permissions`), so the
 * grant is visible where the kernel is defined.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "./kernelspec";

/** The name notebooks would carry in `metadata.kernelspec.name` to ask for Deno's kernel. */
export const DENO_KERNEL_NAME = "mechinterp-ts-deno";
export const DENO_KERNEL_DISPLAY_NAME = "TypeScript (mechinterp-ts, Deno)";

/** What the cells of this project need from Deno's all-permissions grant, written into kernel.json. */
export const DENO_PERMISSIONS: Readonly<Record<string, string>> = {
  read: "weights folders, the Hugging Face cache, node_modules",
  write: "the Hugging Face cache (downloads) and files a notebook saves (saveHtml, saveSvg)",
  net: "huggingface.co (or $HF_ENDPOINT) for a model or SAE not yet in the cache",
  env: "MODEL_OVERRIDE_DIR, SAE_OVERRIDE_DIR, HF_HOME, HF_ENDPOINT and the backend's settings",
  ffi: "Node-API addons: the native kernels (mechinterp-native-gemm) and resvg, which draws the PNG of each chart",
  sys: "CPU count and memory for the backend line (Using device: ...)",
  run: "none needed; granted anyway, since `deno jupyter` cannot narrow permissions",
};

export interface DenoKernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  env: Record<string, string>;
  metadata: { permissions: { granted: "all"; why: string; uses: Record<string, string> } };
}

/** Deno's platform package for this machine (what its npm package chooses among), or undefined. */
export function denoPlatformPackage(platform: string = process.platform, arch: string = process.arch): string | undefined {
  const cpu = arch === "x64" ? "x64" : arch === "arm64" ? "arm64" : undefined;
  if (!cpu) return undefined;
  if (platform === "linux") return `@deno/linux-${cpu}-glibc`;
  if (platform === "darwin") return `@deno/darwin-${cpu}`;
  if (platform === "win32") return `@deno/win32-${cpu}`;
  return undefined;
}

/**
 * The `deno` executable installed in `root`'s node_modules, or undefined when the optional
 * dependency was not installed (`--omit=optional`, or no binary for this platform).
 * Looks in the platform package first, then in `node_modules/deno/` (where its postinstall copies
 * the binary when install scripts are allowed).
 */
export function denoBinary(root: string = projectRoot()): string | undefined {
  const exe = process.platform === "win32" ? "deno.exe" : "deno";
  const pkg = denoPlatformPackage();
  const candidates = [
    ...(pkg ? [path.join(root, "node_modules", ...pkg.split("/"), exe)] : []),
    path.join(root, "node_modules", "deno", exe),
  ];
  return candidates.find((file) => fs.existsSync(file));
}

/** Why there is no Deno kernel here, with what to run; undefined when the binary is present. */
export function denoMissingReason(root: string = projectRoot()): string | undefined {
  if (denoBinary(root)) return undefined;
  const pkg = denoPlatformPackage();
  return pkg
    ? `Deno is not installed in ${path.join(root, "node_modules")} (the optional dependency "deno" and its binary package ${pkg}). ` +
        `Run \`npm install\` in ${root} without --omit=optional (or \`npm install deno\`).`
    : `Deno publishes no binary for ${process.platform}-${process.arch} on the npm registry, so this checkout has no Deno kernel; use the tslab kernel.`;
}

export function denoKernelSpec(root: string = projectRoot()): DenoKernelSpec {
  const bin = denoBinary(root);
  if (!bin) throw new Error(denoMissingReason(root));
  return {
    argv: [bin, "jupyter", "--kernel", "--conn", "{connection_file}"],
    display_name: DENO_KERNEL_DISPLAY_NAME,
    language: "typescript",
    // No update check or permission prompt: a kernel has no terminal to ask on.
    env: { DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1" },
    metadata: {
      permissions: {
        granted: "all",
        why: "`deno jupyter` runs every cell with all permissions and takes no --allow-* flags",
        uses: { ...DENO_PERMISSIONS },
      },
    },
  };
}

/** Writes `<kernelsDir>/mechinterp-ts-deno/kernel.json` and returns its path. */
export function writeDenoKernelSpec(kernelsDir: string, root: string = projectRoot()): string {
  const dir = path.join(kernelsDir, DENO_KERNEL_NAME);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "kernel.json");
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(denoKernelSpec(root), null, 2) + "\n");
  fs.renameSync(tmp, file);
  return file;
}

/** The Deno version string (`deno --version`'s first line), for the set-up check's stamp. */
export function denoVersion(bin: string): string {
  const r = spawnSync(bin, ["--version"], { encoding: "utf8", timeout: 30_000 });
  return (r.stdout ?? "").split("\n")[0].trim();
}
