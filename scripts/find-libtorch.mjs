#!/usr/bin/env node
// Finds the libtorch to build the addon against and prints one piece of its build settings.
// Order (see issue 2): $LIBTORCH (a libtorch folder or a pip `torch` package folder), a Python
// `torch` installation, Debian's system libtorch.
import { existsSync, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";

function layoutOf(root) {
  // A libtorch zip and a pip package share this layout: include/, include/torch/csrc/api/include, lib/.
  const include = join(root, "include");
  const lib = join(root, "lib");
  if (existsSync(join(include, "ATen", "ATen.h")) && existsSync(lib)) {
    const cmake = [join(root, "share", "cmake", "Torch", "TorchConfig.cmake")];
    return { source: root, includes: [include, join(include, "torch", "csrc", "api", "include")], lib, cmake };
  }
  return null;
}

function fromPython() {
  for (const py of [process.env.PYTHON, "python3", "/usr/bin/python3"].filter(Boolean)) {
    try {
      const out = execFileSync(py, ["-c", "import torch, os; print(os.path.dirname(torch.__file__))"], {
        stdio: ["ignore", "pipe", "ignore"],
      })
        .toString()
        .trim();
      const found = out && layoutOf(out);
      if (found) return found;
    } catch {
      // no such python, or no torch in it: try the next one
    }
  }
  return null;
}

function fromDebian() {
  const multiarch = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"];
  for (const lib of multiarch) {
    if (existsSync(join(lib, "libtorch_cpu.so")) && existsSync("/usr/include/ATen/ATen.h")) {
      return {
        source: "system",
        includes: ["/usr/include", "/usr/include/torch/csrc/api/include"],
        lib,
        cmake: [join(lib, "cmake", "Torch", "TorchConfig.cmake")],
      };
    }
  }
  return null;
}

function locate() {
  const env = process.env.LIBTORCH;
  if (env) {
    const found = layoutOf(env) ?? layoutOf(join(env, "torch"));
    if (!found) throw new Error(`LIBTORCH=${env} is not a libtorch folder (expected include/ATen/ATen.h and lib/)`);
    return found;
  }
  const found = fromPython() ?? fromDebian();
  if (!found) {
    throw new Error("libtorch not found: set LIBTORCH to a libtorch or pip torch folder, install torch for python3, " + "or `apt-get install libtorch-dev`");
  }
  return found;
}

function version(t) {
  for (const inc of t.includes) {
    const header = join(inc, "torch", "version.h");
    if (existsSync(header)) {
      const text = readFileSync(header, "utf8");
      const major = Number(/TORCH_VERSION_MAJOR (\d+)/.exec(text)?.[1] ?? 0);
      const minor = Number(/TORCH_VERSION_MINOR (\d+)/.exec(text)?.[1] ?? 0);
      return { major, minor };
    }
  }
  return { major: 0, minor: 0 };
}

function cxx11Abi(t) {
  for (const file of t.cmake) {
    if (existsSync(file)) {
      const m = /_GLIBCXX_USE_CXX11_ABI=(\d)/.exec(readFileSync(file, "utf8"));
      if (m) return m[1];
    }
  }
  return "1";
}

// A libtorch built with OpenMP (Debian's, pip's) puts at::parallel_for's loop in a header under
// `#pragma omp parallel`: compiled without -fopenmp, our own parallel_for loops run on one thread.
// Only the compile gets the flag: the GOMP symbols resolve at load time to the OpenMP runtime libtorch
// itself loaded (pip bundles its own), so both share one thread pool and torch.set_num_threads.
function openmp(t) {
  for (const inc of t.includes) {
    const header = join(inc, "ATen", "Config.h");
    if (existsSync(header)) return /#define AT_PARALLEL_OPENMP 1/.test(readFileSync(header, "utf8"));
  }
  return false;
}

const t = locate();
const libs = ["c10", "torch_cpu", "torch"];
const cuda = existsSync(join(t.lib, "libtorch_cuda.so"));
const v = version(t);
const what = process.argv[2];
const print = (items) => process.stdout.write(items.join(" ") + "\n");
switch (what) {
  case "includes":
    print(t.includes);
    break;
  case "cflags":
    // torch >= 2.10 headers need C++20; older ones build with C++17.
    print([
      v.major > 2 || (v.major === 2 && v.minor >= 10) ? "-std=c++20" : "-std=c++17",
      `-D_GLIBCXX_USE_CXX11_ABI=${cxx11Abi(t)}`,
      ...(openmp(t) ? ["-fopenmp"] : []),
    ]);
    break;
  case "ldflags":
    // --no-as-needed keeps libtorch_cuda linked although no symbol of it is named: it registers CUDA.
    print([
      `-L${t.lib}`,
      `-Wl,-rpath,${t.lib}`,
      "-Wl,--no-as-needed",
      ...libs.map((l) => `-l${l}`),
      ...(cuda ? ["-ltorch_cuda", "-lc10_cuda"] : []),
      "-Wl,--as-needed",
    ]);
    break;
  case "describe":
    print([`libtorch ${v.major}.${v.minor} from ${t.source}${cuda ? " (CUDA)" : ""}`]);
    break;
  default:
    throw new Error(`usage: find-libtorch.mjs includes|cflags|ldflags|describe (got ${what})`);
}
