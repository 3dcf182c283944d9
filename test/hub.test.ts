import { strict as assert } from "node:assert";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  downloadHubFile,
  hubCacheDir,
  hubFileUrl,
  HubDownloadError,
  stderrProgressBar,
  type DownloadProgressEvent,
} from "../src/weights/hub";
import { downloadOptionalHubFile } from "../src/weights/hubOptionalFile";
import { LoopbackHub } from "./helpers/loopbackHub";
import { rejectsWith } from "./helpers/assertions";

const REPO = "test-org/tiny-gpt2";
const WEIGHTS = "model.safetensors";
const CONFIG = "config.json";
const ENV_VARS = ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"];

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
const repoDir = (cacheDir: string) => path.join(cacheDir, "models--test-org--tiny-gpt2");

describe("downloadHubFile against a loopback hub", () => {
  const weights = randomBytes(1_500_000);
  const config = Buffer.from(JSON.stringify({ model_type: "gpt2", n_layer: 2, n_head: 4, n_embd: 16 }));
  let hub: LoopbackHub;
  let cacheDir: string;
  let savedEnv: Record<string, string | undefined>;
  // Fast retries; every other option as a caller would leave it.
  const opts = (extra: object = {}) => ({ cacheDir, endpoint: hub.url, retryDelayMs: 1, ...extra });

  beforeEach(async () => {
    savedEnv = Object.fromEntries(ENV_VARS.map((k) => [k, process.env[k]]));
    for (const k of ENV_VARS) delete process.env[k];
    hub = await LoopbackHub.start({ repoId: REPO, files: { [WEIGHTS]: { content: weights }, [CONFIG]: { content: config, lfs: false } } });
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "hub-test-"));
  });

  afterEach(async () => {
    await hub.close();
    fs.rmSync(cacheDir, { recursive: true, force: true });
    for (const k of ENV_VARS) {
      if (savedEnv[k] === undefined) delete process.env[k];
      else process.env[k] = savedEnv[k];
    }
  });

  it("stores an LFS file in the Hugging Face cache layout: blobs/<sha256>, snapshots/<commit> symlink, refs/main", async () => {
    const file = await downloadHubFile(REPO, WEIGHTS, opts());
    const blob = path.join(repoDir(cacheDir), "blobs", sha256(weights));
    assert.equal(file, path.join(repoDir(cacheDir), "snapshots", hub.commit, WEIGHTS));
    assert.equal(fs.readFileSync(path.join(repoDir(cacheDir), "refs", "main"), "utf8"), hub.commit);
    assert.ok(fs.lstatSync(file).isSymbolicLink());
    assert.equal(fs.readlinkSync(file), path.join("..", "..", "blobs", sha256(weights)));
    assert.ok(fs.readFileSync(blob).equals(weights));
    assert.deepEqual(fs.readdirSync(path.join(repoDir(cacheDir), "blobs")), [sha256(weights)]);
    // HEAD on the hub, then GET straight from the CDN location it redirected to (another origin).
    assert.deepEqual(
      hub.requests.map((r) => [r.method, r.path]),
      [
        ["HEAD", `/${REPO}/resolve/main/${WEIGHTS}`],
        ["GET", `/cdn-lfs/${sha256(weights)}`],
      ],
    );
  });

  it("stores a regular (non-LFS) file under its git blob id, following the hub's relative redirect", async () => {
    process.env.HF_TOKEN = "hf_secret";
    const file = await downloadHubFile(REPO, CONFIG, opts());
    assert.equal(fs.readlinkSync(file), path.join("..", "..", "blobs", hub.gitSha1(CONFIG)));
    assert.ok(fs.readFileSync(file).equals(config));
    const cachePath = `/api/resolve-cache/models/${REPO}/${hub.commit}/${CONFIG}`;
    assert.deepEqual(
      hub.requests.map((r) => [r.method, r.path, r.status, r.authorization]),
      [
        ["HEAD", `/${REPO}/resolve/main/${CONFIG}`, 307, "Bearer hf_secret"],
        ["HEAD", cachePath, 200, "Bearer hf_secret"],
        ["GET", cachePath, 200, "Bearer hf_secret"],
      ],
    );
  });

  it("answers a second call from the cache without any request, by ref and by commit", async () => {
    const first = await downloadHubFile(REPO, WEIGHTS, opts());
    const requestsAfterFirst = hub.requests.length;
    const events: DownloadProgressEvent[] = [];
    assert.equal(await downloadHubFile(REPO, WEIGHTS, opts({ onProgress: (e: DownloadProgressEvent) => events.push(e) })), first);
    assert.equal(await downloadHubFile(REPO, WEIGHTS, opts({ revision: hub.commit })), first);
    assert.equal(hub.requests.length, requestsAfterFirst);
    assert.deepEqual(
      events.map((e) => [e.status, e.status === "done" && e.cached]),
      [
        ["initiate", false],
        ["done", true],
      ],
    );
  });

  it("finds a cache that huggingface_hub (Python) wrote, without network access", async () => {
    const commit = "0123456789abcdef0123456789abcdef01234567";
    const dir = repoDir(cacheDir);
    fs.mkdirSync(path.join(dir, "blobs"), { recursive: true });
    fs.mkdirSync(path.join(dir, "refs"), { recursive: true });
    fs.mkdirSync(path.join(dir, "snapshots", commit), { recursive: true });
    fs.writeFileSync(path.join(dir, "blobs", sha256(weights)), weights);
    fs.writeFileSync(path.join(dir, "refs", "main"), commit);
    fs.symlinkSync(`../../blobs/${sha256(weights)}`, path.join(dir, "snapshots", commit, WEIGHTS));
    process.env.HF_HUB_CACHE = cacheDir;
    const file = await downloadHubFile(REPO, WEIGHTS, { endpoint: hub.url });
    assert.equal(file, path.join(dir, "snapshots", commit, WEIGHTS));
    assert.equal(hub.requests.length, 0);
  });

  it("links an existing blob into a new snapshot after a HEAD, without downloading it again", async () => {
    const file = await downloadHubFile(REPO, WEIGHTS, opts());
    fs.rmSync(path.join(repoDir(cacheDir), "snapshots"), { recursive: true });
    fs.rmSync(path.join(repoDir(cacheDir), "refs"), { recursive: true });
    hub.requests.length = 0;
    assert.equal(await downloadHubFile(REPO, WEIGHTS, opts()), file);
    assert.deepEqual(
      hub.requests.map((r) => r.method),
      ["HEAD"],
    );
    assert.ok(fs.readFileSync(file).equals(weights));
  });

  it("resumes with a Range request after the server cuts the connection mid-body", async () => {
    hub.behaviour = { cutAfterBytes: 400_000, cutTimes: 1 };
    const file = await downloadHubFile(REPO, WEIGHTS, opts());
    const gets = hub.bodyRequests;
    assert.equal(gets.length, 2);
    assert.equal(gets[0].range, undefined);
    const resumedFrom = Number(/^bytes=(\d+)-$/.exec(gets[1].range ?? "")?.[1]);
    assert.ok(resumedFrom > 0 && resumedFrom <= 400_000, `second request's Range: ${gets[1].range}`);
    assert.equal(gets[1].status, 206);
    assert.equal(sha256(fs.readFileSync(file)), sha256(weights));
    assert.ok(!fs.existsSync(path.join(repoDir(cacheDir), "blobs", `${sha256(weights)}.incomplete`)));
  });

  it("treats a connection that stops sending as cut (timeoutMs) and resumes it", async () => {
    hub.behaviour = { cutAfterBytes: 200_000, cutTimes: 1, cutMode: "stall" };
    const started = Date.now();
    const file = await downloadHubFile(REPO, WEIGHTS, opts({ timeoutMs: 300 }));
    assert.ok(Date.now() - started >= 300, "waited for the idle timeout");
    assert.equal(hub.bodyRequests.length, 2);
    assert.match(hub.bodyRequests[1].range ?? "", /^bytes=\d+-$/);
    assert.equal(sha256(fs.readFileSync(file)), sha256(weights));
  });

  it("keeps resuming as long as each retry makes progress, beyond the retry limit", async () => {
    hub.behaviour = { cutAfterBytes: 400_000 }; // every GET is cut, but each brings 400 kB more
    const file = await downloadHubFile(REPO, WEIGHTS, opts({ retries: 1 }));
    assert.equal(hub.bodyRequests.length, 4);
    assert.equal(sha256(fs.readFileSync(file)), sha256(weights));
  });

  it("keeps a cut download as .incomplete, then a later call resumes it", async () => {
    hub.behaviour = { cutAfterBytes: 500_000 };
    const blob = path.join(repoDir(cacheDir), "blobs", sha256(weights));
    await rejectsWith(downloadHubFile(REPO, WEIGHTS, opts({ retries: 0 })), "network", [
      `/cdn-lfs/${sha256(weights)}`,
      `${blob}.incomplete`,
      "call again to resume",
    ]);
    const kept = fs.statSync(`${blob}.incomplete`).size;
    assert.ok(kept > 0 && kept < weights.length, `kept ${kept} bytes`);
    assert.ok(!fs.existsSync(blob), "no file under the final blob name");
    assert.ok(!fs.existsSync(path.join(repoDir(cacheDir), "snapshots", hub.commit, WEIGHTS)));

    hub.behaviour = {};
    hub.requests.length = 0;
    const file = await downloadHubFile(REPO, WEIGHTS, opts());
    assert.equal(hub.bodyRequests.length, 1);
    assert.equal(hub.bodyRequests[0].range, `bytes=${kept}-`);
    assert.equal(sha256(fs.readFileSync(file)), sha256(weights));
  });

  it("uses a leftover .incomplete of full length without a GET, and restarts one longer than the file", async () => {
    const blobs = path.join(repoDir(cacheDir), "blobs");
    const incomplete = path.join(blobs, `${sha256(weights)}.incomplete`);
    fs.mkdirSync(blobs, { recursive: true });
    fs.writeFileSync(incomplete, weights); // a run that stopped between the last byte and the rename
    const file = await downloadHubFile(REPO, WEIGHTS, opts());
    assert.equal(hub.bodyRequests.length, 0);
    assert.ok(fs.readFileSync(file).equals(weights));

    fs.rmSync(cacheDir, { recursive: true });
    fs.mkdirSync(blobs, { recursive: true });
    fs.writeFileSync(incomplete, Buffer.concat([weights, Buffer.from("extra")]));
    assert.ok(fs.readFileSync(await downloadHubFile(REPO, WEIGHTS, opts())).equals(weights));
    assert.equal(hub.bodyRequests.length, 1);
    assert.equal(hub.bodyRequests[0].range, undefined, "no Range: the leftover was discarded");
  });

  it("starts over when the server ignores Range and sends the whole file (200)", async () => {
    hub.behaviour = { cutAfterBytes: 300_000, cutTimes: 1, ignoreRange: true };
    const events: DownloadProgressEvent[] = [];
    const file = await downloadHubFile(REPO, WEIGHTS, opts({ onProgress: (e: DownloadProgressEvent) => events.push(e) }));
    const gets = hub.bodyRequests;
    assert.equal(gets.length, 2);
    assert.match(gets[1].range ?? "", /^bytes=\d+-$/);
    assert.equal(gets[1].status, 200);
    assert.equal(fs.statSync(file).size, weights.length);
    assert.equal(sha256(fs.readFileSync(file)), sha256(weights));
    const done = events.at(-1);
    assert.ok(done?.status === "done" && done.loaded === weights.length);
  });

  it("rejects corrupt bytes: error names URL, expected and actual sha256; nothing left under the final name", async () => {
    hub.behaviour = { corrupt: true };
    const corrupted = Buffer.from(weights);
    corrupted[corrupted.length >> 1] ^= 0xff;
    await rejectsWith(downloadHubFile(REPO, WEIGHTS, opts()), "integrity", [
      `${hub.cdnUrl}/cdn-lfs/${sha256(weights)}`,
      `expected ${sha256(weights)}`,
      sha256(corrupted),
    ]);
    const blobs = path.join(repoDir(cacheDir), "blobs");
    assert.deepEqual(fs.readdirSync(blobs), [], "neither the blob nor its .incomplete remains");
    assert.ok(!fs.existsSync(path.join(repoDir(cacheDir), "snapshots", hub.commit, WEIGHTS)), "no snapshot link");
    // Once the server behaves, the same call succeeds.
    hub.behaviour = {};
    assert.equal(sha256(fs.readFileSync(await downloadHubFile(REPO, WEIGHTS, opts()))), sha256(weights));
  });

  it("reports a missing file as 404 with the URL and what to check", async () => {
    const url = `${hub.url}/${REPO}/resolve/main/pytorch_model.bin`;
    const err = await rejectsWith(downloadHubFile(REPO, "pytorch_model.bin", opts()), "not-found", [
      url,
      "404",
      "pytorch_model.bin was not found in test-org/tiny-gpt2",
      "check the repo id and the file name",
    ]);
    assert.equal(err.status, 404);
    assert.equal(err.url, url);
  });

  it("reports an unknown revision and an unknown repo with what to do", async () => {
    await rejectsWith(downloadHubFile(REPO, WEIGHTS, opts({ revision: "v9" })), "not-found", ["404", 'revision "v9" does not exist']);
    await rejectsWith(downloadHubFile("test-org/no-such-model", WEIGHTS, opts()), "unauthorized", [
      `${hub.url}/test-org/no-such-model/resolve/main/${WEIGHTS}`,
      "401",
      "does not exist, or it is private or gated",
      "HF_TOKEN",
    ]);
  });

  it("sends HF_TOKEN to a gated repo's hub URL only, not to the CDN; without it, says to set it", async () => {
    hub.behaviour = { requireToken: "hf_secret" };
    await rejectsWith(downloadHubFile(REPO, WEIGHTS, opts()), "unauthorized", ["403", "gated", "set HF_TOKEN"]);
    await rejectsWith(downloadHubFile(REPO, WEIGHTS, opts({ token: "hf_wrong" })), "unauthorized", ["403", "was not accepted"]);
    process.env.HF_TOKEN = "hf_secret";
    hub.requests.length = 0;
    const file = await downloadHubFile(REPO, WEIGHTS, opts());
    assert.ok(fs.readFileSync(file).equals(weights));
    assert.deepEqual(
      hub.requests.map((r) => [r.method, r.authorization]),
      [
        ["HEAD", "Bearer hf_secret"],
        ["GET", undefined],
      ],
    );
  });

  it("with localFilesOnly or HF_HUB_OFFLINE=1, fails clearly without a request when the file is not cached", async () => {
    await rejectsWith(downloadHubFile(REPO, WEIGHTS, opts({ localFilesOnly: true })), "offline", [
      `${REPO}/${WEIGHTS}`,
      cacheDir,
      "localFilesOnly",
      "MODEL_OVERRIDE_DIR",
    ]);
    process.env.HF_HUB_OFFLINE = "1";
    await rejectsWith(downloadHubFile(REPO, WEIGHTS, opts()), "offline", ["HF_HUB_OFFLINE"]);
    assert.equal(hub.requests.length, 0);
    delete process.env.HF_HUB_OFFLINE;
    const file = await downloadHubFile(REPO, WEIGHTS, opts());
    assert.equal(await downloadHubFile(REPO, WEIGHTS, opts({ localFilesOnly: true })), file);
  });

  it("reports an unreachable hub as a network error suggesting MODEL_OVERRIDE_DIR", async () => {
    const endpoint = hub.url;
    await hub.close();
    await rejectsWith(downloadHubFile(REPO, WEIGHTS, { cacheDir, endpoint, retryDelayMs: 1 }), "network", [
      `${endpoint}/${REPO}/resolve/main/${WEIGHTS}`,
      "ECONNREFUSED",
      "MODEL_OVERRIDE_DIR",
    ]);
    hub = await LoopbackHub.start({ repoId: REPO, files: {} }); // for afterEach
  });

  it("rejects malformed repo ids, file names and revisions before any request", async () => {
    const cases: Array<[string, string, string | undefined, string]> = [
      ["../etc", WEIGHTS, undefined, "Invalid hub repo id"],
      ["a/b/c", WEIGHTS, undefined, "Invalid hub repo id"],
      ["org--x/y", WEIGHTS, undefined, "Invalid hub repo id"],
      [REPO, "../../secret", undefined, "Invalid file name"],
      [REPO, "/abs", undefined, "Invalid file name"],
      [REPO, WEIGHTS, "../main", "Invalid revision"],
    ];
    for (const [repo, file, revision, message] of cases) {
      await rejectsWith(downloadHubFile(repo, file, opts({ revision })), "invalid-argument", [message]);
    }
    assert.equal(hub.requests.length, 0);
  });

  it("emits initiate, download, progress…, done, with loaded rising to total; no final name before done", async () => {
    const events: DownloadProgressEvent[] = [];
    const blob = path.join(repoDir(cacheDir), "blobs", sha256(weights));
    const snapshot = path.join(repoDir(cacheDir), "snapshots", hub.commit, WEIGHTS);
    const onProgress = (e: DownloadProgressEvent) => {
      events.push(e);
      if (e.status === "progress") {
        assert.ok(!fs.existsSync(blob) && !fs.existsSync(snapshot), "final names appear only when complete");
        assert.equal(fs.statSync(`${blob}.incomplete`).size, e.loaded);
      }
    };
    await downloadHubFile(REPO, WEIGHTS, opts({ onProgress }));
    const statuses = events.map((e) => e.status);
    assert.deepEqual(statuses.slice(0, 2), ["initiate", "download"]);
    assert.equal(statuses.at(-1), "done");
    const progress = events.filter((e) => e.status === "progress");
    assert.equal(progress.length, statuses.length - 3, "only progress events between download and done");
    assert.ok(progress.length >= 2, `${progress.length} progress events`);
    assert.ok(events.every((e) => e.repoId === REPO && e.file === WEIGHTS));
    let previous = 0;
    for (const e of progress) {
      assert.equal(e.total, weights.length);
      assert.ok(e.loaded > previous, "loaded rises");
      previous = e.loaded;
    }
    assert.equal(previous, weights.length);
    assert.deepEqual(events.at(-1), { status: "done", repoId: REPO, file: WEIGHTS, cached: false, loaded: weights.length, total: weights.length });
  });

  it("downloads a blob once when two calls ask for it at the same time", async () => {
    const [a, b] = await Promise.all([downloadHubFile(REPO, WEIGHTS, opts()), downloadHubFile(REPO, WEIGHTS, opts())]);
    assert.equal(a, b);
    assert.equal(hub.bodyRequests.length, 1);
    assert.ok(fs.readFileSync(a).equals(weights));
  });

  it("an optional file: present gives its path, absent gives null (recorded in .no_exist, asked once)", async () => {
    assert.equal(await downloadOptionalHubFile(REPO, CONFIG, opts()), path.join(repoDir(cacheDir), "snapshots", hub.commit, CONFIG));
    assert.equal(await downloadOptionalHubFile(REPO, "sparsity.safetensors", opts()), null);
    assert.ok(fs.existsSync(path.join(repoDir(cacheDir), ".no_exist", hub.commit, "sparsity.safetensors")));
    const requests = hub.requests.length;
    assert.equal(await downloadOptionalHubFile(REPO, "sparsity.safetensors", opts()), null);
    assert.equal(hub.requests.length, requests);
  });

  it("an optional file still fails on an unknown revision or repo (only a missing file is null)", async () => {
    await rejectsWith(downloadOptionalHubFile(REPO, "sparsity.safetensors", opts({ revision: "v9" })), "not-found", ['the revision "v9" does not exist']);
    await rejectsWith(downloadOptionalHubFile("test-org/other", "sparsity.safetensors", opts()), "unauthorized", ["test-org/other"]);
  });
});

describe("hub cache folder and URL", () => {
  const home = os.homedir();
  const table: Array<[string, Record<string, string>, string | undefined, string]> = [
    ["option wins", { HF_HUB_CACHE: "/x/hub-cache", HF_HOME: "/x/home" }, "/opt/cache", "/opt/cache"],
    ["HF_HUB_CACHE", { HF_HUB_CACHE: "/x/hub-cache", HF_HOME: "/x/home" }, undefined, "/x/hub-cache"],
    ["HF_HOME + /hub", { HF_HOME: "/x/home" }, undefined, "/x/home/hub"],
    ["XDG_CACHE_HOME/huggingface/hub", { XDG_CACHE_HOME: "/x/xdg" }, undefined, "/x/xdg/huggingface/hub"],
    ["~/.cache/huggingface/hub", {}, undefined, path.join(home, ".cache", "huggingface", "hub")],
  ];
  for (const [name, env, override, expected] of table) {
    it(`cache folder: ${name}`, () => assert.equal(hubCacheDir(override, env), expected));
  }

  it("builds the hub's resolve URL, quoting the revision and each path part", () => {
    assert.equal(hubFileUrl("openai-community/gpt2", "model.safetensors", { endpoint: "https://huggingface.co" }), "https://huggingface.co/openai-community/gpt2/resolve/main/model.safetensors");
    assert.equal(hubFileUrl("gpt2", "onnx/a b.onnx", { revision: "refs/pr/1", endpoint: "http://mirror/" }), "http://mirror/gpt2/resolve/refs%2Fpr%2F1/onnx/a%20b.onnx");
  });
});

describe("stderrProgressBar", () => {
  function run(isTTY: boolean, total: number, steps: number): string {
    let out = "";
    let clock = 0;
    const bar = stderrProgressBar({ stream: { isTTY, write: (s: string) => (out += s) }, now: () => clock });
    const base = { repoId: REPO, file: WEIGHTS };
    bar({ status: "initiate", ...base });
    bar({ status: "download", ...base, loaded: 0, total });
    for (let i = 1; i <= steps; i++) {
      clock += 50; // 20 events per second
      bar({ status: "progress", ...base, loaded: Math.round((total * i) / steps), total });
    }
    bar({ status: "done", ...base, cached: false, loaded: total, total });
    return out;
  }

  it("on a terminal redraws one line with \\r, showing percent, MB and MB/s, and ends it", () => {
    const out = run(true, 50e6, 100); // 50 MB in 5 s
    const frames = out.split("\r").filter((s) => s.length > 0);
    assert.equal(out.split("\n").length, 2, "a single finished line");
    assert.ok(frames.length >= 40 && frames.length <= 52, `${frames.length} redraws at most every 100 ms`);
    assert.match(frames[0], /model\.safetensors\s+1% \[-+\]\s+0\.5\/50\.0 MB\s+10\.0 MB\/s/);
    assert.match(frames.at(-1) ?? "", /100% \[#{24}\]\s+50\.0\/50\.0 MB\s+10\.0 MB\/s\s+done in 5\.0 s/);
  });

  it("without a terminal writes a few plain lines (start, each tenth, done), no \\r", () => {
    const out = run(false, 50e6, 1000);
    assert.ok(!out.includes("\r"));
    const lines = out.trimEnd().split("\n");
    assert.equal(lines[0], `Downloading ${REPO}/${WEIGHTS} (50.0 MB)`);
    assert.equal(lines.length, 1 + 9 + 1, lines.join("\n")); // start, 10%…90%, done
    assert.match(lines.at(-1) ?? "", /100%.*50\.0\/50\.0 MB.*done in 50\.0 s/);
  });

  it("prints nothing for a file that came from the cache", () => {
    let out = "";
    const bar = stderrProgressBar({ stream: { isTTY: true, write: (s: string) => (out += s) } });
    bar({ status: "initiate", repoId: REPO, file: WEIGHTS });
    bar({ status: "done", repoId: REPO, file: WEIGHTS, cached: true });
    assert.equal(out, "");
  });
});
