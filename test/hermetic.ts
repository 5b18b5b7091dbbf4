// Tests are hermetic: whatever HF_* variables or caches the caller's shell has, each test process
// starts from none of them, with an empty HF_HOME of its own; nor from a torchrun job's variables
// (a test run inside one would otherwise train as one of its ranks). Imported first by every test file
// (through helpers.ts, or directly).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

for (const k of Object.keys(process.env)) {
  if (/^(HF_|HUGGINGFACE_|TRANSFORMERS_|TORCHELASTIC_|ROLE_)/.test(k) || k === "XDG_CACHE_HOME") delete process.env[k];
  if (["RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "MASTER_ADDR", "MASTER_PORT", "FINETUNE_LAUNCH_OPTIONS"].includes(k))
    delete process.env[k];
}
process.env.HF_HOME = mkdtempSync(join(tmpdir(), "ft-hf-home-"));
