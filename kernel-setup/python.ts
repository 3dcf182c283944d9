/**
 * Finding a Python that can drive Jupyter: `jupyter_client` to register and start kernels, and
 * `nbclient` + `nbformat` to execute notebooks headless. Several Pythons often coexist (Debian's
 * /usr/bin/python3 with Jupyter from apt, a pyenv or venv python3 first on PATH without it), so
 * each candidate is asked which modules it has, and the most capable one wins.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** Environment variable naming the Python to use, skipping the search. */
export const PYTHON_ENV_VAR = "MECHINTERP_PYTHON";

/** Modules asked of each candidate; the first three are what `npm run notebook` needs. */
export const JUPYTER_MODULES = ["jupyter_client", "nbclient", "nbformat", "nbconvert", "jupyter_core", "notebook", "jupyterlab"] as const;
export type JupyterModule = (typeof JUPYTER_MODULES)[number];

export interface PythonInfo {
  /** The command that was run (as found), e.g. "/usr/bin/python3". */
  command: string;
  /** `sys.executable` as that Python reports it. */
  executable: string;
  version: string;
  modules: Record<JupyterModule, boolean>;
  /** `jupyter_core.paths.jupyter_data_dir()`: the user's Jupyter data folder; kernels live in `<dataDir>/kernels`. */
  dataDir: string | null;
  /** Whether `python -m pip` is available. */
  pip: boolean;
  /** PEP 668: the distribution manages this Python (e.g. Debian's /usr/bin/python3), pip must not install into it. */
  externallyManaged: boolean;
}

const PROBE = `
import json, sys, importlib.util as u
mods = ${JSON.stringify(JUPYTER_MODULES)}
out = {"executable": sys.executable, "version": sys.version.split()[0],
       "modules": {m: u.find_spec(m) is not None for m in mods}, "dataDir": None,
       "pip": u.find_spec("pip") is not None, "externallyManaged": False}
try:
    import os, sysconfig
    out["externallyManaged"] = sys.prefix == sys.base_prefix and os.path.exists(
        os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))
except Exception:
    pass
try:
    from jupyter_core.paths import jupyter_data_dir
    out["dataDir"] = jupyter_data_dir()
except Exception:
    pass
print(json.dumps(out))
`;

/** Asks one Python what it has; undefined when it does not run. */
export function probePython(command: string): PythonInfo | undefined {
  try {
    const out = execFileSync(command, ["-c", PROBE], { encoding: "utf8", timeout: 30_000, stdio: ["ignore", "pipe", "ignore"] });
    const info = JSON.parse(out.trim().split("\n").pop() as string);
    return { command, ...info };
  } catch {
    return undefined;
  }
}

/** `which`: the first executable called `name` on PATH. */
export function onPath(name: string, envPath: string = process.env.PATH ?? ""): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The interpreter in a script's `#!` line (e.g. /usr/bin/jupyter -> /usr/bin/python3). */
function shebangInterpreter(file: string): string | undefined {
  try {
    const head = fs.readFileSync(file, { encoding: "utf8", flag: "r" }).slice(0, 200).split("\n")[0];
    const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(head);
    if (!m) return undefined;
    if (path.basename(m[1]) === "env" && m[2]) return onPath(m[2]) ?? m[2];
    return m[1];
  } catch {
    return undefined;
  }
}

/** Candidate Pythons in order of preference, without duplicates. */
export function candidatePythons(env: NodeJS.ProcessEnv = process.env): string[] {
  const list: Array<string | undefined> = [];
  if (env[PYTHON_ENV_VAR]) list.push(env[PYTHON_ENV_VAR]);
  const jupyter = onPath("jupyter", env.PATH);
  if (jupyter) list.push(shebangInterpreter(jupyter));
  list.push("/usr/bin/python3", onPath("python3", env.PATH), onPath("python", env.PATH), "/usr/local/bin/python3");
  const seen = new Set<string>();
  const result: string[] = [];
  for (const c of list) {
    if (!c || seen.has(c)) continue;
    seen.add(c);
    if (c.includes(path.sep) && !fs.existsSync(c)) continue;
    result.push(c);
  }
  return result;
}

/** How well a Python can serve: 2 = runs notebooks (nbclient), 1 = registers kernels only, 0 = neither. */
export function capability(info: PythonInfo): 0 | 1 | 2 {
  const m = info.modules;
  if (m.jupyter_client && m.nbclient && m.nbformat) return 2;
  if (m.jupyter_client) return 1;
  return 0;
}

export interface PythonSearch {
  /** The most capable Python, first in preference order among equals; undefined when none runs at all. */
  best?: PythonInfo;
  /** Every candidate that ran. */
  probed: PythonInfo[];
}

export function findJupyterPython(env: NodeJS.ProcessEnv = process.env): PythonSearch {
  const probed: PythonInfo[] = [];
  for (const command of candidatePythons(env)) {
    const info = probePython(command);
    if (info) probed.push(info);
    // An explicitly named Python is used as is, capable or not (the caller reports what it lacks).
    if (info && command === env[PYTHON_ENV_VAR]) return { best: info, probed };
    if (info && capability(info) === 2) return { best: info, probed };
  }
  let best: PythonInfo | undefined;
  for (const info of probed) if (!best || capability(info) > capability(best)) best = info;
  return { best, probed };
}

/** One line per probed Python, for error messages: "/usr/bin/python3 (3.11.2): jupyter_client yes, nbclient no, ...". */
export function describeProbes(probed: PythonInfo[]): string {
  if (probed.length === 0) return "  (no Python found: tried /usr/bin/python3, python3 and python on PATH)";
  return probed
    .map((p) => `  ${p.command} (Python ${p.version}): ` + (["jupyter_client", "nbclient", "nbformat"] as const).map((m) => `${m} ${p.modules[m] ? "yes" : "no"}`).join(", "))
    .join("\n");
}
