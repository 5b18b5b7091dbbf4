// What of the GPU check runs without a GPU: finding a pip torch's libtorch (its C++ standard, ABI and
// CUDA libraries), and scripts/gpu-pack.sh + scripts/gpu-check.sh end to end on this machine — the
// packed Node and node_modules unpacked, the addon built by the direct build against a pip-layout
// libtorch, each step's exit status in the table. The GPU half ran on an H200 (see README).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { needs, repoRoot } from "./helpers.js";

const findLibtorch = join(repoRoot, "scripts", "find-libtorch.mjs");
const ask = (libtorch: string, what: string) =>
  execFileSync(process.execPath, [findLibtorch, what], { env: { ...process.env, LIBTORCH: libtorch } })
    .toString()
    .trim();

/** A pip `torch` package folder as far as find-libtorch looks: headers, lib/, the CMake config. */
function fakePipTorch(o: { major: number; minor: number; abi: 0 | 1; cuda: boolean }): string {
  const torch = join(mkdtempSync(join(tmpdir(), "ft-pip-")), "torch");
  const files: Record<string, string> = {
    "include/ATen/ATen.h": "",
    "include/torch/version.h": `#define TORCH_VERSION_MAJOR ${o.major}\n#define TORCH_VERSION_MINOR ${o.minor}\n`,
    "lib/libtorch_cpu.so": "",
    "share/cmake/Torch/TorchConfig.cmake": `set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=${o.abi}")\n`,
    ...(o.cuda ? { "lib/libtorch_cuda.so": "", "lib/libc10_cuda.so": "" } : {}),
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(torch, path, ".."), { recursive: true });
    writeFileSync(join(torch, path), text);
  }
  return torch;
}

test("find-libtorch reads a pip torch folder: C++20 from torch 2.10, the ABI from its CMake config, CUDA libraries kept linked", () => {
  const cuda = fakePipTorch({ major: 2, minor: 11, abi: 1, cuda: true });
  assert.equal(ask(cuda, "includes"), `${join(cuda, "include")} ${join(cuda, "include", "torch", "csrc", "api", "include")}`);
  assert.equal(ask(cuda, "cflags"), "-std=c++20 -D_GLIBCXX_USE_CXX11_ABI=1");
  assert.equal(
    ask(cuda, "ldflags"),
    `-L${join(cuda, "lib")} -Wl,-rpath,${join(cuda, "lib")} -Wl,--no-as-needed -lc10 -ltorch_cpu -ltorch -ltorch_cuda -lc10_cuda -Wl,--as-needed`,
  );
  assert.equal(ask(cuda, "describe"), `libtorch 2.11 from ${cuda} (CUDA)`);

  const old = fakePipTorch({ major: 1, minor: 13, abi: 0, cuda: false });
  assert.equal(ask(old, "cflags"), "-std=c++17 -D_GLIBCXX_USE_CXX11_ABI=0");
  assert.doesNotMatch(ask(old, "ldflags"), /cuda/);
  // The parent of a pip `torch` folder (site-packages) is accepted too.
  assert.equal(ask(join(old, ".."), "describe"), `libtorch 1.13 from ${old}`);

  const r = spawnSync(process.execPath, [findLibtorch, "cflags"], { env: { ...process.env, LIBTORCH: tmpdir() } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr.toString(), /LIBTORCH=.* is not a libtorch folder \(expected include\/ATen\/ATen\.h and lib\/\)/);
});

// Debian's libtorch, laid out as pip installs it (include/, lib/, share/cmake): the direct build
// must find and link it as it will a pip torch on the GPU machine.
const debianLib = "/usr/lib/x86_64-linux-gnu";
const shared = join(repoRoot, "..", "shared", "data");
const nodeHeaders = ["/usr/include/node", join(process.execPath, "..", "..", "include", "node")].find((d) => existsSync(join(d, "node_api.h")));
const skipScript = !existsSync(join(debianLib, "libtorch_cpu.so"))
  ? "needs Debian's libtorch-dev (to lay out as a pip torch)"
  : needs("shared", existsSync(join(shared, "hf-home")), "../shared/data is absent")
    ? "../shared/data is absent"
    : !nodeHeaders
      ? "Node's headers (node_api.h) are not installed"
      : !existsSync(join(repoRoot, "dist", "src", "index.js"))
        ? "dist/ is not built"
        : false;

test(
  "without a GPU, gpu-pack.sh and gpu-check.sh run end to end: unpacked, built against a pip-layout libtorch, every step in the table",
  { skip: skipScript, timeout: 300_000 },
  () => {
    const work = mkdtempSync(join(tmpdir(), "ft-gpu-check-"));
    const pip = join(work, "site-packages", "torch");
    mkdirSync(join(pip, "lib"), { recursive: true });
    mkdirSync(join(pip, "share", "cmake"), { recursive: true });
    symlinkSync("/usr/include", join(pip, "include"));
    for (const lib of readdirSync(debianLib).filter((f) => /^lib(c10|torch|torch_cpu|torch_global_deps)\.so/.test(f)))
      symlinkSync(join(debianLib, lib), join(pip, "lib", lib));
    symlinkSync(join(debianLib, "cmake", "Torch"), join(pip, "share", "cmake", "Torch"));

    // The repository as a device call carries it: sources, scripts, the built dist/, no node_modules.
    const repo = join(work, "repo");
    for (const part of ["package.json", "scripts", "native/binding.gyp", "native/ops.yaml", "native/src", "native/compat", "dist", "test/fixtures"])
      cpSync(join(repoRoot, part), join(repo, part), { recursive: true });
    // gpu-pack.sh reads the production tree with `npm ls`; Node itself is packed as a small wrapper.
    symlinkSync(join(repoRoot, "node_modules"), join(repo, "node_modules"));
    const wrapper = join(work, "bin", "node");
    mkdirSync(join(work, "bin"));
    writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" "$@"\n`, { mode: 0o755 });
    execFileSync("bash", [join(repo, "scripts", "gpu-pack.sh"), shared], { env: { ...process.env, NODE_BIN: wrapper }, stdio: "pipe" });
    const packed = readdirSync(join(repo, ".gpu-pack")).sort();
    assert.deepEqual(packed, ["node-headers.tar.xz", "node.xz", "node_modules.tar.xz", "shared-data.tar.xz"]);
    const listing = execFileSync("tar", ["-tJf", join(repo, ".gpu-pack", "node_modules.tar.xz")]).toString();
    assert.match(listing, /^node_modules\/apache-arrow\//m, "production dependencies are packed");
    assert.match(listing, /^node_modules\/node-addon-api\//m, "node-addon-api's headers are packed");
    assert.doesNotMatch(listing, /^node_modules\/typescript\//m, "development tools are not");
    rmSync(join(repo, "node_modules"));

    const out = join(work, "out");
    const r = spawnSync("bash", [join(repo, "scripts", "gpu-check.sh"), out], {
      cwd: repo,
      env: { ...process.env, LIBTORCH: pip, FT_FORCE_PACKED_NODE: "1", FT_NODE_DIR: join(work, "node"), FT_GPU_CHECK_SKIP: "speed suite", JOBS: "2" },
      timeout: 280_000,
    });
    const summary = readFileSync(join(out, "summary.txt"), "utf8");
    const row = (step: string) => new RegExp(`^${step} +(\\d+) +\\d+`, "m").exec(summary)?.[1];
    assert.equal(row("build"), "0", `the addon builds against the pip layout:\n${summary}\n${readFileSync(join(out, "build.log"), "utf8").slice(-2000)}`);
    assert.match(readFileSync(join(out, "build.log"), "utf8"), new RegExp(`building the addon against libtorch 1\\.13 from ${pip}`));
    assert.ok(existsSync(join(repo, "node_modules", "apache-arrow")), "node_modules unpacked");
    assert.ok(existsSync(join(work, "shared", "data", "hf-home")), "the course's data unpacked beside the repository");
    assert.match(readFileSync(join(out, "load.log"), "utf8"), /libtorch 1\.13\.\d+ cuda false devices 0/, "the unpacked Node loads the built addon");
    assert.equal(row("load"), "3", "no GPU: the load step says so with exit 3");
    assert.equal(row("cuda-tests"), "0", "the CUDA tests skip cleanly (the CPU golden of their file passes)");
    assert.doesNotMatch(summary, /^(suite|speed-)/m, "FT_GPU_CHECK_SKIP leaves the suite and the speed bench out");
    assert.ok(r.status !== null && r.status > 0, "the exit status counts the failed steps");
  },
);
