/** `tsnspawn save -o FILE IMAGE...` and `load -i FILE` (src/image/layout.ts). */
import { withContext } from "../errors.ts";
import { loadImages, saveImages } from "../image/layout.ts";
import type { CommandContext } from "./context.ts";

/** `tsnspawn save -o FILE IMAGE...` ('-' = stdout). */
export async function saveCommand(
  _ctx: CommandContext,
  references: string[],
  output: string,
): Promise<void> {
  let sink: WritableStream<Uint8Array>;
  if (output === "-") {
    sink = Deno.stdout.writable;
  } else {
    try {
      sink = (await Deno.open(output, { write: true, create: true, truncate: true, mode: 0o644 }))
        .writable;
    } catch (e) {
      throw withContext(e, "system", `save: cannot write ${output}`);
    }
  }
  await saveImages(references, sink);
}

/** `tsnspawn load -i FILE` ('-' = stdin; gzip is detected). */
export async function loadCommand(ctx: CommandContext, input: string): Promise<void> {
  let stream: ReadableStream<Uint8Array>;
  try {
    stream = input === "-" ? Deno.stdin.readable : (await Deno.open(input)).readable;
  } catch (e) {
    throw withContext(e, "not-found", `load: cannot read ${input}`);
  }
  // Peek at the first chunk for the gzip magic, then put it back in front.
  const reader = stream.getReader();
  const head = await reader.read();
  const first = head.value ?? new Uint8Array(0);
  const data = new ReadableStream<Uint8Array>({
    start(controller) {
      if (first.length > 0) controller.enqueue(first);
      if (head.done) controller.close();
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  const gzip = first[0] === 0x1f && first[1] === 0x8b;
  const tar = gzip
    ? data.pipeThrough(
      new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
    )
    : data;
  for (const reference of await loadImages(tar)) ctx.print(`Loaded image: ${reference}`);
}
