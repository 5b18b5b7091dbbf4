#!/usr/bin/env node
// Builds the libtorch addon into native/build/Release/finetune_native.node.
//
// By default through node-gyp (what `npm ci` users have). With --direct, or where `make` is missing,
// it compiles binding.gyp's sources itself with $CXX (c++), JOBS at a time: the GPU check script uses
// this on machines that have a compiler and a pip torch but no make, no node-gyp and no network
// for node-gyp's headers. Both read the same binding.gyp, so there is one list of sources and flags.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const nativeDir = join(root, "native");
const jobs = Number(process.env.JOBS ?? "2");
// The ops' glue is generated from native/ops.yaml (scripts/gen-ops.mjs) before anything compiles.
execFileSync(process.execPath, [join(root, "scripts", "gen-ops.mjs")], { stdio: "inherit" });
const describe = execFileSync(process.execPath, [join(root, "scripts", "find-libtorch.mjs"), "describe"])
  .toString()
  .trim();
console.log(`building the addon against ${describe}`);

const onPath = (cmd) => {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};
const direct = process.argv.includes("--direct") || !onPath("make");

if (!direct) {
  const require = createRequire(import.meta.url);
  const gyp = join(dirname(require.resolve("node-gyp/package.json")), "bin", "node-gyp.js");
  execFileSync(process.execPath, [gyp, "rebuild", `--jobs=${jobs}`, ...process.argv.slice(2)], { cwd: nativeDir, stdio: "inherit" });
} else {
  await buildDirect();
}

/** binding.gyp's one target with its `<!(cmd)` / `<!@(cmd)` expansions run (gyp's command expansion). */
function target() {
  const gyp = JSON.parse(readFileSync(join(nativeDir, "binding.gyp"), "utf8"));
  const t = gyp.targets[0];
  const expand = (items = []) =>
    items.flatMap((item) => {
      const m = /^<!(@?)\((.*)\)$/.exec(item);
      if (!m) return [item];
      const out = execFileSync("sh", ["-c", m[2].replace(/^node /, `"${process.execPath}" `)], { cwd: nativeDir })
        .toString()
        .trim();
      return m[1] === "@" ? out.split(/\s+/).filter(Boolean) : [out];
    });
  const removed = new Set(t["cflags_cc!"] ?? []);
  return {
    name: t.target_name,
    sources: t.sources,
    // gyp reads relative include dirs from the .gyp file's folder.
    includes: expand(t.include_dirs).map((d) => resolve(nativeDir, d)),
    defines: t.defines ?? [],
    cflags: expand(t.cflags_cc).filter((f) => !removed.has(f)),
    ldflags: expand(t.ldflags),
  };
}

/** Node's own headers (node_api.h): beside the running node, as official builds and distro packages put them. */
function nodeHeaders() {
  const candidates = [process.env.NODE_HEADERS, join(dirname(process.execPath), "..", "include", "node"), "/usr/include/node", "/usr/local/include/node"];
  const found = candidates.find((d) => d && existsSync(join(d, "node_api.h")));
  if (!found) throw new Error(`node_api.h not found (looked in ${candidates.filter(Boolean).join(", ")}); set NODE_HEADERS`);
  return found;
}

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: "inherit" });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}`))));
  });
}

async function buildDirect() {
  const t = target();
  const cxx = process.env.CXX ?? ["c++", "g++", "clang++"].find(onPath) ?? "c++";
  const objDir = join(nativeDir, "build", "Release", "obj.direct");
  mkdirSync(objDir, { recursive: true });
  const common = [
    "-fPIC",
    "-pthread",
    "-m64",
    ...t.cflags,
    ...(process.env.FT_EXTRA_CXXFLAGS ?? "").split(/\s+/).filter(Boolean),
    ...t.defines.map((d) => `-D${d}`),
    `-DNODE_GYP_MODULE_NAME=${t.name}`,
    "-DBUILDING_NODE_EXTENSION",
    `-I${nodeHeaders()}`,
    ...t.includes.map((i) => `-I${i}`),
  ];
  const queue = t.sources.map((src) => ({ src: join(nativeDir, src), obj: join(objDir, src.replace(/[/\\]/g, "_").replace(/\.cc$/, ".o")) }));
  const started = Date.now();
  console.log(`compiling ${queue.length} sources with ${cxx}, ${jobs} at a time`);
  const failures = [];
  const worker = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      // Every source is tried, so that one run reports every file's errors.
      await run(cxx, [...common, "-c", job.src, "-o", job.obj]).catch((e) => failures.push(`${job.src}: ${e.message}`));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
  if (failures.length) throw new Error(`the addon did not compile:\n  ${failures.join("\n  ")}`);
  const out = join(nativeDir, "build", "Release", `${t.name}.node`);
  const objs = t.sources.map((src) => join(objDir, src.replace(/[/\\]/g, "_").replace(/\.cc$/, ".o")));
  await run(cxx, ["-shared", "-pthread", "-o", `${out}.tmp`, ...objs, ...t.ldflags]);
  renameSync(`${out}.tmp`, out);
  console.log(`built ${out} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
