// The hub client against hostile and broken servers: names that would leave the cache, servers
// that never answer or stop mid-body, bodies shorter than announced, and two downloads of one file.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { hfHubDownload, listRepoFiles, HubError, LocalEntryNotFoundError } from "../src/hub/index.js";
import { withEnv } from "./helpers.js";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const BODY = "x".repeat(1000);
const ETAG = createHash("sha1").update(BODY).digest("hex");

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const servers: { close(): void; closeAllConnections(): void }[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

async function serve(handler: Handler): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** A well-behaved answer for config.json, with headers overridable. */
function good(req: IncomingMessage, res: ServerResponse, headers: Record<string, string> = {}, body = BODY): void {
  res.writeHead(200, { "x-repo-commit": COMMIT, etag: `"${ETAG}"`, "content-length": String(body.length), ...headers });
  res.end(req.method === "HEAD" ? undefined : body);
}

/** Every path under `dir`, so a test can say nothing was written elsewhere. */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
}

function captureWarnings(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const original = console.warn;
  console.warn = (m: unknown) => void lines.push(String(m));
  return { lines, restore: () => void (console.warn = original) };
}

test("hostile names from the server never become paths outside the cache", async () => {
  const root = mkdtempSync(join(tmpdir(), "ft-hostile-"));
  const cacheDir = join(root, "a", "b", "c", "cache");
  mkdirSync(cacheDir, { recursive: true });
  const escapes = ["../../../../x", "../../../x", "/tmp/x", "..", "a/../../../../x"];
  for (const evil of escapes) {
    const etagServer = await serve((req, res) => good(req, res, { etag: `"${evil}"` }));
    await assert.rejects(hfHubDownload("org/model", "config.json", { endpoint: etagServer.url, cacheDir, token: false }), (e: Error) => {
      assert.ok(e instanceof HubError, String(e));
      assert.match(e.message, /invalid ETag/);
      return true;
    });
    const linked = await serve((req, res) => good(req, res, { "x-linked-etag": `"${evil}"`, "x-linked-size": String(BODY.length) }));
    await assert.rejects(hfHubDownload("org/model", "config.json", { endpoint: linked.url, cacheDir, token: false }), /invalid ETag/);
    const commitServer = await serve((req, res) => good(req, res, { "x-repo-commit": evil }));
    await assert.rejects(hfHubDownload("org/model", "config.json", { endpoint: commitServer.url, cacheDir, token: false }), /invalid X-Repo-Commit/);
    const noExist = await serve((_req, res) => {
      res.writeHead(404, { "x-error-code": "EntryNotFound", "x-repo-commit": evil });
      res.end();
    });
    await assert.rejects(hfHubDownload("org/model", "config.json", { endpoint: noExist.url, cacheDir, token: false }), /invalid X-Repo-Commit/);
  }
  // Nothing outside the cache, and nothing inside it either: no ref, blob or marker was written.
  assert.deepEqual(tree(root), ["a", "a/b", "a/b/c", "a/b/c/cache"]);

  // A file list naming a path outside the repository is refused before anything uses it.
  const list = await serve((_req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ sha: COMMIT, siblings: [{ rfilename: "config.json" }, { rfilename: "../../escape" }] }));
  });
  await assert.rejects(listRepoFiles("org/model", { endpoint: list.url, cacheDir, token: false }), /names "..\/..\/escape", which is not a relative path/);

  // Names given by the caller are checked the same way.
  for (const bad of ["a/./b", "a//b", "a\\..\\b", "/etc/passwd"]) {
    await assert.rejects(hfHubDownload("org/model", bad, { endpoint: list.url, cacheDir, token: false }), /filename must be a relative path/);
  }
  await assert.rejects(hfHubDownload("org/model", "config.json", { endpoint: list.url, cacheDir, token: false, revision: "../../x" }), /revision must be/);
  // A damaged ref is not followed into a path.
  const folder = join(cacheDir, "models--org--model");
  mkdirSync(join(folder, "refs"), { recursive: true });
  writeFileSync(join(folder, "refs", "main"), "../../../../etc");
  await withEnv({ HF_HUB_OFFLINE: "1" }, () => assert.rejects(hfHubDownload("org/model", "passwd", { cacheDir }), LocalEntryNotFoundError));
});

test("a hub that accepts and never answers: the cached copy with a warning, else an error, within the timeout", async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), "ft-hang-"));
  const ok = await serve((req, res) => good(req, res));
  const cachedPath = await hfHubDownload("org/model", "config.json", { endpoint: ok.url, cacheDir, token: false });
  const silent = await serve(() => {
    /* never answers */
  });
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const refused = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise<void>((r) => closed.close(() => r()));
  const down = await serve((_req, res) => {
    res.writeHead(503);
    res.end();
  });
  await withEnv({ HF_HUB_ETAG_TIMEOUT: "0.3" }, async () => {
    for (const endpoint of [silent.url, refused, down.url]) {
      const w = captureWarnings();
      const t0 = performance.now();
      try {
        assert.equal(await hfHubDownload("org/model", "config.json", { endpoint, cacheDir, token: false }), cachedPath);
      } finally {
        w.restore();
      }
      assert.ok(performance.now() - t0 < 3000, "answers within the timeout");
      assert.equal(w.lines.length, 1, endpoint);
      assert.match(w.lines[0], /Could not check the hub for a newer config.json of org\/model .*using the cached copy of revision 'main'/);
      // Not cached: an error that says the hub could not be reached, not a hang.
      await assert.rejects(hfHubDownload("org/model", "other.json", { endpoint, cacheDir, token: false }), (e: Error) => {
        assert.ok(e instanceof LocalEntryNotFoundError);
        assert.match(
          e.message,
          /other.json of model org\/model .* is not in the cache and the hub could not be reached \((no answer from .* within 0.3 s|.*ECONNREFUSED.*|503 .*)\)/,
        );
        return true;
      });
    }
    assert.match(silent.requests[0], /^HEAD \/org\/model\/resolve\/main\/config.json$/);
  });
});

test("a body shorter than announced, cut, stalled or too long is never committed to the cache", async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), "ft-cut-"));
  const blobs = join(cacheDir, "models--org--model", "blobs");
  const cases: [string, Handler, RegExp][] = [
    [
      "short with Content-Length",
      (req, res) => {
        if (req.method === "HEAD") return good(req, res);
        res.writeHead(200, { "content-length": String(BODY.length) });
        res.write(BODY.slice(0, 400));
        setTimeout(() => res.destroy(), 20);
      },
      /broke off after 400 of 1000 bytes/,
    ],
    [
      "cut without a size header",
      (req, res) => {
        if (req.method === "HEAD") return good(req, res);
        res.writeHead(200); // chunked
        res.write(BODY.slice(0, 300));
        setTimeout(() => res.destroy(), 20);
      },
      /broke off after 300 of 1000 bytes/,
    ],
    [
      "ends early, cleanly",
      (req, res) => {
        if (req.method === "HEAD") return good(req, res);
        res.writeHead(200);
        res.end(BODY.slice(0, 10));
      },
      /ended at 10 bytes, expected 1000/,
    ],
    [
      "longer than announced",
      (req, res) => {
        if (req.method === "HEAD") return good(req, res);
        res.writeHead(200);
        res.end(BODY + BODY);
      },
      /more than the announced 1000 bytes/,
    ],
    [
      "stalls mid-body",
      (req, res) => {
        if (req.method === "HEAD") return good(req, res);
        res.writeHead(200, { "content-length": String(BODY.length) });
        res.write(BODY.slice(0, 500)); // then nothing
      },
      /stalled: no bytes for 0.3 s after 500 of 1000/,
    ],
  ];
  await withEnv({ HF_HUB_DOWNLOAD_TIMEOUT: "0.3" }, async () => {
    for (const [name, handler, message] of cases) {
      const s = await serve(handler);
      await assert.rejects(hfHubDownload("org/model", "config.json", { endpoint: s.url, cacheDir, token: false }), (e: Error) => {
        assert.match(e.message, message, name);
        return true;
      });
      assert.deepEqual(tree(blobs), [], `${name}: no blob and no .incomplete file`);
      assert.ok(!existsSync(join(cacheDir, "models--org--model", "snapshots", COMMIT, "config.json")), name);
    }
  });
  // A HEAD without a size is not a hub answer huggingface_hub trusts either.
  const noSize = await serve((req, res) => {
    res.writeHead(200, { "x-repo-commit": COMMIT, etag: `"${ETAG}"`, "transfer-encoding": "chunked" });
    res.end();
  });
  await assert.rejects(hfHubDownload("org/model", "config.json", { endpoint: noSize.url, cacheDir, token: false }), /does not say the file's size/);
});

test("two downloads of one file share one lock and one GET; a stale lock is taken over with a warning", async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), "ft-lock-"));
  const s = await serve((req, res) => {
    if (req.method === "HEAD") return good(req, res);
    res.writeHead(200, { "content-length": String(BODY.length) });
    res.write(BODY.slice(0, 500));
    setTimeout(() => res.end(BODY.slice(500)), 150);
  });
  const w = captureWarnings();
  let paths: string[];
  try {
    paths = await Promise.all([0, 1, 2].map(() => hfHubDownload("org/model", "config.json", { endpoint: s.url, cacheDir, token: false })));
  } finally {
    w.restore();
  }
  assert.equal(new Set(paths).size, 1);
  assert.equal(readFileSync(paths[0], "utf8"), BODY);
  assert.equal(s.requests.filter((r) => r.startsWith("GET")).length, 1, "one GET for three callers");
  assert.ok(
    w.lines.some((l) => /Waiting for process \d+ on .* to finish downloading config.json of org\/model/.test(l)),
    w.lines.join("\n"),
  );
  const lockDir = join(cacheDir, ".locks", "models--org--model");
  assert.deepEqual(readdirSync(lockDir), [], "the lock is released");

  // A lock left by a process that died (kill -9) does not block the next download.
  const other = await serve((req, res) => good(req, res, {}, BODY));
  const cache2 = mkdtempSync(join(tmpdir(), "ft-lock-"));
  const lockDir2 = join(cache2, ".locks", "models--org--model");
  mkdirSync(lockDir2, { recursive: true });
  const deadPid = 2 ** 22 + 12345; // above Linux's pid_max default: never a live process
  writeFileSync(join(lockDir2, `${ETAG}.lock`), JSON.stringify({ pid: deadPid, host: (await import("node:os")).hostname(), since: "then" }));
  const w2 = captureWarnings();
  try {
    assert.equal(readFileSync(await hfHubDownload("org/model", "config.json", { endpoint: other.url, cacheDir: cache2, token: false }), "utf8"), BODY);
  } finally {
    w2.restore();
  }
  assert.match(w2.lines.join("\n"), new RegExp(`taking over the lock .*${ETAG}.lock left by process ${deadPid}`));
});

test("a hub that hangs costs one timeout per load, not one per file: the rest of fromPretrained uses the cache at once", async () => {
  const { AutoModelForSequenceClassification } = await import("../src/models/index.js");
  const { fixture } = await import("./helpers.js");
  const folder = fixture("golden", "trainer", "tiny-bert-cased");
  // A hub serving the fixture's files, as the resolve endpoint answers.
  const files = await serve((req, res) => {
    const name = decodeURIComponent(new URL(req.url!, "http://x").pathname.split("/resolve/main/")[1] ?? "");
    const path = join(folder, name);
    if (!name || name.includes("..") || !existsSync(path)) {
      res.writeHead(404, { "x-error-code": "EntryNotFound" });
      res.end();
      return;
    }
    const body = readFileSync(path);
    res.writeHead(200, { "x-repo-commit": COMMIT, etag: `"${createHash("sha1").update(body).digest("hex")}"`, "content-length": String(body.length) });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  const cacheDir = mkdtempSync(join(tmpdir(), "ft-session-"));
  await withEnv({ HF_HUB_CACHE: cacheDir, HF_ENDPOINT: files.url, HF_HUB_ETAG_TIMEOUT: "0.6" }, async () => {
    const w0 = captureWarnings();
    try {
      await AutoModelForSequenceClassification.fromPretrained("org/tiny", { token: false });
    } finally {
      w0.restore();
    }
    const fetched = files.requests.filter((r) => r.startsWith("HEAD")).length;
    assert.ok(fetched >= 2, `the load asked for several files (${fetched})`);
    const silent = await serve(() => {
      /* never answers */
    });
    const w = captureWarnings();
    const t0 = performance.now();
    try {
      await AutoModelForSequenceClassification.fromPretrained("org/tiny", { token: false, endpoint: silent.url });
    } finally {
      w.restore();
    }
    const took = performance.now() - t0;
    assert.equal(silent.requests.length, 1, `one request waited for (${silent.requests.join(", ")})`);
    assert.ok(took < 0.6 * 1000 * 1.9, `one timeout, not one per file (${took.toFixed(0)} ms)`);
    assert.equal(w.lines.filter((l) => /Could not check the hub/.test(l)).length, 1, w.lines.join("\n"));
  });
});
