/**
 * `npm run lab`: opens the chapter notebook in JupyterLab with the mechinterp-ts kernel.
 * Offers to install JupyterLab with pip where the package index answers (asking first, see
 * kernel-setup/consent.ts); otherwise, or when declined, opens the classic Notebook server
 * (Debian's jupyter-notebook) and says how to get JupyterLab.
 *
 *   npm run lab [-- --yes] [-- path/to/notebook.ipynb] [-- any further arguments for jupyter]
 *   --yes installs what is missing without asking (as MECHINTERP_ALLOW_INSTALL=1 does)
 */
import { spawn } from "child_process";
import * as path from "path";
import { confirmInstall, InstallNotAllowedError } from "../kernel-setup/consent";
import { machineFacts, PIP_LAB_PACKAGES, pypiReachable, runInstallPlan } from "../kernel-setup/install";
import { projectRoot } from "../kernel-setup/kernelspec";
import { findJupyterPython, PythonInfo } from "../kernel-setup/python";
import { setup } from "../kernel-setup/setup";
import { DEFAULT_NOTEBOOK } from "./run-notebook";

const log = (line: string) => process.stderr.write(line + "\n");

async function ensureLab(python: PythonInfo, allowInstall: boolean): Promise<PythonInfo> {
  if (python.modules.jupyterlab) return python;
  const search = findJupyterPython();
  const withLab = search.probed.find((p) => p.modules.jupyterlab && p.modules.jupyter_client);
  if (withLab) return withLab;
  const facts = await machineFacts(search.probed);
  if (facts.pipPython && (await pypiReachable())) {
    const commands = [[facts.pipPython, "-m", "pip", "install", "--quiet", ...PIP_LAB_PACKAGES]];
    try {
      await confirmInstall("JupyterLab (pip)", commands, "npm run lab", { allow: allowInstall });
    } catch (err) {
      if (!(err instanceof InstallNotAllowedError)) throw err;
      log(err.message);
      return python; // the classic Notebook, when there is one
    }
    log("JupyterLab is not installed; installing it with pip...");
    if (runInstallPlan({ method: "pip", commands, manual: "" }, log)) {
      const after = findJupyterPython().probed.find((p) => p.modules.jupyterlab && p.modules.jupyter_client);
      if (after) return after;
    }
  }
  return python;
}

async function main(): Promise<void> {
  const root = projectRoot();
  const args = process.argv.slice(2);
  const allowInstall = args[0] === "--yes";
  if (allowInstall) args.shift();
  const notebook = args[0] && args[0].endsWith(".ipynb") ? path.resolve(args.shift() as string) : path.join(root, DEFAULT_NOTEBOOK);
  const ready = await setup({ log, allowInstall });
  const python = await ensureLab(ready.python, allowInstall);
  let argv: string[];
  if (python.modules.jupyterlab) {
    argv = ["-m", "jupyterlab", notebook, ...args];
  } else if (python.modules.notebook) {
    log(
      "JupyterLab is not available here (no PyPI access, and Debian has no package for it); opening the classic Notebook instead.\n" +
        "For JupyterLab: python3 -m pip install jupyterlab, then npm run lab again."
    );
    argv = ["-m", "notebook", notebook, ...args];
  } else {
    throw new Error(
      `Neither JupyterLab nor the Notebook server is installed for ${python.command}.\n` +
        `Install one: python3 -m pip install jupyterlab   or   sudo apt-get install -y jupyter-notebook`
    );
  }
  // Jupyter servers refuse to run as root unless told; containers and CI machines often are root.
  if (typeof process.getuid === "function" && process.getuid() === 0 && !argv.includes("--allow-root")) argv.push("--allow-root");
  log(`$ ${python.command} ${argv.join(" ")}`);
  const child = spawn(python.command, argv, { stdio: "inherit", cwd: path.dirname(notebook) });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on("SIGINT", forward).on("SIGTERM", forward);
  child.on("exit", (code) => process.exit(code ?? 0));
}

main().catch((err: Error) => {
  console.error(`npm run lab failed: ${err.message}`);
  process.exit(1);
});
