#!/usr/bin/env node
// Builds the libtorch addon with node-gyp into native/build/Release/finetune_native.node.
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const gyp = join(dirname(require.resolve("node-gyp/package.json")), "bin", "node-gyp.js");
const describe = execFileSync(process.execPath, [join(root, "scripts", "find-libtorch.mjs"), "describe"]).toString().trim();
console.log(`building the addon against ${describe}`);
const jobs = process.env.JOBS ?? "2";
execFileSync(process.execPath, [gyp, "rebuild", `--jobs=${jobs}`, ...process.argv.slice(2)], {
  cwd: join(root, "native"),
  stdio: "inherit",
});
