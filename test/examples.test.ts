/**
 * Every program in examples/ runs (compiled, as `node dist/examples/NAME.js`, importing "vkmem" by name) with the
 * validation layer on, exits 0 (each checks its own result and reports leaks and validation messages), and says
 * what it is expected to say. On Windows (the suite under Wine) there is no validation layer: the programs run
 * without it, and the test's name and output say so.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { expect, test } from "vitest";
import { validationAvailable } from "./helpers/gpu.js";

const EXPECTED: Record<string, RegExp[]> = {
  "vertex-buffer": [
    /^drew 3 vertices from a 60-byte device-local buffer into 64x64$/m,
    /^covered pixels: (\d{3,4}) of 4096; top corner \(red\) 2\d\d,\d,\d,255; corner pixel \(clear\) 0,0,0,255$/m,
  ],
  "uniform-ring": [
    /^frame 0: 200 transient allocations, 12800 bytes/m,
    /^alignment \d+: 0 misaligned offsets; GPU saw every frame's own uniforms: true$/m,
  ],
  "texture-mips": [
    /^uploaded 9 levels \(349524 bytes\)/m,
    /^read back level 0 \(256x256\): identical; level 4 \(16x16\): identical$/m,
    /^level 8 \(1x1\) is the average colour: 128,0,128,255$/m,
  ],
  "streamed-textures": [
    /^peak resident [\d.]+ MiB under the 8 MiB budget: true; evictions [1-9]\d*; last frame 8\/8 textures at full detail$/m,
  ],
  readback: [/^first half is the uploaded ramp: true; second half is the GPU's fill 0xc0ffee: true$/m],
  "memory-statistics": [
    /^frame 4: created 5, destroyed 5/m,
    /^allocator total: \d+ allocations/m,
    /^heap\s+size\s+flags/m,
  ],
};

test("examples/ holds the programs this test knows, 4 to 6 of them", () => {
  const names = readdirSync("examples")
    .filter((f) => f.endsWith(".ts"))
    .map((f) => f.slice(0, -3))
    .sort();
  expect(names).toEqual(Object.keys(EXPECTED).sort());
});

if (!validationAvailable)
  console.log(`vkmem-test: ${process.platform}: no Vulkan validation layer here; the examples run without it`);
const validation = validationAvailable ? "with validation on" : `without validation (none on ${process.platform})`;

for (const [name, patterns] of Object.entries(EXPECTED)) {
  test(`examples/${name}.ts runs ${validation}: exit 0, no leak, no validation message`, () => {
    const env = { ...process.env, VKMEM_VALIDATION: validationAvailable ? "1" : "0" };
    const r = spawnSync(process.execPath, [`dist/examples/${name}.js`], { encoding: "utf8", env });
    expect(r.stderr).toBe("");
    expect(r.status, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^leaks: 0; validation messages: 0$/m);
    for (const p of patterns) expect(r.stdout).toMatch(p);
  });
}

/**
 * glslangValidator: on Linux always (the set-up step installs glslang-tools, and a missing one fails the test); on
 * Windows from PATH or the LunarG Vulkan SDK (%VULKAN_SDK%\\Bin), when there is one. Under Wine there is none: the
 * SPIR-V it makes does not depend on the platform that runs it, and the Linux suite checks it.
 */
function glslang(): string | null {
  if (process.platform !== "win32") return "glslangValidator";
  const dirs = [
    ...(process.env.PATH ?? "").split(delimiter),
    ...(process.env.VULKAN_SDK ? [join(process.env.VULKAN_SDK, "Bin")] : []),
  ];
  return (
    dirs
      .filter((d) => d !== "")
      .map((d) => join(d, "glslangValidator.exe"))
      .find((f) => existsSync(f)) ?? null
  );
}

test.runIf(glslang() !== null)(
  "vertex-buffer's embedded SPIR-V is what glslangValidator makes of the GLSL in its header",
  () => {
    const source = readFileSync("examples/vertex-buffer.ts", "utf8");
    const comment = source.slice(source.indexOf(" *   // triangle.vert"), source.indexOf("*/"));
    const header = comment
      .split("\n")
      .filter((l) => l.startsWith(" *   "))
      .map((l) => l.slice(5));
    // The header shows the two shaders side by side: the vertex shader in columns 0-53, the fragment shader after.
    const vert = header
      .map((l) => l.slice(0, 54).trimEnd())
      .filter((l) => l && !l.startsWith("//"))
      .join("\n");
    const frag = header
      .map((l) => l.slice(54).trimEnd())
      .filter((l) => l && !l.startsWith("//"))
      .join("\n");
    const embedded = (constant: string) => {
      const m = new RegExp(`const ${constant} =\\n([^;]+);`).exec(source)!;
      return Buffer.from([...m[1]!.matchAll(/"([^"]*)"/g)].map((q) => q[1]).join(""), "base64");
    };
    const dir = mkdtempSync(join(tmpdir(), "vkmem-example-spv-"));
    try {
      for (const [stage, glsl, constant] of [
        ["vert", vert, "TRIANGLE_VERT_SPV"],
        ["frag", frag, "TRIANGLE_FRAG_SPV"],
      ] as const) {
        writeFileSync(join(dir, `t.${stage}`), `${glsl}\n`);
        execFileSync(glslang()!, ["-V", join(dir, `t.${stage}`), "-o", join(dir, `t.${stage}.spv`)], {
          encoding: "utf8",
        });
        expect(embedded(constant).equals(readFileSync(join(dir, `t.${stage}.spv`))), stage).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
