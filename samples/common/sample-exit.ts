/**
 * How a sample program ends: the allocator destroyed with its leak report, the context destroyed with its validation
 * messages counted, the window closed; and the `main(argv)` shape of every sample (help, usage errors, exit code).
 * @module
 */
import type { Allocator, Context, FrameManager } from "../../engine/index.js";

/** What {@link finishSample} tears down; any of them may be null when the sample failed before making it. */
export interface SampleParts {
  frames: FrameManager | null;
  /** What was made over the frame manager (renderer, targets, swapchain...), destroyed in this order after its last frame. */
  made: readonly ({ destroy(): unknown } | null)[];
  allocator: Allocator | null;
  context: Context | null;
  window: { close(): void; pollEvents(): void } | null;
  /** Whether the run had the validation layer on: then its warnings and errors are printed and fail the run. */
  validation: boolean;
}

/**
 * Waits for the frame manager's last frame (a device lost is not fatal here), destroys what was made over it in
 * order, then the frame manager, the allocator (printing "Leaks at exit: N ..."), the context (printing "Validation messages: N" and the
 * messages when validation was on) and closes the window. Call it last, in the sample's `finally`.
 * @returns 1 when something leaked or a validation message arrived, else 0.
 */
export function finishSample(parts: SampleParts, print: (line: string) => void): number {
  let code = 0;
  const { frames, allocator, context, window } = parts;
  try {
    frames?.waitIdle();
  } catch {
    /* device lost: destroy anyway */
  }
  for (const part of parts.made) part?.destroy();
  frames?.destroy();
  if (allocator !== null) {
    const live = allocator.allocationCount;
    const leaks = allocator.destroy();
    print(
      `Leaks at exit: ${leaks.length}${leaks.length > 0 ? ` (${leaks.map((l) => l.name ?? "(unnamed)").join(", ")})` : ""}; allocations alive before destroy: ${live}`,
    );
    if (leaks.length > 0 || live > 0) code = 1;
  }
  if (context !== null) {
    context.destroy();
    if (parts.validation) {
      const messages = context.validationMessages.filter((m) => m.severity === "error" || m.severity === "warning");
      print(`Validation messages: ${messages.length}`);
      for (const m of messages) print(`  [${m.severity}] ${m.id}: ${m.message}`);
      if (messages.length > 0) code = 1;
    }
  }
  if (window !== null) {
    window.close();
    window.pollEvents();
  }
  return code;
}

/**
 * A sample's `main`: parses `argv` with `parse` ("help" prints `usage`, another string is a usage error: printed
 * with the usage, exit code 2), then runs. Returns the exit code.
 */
export function sampleMain<T>(
  name: string,
  argv: readonly string[],
  usage: string,
  parse: (argv: readonly string[]) => T | string,
  run: (options: T) => number,
): number {
  const parsed = parse(argv);
  if (parsed === "help") {
    console.log(usage);
    return 0;
  }
  if (typeof parsed === "string") {
    console.error(`${name}: ${parsed}\n\n${usage}`);
    return 2;
  }
  return run(parsed);
}
