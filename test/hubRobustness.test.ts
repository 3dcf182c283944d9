/**
 * Issue 12: downloads that cannot be corrupted or poisoned, against the loopback hub. Several real
 * processes sharing one cache, a killed downloader, a captive portal's HTML, stalls and trickles,
 * misleading servers (redirect loops, 500), full and read-only disks, offline use, and a cached file
 * damaged later. Every error's text is pinned.
 */
import { strict as assert } from "node:assert";
import { fork, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { downloadHubFile, HubDownloadError, stderrProgressBar, type DownloadProgressEvent } from "../src/weights/hub";
import { loadCheckpoint, resolveModelSource } from "../src/weights/loadPretrained";
import { failWritesUnder } from "./helpers/failingFs";
import { LoopbackHub } from "./helpers/loopbackHub";
import { rejectsWith } from "./helpers/assertions";

const REPO = "test-org/tiny-gpt2";
const WEIGHTS = "model.safetensors";
const CONFIG = "config.json";
const ENV_VARS = ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HOME", "HF_HUB_DOWNLOAD_TIMEOUT", "MODEL_OVERRIDE_DIR"];
const CHILD = path.join(__dirname, "helpers", "hubDownloadChild.js");

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

interface ChildResult {
  paths?: string[];
  error?: string;
  code?: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/** A real process downloading `files` into the cache (test/helpers/hubDownloadChild.ts). */
function startChild(files: string[], options: object): { child: ChildProcess; events: DownloadProgressEvent[]; done: Promise<ChildResult>; until: (f: (e: DownloadProgressEvent) => boolean) => Promise<void> } {
  const child = fork(CHILD, [JSON.stringify({ repoId: REPO, files, options })], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const events: DownloadProgressEvent[] = [];
  const waiters: { f: (e: DownloadProgressEvent) => boolean; resolve: () => void }[] = [];
  let outcome: Partial<ChildResult> = {};
  child.on("message", (m: { event?: DownloadProgressEvent } & Partial<ChildResult>) => {
    if (m.event) {
      events.push(m.event);
      for (const w of waiters.splice(0)) (w.f(m.event) ? w.resolve : () => waiters.push(w))();
    } else outcome = m;
  });
  const done = new Promise<ChildResult>((resolve) => child.on("exit", (exitCode, signal) => resolve({ ...outcome, exitCode, signal })));
  const until = (f: (e: DownloadProgressEvent) => boolean) => new Promise<void>((resolve) => waiters.push({ f, resolve }));
  return { child, events, done, until };
}

describe("hub downloads under trouble (issue 12)", () => {
  const weights = randomBytes(1_500_000);
  const config = Buffer.from(JSON.stringify({ model_type: "gpt2", n_layer: 2, n_head: 4, n_embd: 16 }));
  let hub: LoopbackHub;
  let cacheDir: string;
  let savedEnv: Record<string, string | undefined>;
  const opts = (extra: object = {}) => ({ cacheDir, endpoint: hub.url, retryDelayMs: 1, ...extra });
  const repoDir = () => path.join(cacheDir, "models--test-org--tiny-gpt2");
  const blobsDir = () => path.join(repoDir(), "blobs");
  const listBlobs = () => (fs.existsSync(blobsDir()) ? fs.readdirSync(blobsDir()).sort() : []);
  const snapshotFile = (file: string) => path.join(repoDir(), "snapshots", hub.commit, file);
  const cdnGets = () => hub.bodyRequests.filter((r) => r.path === `/cdn-lfs/${sha256(weights)}`);

  beforeEach(async () => {
    savedEnv = Object.fromEntries(ENV_VARS.map((k) => [k, process.env[k]]));
    for (const k of ENV_VARS) if (k !== "HOME") delete process.env[k];
    hub = await LoopbackHub.start({ repoId: REPO, files: { [WEIGHTS]: { content: weights }, [CONFIG]: { content: config, lfs: false } } });
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "hub-robust-"));
  });

  afterEach(async () => {
    await hub.close();
    fs.chmodSync(cacheDir, 0o755);
    fs.rmSync(cacheDir, { recursive: true, force: true });
    for (const k of ENV_VARS) {
      if (savedEnv[k] === undefined) delete process.env[k];
      else process.env[k] = savedEnv[k];
    }
  });

  describe("several processes, one cache", () => {
    it("four processes loading the same files at once all succeed; each file is served once; nothing left over", async () => {
      hub.behaviour = { trickle: { bytes: 64 * 1024, everyMs: 60 } }; // about 1.4 s for the weights, so they overlap
      const runs = [0, 1, 2, 3].map(() => startChild([CONFIG, WEIGHTS], opts()));
      const results = await Promise.all(runs.map((r) => r.done));
      for (const r of results) assert.deepEqual(r.paths, [snapshotFile(CONFIG), snapshotFile(WEIGHTS)], r.error);
      assert.equal(cdnGets().length, 1, "the weights were sent once");
      assert.equal(hub.bodyRequests.filter((r) => r.path.endsWith(`/${CONFIG}`)).length, 1, "config.json was sent once");
      assert.ok(runs.some((r) => r.events.some((e) => e.status === "waiting")), "some process waited for another's download");
      assert.equal(sha256(fs.readFileSync(snapshotFile(WEIGHTS))), sha256(weights));
      assert.deepEqual(listBlobs(), [hub.gitSha1(CONFIG), sha256(weights)].sort());
      assert.deepEqual(fs.readdirSync(path.dirname(snapshotFile(CONFIG))).sort(), [CONFIG, WEIGHTS]);
      assert.ok(fs.lstatSync(snapshotFile(WEIGHTS)).isSymbolicLink());
    });

    it("a downloader killed mid-file leaves a partial file and a lock; the next process takes both over and resumes", async () => {
      hub.behaviour = { trickle: { bytes: 32 * 1024, everyMs: 30 } };
      const first = startChild([WEIGHTS], opts());
      await first.until((e) => e.status === "progress" && e.loaded >= 200_000);
      first.child.kill("SIGKILL");
      assert.equal((await first.done).signal, "SIGKILL");
      const blob = path.join(blobsDir(), sha256(weights));
      const kept = fs.statSync(`${blob}.incomplete`).size;
      assert.ok(kept >= 200_000 && kept < weights.length, `kept ${kept}`);
      assert.equal(JSON.parse(fs.readFileSync(`${blob}.lock`, "utf8")).pid, first.child.pid);

      hub.behaviour = {};
      const next = startChild([WEIGHTS], opts());
      const result = await next.done;
      assert.deepEqual(result.paths, [snapshotFile(WEIGHTS)], result.error);
      assert.deepEqual(cdnGets().map((r) => r.range), [undefined, `bytes=${kept}-`]);
      assert.deepEqual(next.events.find((e) => e.status === "download"), { status: "download", repoId: REPO, file: WEIGHTS, loaded: kept, total: weights.length });
      assert.equal(sha256(fs.readFileSync(blob)), sha256(weights));
      assert.deepEqual(listBlobs(), [sha256(weights)]);
    });

    it("processes linking the same snapshot file at once never find it missing, and leave one symlink", async () => {
      const blob = path.join(blobsDir(), "blob");
      fs.mkdirSync(blobsDir(), { recursive: true });
      fs.writeFileSync(blob, config);
      const pointer = snapshotFile(CONFIG);
      const runs = [0, 1, 2, 3].map(() => {
        const child = fork(path.join(__dirname, "helpers", "linkSnapshotChild.js"), [blob, pointer, "400"], { stdio: ["ignore", "inherit", "pipe", "ipc"] });
        let stderr = "";
        child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
        return new Promise<string>((resolve) => child.on("exit", (code) => resolve(`exit ${code} ${stderr}`.trim())));
      });
      assert.deepEqual(await Promise.all(runs), ["exit 0", "exit 0", "exit 0", "exit 0"]);
      assert.equal(fs.readlinkSync(pointer), path.join("..", "..", "blobs", "blob"));
      assert.deepEqual(fs.readdirSync(path.dirname(pointer)), [CONFIG], "no temporary names left");
    });

    it("waits for a live lock of another host, then takes it over once untouched for staleLockMs", async () => {
      fs.mkdirSync(blobsDir(), { recursive: true });
      const lock = path.join(blobsDir(), `${sha256(weights)}.lock`);
      fs.writeFileSync(lock, JSON.stringify({ pid: 1, host: "another-host", since: new Date().toISOString() }));
      fs.writeFileSync(path.join(blobsDir(), `${sha256(weights)}.incomplete`), weights.subarray(0, 100_000));
      const events: DownloadProgressEvent[] = [];
      const started = Date.now();
      const file = await downloadHubFile(REPO, WEIGHTS, opts({ staleLockMs: 600, onProgress: (e: DownloadProgressEvent) => events.push(e) }));
      assert.ok(Date.now() - started >= 500, "waited until the lock went stale");
      assert.deepEqual(
        events.filter((e) => e.status === "waiting").map((e) => e.status === "waiting" && e.owner),
        ["process 1 on another-host"],
      );
      assert.deepEqual(cdnGets().map((r) => r.range), ["bytes=100000-"]);
      assert.equal(sha256(fs.readFileSync(file)), sha256(weights));
      assert.deepEqual(listBlobs(), [sha256(weights)]);
    });
  });

  describe("nothing unverified under a final name", () => {
    it("an HTML page answered for config.json (200, git-sha1 ETag, no length) is refused and not stored", async () => {
      hub.behaviour = { htmlFor: [CONFIG] };
      await rejectsWith(downloadHubFile(REPO, CONFIG, opts()), "integrity", [
        `/api/resolve-cache/models/${REPO}/${hub.commit}/${CONFIG}`,
        `is not the file the hub describes: its git-sha1 is `,
        `the ETag says ${hub.gitSha1(CONFIG)}`,
        "it is an HTML page: a proxy, captive portal or login page answered instead of the hub",
        "Nothing was stored. Sign in to the network or fix the proxy, then call again.",
      ]);
      assert.deepEqual(listBlobs(), []);
      assert.ok(!fs.existsSync(snapshotFile(CONFIG)));
      hub.behaviour = {};
      assert.ok(fs.readFileSync(await downloadHubFile(REPO, CONFIG, opts())).equals(config), "the next call downloads it");
    });

    it("a JSON file that does not parse is refused and not stored, even when its ETag matches", async () => {
      await hub.close();
      hub = await LoopbackHub.start({ repoId: REPO, files: { [CONFIG]: { content: Buffer.from('{"n_layer": 2,'), lfs: false } } });
      await rejectsWith(downloadHubFile(REPO, CONFIG, opts()), "integrity", [
        `${hub.url}/api/resolve-cache/models/${REPO}/${hub.commit}/${CONFIG}`,
        "should be JSON but is not (",
        "The bad data was deleted; call again to download afresh.",
      ]);
      assert.deepEqual(listBlobs(), []);
      assert.ok(!fs.existsSync(snapshotFile(CONFIG)));
    });

    it("a cached config.json found to be HTML later: loading names the file to delete; deleting it heals the cache", async () => {
      const configPath = await downloadHubFile(REPO, CONFIG, opts());
      const blob = path.join(blobsDir(), hub.gitSha1(CONFIG));
      fs.writeFileSync(configPath, "<html><body>Sign in</body></html>"); // through the link: the blob itself
      assert.throws(
        () => loadCheckpoint({ modelName: "tiny", configPath, weightsPath: path.join(cacheDir, "none.safetensors") }),
        (err: Error) => {
          for (const part of [
            `Cannot read ${configPath}: it is not valid JSON (`,
            "It is an HTML page (a proxy, captive portal or login page answered instead of the hub).",
            `It is in the Hugging Face hub cache and was damaged or replaced after it was downloaded: delete ${blob} and load again to download it afresh.`,
          ]) assert.ok(err.message.includes(part), `message lacks ${JSON.stringify(part)}: ${err.message}`);
          return true;
        },
      );
      fs.rmSync(blob);
      assert.ok(fs.readFileSync(await downloadHubFile(REPO, CONFIG, opts())).equals(config));
      // A folder of the user's own is not the cache: no advice to delete.
      const own = path.join(cacheDir, "own");
      fs.mkdirSync(own);
      fs.writeFileSync(path.join(own, CONFIG), "{");
      assert.throws(() => loadCheckpoint({ modelName: "own", configPath: path.join(own, CONFIG), weightsPath: "" }), /^Error: Cannot read .*own\/config\.json: it is not valid JSON \(.*\)\. Fix or replace the file\.$/);
    });
  });

  describe("bounded waiting", () => {
    for (const how of ["the timeoutMs option", "HF_HUB_DOWNLOAD_TIMEOUT"]) {
      it(`a server that sends 1,000 bytes and stalls, again and again: fails within timeout × retry budget, saying it stalled (${how})`, async () => {
        hub.behaviour = { cutAfterBytes: 1000, cutMode: "stall" }; // every GET, each resumed one too
        const events: DownloadProgressEvent[] = [];
        if (how === "HF_HUB_DOWNLOAD_TIMEOUT") process.env.HF_HUB_DOWNLOAD_TIMEOUT = "0.25"; // seconds, as huggingface_hub reads it
        const timeout = how === "HF_HUB_DOWNLOAD_TIMEOUT" ? {} : { timeoutMs: 250 };
        const started = Date.now();
        await rejectsWith(
          downloadHubFile(REPO, WEIGHTS, opts({ ...timeout, retries: 3, totalRetries: 4, onProgress: (e: DownloadProgressEvent) => events.push(e) })),
          "network",
          [`Downloading ${hub.cdnUrl}/cdn-lfs/${sha256(weights)}?… was interrupted 5 times in all`, "broke after 5000 bytes: no data for 250 ms", `5000 of ${weights.length} bytes are kept in`, "call again to resume from there"],
        );
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 5 * 250 && elapsed < 5 * 250 + 3000, `gave up after ${elapsed} ms`);
        assert.equal(cdnGets().length, 5);
        const stalled = events.filter((e) => e.status === "progress" && e.stalledMs !== undefined);
        assert.ok(stalled.length >= 5, `${stalled.length} "no data for" events`);
        assert.ok(stalled.every((e) => e.status === "progress" && e.stalledMs! >= 83 && e.stalledMs! < 250 + 100), "said within each stall");
        assert.ok(!fs.existsSync(path.join(blobsDir(), `${sha256(weights)}.lock`)));
      });
    }

    it("a trickling server: progress events keep coming, at most a few hundred ms apart", async () => {
      hub.behaviour = { trickle: { bytes: 100_000, everyMs: 80 } };
      const times: number[] = [];
      await downloadHubFile(REPO, WEIGHTS, opts({ timeoutMs: 1000, onProgress: (e: DownloadProgressEvent) => e.status === "progress" && times.push(Date.now()) }));
      assert.ok(times.length >= 15, `${times.length} events`);
      const gaps = times.slice(1).map((t, i) => t - times[i]);
      assert.ok(Math.max(...gaps) < 1000, `largest gap ${Math.max(...gaps)} ms`);
    });

    for (const isTTY of [false, true]) {
      it(`the progress bar (${isTTY ? "terminal" : "log or notebook"}) shows a 20 B/s download and a stall at least every 10 s`, () => {
        const written: { at: number; text: string }[] = [];
        let clock = 0;
        const bar = stderrProgressBar({ stream: { isTTY, write: (s: string) => written.push({ at: clock, text: s }) }, now: () => clock });
        const base = { repoId: REPO, file: WEIGHTS, total: 500e6 };
        bar({ status: "download", ...base, loaded: 0 });
        for (let s = 1; s <= 60; s++) {
          clock = s * 1000;
          bar({ status: "progress", ...base, loaded: 20 * s }); // a byte-trickle: 20 B/s of 500 MB
        }
        for (let s = 62; s <= 90; s += 2) {
          clock = s * 1000;
          bar({ status: "progress", ...base, loaded: 1200, stalledMs: (s - 60) * 1000 }); // heartbeats, no bytes
        }
        const times = [0, ...written.map((w) => w.at), 90_000];
        assert.ok(times.slice(1).every((t, i) => t - times[i] <= 10_000), `a line at least every 10 s: ${written.map((w) => w.at).join(", ")}`);
        assert.ok(written.some((w) => w.text.includes("(no data for 30 s)")), written.map((w) => w.text).join(""));
        assert.equal(written.some((w) => w.text.includes("\r")), isTTY);
      });
    }
  });

  describe("every failure says what happened and what to do", () => {
    it("a redirect loop at the hub (HEAD) and at the CDN (GET) is called a redirect loop", async () => {
      hub.behaviour = { redirectLoop: "hub" };
      await rejectsWith(downloadHubFile(REPO, WEIGHTS, opts()), "http", [`${hub.url}/${REPO}/resolve/main/${WEIGHTS} redirected more than 5 times`, "a redirect loop", "check HF_ENDPOINT"], ["does not look like a hub", "resume"]);
      hub.behaviour = { redirectLoop: "cdn" };
      await rejectsWith(downloadHubFile(REPO, WEIGHTS, opts()), "http", [`${hub.cdnUrl}/cdn-lfs/${sha256(weights)}?… redirected too many times (a redirect loop)`, "check HF_ENDPOINT"], ["interrupted", "resume"]);
      assert.deepEqual(listBlobs(), []);
    });

    for (const where of ["hub", "cdn"] as const) {
      it(`a 500 from the ${where === "hub" ? "hub (HEAD)" : "CDN (GET)"}: the server failed, with URL and status, not the network`, async () => {
        hub.behaviour = { failWith: { status: 500, where } };
        const url = where === "hub" ? `${hub.url}/${REPO}/resolve/main/${WEIGHTS}` : `${hub.cdnUrl}/cdn-lfs/${sha256(weights)}?…`;
        const err = await rejectsWith(downloadHubFile(REPO, WEIGHTS, opts({ retries: 2 })), "http", [`${url} answered 500 Internal Server Error 3 times`, "the server has a problem; try again in a few minutes"], ["Check the network"]);
        assert.equal(err.status, 500);
      });
    }

    it("a full disk: names the cache folder and the bytes needed; the partial file resumes once there is room", async () => {
      const restore = failWritesUnder(cacheDir, "ENOSPC", { afterBytes: 300_000 });
      try {
        await rejectsWith(downloadHubFile(REPO, WEIGHTS, opts()), "disk", [`The disk holding the hub cache ${cacheDir} is full (`, " MB free): test-org/tiny-gpt2/model.safetensors needs 1.5 MB.", "Free some space (partial downloads are kept and resume), or set HF_HUB_CACHE (or HF_HOME)"]);
      } finally {
        restore();
      }
      const blob = path.join(blobsDir(), sha256(weights));
      assert.deepEqual(listBlobs(), [`${sha256(weights)}.incomplete`]);
      await downloadHubFile(REPO, WEIGHTS, opts());
      assert.match(cdnGets()[1].range ?? "", /^bytes=[1-9]\d*-$/);
      assert.equal(sha256(fs.readFileSync(blob)), sha256(weights));
    });

    const table: [string, "EACCES" | "EROFS", string][] = [
      ["read-only folder (chmod 0o555, or EACCES where tests run as root)", "EACCES", "is not writable by this user (EACCES on "],
      ["read-only file system", "EROFS", "is on a read-only file system (EROFS on "],
    ];
    for (const [name, code, said] of table) {
      it(`a ${name}: names the folder and HF_HUB_CACHE/HF_HOME`, async () => {
        // chmod does not stop root, so there the same failure comes from the fs hook.
        const real = code === "EACCES" && process.getuid?.() !== 0;
        const restore = real ? (fs.chmodSync(cacheDir, 0o555), () => fs.chmodSync(cacheDir, 0o755)) : failWritesUnder(cacheDir, code);
        try {
          await rejectsWith(downloadHubFile(REPO, WEIGHTS, opts()), "disk", [`Cannot save ${REPO}/${WEIGHTS}: the hub cache ${cacheDir} ${said}${repoDir()}`, "Set HF_HUB_CACHE (or HF_HOME) to a folder you can write, or pass the cacheDir option."]);
        } finally {
          restore();
        }
        assert.deepEqual(fs.readdirSync(cacheDir), []);
      });
    }

    for (const variable of ["HOME", "HF_HOME"]) {
      it(`a cache path that cannot be created (${variable} under a file): names the folder and HF_HUB_CACHE/HF_HOME`, async () => {
        const notAFolder = path.join(cacheDir, "a-file");
        fs.writeFileSync(notAFolder, "");
        process.env[variable] = notAFolder;
        const expected = variable === "HOME" ? path.join(notAFolder, ".cache", "huggingface", "hub") : path.join(notAFolder, "hub");
        await rejectsWith(downloadHubFile(REPO, WEIGHTS, { endpoint: hub.url, retryDelayMs: 1 }), "disk", [`Cannot save ${REPO}/${WEIGHTS}: a folder of the hub cache ${expected} cannot be created (ENOTDIR on `, "is HOME set and does the path exist?", "Set HF_HUB_CACHE (or HF_HOME) to a folder you can write"]);
      });
    }

    it("offline: the error names the file missing from the cache (config.json, then model.safetensors)", async () => {
      await hub.close();
      hub = await LoopbackHub.start({ repoId: "openai-community/gpt2", files: { [CONFIG]: { content: config, lfs: false } } });
      process.env.HF_HUB_OFFLINE = "1";
      const load = () => resolveModelSource("gpt2", { cacheDir, endpoint: hub.url, onProgress: () => undefined });
      await rejectsWith(load(), "offline", [`openai-community/gpt2/config.json (revision main) is not in the cache ${cacheDir} and network access is off (HF_HUB_OFFLINE is set)`, "MODEL_OVERRIDE_DIR"]);
      await downloadHubFile("openai-community/gpt2", CONFIG, { cacheDir, endpoint: hub.url, localFilesOnly: false });
      await rejectsWith(load(), "offline", ["openai-community/gpt2/model.safetensors (revision main) is not in the cache"]);
      assert.equal(hub.requests.filter((r) => r.method === "GET").length, 1, "only the explicit download asked the hub");
    });
  });
});
