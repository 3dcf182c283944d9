/**
 * `npm run setup`: registers the project's Jupyter kernel and checks it (see kernel-setup/setup.ts).
 *   --force   check the kernel again even if an identical set-up passed before
 *   --no-install   fail with instructions instead of installing Jupyter when it is missing
 *   --yes     install Jupyter without asking when it is missing (same as MECHINTERP_ALLOW_INSTALL=1);
 *             without it set-up asks on a terminal, and elsewhere prints the commands and stops
 */
import { setup } from "../kernel-setup/setup";
import { KERNEL_NAME } from "../kernel-setup/kernelspec";
import { DENO_KERNEL_NAME } from "../kernel-setup/denoKernel";

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => !["--force", "--no-install", "--yes"].includes(a));
  if (unknown.length) {
    console.error(`Unknown option(s): ${unknown.join(" ")}. Options: --force, --no-install, --yes.`);
    process.exit(2);
  }
  const t0 = Date.now();
  const result = await setup({ force: args.includes("--force"), install: !args.includes("--no-install"), allowInstall: args.includes("--yes") });
  console.log(
    `Kernel "${KERNEL_NAME}" ready (${result.verified === "now" ? "checked now" : "checked before"}, ` +
      `${((Date.now() - t0) / 1000).toFixed(1)}s): ${result.kernelFile}\n` +
      `Jupyter: ${result.python.command} (Python ${result.python.version})`
  );
  const d = result.deno;
  console.log(
    d.kernelFile === undefined
      ? `No Deno kernel: ${d.missing}`
      : `Kernel "${DENO_KERNEL_NAME}" (${d.deno}) ${d.verified === "failed" ? "registered, but its check failed (see above)" : `ready (checked ${d.verified})`}: ${d.kernelFile}`
  );
}

main().catch((err) => {
  console.error(`Setup failed: ${(err as Error).message}`);
  process.exit(1);
});
