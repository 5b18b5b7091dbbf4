// Uploading a folder to the hub (what pushToHub does), with @huggingface/hub's commit API client:
// create the repo if needed, preupload, LFS for large files, one commit.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { createRepo, uploadFiles, whoAmI } from "@huggingface/hub";
import { defaultToken, endpoint } from "./constants.js";
import { HubError } from "./errors.js";

export interface UploadOptions {
  token?: string;
  endpoint?: string;
  repoType?: "model" | "dataset";
  private?: boolean;
  commitMessage?: string;
  /** Paths (relative, '/'-separated) to leave out. */
  ignore?: (path: string) => boolean;
}

function files(folder: string, ignore: (p: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const rel = relative(folder, p).split(sep).join("/");
      if (ignore(rel)) continue;
      if (statSync(p).isDirectory()) walk(p);
      else out.push(rel);
    }
  };
  walk(folder);
  return out.sort();
}

/** Uploads a folder's files to repo (namespace/name, or name under the token's user). Returns the repo id. */
export async function uploadFolder(repo: string, folder: string, o: UploadOptions = {}): Promise<string> {
  const token = o.token ?? defaultToken((p) => (existsSync(p) ? readFileSync(p, "utf8") : null));
  if (!token) throw new HubError("pushing to the hub needs a token: set HF_TOKEN (or hubToken) or log in with `huggingface-cli login`");
  const hubUrl = o.endpoint ?? endpoint();
  let name = repo;
  if (!name.includes("/")) {
    const me = await whoAmI({ accessToken: token, hubUrl });
    name = `${me.name}/${name}`;
  }
  const type = o.repoType ?? "model";
  try {
    await createRepo({ repo: { type, name }, accessToken: token, hubUrl, private: o.private });
  } catch (e) {
    // 409: the repository exists already, which is fine.
    if (!/409|already (exists|created)|conflict/i.test(String((e as Error).message)) && (e as { statusCode?: number }).statusCode !== 409) throw e;
  }
  const list = files(folder, o.ignore ?? (() => false));
  if (list.length === 0) throw new HubError(`nothing to upload in ${folder}`);
  await uploadFiles({
    repo: { type, name },
    accessToken: token,
    hubUrl,
    useXet: false,
    commitTitle: o.commitMessage ?? "Upload folder using finetune-ts",
    files: list.map((path) => ({ path, content: new Blob([readFileSync(join(folder, path))]) })),
  });
  return name;
}
