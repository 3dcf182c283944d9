/**
 * kernel-setup without Jupyter: how Jupyter gets installed (a pure plan), how Pythons are found
 * and judged, the self-link, the environment that makes Jupyter see our kernel, error messages.
 * (The notebook test runs the real thing: set-up, kernel check and a notebook through nbclient.)
 */
import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { describeCellError } from "../kernel-setup/execute";
import { APT_PACKAGES, MachineFacts, manualInstructions, planJupyterInstall, pypiReachable } from "../kernel-setup/install";
import { KERNEL_NAME, kernelSpec, projectRoot, writeKernelSpec } from "../kernel-setup/kernelspec";
import { CHECKOUT_ENV_VAR, LAUNCHER_FILE, launcherSource } from "../kernel-setup/launcher";
import { capability, describeProbes, findJupyterPython, PYTHON_ENV_VAR } from "../kernel-setup/python";
import { ensureSelfLink } from "../kernel-setup/selfLink";
import { envWithKernels, setup } from "../kernel-setup/setup";

const PIP = "/opt/venv/bin/python";
const noMachine: MachineFacts = { pypiReachable: false, apt: false, root: false, sudo: false };

describe("kernel-setup", () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mechinterp-kernel-setup-"));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A fake `python` that prints `report` for the probe, so no real Python is involved. */
  function fakePython(name: string, modules: string[], extra: Record<string, unknown> = {}): string {
    const all = ["jupyter_client", "nbclient", "nbformat", "nbconvert", "jupyter_core", "notebook", "jupyterlab"];
    const report = {
      executable: `/fake/${name}`,
      version: "3.99.0",
      modules: Object.fromEntries(all.map((m) => [m, modules.includes(m)])),
      dataDir: path.join(tmp, "data"),
      pip: false,
      externallyManaged: false,
      ...extra,
    };
    const file = path.join(tmp, name);
    fs.writeFileSync(file, `#!/bin/sh\necho '${JSON.stringify(report)}'\n`, { mode: 0o755 });
    return file;
  }

  describe("planJupyterInstall", () => {
    const cases: Array<{ name: string; facts: MachineFacts; lab?: boolean; method: string; commands: string[][] }> = [
      {
        name: "pip where the index answers and a pip-able Python exists",
        facts: { ...noMachine, pypiReachable: true, pipPython: PIP, apt: true, root: true },
        method: "pip",
        commands: [[PIP, "-m", "pip", "install", "--quiet", "jupyter_client", "nbclient", "nbformat", "nbconvert", "notebook"]],
      },
      {
        name: "pip with JupyterLab when asked for",
        facts: { ...noMachine, pypiReachable: true, pipPython: PIP },
        lab: true,
        method: "pip",
        commands: [[PIP, "-m", "pip", "install", "--quiet", "jupyter_client", "nbclient", "nbformat", "nbconvert", "notebook", "jupyterlab"]],
      },
      {
        name: "apt as root when the index does not answer",
        facts: { ...noMachine, pipPython: PIP, apt: true, root: true },
        method: "apt",
        commands: [
          ["apt-get", "update"],
          ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", ...APT_PACKAGES],
        ],
      },
      {
        name: "apt through password-less sudo",
        facts: { ...noMachine, apt: true, sudo: true },
        method: "apt",
        commands: [
          ["sudo", "-n", "apt-get", "update"],
          ["sudo", "-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", ...APT_PACKAGES],
        ],
      },
      { name: "instructions without root or sudo", facts: { ...noMachine, apt: true }, method: "manual", commands: [] },
      { name: "instructions when the index answers but no Python may pip-install", facts: { ...noMachine, pypiReachable: true }, method: "manual", commands: [] },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const plan = planJupyterInstall(c.facts, { lab: c.lab });
        assert.strictEqual(plan.method, c.method);
        assert.deepStrictEqual(plan.commands, c.commands);
        assert.strictEqual(plan.manual, manualInstructions({ lab: c.lab }));
      });
    }
    it("the instructions name the apt packages, pip and MECHINTERP_PYTHON", () => {
      const text = manualInstructions();
      assert.ok(text.includes(`sudo apt-get install -y ${APT_PACKAGES.join(" ")}`));
      assert.match(text, /python3 -m pip install --user jupyter_client nbclient/);
      assert.ok(text.includes(`${PYTHON_ENV_VAR}=/path/to/python npm run setup`));
    });
  });

  describe("pypiReachable", () => {
    it("is true when the index answers (any status below 500), false when nothing listens", async () => {
      const seen: string[] = [];
      const server = http.createServer((req, res) => {
        seen.push(req.url ?? "");
        res.statusCode = 404;
        res.end();
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const port = (server.address() as { port: number }).port;
      try {
        assert.strictEqual(await pypiReachable(2000, { PIP_INDEX_URL: `http://127.0.0.1:${port}/simple` }), true);
        assert.deepStrictEqual(seen, ["/simple/nbclient/"]);
      } finally {
        await new Promise((r) => server.close(r));
      }
      assert.strictEqual(await pypiReachable(2000, { PIP_INDEX_URL: `http://127.0.0.1:${port}/simple/` }), false);
    });
  });

  describe("findJupyterPython", () => {
    it("uses the Python named by MECHINTERP_PYTHON as it is, and says what it lacks", () => {
      const py = fakePython("python-bare", ["jupyter_core"]);
      const search = findJupyterPython({ [PYTHON_ENV_VAR]: py, PATH: "" });
      assert.strictEqual(search.best?.command, py);
      assert.strictEqual(capability(search.best!), 0);
      assert.match(describeProbes(search.probed), new RegExp(`${py} \\(Python 3\\.99\\.0\\): jupyter_client no, nbclient no, nbformat no`));
    });
    it("judges capability: nbclient runs notebooks, jupyter_client alone only registers", () => {
      const full = findJupyterPython({ [PYTHON_ENV_VAR]: fakePython("full", ["jupyter_client", "nbclient", "nbformat"]), PATH: "" });
      const client = findJupyterPython({ [PYTHON_ENV_VAR]: fakePython("client", ["jupyter_client"]), PATH: "" });
      assert.strictEqual(capability(full.best!), 2);
      assert.strictEqual(capability(client.best!), 1);
    });
    it("finds the Python in the `jupyter` script's #! line on PATH", () => {
      const py = fakePython("python-with-jupyter", ["jupyter_client", "nbclient", "nbformat"]);
      const bin = path.join(tmp, "bin");
      fs.mkdirSync(bin);
      fs.writeFileSync(path.join(bin, "jupyter"), `#!${py}\n`, { mode: 0o755 });
      const search = findJupyterPython({ PATH: bin });
      assert.strictEqual(search.best?.command, py);
    });
  });

  describe("setup", () => {
    it("without Jupyter and install:false, fails with what was found and what to run", async () => {
      const py = fakePython("python-no-jupyter", []);
      await assert.rejects(setup({ env: { [PYTHON_ENV_VAR]: py, PATH: "" }, install: false, kernelsDir: path.join(tmp, "k"), log: () => {} }), (err: Error) => {
        assert.match(err.message, /No Python with jupyter_client and nbclient was found/);
        assert.ok(err.message.includes(py));
        assert.ok(err.message.includes(manualInstructions()));
        return true;
      });
      assert.ok(!fs.existsSync(path.join(tmp, "k")), "nothing registered");
    });
  });

  describe("kernel spec and environment", () => {
    it("writes kernel.json that starts the launcher beside it with this Node.js, naming this checkout", () => {
      const file = writeKernelSpec(path.join(tmp, "kernels"));
      assert.strictEqual(file, path.join(tmp, "kernels", KERNEL_NAME, "kernel.json"));
      const spec = JSON.parse(fs.readFileSync(file, "utf8"));
      assert.deepStrictEqual(spec, kernelSpec());
      assert.deepStrictEqual(spec.argv, [process.execPath, path.join("{resource_dir}", LAUNCHER_FILE), "kernel", "--config-path", "{connection_file}"]);
      assert.strictEqual(spec.env?.[CHECKOUT_ENV_VAR], projectRoot());
      assert.strictEqual(fs.readFileSync(path.join(tmp, "kernels", KERNEL_NAME, LAUNCHER_FILE), "utf8"), launcherSource());
    });
    it("envWithKernels puts the kernels' data folder first on JUPYTER_PATH, once", () => {
      const data = path.join(tmp, "share", "jupyter");
      const env = envWithKernels(path.join(data, "kernels"), { JUPYTER_PATH: ["/other", data].join(path.delimiter), KEEP: "1" });
      assert.strictEqual(env.JUPYTER_PATH, [data, "/other"].join(path.delimiter));
      assert.strictEqual(env.KEEP, "1");
    });
  });

  describe("ensureSelfLink", () => {
    it("creates node_modules/mechinterp-ts -> .., repairs a wrong link, refuses a real folder", () => {
      const root = path.join(tmp, "project");
      fs.mkdirSync(root);
      const link = ensureSelfLink(root);
      assert.strictEqual(fs.readlinkSync(link), "..");
      assert.strictEqual(fs.realpathSync(link), fs.realpathSync(root));
      assert.strictEqual(ensureSelfLink(root), link, "idempotent");
      fs.unlinkSync(link);
      fs.symlinkSync(tmp, link);
      ensureSelfLink(root);
      assert.strictEqual(fs.realpathSync(link), fs.realpathSync(root));
      fs.unlinkSync(link);
      fs.mkdirSync(link);
      assert.throws(() => ensureSelfLink(root), /exists and is not a link to the project\. Remove it/);
    });
  });

  describe("describeCellError", () => {
    it("names the cell, shows its first line and tslab's stderr, without colour codes", () => {
      const text = describeCellError(
        {
          cellIndex: 6,
          codeCellNumber: 4,
          source: "\n// Tokenize\nconst tokens = model.toTokens(txt);",
          ename: "<Error>",
          evalue: "",
          traceback: "An error occurred while executing the following cell: ...",
          stderr: "\u001b[31m1:32 - Cannot find name 'txt'.\u001b[0m\n",
        },
        "/x/02-transformers.ipynb"
      );
      assert.strictEqual(
        text,
        "02-transformers.ipynb failed in code cell 4 (cell 7 of the notebook):\n  > // Tokenize\n    1:32 - Cannot find name 'txt'."
      );
    });
    it("falls back to the error name, value and traceback when stderr is empty", () => {
      const text = describeCellError(
        { cellIndex: null, codeCellNumber: 0, source: "", ename: "NoSuchKernel", evalue: "No such kernel named x", traceback: "", stderr: "" },
        "nb.ipynb"
      );
      assert.strictEqual(text, "nb.ipynb failed before the first cell (the kernel did not start or the client failed):\n  NoSuchKernel: No such kernel named x");
    });
  });
});
