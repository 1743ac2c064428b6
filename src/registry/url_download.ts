/**
 * Downloading a file by URL (effects): `ADD https://…` in a build. Plain
 * HTTP goes through registry/http.ts, HTTPS through `fetch` (as the
 * registry client does); redirects are followed (up to 10), the body is
 * streamed to a file and hashed on the way.
 *
 * Spec: Dockerfile reference "ADD" (remote sources; the file's time is the
 * response's Last-Modified when it has one).
 */
import { createSha256 } from "../oci/digest.ts";
import { TsnspawnError } from "../errors.ts";
import { httpRequest, type HttpResponse } from "./http.ts";

/** What a download gave. */
export interface Download {
  /** "sha256:<hex>" of the body. */
  digest: string;
  size: number;
  /** Last-Modified, if the server sent one. */
  lastModified?: Date;
}

const MAX_REDIRECTS = 10;

async function request(url: URL, signal?: AbortSignal): Promise<HttpResponse> {
  if (url.protocol === "http:") return await httpRequest(url, { method: "GET", signal });
  return await fetch(url, { redirect: "manual", signal });
}

/** Downloads `url` into the new file `path`. */
export async function downloadUrl(
  url: string,
  path: string,
  options: { signal?: AbortSignal } = {},
): Promise<Download> {
  let current = new URL(url);
  let response: HttpResponse;
  for (let hops = 0;; hops++) {
    try {
      response = await request(current, options.signal);
    } catch (error) {
      if (error === options.signal?.reason) throw error;
      throw new TsnspawnError("not-found", `downloading ${url}: ${(error as Error).message}`, {
        hint: "check the URL and that the server is reachable",
        cause: error,
      });
    }
    const location = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && location && hops < MAX_REDIRECTS) {
      await response.body?.cancel();
      current = new URL(location, current);
      continue;
    }
    break;
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new TsnspawnError("not-found", `downloading ${url}: HTTP status ${response.status}`, {
      hint: "check the URL",
    });
  }
  const hash = createSha256();
  let size = 0;
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  try {
    for await (const chunk of response.body) {
      hash.update(chunk);
      size += chunk.length;
      let written = 0;
      while (written < chunk.length) written += await file.write(chunk.subarray(written));
    }
  } finally {
    file.close();
  }
  const modified = response.headers.get("last-modified");
  const lastModified = modified ? new Date(modified) : undefined;
  return {
    digest: hash.digest(),
    size,
    ...(lastModified && !Number.isNaN(lastModified.getTime()) ? { lastModified } : {}),
  };
}
