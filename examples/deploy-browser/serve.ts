// A static server for the page: index.html, transformers.js and onnxruntime-web's wasm from
// node_modules (no CDN), and the exported models.
//   node dist/examples/deploy-browser/serve.js [web/models] [port]    → open http://localhost:8080/
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { dirname, extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
// The page is not compiled: from dist/examples/deploy-browser it is three folders up, in the sources.
const page = [join(here, "index.html"), join(here, "..", "..", "..", "examples", "deploy-browser", "index.html")].find((p) => existsSync(p))!;
const TYPES: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".onnx": "application/octet-stream",
  ".txt": "text/plain",
};

export function serveDeploy(modelsDir: string, port = 0): Promise<Server> {
  // A Map, not an object: "/constructor/x" or "/__proto__/x" must not find Object.prototype's members.
  const roots = new Map<string, string>([
    ["transformers", dirname(fileURLToPath(import.meta.resolve("@huggingface/transformers")))],
    ["ort", dirname(fileURLToPath(import.meta.resolve("onnxruntime-web")))],
    ["models", modelsDir],
  ]);
  const server = createServer((req, res) => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
    } catch {
      res.writeHead(400).end("bad request: malformed URL or percent escape");
      return;
    }
    const [, top, ...rest] = path.split("/");
    const root = roots.get(top);
    const file = path === "/" ? page : root ? normalize(join(root, ...rest)) : "";
    // Only files under the three roots: "/models/../../etc/passwd" normalizes outside and is refused.
    const inside = file === page || (root !== undefined && file.startsWith(normalize(root) + sep));
    if (!inside || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end("not found");
      return;
    }
    const stream = createReadStream(file);
    // A file that vanishes or cannot be read answers 500; the server keeps serving.
    stream.on("error", () => {
      if (!res.headersSent) res.writeHead(500).end("cannot read the file");
      else res.destroy();
    });
    stream.once("open", () => {
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
      stream.pipe(res);
    });
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await serveDeploy(process.argv[2] ?? "web/models", Number(process.argv[3] ?? 8080));
  const address = server.address();
  console.log(`open http://localhost:${typeof address === "object" && address ? address.port : ""}/  (Ctrl-C to stop)`);
}
