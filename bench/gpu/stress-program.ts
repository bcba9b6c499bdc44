/**
 * How a stress module under bench/gpu/ runs as a program on the GPU machine: a headless context with validation and
 * synchronization validation, the run, up to ten validation messages and the report as JSON; the exit status is the
 * number of failed checks plus validation messages.
 * @module
 */
import { createContext, type Allocator, type Context } from "../../engine/index.js";

/** Runs `run` on a validated context and reports as described in the module comment. */
export async function runStressProgram(
  applicationName: string,
  run: (context: Context) => Promise<{ failures: readonly string[] }>,
): Promise<void> {
  const context = createContext({ applicationName, validation: true, synchronizationValidation: true, headless: true });
  console.log(`device: ${context.deviceName}; validation ${context.validation ? "on" : "unavailable"}`);
  const report = await run(context);
  const messages = context.validationMessages.filter((m) => m.severity === "error" || m.severity === "warning");
  for (const m of messages.slice(0, 10)) console.log(`[${m.severity}] ${m.message.slice(0, 400)}`);
  console.log(JSON.stringify({ device: context.deviceName, validationMessages: messages.length, ...report }, null, 2));
  context.destroy();
  process.exitCode = report.failures.length + messages.length;
}

/**
 * The end of a stress run: destroys `allocator` (everything else must be gone by then), records in `report` how many
 * allocations leaked (a failure when any did, naming the first five) and how long the run took since `started`.
 */
export function closeRun(
  allocator: Allocator,
  report: { leaks: number; seconds: number },
  fail: (message: string) => void,
  started: number,
): void {
  const leaks = allocator.destroy();
  report.leaks = leaks.length;
  if (leaks.length > 0)
    fail(
      `${leaks.length} allocations leaked: ${leaks
        .slice(0, 5)
        .map((l) => l.name)
        .join(", ")}`,
    );
  report.seconds = (performance.now() - started) / 1000;
}
