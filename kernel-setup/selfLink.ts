/**
 * `node_modules/mechinterp-ts -> ..`: lets notebooks (and tslab's type checker, which does not read
 * package.json `exports`) write `import { HookedTransformer } from "mechinterp-ts"` inside this
 * repository, resolving to the package root (`main`/`types` in package.json point into dist/).
 *
 * Run by `npm install` (the "prepare" script) and again by `npm run setup`, because `npm install <pkg>`
 * prunes links it did not make.
 */
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "./kernelspec";

export const PACKAGE_NAME = "mechinterp-ts";

/** Creates or repairs the link; returns its path. Refuses to replace a real folder of that name. */
export function ensureSelfLink(root: string = projectRoot()): string {
  const link = path.join(root, "node_modules", PACKAGE_NAME);
  // Relative, so the checkout can move; Windows junctions need an absolute target.
  const target = process.platform === "win32" ? root : "..";
  fs.mkdirSync(path.dirname(link), { recursive: true });
  let stat: fs.Stats | undefined;
  try {
    stat = fs.lstatSync(link);
  } catch {
    stat = undefined;
  }
  if (stat?.isSymbolicLink()) {
    if (path.resolve(path.dirname(link), fs.readlinkSync(link)) === path.resolve(root)) return link;
    fs.unlinkSync(link);
  } else if (stat) {
    throw new Error(
      `${link} exists and is not a link to the project. Remove it (rm -rf ${link}) and run \`npm run setup\` again.`
    );
  }
  fs.symlinkSync(target, link, process.platform === "win32" ? "junction" : "dir");
  return link;
}

if (require.main === module) {
  try {
    const link = ensureSelfLink();
    console.log(`linked ${path.relative(projectRoot(), link)} -> ..`);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
