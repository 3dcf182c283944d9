/**
 * Several checkouts, one `mechinterp-ts` kernel (kernel-setup/launcher.ts): the launcher runs the
 * tslab of the checkout holding the notebook, the last set-up's checkout outside every checkout
 * (saying so), and fails plainly when neither exists. Fake checkouts whose tslab prints where it is.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { KERNEL_NAME, registeredCheckout, writeKernelSpec } from "../kernel-setup/kernelspec";
import { CHECKOUT_ENV_VAR, LAUNCHER_FILE } from "../kernel-setup/launcher";

describe("one kernel for several checkouts", () => {
  let tmp: string;
  let kernelsDir: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mechinterp-launcher-"));
    kernelsDir = path.join(tmp, "jupyter", "kernels");
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A checkout folder whose tslab prints {root, argv} as JSON. */
  function fakeCheckout(name: string, packageName = "mechinterp-ts"): string {
    const root = path.join(tmp, name);
    const bin = path.join(root, "node_modules", "tslab", "bin");
    fs.mkdirSync(bin, { recursive: true });
    fs.mkdirSync(path.join(root, "notebooks", "deeper"), { recursive: true });
    fs.writeFileSync(path.join(root, "package.json"), JSON.stringify({ name: packageName }));
    fs.writeFileSync(path.join(bin, "tslab"), `#!/usr/bin/env node\nconsole.log(JSON.stringify({ root: ${JSON.stringify(root)}, argv: process.argv.slice(2) }));\n`);
    return root;
  }

  /** Starts the kernel as Jupyter would: kernel.json's argv and env, in folder `cwd`. */
  function startKernel(cwd: string): { status: number | null; out?: { root: string; argv: string[] }; stderr: string } {
    const spec = JSON.parse(fs.readFileSync(path.join(kernelsDir, KERNEL_NAME, "kernel.json"), "utf8"));
    const argv = (spec.argv as string[]).map((a) => a.replace("{resource_dir}", path.join(kernelsDir, KERNEL_NAME)).replace("{connection_file}", "/tmp/conn.json"));
    const r = spawnSync(argv[0], argv.slice(1), { cwd, encoding: "utf8", env: { ...process.env, ...spec.env } });
    return { status: r.status, out: r.status === 0 ? JSON.parse(r.stdout) : undefined, stderr: r.stderr };
  }

  const cases: [string, (a: string, b: string) => string, "a" | "b", RegExp | null][] = [
    ["a notebook in the other checkout runs that checkout's tslab", (_a, b) => path.join(b, "notebooks"), "b", null],
    ["a notebook deeper in the set-up checkout runs its own", (a) => path.join(a, "notebooks", "deeper"), "a", null],
    ["a notebook outside every checkout runs the last set-up's, and says so", () => os.tmpdir(), "a", /is not inside a mechinterp-ts checkout; using .*\(the last one set up\)/],
  ];
  for (const [what, cwdOf, expected, note] of cases) {
    it(what, () => {
      const a = fakeCheckout("a");
      const b = fakeCheckout("b");
      writeKernelSpec(kernelsDir, a);
      const r = startKernel(cwdOf(a, b));
      assert.strictEqual(r.status, 0, r.stderr);
      assert.strictEqual(r.out!.root, expected === "a" ? a : b);
      assert.deepStrictEqual(r.out!.argv, ["kernel", "--config-path", "/tmp/conn.json"]);
      if (note) assert.match(r.stderr, note);
      else assert.strictEqual(r.stderr, "");
    });
  }

  it("a folder whose package.json names another package is not a checkout", () => {
    const a = fakeCheckout("a");
    const other = fakeCheckout("other", "some-other-project");
    writeKernelSpec(kernelsDir, a);
    assert.strictEqual(startKernel(path.join(other, "notebooks")).out!.root, a);
  });

  it("outside every checkout, with the recorded one gone, it fails with what to do", () => {
    const a = fakeCheckout("a");
    writeKernelSpec(kernelsDir, a);
    fs.rmSync(a, { recursive: true });
    const r = startKernel(os.tmpdir());
    assert.strictEqual(r.status, 1);
    assert.match(r.stderr, /is not inside a mechinterp-ts checkout, and the default one \(.*\) has no node_modules\/tslab\. Run npm install and npm run setup in a checkout\./);
  });

  it("a second checkout's registration records itself as the default and keeps one kernel", () => {
    const a = fakeCheckout("a");
    const b = fakeCheckout("b");
    writeKernelSpec(kernelsDir, a);
    assert.strictEqual(registeredCheckout(kernelsDir), a);
    writeKernelSpec(kernelsDir, b);
    assert.strictEqual(registeredCheckout(kernelsDir), b);
    assert.deepStrictEqual(fs.readdirSync(kernelsDir), [KERNEL_NAME]);
    assert.deepStrictEqual(fs.readdirSync(path.join(kernelsDir, KERNEL_NAME)).sort(), ["kernel.json", LAUNCHER_FILE]);
    const spec = JSON.parse(fs.readFileSync(path.join(kernelsDir, KERNEL_NAME, "kernel.json"), "utf8"));
    assert.strictEqual(spec.env[CHECKOUT_ENV_VAR], b);
    // a's notebooks still run a's tslab
    assert.strictEqual(startKernel(path.join(a, "notebooks")).out!.root, a);
  });

  it("registeredCheckout reads a kernel.json from before the launcher (argv naming tslab directly)", () => {
    const dir = path.join(kernelsDir, KERNEL_NAME);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "kernel.json"), JSON.stringify({ argv: ["node", "/old/clone/node_modules/tslab/bin/tslab", "kernel"] }));
    assert.strictEqual(registeredCheckout(kernelsDir), "/old/clone");
    assert.strictEqual(registeredCheckout(path.join(tmp, "nothing")), undefined);
  });
});
