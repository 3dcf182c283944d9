/**
 * Asking before set-up installs system or Python packages. Set-up never installs silently:
 *   - allowed beforehand (`npm run setup -- --yes`, or MECHINTERP_ALLOW_INSTALL=1, which .ci/run
 *     sets): the commands run, each printed first;
 *   - on a terminal: the commands are shown and set-up asks "Run them? [y/N]";
 *   - otherwise (no terminal: a pipe, an IDE task, CI without the variable): set-up prints the exact
 *     commands and stops with InstallNotAllowedError saying how to allow it.
 */
import * as readline from "readline";

export const ALLOW_INSTALL_ENV_VAR = "MECHINTERP_ALLOW_INSTALL";

/** Thrown when packages are needed and installing them was not allowed; the message has the commands. */
export class InstallNotAllowedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InstallNotAllowedError";
  }
}

export interface ConsentOptions {
  /** Allowed beforehand (a --yes flag); otherwise read from $MECHINTERP_ALLOW_INSTALL. */
  allow?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Whether a person can answer (default: stdin and stderr are terminals). */
  interactive?: boolean;
  /** Reads one answer after showing the question (default: readline on stdin/stderr). */
  ask?: (question: string) => Promise<string>;
}

/** Whether $MECHINTERP_ALLOW_INSTALL says yes (1, true, yes). */
export function installAllowedByEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return ["1", "true", "yes"].includes((env[ALLOW_INSTALL_ENV_VAR] ?? "").trim().toLowerCase());
}

/** A shell line for an argv array, quoting what needs it. */
export function shellLine(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

function askOnTerminal(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close();
      resolve(answer);
    });
    rl.on("close", () => resolve(""));
  });
}

/**
 * Resolves when `commands` (which install `what`) may run; throws InstallNotAllowedError with the
 * exact commands and how to allow them when not. `rerun` is the command the user runs afterwards.
 */
export async function confirmInstall(what: string, commands: string[][], rerun: string, options: ConsentOptions = {}): Promise<void> {
  const env = options.env ?? process.env;
  if (options.allow || installAllowedByEnv(env)) return;
  const lines = commands.map((c) => `  ${shellLine(c)}`).join("\n");
  const interactive = options.interactive ?? (!!process.stdin.isTTY && !!process.stderr.isTTY);
  if (interactive) {
    const answer = await (options.ask ?? askOnTerminal)(`Set-up needs ${what}. It would run:\n${lines}\nRun them now? [y/N] `);
    if (/^\s*y(es)?\s*$/i.test(answer)) return;
    throw new InstallNotAllowedError(`Nothing was installed. To install ${what} yourself, run:\n${lines}\nthen run ${rerun} again.`);
  }
  throw new InstallNotAllowedError(
    `Set-up needs ${what} and will not install packages without asking (there is no terminal to ask on).\n` +
      `Run these yourself:\n${lines}\nthen run ${rerun} again. ` +
      `Or let set-up run them: ${rerun} -- --yes, or ${ALLOW_INSTALL_ENV_VAR}=1 ${rerun}.`
  );
}
