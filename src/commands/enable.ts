/**
 * `tsnspawn enable [--now] NAME` and `disable [--now] NAME`: whether a
 * declared container starts at boot.
 *
 * systemd refuses EnableUnitFiles for generated units, so the state is kept
 * beside the declarations: `enable` makes the link
 * /etc/tsnspawn/enabled/NAME.container → ../NAME.container and reloads the
 * daemon over D-Bus (Manager.Reload); the generator then adds the symlinks
 * of the file's `[Install]` section (default WantedBy=multi-user.target) to
 * the generated unit, as `systemctl enable` would for a unit file. `disable`
 * removes the link and reloads. With `--now` the container is also started
 * or stopped, like `systemctl enable --now`.
 */
import { dirname } from "@std/path";
import { enabledMark, unitName } from "../paths.ts";
import { isEnabled, loadDeclaration } from "../systemd/declared_store.ts";
import type { CommandContext } from "./context.ts";
import { loadDeclaredUnit, startDeclaredContainer } from "./start_declared.ts";
import { isRunning } from "../systemd/unit_state.ts";

/** Enables a declared container at boot; with `now` also starts it. */
export async function enableContainer(
  ctx: CommandContext,
  name: string,
  now: boolean,
): Promise<void> {
  loadDeclaration(name); // a broken file is refused with its first problem
  const mark = enabledMark(name);
  if (!isEnabled(name)) {
    Deno.mkdirSync(dirname(mark), { recursive: true, mode: 0o755 });
    Deno.symlinkSync(`../${name}.container`, mark);
    console.error(`Created symlink ${mark} \u2192 ../${name}.container.`);
  }
  const systemd = await ctx.systemd();
  await systemd.reload();
  await loadDeclaredUnit(systemd, name);
  if (now && !isRunning(await systemd.unitState(unitName(name)))) {
    await startDeclaredContainer(ctx, name, { attach: false });
  }
}

/** Disables a container at boot; with `now` also stops it. */
export async function disableContainer(
  ctx: CommandContext,
  name: string,
  now: boolean,
): Promise<void> {
  const mark = enabledMark(name);
  if (isEnabled(name)) {
    Deno.removeSync(mark);
    console.error(`Removed "${mark}".`);
  }
  const systemd = await ctx.systemd();
  await systemd.reload();
  if (now && isRunning(await systemd.unitState(unitName(name)))) {
    await systemd.stopUnit(unitName(name));
    await systemd.waitUntilInactive(unitName(name));
  }
}
