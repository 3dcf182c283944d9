/**
 * Installing Jupyter where it is missing, the way the machine allows: pip when the Python package
 * index answers, else Debian's packages when we are root or have password-less sudo, else a
 * message with exactly what to run. The choice is a pure function of a few facts about the machine
 * (`planJupyterInstall`), so it is tested without installing anything.
 */
import { spawnSync } from "child_process";
import * as https from "https";
import * as http from "http";
import { onPath, PythonInfo, PYTHON_ENV_VAR } from "./python";

/** Debian/Ubuntu packages that provide jupyter_client, nbclient, nbformat and a notebook server. */
export const APT_PACKAGES = ["jupyter-notebook", "python3-nbclient", "jupyter-nbconvert"] as const;
/** PyPI packages for the same, plus JupyterLab when asked for. */
export const PIP_PACKAGES = ["jupyter_client", "nbclient", "nbformat", "nbconvert", "notebook"] as const;
export const PIP_LAB_PACKAGES = ["jupyterlab"] as const;

export interface MachineFacts {
  /** The package index answered an HTTPS request within a few seconds. */
  pypiReachable: boolean;
  /** A Python with pip that pip may install into (not distribution-managed), if any. */
  pipPython?: string;
  /** apt-get is on PATH. */
  apt: boolean;
  /** Running as root. */
  root: boolean;
  /** `sudo -n true` succeeds (password-less sudo). */
  sudo: boolean;
}

export interface InstallPlan {
  /** "pip" | "apt" | "manual" */
  method: "pip" | "apt" | "manual";
  /** Commands to run in order (argv arrays); empty for "manual". */
  commands: string[][];
  /** What the user should run themselves, always filled (shown when the commands fail too). */
  manual: string;
}

export function manualInstructions(options: { lab?: boolean } = {}): string {
  const pip = [...PIP_PACKAGES, ...(options.lab ? PIP_LAB_PACKAGES : [])].join(" ");
  return [
    "Install Jupyter, then run `npm run setup` again. One of:",
    `  sudo apt-get install -y ${APT_PACKAGES.join(" ")}      # Debian, Ubuntu`,
    `  python3 -m pip install --user ${pip}      # anywhere with PyPI access (a venv is fine)`,
    `If Jupyter is installed for a Python that is not found, name it: ${PYTHON_ENV_VAR}=/path/to/python npm run setup`,
  ].join("\n");
}

/** Chooses how to install Jupyter (and JupyterLab when `lab`); pure. */
export function planJupyterInstall(facts: MachineFacts, options: { lab?: boolean } = {}): InstallPlan {
  const manual = manualInstructions(options);
  if (facts.pypiReachable && facts.pipPython) {
    const pkgs = [...PIP_PACKAGES, ...(options.lab ? PIP_LAB_PACKAGES : [])];
    return { method: "pip", commands: [[facts.pipPython, "-m", "pip", "install", "--quiet", ...pkgs]], manual };
  }
  // Debian has no JupyterLab package; the classic notebook server still opens the notebook.
  if (facts.apt && (facts.root || facts.sudo)) {
    const prefix = facts.root ? [] : ["sudo", "-n"];
    return {
      method: "apt",
      commands: [
        [...prefix, "apt-get", "update"],
        [...prefix, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", ...APT_PACKAGES],
      ],
      manual,
    };
  }
  return { method: "manual", commands: [], manual };
}

/** Whether the package index answers within `timeoutMs` (any HTTP status below 500 counts). */
export function pypiReachable(timeoutMs = 3000, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const index = (env.PIP_INDEX_URL || "https://pypi.org/simple/").replace(/\/?$/, "/");
  const url = new URL("nbclient/", index);
  const get = url.protocol === "http:" ? http.get : https.get;
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean) => {
      if (!settled) {
        settled = true;
        resolve(ok);
      }
    };
    try {
      const req = get(url, { timeout: timeoutMs }, (res) => {
        res.resume();
        done((res.statusCode ?? 500) < 500);
      });
      req.on("timeout", () => {
        req.destroy();
        done(false);
      });
      req.on("error", () => done(false));
    } catch {
      done(false);
    }
  });
}

/** Gathers the facts `planJupyterInstall` needs. */
export async function machineFacts(probed: PythonInfo[], env: NodeJS.ProcessEnv = process.env): Promise<MachineFacts> {
  const pipPython = probed.find((p) => p.pip && !p.externallyManaged)?.command;
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  const sudo = !root && onPath("sudo", env.PATH) !== undefined && spawnSync("sudo", ["-n", "true"], { stdio: "ignore", timeout: 5000 }).status === 0;
  return {
    pypiReachable: pipPython ? await pypiReachable(3000, env) : false,
    pipPython,
    apt: onPath("apt-get", env.PATH) !== undefined,
    root,
    sudo,
  };
}

/**
 * Runs a plan's commands with their output shown. Returns true when all succeeded.
 * @param log where progress lines go (stderr by default)
 */
export function runInstallPlan(plan: InstallPlan, log: (line: string) => void): boolean {
  for (const argv of plan.commands) {
    log(`$ ${argv.join(" ")}`);
    const r = spawnSync(argv[0], argv.slice(1), { stdio: ["ignore", "inherit", "inherit"] });
    if (r.status !== 0) {
      log(`  failed (${r.error ? r.error.message : `exit code ${r.status}`})`);
      return false;
    }
  }
  return plan.commands.length > 0;
}
