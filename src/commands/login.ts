/**
 * `tsnspawn login REGISTRY` and `logout REGISTRY`. Login checks the
 * credentials against the registry (a token for Bearer, `/v2/` for Basic)
 * before storing them (src/registry/config.ts: 0600 file).
 */
import { TsnspawnError } from "../errors.ts";
import { RegistryClient } from "../registry/client.ts";
import { authFilePath, removeCredentials, saveCredentials } from "../registry/config.ts";
import type { CommandContext } from "./context.ts";

/** What `login` was given. */
export interface LoginOptions {
  registry: string;
  username?: string;
  password?: string;
  passwordStdin: boolean;
  insecure: boolean;
}

/** Validates a registry name as it appears in references ("host[:port]"). */
function registryDomain(text: string): string {
  const domain = text.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
  if (!/^[a-zA-Z0-9.-]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(domain)) {
    throw new TsnspawnError(
      "invalid",
      `registry "${text}": not a host name with an optional port`,
      {
        hint: "e.g. tsnspawn login registry.example.com or 127.0.0.1:5000",
      },
    );
  }
  return domain;
}

async function readStdin(): Promise<string> {
  const text = await new Response(Deno.stdin.readable).text();
  return text.replace(/\r?\n$/, "");
}

/** `tsnspawn login [-u USER] [-p PASS | --password-stdin] REGISTRY`. */
export async function loginCommand(ctx: CommandContext, options: LoginOptions): Promise<void> {
  const domain = registryDomain(options.registry);
  const username = options.username;
  if (username === undefined || username === "") {
    throw new TsnspawnError("usage", "login needs a user name (-u USER)", {
      hint: "tsnspawn login -u USER --password-stdin REGISTRY",
    });
  }
  const password = options.passwordStdin ? await readStdin() : options.password;
  if (password === undefined || password === "") {
    throw new TsnspawnError("usage", "login needs a password (-p PASS or --password-stdin)", {
      hint: "echo PASS | tsnspawn login -u USER --password-stdin REGISTRY",
    });
  }
  const client = RegistryClient.open(domain, {
    insecure: options.insecure,
    credentials: { username, password },
  });
  await client.checkLogin();
  saveCredentials(domain, { username, password });
  ctx.print(`Login succeeded (credentials stored in ${authFilePath()})`);
}

/** `tsnspawn logout REGISTRY`. */
export function logoutCommand(ctx: CommandContext, registry: string): void {
  const domain = registryDomain(registry);
  if (!removeCredentials(domain)) {
    throw new TsnspawnError("not-found", `not logged in to ${domain}`, {
      hint: `credentials are stored in ${authFilePath()}`,
    });
  }
  ctx.print(`Removed login credentials for ${domain}`);
}
