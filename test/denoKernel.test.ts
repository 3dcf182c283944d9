/**
 * Deno's kernel without Jupyter: which platform package holds the binary, where it is looked for,
 * what kernel.json says (argv, permissions), and set-up's Deno step (register, check once, report
 * or fail when Deno is missing or its check fails) with a stand-in for the Jupyter check.
 * (test/notebook.test.ts runs the chapter notebook on the real kernel.)
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  DENO_KERNEL_DISPLAY_NAME,
  DENO_KERNEL_NAME,
  DENO_PERMISSIONS,
  denoBinary,
  denoKernelSpec,
  denoMissingReason,
  denoPlatformPackage,
  writeDenoKernelSpec,
} from "../kernel-setup/denoKernel";
import { setupDenoKernel } from "../kernel-setup/denoSetup";
import { projectRoot } from "../kernel-setup/kernelspec";
import { requireTool } from "./helpers/requireTool";

describe("Deno kernel", () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "mechinterp-deno-kernel-"));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  /** A stand-in `deno` in root's node_modules (where the platform package puts it) that prints a version. */
  function fakeDeno(version = "deno 9.9.9 (stable)"): string {
    const pkg = denoPlatformPackage() as string;
    const file = path.join(root, "node_modules", ...pkg.split("/"), process.platform === "win32" ? "deno.exe" : "deno");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `#!/bin/sh\necho '${version}'\n`, { mode: 0o755 });
    return file;
  }

  describe("denoPlatformPackage", () => {
    const table: Array<[string, string, string | undefined]> = [
      ["linux", "x64", "@deno/linux-x64-glibc"],
      ["linux", "arm64", "@deno/linux-arm64-glibc"],
      ["darwin", "x64", "@deno/darwin-x64"],
      ["darwin", "arm64", "@deno/darwin-arm64"],
      ["win32", "x64", "@deno/win32-x64"],
      ["win32", "arm64", "@deno/win32-arm64"],
      ["linux", "ia32", undefined],
      ["freebsd", "x64", undefined],
    ];
    for (const [platform, arch, pkg] of table) {
      it(`${platform}-${arch} → ${pkg ?? "none"}`, () => assert.strictEqual(denoPlatformPackage(platform, arch), pkg));
    }
    it("every package it names is one the deno package lists as optional", function () {
      requireTool(this, "Deno (the optional dependency deno)", denoMissingReason(projectRoot()));
      const deps = Object.keys(JSON.parse(fs.readFileSync(require.resolve("deno/package.json"), "utf8")).optionalDependencies ?? {});
      for (const [platform, arch, pkg] of table) if (pkg) assert.ok(deps.includes(pkg), `${platform}-${arch}: ${pkg} not in ${deps}`);
    });
  });

  describe("denoBinary and denoMissingReason", () => {
    it("without the optional dependency: no binary, and a reason that says what to run", () => {
      assert.strictEqual(denoBinary(root), undefined);
      const reason = denoMissingReason(root) as string;
      assert.match(reason, /optional dependency "deno"/);
      assert.ok(reason.includes(`npm install\` in ${root}`), reason);
    });
    it("finds the binary in the platform package, then in node_modules/deno/", () => {
      const file = fakeDeno();
      assert.strictEqual(denoBinary(root), file);
      assert.strictEqual(denoMissingReason(root), undefined);
      fs.rmSync(file);
      const copied = path.join(root, "node_modules", "deno", process.platform === "win32" ? "deno.exe" : "deno");
      fs.mkdirSync(path.dirname(copied), { recursive: true });
      fs.writeFileSync(copied, "");
      assert.strictEqual(denoBinary(root), copied);
    });
  });

  describe("kernel.json", () => {
    it("runs this checkout's deno as Deno's Jupyter kernel, states the permissions, and is written atomically", () => {
      const bin = fakeDeno();
      const spec = denoKernelSpec(root);
      assert.deepStrictEqual(spec.argv, [bin, "jupyter", "--kernel", "--conn", "{connection_file}"]);
      assert.strictEqual(spec.display_name, DENO_KERNEL_DISPLAY_NAME);
      assert.strictEqual(spec.language, "typescript");
      assert.deepStrictEqual(spec.env, { DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1" });
      assert.strictEqual(spec.metadata.permissions.granted, "all");
      assert.deepStrictEqual(spec.metadata.permissions.uses, DENO_PERMISSIONS);
      const kernels = path.join(root, "kernels");
      const file = writeDenoKernelSpec(kernels, root);
      assert.strictEqual(file, path.join(kernels, DENO_KERNEL_NAME, "kernel.json"));
      assert.deepStrictEqual(JSON.parse(fs.readFileSync(file, "utf8")), spec);
      assert.deepStrictEqual(fs.readdirSync(path.dirname(file)), ["kernel.json"], "no temporary file left");
    });
    it("without deno, building the spec fails with the reason", () => {
      assert.throws(() => denoKernelSpec(root), /optional dependency "deno"/);
    });
  });

  describe("setupDenoKernel", () => {
    const base = () => ({ root, kernelsDir: path.join(root, "kernels"), python: "/usr/bin/python3", log: (l: string) => logs.push(l) });
    let logs: string[];
    beforeEach(() => (logs = []));

    it("without deno: reports why and goes on, or fails when Deno was asked for", async () => {
      const verify = async () => assert.fail("nothing to check");
      const r = await setupDenoKernel({ ...base(), verify });
      assert.ok(r.kernelFile === undefined && /optional dependency "deno"/.test(r.missing));
      await assert.rejects(setupDenoKernel({ ...base(), verify, required: true }), /The Deno kernel was asked for, but: Deno is not installed/);
      assert.ok(!fs.existsSync(path.join(root, "kernels")), "nothing registered");
    });

    it("registers, checks once, and checks again when forced or when Deno changes", async () => {
      fakeDeno("deno 9.9.9 (stable)");
      const checked: string[] = [];
      const verify = async (name: string) => void checked.push(name);
      const first = await setupDenoKernel({ ...base(), verify });
      assert.deepStrictEqual([first.kernelFile !== undefined && first.verified, checked], ["now", [DENO_KERNEL_NAME]]);
      assert.ok(logs.some((l) => l.includes(`Registered the Jupyter kernel "${DENO_KERNEL_NAME}"`)));
      const again = await setupDenoKernel({ ...base(), verify });
      assert.deepStrictEqual([again.kernelFile !== undefined && again.verified, checked.length], ["before", 1]);
      await setupDenoKernel({ ...base(), verify, force: true });
      assert.strictEqual(checked.length, 2);
      fakeDeno("deno 9.9.10 (stable)");
      const upgraded = await setupDenoKernel({ ...base(), verify });
      assert.deepStrictEqual([upgraded.kernelFile !== undefined && upgraded.verified, checked.length], ["now", 3]);
    });

    it("a failing check is reported (tslab unaffected) or thrown when Deno was asked for, and not remembered", async () => {
      fakeDeno();
      const verify = async () => {
        throw new Error("The kernel check failed: no 42");
      };
      const r = await setupDenoKernel({ ...base(), verify });
      assert.ok(r.kernelFile !== undefined && r.verified === "failed" && r.error.includes("no 42"), JSON.stringify(r));
      assert.ok(logs.some((l) => l.includes("did not pass its check") && l.includes("no 42")));
      await assert.rejects(setupDenoKernel({ ...base(), verify, required: true }), /no 42/);
      const ok = await setupDenoKernel({ ...base(), verify: async () => {} });
      assert.strictEqual(ok.kernelFile !== undefined && ok.verified, "now", "a failure is not stamped as passed");
    });
  });
});
