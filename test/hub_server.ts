// A local HTTP server with the hub's URL layout, for tests: resolve URLs (with X-Repo-Commit and
// ETag), the revision API (siblings), and 404s with X-Error-Code. Repos are keyed "models/org/name"
// or "datasets/org/name", then by revision.
import { createServer, type Server } from "node:http";
import { createHash } from "node:crypto";
import type { AddressInfo } from "node:net";

export type Repos = Record<string, Record<string, { commit: string; files: Record<string, string | Uint8Array> }>>;

export async function startHubServer(repos: Repos): Promise<{ url: string; close(): void; requests: string[] }> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url!, "http://x");
    const api = /^\/api\/(models|datasets)\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(url.pathname);
    if (api) {
      const rev = repos[`${api[1]}/${api[2]}`]?.[decodeURIComponent(api[3])];
      if (!rev) {
        res.writeHead(404, { "x-error-code": "RevisionNotFound" });
        res.end();
        return;
      }
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ sha: rev.commit, siblings: Object.keys(rev.files).map((rfilename) => ({ rfilename })) }));
      return;
    }
    const m = /^\/(datasets\/)?([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const repo = m ? repos[`${m[1] ? "datasets" : "models"}/${m[2]}`] : undefined;
    const rev = m && repo ? repo[decodeURIComponent(m[3])] : undefined;
    if (!m || !repo || !rev) {
      res.writeHead(404, { "x-error-code": repo ? "RevisionNotFound" : "RepoNotFound" });
      res.end();
      return;
    }
    const body = rev.files[decodeURIComponent(m[4])];
    if (body === undefined) {
      res.writeHead(404, { "x-error-code": "EntryNotFound", "x-repo-commit": rev.commit });
      res.end();
      return;
    }
    const bytes = typeof body === "string" ? Buffer.from(body) : Buffer.from(body);
    res.writeHead(200, { "x-repo-commit": rev.commit, etag: `"${createHash("sha1").update(bytes).digest("hex")}"`, "content-length": String(bytes.length) });
    res.end(req.method === "HEAD" ? undefined : bytes);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close(), requests };
}
