/**
 * A separate process that downloads hub files, for the tests of several processes sharing one cache
 * (test/hubRobustness.test.ts forks dist/test/helpers/hubDownloadChild.js).
 *
 * argv[2]: JSON `{ repoId, files: string[], options: DownloadHubFileOptions minus functions }`.
 * Sends the parent (IPC) each progress event as `{ event }`, then `{ paths }` or `{ error, code }`.
 */
import { downloadHubFile, HubDownloadError, type DownloadHubFileOptions } from "../../src/weights/hub";

interface ChildArgs {
  repoId: string;
  files: string[];
  options: DownloadHubFileOptions;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]) as ChildArgs;
  const send = (message: unknown) => new Promise<void>((resolve) => process.send!(message, () => resolve()));
  try {
    const paths: string[] = [];
    for (const file of args.files) {
      paths.push(await downloadHubFile(args.repoId, file, { ...args.options, onProgress: (event) => void send({ event }) }));
    }
    await send({ paths });
  } catch (err) {
    await send({ error: (err as Error).message, code: err instanceof HubDownloadError ? err.code : undefined });
  }
  process.disconnect();
}

void main();
