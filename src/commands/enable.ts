/**
 * `tsnspawn enable [--now] NAME` and `disable [--now] NAME`: whether a
 * declared container starts at boot. NAME is the container's name or its
 * file's (`web` for web.container); a template's instance (`web@7`) or the
 * template itself (`web@`: its DefaultInstance=).
 *
 * systemd refuses EnableUnitFiles for generated units, so the state is kept
 * beside the declarations: `enable` makes the link
 * /etc/tsnspawn/enabled/NAME.container → the file, and reloads the daemon
 * over D-Bus (Manager.Reload); the generator then adds the symlinks of the
 * file's `[Install]` section (default WantedBy=multi-user.target) to the
 * generated unit, as `systemctl enable` would for a unit file. `disable`
 * removes the link and reloads. With `--now` the container is also started
 * or stopped, like `systemctl enable --now`.
 */
import { basename, dirname } from "../path_util.ts";
import { TsnspawnError } from "../errors.ts";
import { declaredDir, enabledMark, unitName } from "../paths.ts";
import { isEnabled, loadDeclaration, readContainerDeclaration } from "../declared/store.ts";
import type { CommandContext } from "./context.ts";
import { loadDeclaredUnit, startDeclaredContainer } from "./start_declared.ts";
import { isRunning } from "../systemd/unit_state.ts";
import type { ContainerDeclaration } from "../declared/container.ts";

/** The mark of a declaration: its file's name, or a template's instance. */
function markOf(declaration: ContainerDeclaration, asked: string): string {
  const file = declaration.fileName.slice(0, -".container".length);
  return declaration.template ? (asked.endsWith("@") ? file : declaration.name) : file;
}

/** The declaration `enable`/`disable` mean (`web@` is the template itself). */
function declarationFor(name: string): ContainerDeclaration {
  if (name.endsWith("@")) {
    const read = readContainerDeclaration(`${name}tsnspawninstancez9q`);
    if (!read?.declaration) {
      throw new TsnspawnError("not-found", `template ${name}.container: not declared`);
    }
    if (!read.declaration.install?.some((e) => e.key === "DefaultInstance")) {
      throw new TsnspawnError(
        "invalid",
        `template ${name}.container: has no DefaultInstance= in [Install]`,
        {
          hint: `enable an instance instead: 'tsnspawn enable ${name}1'`,
        },
      );
    }
    return read.declaration;
  }
  return loadDeclaration(name);
}

/** Enables a declared container at boot; with `now` also starts it. */
export async function enableContainer(
  ctx: CommandContext,
  name: string,
  now: boolean,
): Promise<void> {
  const declaration = declarationFor(name); // a broken file is refused with its first problem
  const mark = markOf(declaration, name);
  if (!isEnabled(mark)) {
    const path = enabledMark(mark);
    Deno.mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    // Beside the declarations: relative, as systemctl enable links.
    const target = dirname(declaration.path) === declaredDir()
      ? `../${basename(declaration.path)}`
      : declaration.path;
    Deno.symlinkSync(target, path);
    console.error(`Created symlink ${path} \u2192 ${target}.`);
  }
  const systemd = await ctx.systemd();
  await systemd.reload();
  if (name.endsWith("@")) return;
  await loadDeclaredUnit(systemd, declaration.name);
  if (now && !isRunning(await systemd.unitState(unitName(declaration.name)))) {
    await startDeclaredContainer(ctx, declaration.name, { attach: false });
  }
}

/** Disables a container at boot; with `now` also stops it. */
export async function disableContainer(
  ctx: CommandContext,
  name: string,
  now: boolean,
): Promise<void> {
  let mark = name.endsWith("@") ? name : name;
  let container = name;
  try {
    const declaration = declarationFor(name);
    mark = markOf(declaration, name);
    container = declaration.name;
  } catch { /* a removed or broken file: its mark is still removed */ }
  if (isEnabled(mark)) {
    Deno.removeSync(enabledMark(mark));
    console.error(`Removed "${enabledMark(mark)}".`);
  }
  const systemd = await ctx.systemd();
  await systemd.reload();
  if (now && !name.endsWith("@") && isRunning(await systemd.unitState(unitName(container)))) {
    await systemd.stopUnit(unitName(container));
    await systemd.waitUntilInactive(unitName(container));
  }
}
