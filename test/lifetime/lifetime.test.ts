/**
 * engine/lifetime.ts without a device: the order in which a parent destroys its dependents, what one throwing
 * does to the others, the one warning that names them, and the error a dependent throws afterwards.
 */
import { describe, expect, test } from "vitest";
import { DestroyedResourceError } from "../../engine/errors.js";
import { Dependents, cascadeReport, reportCascade, type Dependent } from "../../engine/lifetime.js";

class Child implements Dependent {
  cause: string | undefined = undefined;
  constructor(
    readonly _lifetimeName: string,
    private readonly log: string[],
    private readonly fails = false,
  ) {}
  _destroyWithParent(cause: string): void {
    this.log.push(this._lifetimeName);
    this.cause = cause;
    if (this.fails) throw new Error(`${this._lifetimeName} failed`);
  }
  use(): void {
    if (this.cause !== undefined) throw new DestroyedResourceError("Child", this._lifetimeName, "use", this.cause);
  }
}

describe("Dependents", () => {
  test("destroys every live dependent oldest first, on behalf of the cause, even when one throws", () => {
    const log: string[] = [];
    const set = new Dependents<Child>();
    const a = new Child("A", log);
    const b = new Child("B", log, true);
    const c = new Child("C", log);
    const gone = new Child("gone", log);
    for (const d of [a, b, gone, c]) set.add(d);
    set.delete(gone); // destroyed on its own: not the parent's any more
    const report = cascadeReport();
    set.destroyAll("Allocator 'main'", report);
    expect(log).toEqual(["A", "B", "C"]);
    expect(report.names).toEqual(["A", "B", "C"]);
    expect(report.errors.map((e) => (e as Error).message)).toEqual(["B failed"]);
    expect(set.size).toBe(0);
    expect(() => c.use()).toThrow("Child 'C' cannot be used: its Allocator 'main' was destroyed (in use)");
    expect(() => gone.use()).not.toThrow();
  });

  test("reportCascade emits one VkmemLeakWarning naming each dependent, and nothing when there were none", async () => {
    const warnings: Error[] = [];
    const listen = (w: Error) => warnings.push(w);
    process.on("warning", listen);
    try {
      reportCascade("Context", cascadeReport());
      reportCascade("Allocator 'main'", {
        names: ["FrameManager 'frames'", "Pool 'level'"],
        errors: [new Error("boom")],
      });
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", listen);
    }
    const ours = warnings.filter((w) => w.name === "VkmemLeakWarning");
    expect(ours.map((w) => w.message)).toEqual([
      "Allocator 'main' destroyed with 2 live dependent(s); destroyed them first:\n  FrameManager 'frames'\n  Pool 'level'\n  error while destroying: boom",
    ]);
  });

  test("DestroyedResourceError keeps the old message for an object destroyed itself, and names the parent otherwise", () => {
    const own = new DestroyedResourceError("Buffer", "shadowMap", "handle");
    expect(own.message).toBe("Buffer 'shadowMap' has been destroyed (in handle)");
    expect(own.parent).toBeUndefined();
    const child = new DestroyedResourceError("Buffer", "x", undefined, "Allocator");
    expect(child.message).toBe("Buffer 'x' cannot be used: its Allocator was destroyed");
    expect(child.parent).toBe("Allocator");
  });
});
