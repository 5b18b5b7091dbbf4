// The hub client against a local HTTP server that serves the hub's URL layout: resolve URLs with
// X-Repo-Commit and ETag headers, LFS redirects to another host, 404s with X-Error-Code, and the
// revision API. Files land in the cache layout Python's huggingface_hub uses.
import "./hermetic.js";
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { hfHubDownload, listRepoFiles, resolveFile, EntryNotFoundError, LocalEntryNotFoundError, RepositoryNotFoundError } from "../src/hub/index.js";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const files: Record<string, string> = {
  "config.json": '{"model_type": "bert"}',
  "model.safetensors": "pretend these are weights".repeat(100),
  "sub/dir/file.txt": "nested",
};
const sha = (s: string) => createHash("sha256").update(s).digest("hex");
let server: Server;
let cdn: Server;
let base = "";
let cdnBase = "";
const seen: { method: string; url: string; auth?: string }[] = [];

function handle(req: IncomingMessage, res: import("node:http").ServerResponse): void {
  seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization });
  const url = new URL(req.url!, base);
  if (url.pathname === "/api/models/org/model/revision/main") {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ sha: COMMIT, siblings: Object.keys(files).map((rfilename) => ({ rfilename })) }));
    return;
  }
  if (url.pathname === "/old-org/model/resolve/main/config.json") {
    res.writeHead(307, { location: "/org/model/resolve/main/config.json" }); // a renamed repo
    res.end();
    return;
  }
  const m = /^\/(datasets\/)?([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
  if (!m || m[2] !== "org/model") {
    res.writeHead(404, { "x-error-code": "RepoNotFound" });
    res.end();
    return;
  }
  const name = decodeURIComponent(m[4]);
  const body = files[name];
  if (body === undefined) {
    res.writeHead(404, { "x-error-code": "EntryNotFound", "x-repo-commit": COMMIT });
    res.end();
    return;
  }
  if (name.endsWith(".safetensors")) {
    // LFS: the metadata is here, the bytes on a CDN (another host).
    res.writeHead(302, {
      location: `${cdnBase}/blob/${sha(body)}`,
      "x-repo-commit": COMMIT,
      "x-linked-etag": `"${sha(body)}"`,
      "x-linked-size": String(body.length),
    });
    res.end();
    return;
  }
  const etag = createHash("sha1").update(body).digest("hex");
  res.writeHead(200, { "x-repo-commit": COMMIT, etag: `"${etag}"`, "content-length": String(Buffer.byteLength(body)) });
  res.end(req.method === "HEAD" ? undefined : body);
}

before(async () => {
  server = createServer(handle);
  cdn = createServer((req, res) => {
    seen.push({ method: req.method!, url: `cdn${req.url}`, auth: req.headers.authorization });
    const body = Object.values(files).find((b) => req.url === `/blob/${sha(b)}`);
    res.writeHead(body ? 200 : 404);
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  await new Promise<void>((r) => cdn.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as import("node:net").AddressInfo).port}`;
  // "localhost" makes the CDN another host than 127.0.0.1, as a real CDN is.
  cdnBase = `http://localhost:${(cdn.address() as import("node:net").AddressInfo).port}`;
});
after(() => {
  server.close();
  cdn.close();
});

test("download writes blobs, a snapshot link and refs/main; the second call is served from the cache", async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), "ft-hub-"));
  const o = { endpoint: base, cacheDir, token: "hf_secret" };
  const p = await hfHubDownload("org/model", "config.json", o);
  const folder = join(cacheDir, "models--org--model");
  assert.equal(p, join(folder, "snapshots", COMMIT, "config.json"));
  assert.equal(readFileSync(p, "utf8"), files["config.json"]);
  assert.ok(lstatSync(p).isSymbolicLink());
  assert.match(readlinkSync(p), /^\.\.\/\.\.\/blobs\/[0-9a-f]{40}$/);
  assert.equal(readFileSync(join(folder, "refs", "main"), "utf8"), COMMIT);
  assert.equal(seen.at(-1)!.auth, "Bearer hf_secret", "the token is sent to the hub");
  const gets = seen.filter((s) => s.method === "GET").length;
  assert.equal(await hfHubDownload("org/model", "config.json", o), p);
  assert.equal(seen.filter((s) => s.method === "GET").length, gets, "no second download");

  // LFS file: the bytes come from the CDN, without the token.
  const w = await hfHubDownload("org/model", "model.safetensors", o);
  assert.equal(readFileSync(w, "utf8"), files["model.safetensors"]);
  const cdnGet = seen.find((s) => s.url.startsWith("cdn/blob/"))!;
  assert.equal(cdnGet.auth, undefined, "the token is not sent to another host");
  assert.ok(existsSync(join(folder, "blobs", sha(files["model.safetensors"]))));
  assert.equal(readFileSync(await hfHubDownload("org/model", "sub/dir/file.txt", o), "utf8"), "nested");
  assert.equal(readFileSync(await hfHubDownload("old-org/model", "config.json", o), "utf8"), files["config.json"], "a renamed repo's redirect is followed");

  // Offline: the cache answers; a file never downloaded is an error that says where it looked.
  process.env.HF_HUB_OFFLINE = "1";
  try {
    assert.equal(await hfHubDownload("org/model", "config.json", { cacheDir }), p);
    await assert.rejects(hfHubDownload("org/model", "missing.bin", { cacheDir }), (e: Error) => {
      assert.ok(e instanceof LocalEntryNotFoundError);
      assert.match(
        e.message,
        /missing.bin of model org\/model \(revision 'main'\) is not in the cache and HF_HUB_OFFLINE is set\. Looked in .*models--org--model\/snapshots/,
      );
      return true;
    });
    assert.deepEqual(await listRepoFiles("org/model", { cacheDir }), ["config.json", "model.safetensors", "sub/dir/file.txt"]);
  } finally {
    delete process.env.HF_HUB_OFFLINE;
  }
});

test("missing files and repos: EntryNotFound is remembered in .no_exist; optional files resolve to null", async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), "ft-hub-"));
  const o = { endpoint: base, cacheDir, token: false as const };
  await assert.rejects(
    hfHubDownload("org/model", "nope.json", o),
    (e: Error) => e instanceof EntryNotFoundError && /nope.json does not exist in org\/model/.test(e.message),
  );
  assert.ok(existsSync(join(cacheDir, "models--org--model", ".no_exist", COMMIT, "nope.json")));
  assert.equal(await resolveFile("org/model", "nope.json", { ...o, optional: true }), null);
  await assert.rejects(hfHubDownload("someone/else", "config.json", o), RepositoryNotFoundError);
  assert.deepEqual(await listRepoFiles("org/model", o), ["config.json", "model.safetensors", "sub/dir/file.txt"]);
  // An unreachable hub falls back to the cache, and says so when the file is not there.
  await assert.rejects(hfHubDownload("org/model", "config.json", { cacheDir, endpoint: "http://127.0.0.1:9" }), /could not be reached/);
  await assert.rejects(hfHubDownload("../etc", "passwd", o), /repo id must be/);
  await assert.rejects(hfHubDownload("org/model", "../../x", o), /filename must be a relative path/);
  // A name written as a path is a local folder: a missing one says so, not "repo id must be…".
  for (const p of ["./nope-dir", "../nope-dir", "/abs/nope-dir"]) {
    await assert.rejects(
      resolveFile(p, "config.json", o),
      new RegExp(`${p.replace(/[./]/g, "\\$&")} does not exist: it is written as a local path, so it was not looked up on the hub`),
    );
  }
});
