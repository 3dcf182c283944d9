/**
 * A separate process that links one snapshot file to its blob again and again and reads it after
 * each link, for the test that several processes linking the same file never see it missing
 * (test/hubRobustness.test.ts). argv: blob, pointer, count. Exits 1 with the error on stderr.
 */
import * as fs from "node:fs";
import { linkSnapshotFile } from "../../src/weights/hubCache";

const [blob, pointer, count] = process.argv.slice(2);
try {
  for (let i = 0; i < Number(count); i++) {
    linkSnapshotFile(blob, pointer);
    fs.readFileSync(pointer);
  }
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
