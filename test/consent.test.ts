/**
 * Set-up asks before installing (kernel-setup/consent.ts): allowed beforehand, asked on a terminal,
 * refused with the exact commands elsewhere. Plus set-up itself, with a fake apt-get that records
 * whether it ran.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ALLOW_INSTALL_ENV_VAR, InstallNotAllowedError, confirmInstall, installAllowedByEnv, shellLine } from "../kernel-setup/consent";
import { PYTHON_ENV_VAR } from "../kernel-setup/python";
import { setup } from "../kernel-setup/setup";

const COMMANDS = [["apt-get", "update"], ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "python3-nbclient"]];
const LINES = ["  apt-get update", "  env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-nbclient"];

describe("asking before installing", () => {
  const allowed: [string, Parameters<typeof confirmInstall>[3]][] = [
    ["the --yes flag", { allow: true, env: {}, interactive: false }],
    [`${ALLOW_INSTALL_ENV_VAR}=1`, { env: { [ALLOW_INSTALL_ENV_VAR]: "1" }, interactive: false }],
    [`${ALLOW_INSTALL_ENV_VAR}=yes`, { env: { [ALLOW_INSTALL_ENV_VAR]: "yes" }, interactive: false }],
    ["answering y on a terminal", { env: {}, interactive: true, ask: async () => "y" }],
    ["answering yes on a terminal", { env: {}, interactive: true, ask: async () => " YES " }],
  ];
  for (const [what, options] of allowed) {
    it(`goes ahead with ${what}`, () => confirmInstall("Jupyter", COMMANDS, "npm run setup", options));
  }

  const refused: [string, Parameters<typeof confirmInstall>[3], RegExp][] = [
    ["no terminal and no permission", { env: {}, interactive: false }, /will not install packages without asking \(there is no terminal to ask on\)/],
    [`${ALLOW_INSTALL_ENV_VAR}=0, no terminal`, { env: { [ALLOW_INSTALL_ENV_VAR]: "0" }, interactive: false }, /--yes, or MECHINTERP_ALLOW_INSTALL=1 npm run setup/],
    ["answering n", { env: {}, interactive: true, ask: async () => "n" }, /^Nothing was installed/],
    ["answering nothing (Enter)", { env: {}, interactive: true, ask: async () => "" }, /^Nothing was installed/],
  ];
  for (const [what, options, message] of refused) {
    it(`stops with the exact commands: ${what}`, async () => {
      await assert.rejects(confirmInstall("Jupyter", COMMANDS, "npm run setup", options), (err: Error) => {
        assert.ok(err instanceof InstallNotAllowedError);
        assert.match(err.message, message);
        for (const line of LINES) assert.ok(err.message.includes(line), `missing ${line} in ${err.message}`);
        assert.match(err.message, /then run npm run setup again/);
        return true;
      });
    });
  }

  it("the question on a terminal lists the commands", async () => {
    let question = "";
    await confirmInstall("Jupyter", COMMANDS, "npm run setup", { env: {}, interactive: true, ask: async (q) => ((question = q), "y") });
    assert.strictEqual(question, `Set-up needs Jupyter. It would run:\n${LINES.join("\n")}\nRun them now? [y/N] `);
  });

  it("shellLine quotes what the shell would split", () => {
    assert.strictEqual(shellLine(["pip", "install", "a b", "it's"]), `pip install 'a b' 'it'\\''s'`);
    assert.deepStrictEqual(["1", "true", "TRUE", "yes", "0", "", "no"].map((v) => installAllowedByEnv({ [ALLOW_INSTALL_ENV_VAR]: v })), [true, true, true, true, false, false, false]);
  });

  describe("set-up without Jupyter, where apt-get would install it", () => {
    let tmp: string;
    beforeEach(() => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mechinterp-consent-"));
    });
    afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("prints the apt-get commands and runs nothing when not allowed", async function () {
      if (typeof process.getuid !== "function" || process.getuid() !== 0) {
        console.log("      skipped: the apt plan needs root here (non-root set-up plans sudo, which this test cannot fake)");
        this.skip();
      }
      const bin = path.join(tmp, "bin");
      fs.mkdirSync(bin);
      const marker = path.join(tmp, "apt-ran");
      fs.writeFileSync(path.join(bin, "apt-get"), `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
      const py = path.join(tmp, "python");
      fs.writeFileSync(py, `#!/bin/sh\necho '${JSON.stringify({ executable: py, version: "3.99.0", modules: {}, pip: false, externallyManaged: false })}'\n`, { mode: 0o755 });
      await assert.rejects(
        setup({ env: { [PYTHON_ENV_VAR]: py, PATH: bin }, kernelsDir: path.join(tmp, "k"), interactive: false, log: () => {} }),
        (err: Error) => {
          assert.ok(err instanceof InstallNotAllowedError, String(err));
          assert.match(err.message, /apt-get update/);
          assert.match(err.message, /apt-get install -y jupyter-notebook python3-nbclient jupyter-nbconvert/);
          return true;
        }
      );
      assert.ok(!fs.existsSync(marker), "apt-get did not run");
      assert.ok(!fs.existsSync(path.join(tmp, "k")), "nothing registered");
    });
  });
});
