/**
 * The `vkmem` command line: --version, --help everywhere, exact usage errors with exit 2.
 *
 * The command lines are run through engine/cli/main.ts's `run` in this process, its console output captured: they
 * check the parser and the texts, which are the same in a process of their own. Three of them also run as
 * processes (bin/vkmem.js), to check what only a process shows: the exit status from `process.exitCode` and which
 * stream each text reaches. Each process costs a Node start, about 0.2 s here, 0.9 s under the sanitizers and
 * 1.3 s under Wine: the 38 command lines as processes took 8, 34 and 49 s of the three CI lanes.
 */
import { readFileSync } from "node:fs";
import { expect, test, vi } from "vitest";
import { run } from "../../engine/cli/main.js";
import { runVkmem } from "../helpers/cli.js";

/** Runs the command line in this process: its exit code and what it printed to each stream, as a process would. */
async function vkmem(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const text = (values: unknown[]) => `${values.map(String).join(" ")}\n`;
  vi.spyOn(console, "log").mockImplementation((...v: unknown[]) => void (stdout += text(v)));
  vi.spyOn(console, "error").mockImplementation((...v: unknown[]) => void (stderr += text(v)));
  try {
    return { status: await run(args), stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

const version = (JSON.parse(readFileSync("package.json", "utf8")) as { version: string }).version;

test("as a process: the exit status and the stream of each text", () => {
  const v = runVkmem("--version");
  expect({ status: v.status, stdout: v.stdout, stderr: v.stderr }).toEqual({
    status: 0,
    stdout: `vkmem ${version}\n`,
    stderr: "",
  });
  const h = runVkmem("info", "--help");
  expect({ status: h.status, stderr: h.stderr }).toEqual({ status: 0, stderr: "" });
  expect(h.stdout).toMatch(/^usage: vkmem info /);
  const bad = runVkmem("vis", "d.json", "-o", "m.png", "--width", "10");
  expect({ status: bad.status, stdout: bad.stdout }, String(bad.error ?? "")).toEqual({ status: 2, stdout: "" });
  expect(bad.stderr).toMatch(/^vkmem vis: --width needs a whole number from 64 to 16384, got 10\n\nusage: vkmem vis /);
});

test("--version and -v print the package's version", async () => {
  for (const flag of ["--version", "-v"]) {
    const r = await vkmem(flag);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`vkmem ${version}\n`);
  }
});

test("no command prints the usage on stderr with exit 2; --help and help print it on stdout with exit 0", async () => {
  const none = await vkmem();
  expect(none.status).toBe(2);
  expect(none.stdout).toBe("");
  expect(none.stderr).toMatch(/^vkmem: no command given\n\nusage: vkmem <command> \[options\]/);
  for (const args of [["--help"], ["-h"], ["help"]]) {
    const r = await vkmem(...args);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: vkmem <command> \[options\]\n/);
    for (const c of ["info", "vis", "report", "start", "help"]) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, "m"));
  }
});

test("every subcommand has --help (and help COMMAND), with its own options", async () => {
  const expected: Record<string, RegExp> = {
    info: /^usage: vkmem info \[--json\] \[--no-dump\] \[--validation\] \[--dump-json FILE\]\n/,
    vis: /^usage: vkmem vis DUMP\.json -o MAP\.png \[--width N\]\n/,
    report: /^usage: vkmem report TRACE\|DUMP\.json -o report\.html\n/,
    start: /^usage: vma-sample \[--headless \| --window\]/,
    help: /^usage: vkmem help \[COMMAND\]\n/,
  };
  for (const [command, usage] of Object.entries(expected)) {
    for (const args of [
      [command, "--help"],
      [command, "-h"],
      ["help", command],
    ]) {
      const r = await vkmem(...args);
      expect({ args, status: r.status, stderr: r.stderr }).toEqual({ args, status: 0, stderr: "" });
      expect(r.stdout).toMatch(usage);
    }
  }
});

test("wrong command lines: the exact message, the command's usage, exit 2", async () => {
  const cases: Array<[string[], string]> = [
    [["bogus"], "vkmem: unknown command 'bogus'\n\nusage: vkmem <command>"],
    [["info", "--bogus"], "vkmem info: unknown argument --bogus\n\nusage: vkmem info "],
    [["info", "--dump-json"], "vkmem info: --dump-json needs a value (FILE)\n\nusage: vkmem info "],
    [["info", "--dump-json", "--json"], "vkmem info: --dump-json needs a value (FILE)\n"],
    [["info", "--json=yes"], "vkmem info: --json takes no value\n"],
    [["info", "extra"], "vkmem info: unexpected argument 'extra'\n"],
    [["vis", "d.json", "-o"], "vkmem vis: --output needs a value (MAP.png)\n\nusage: vkmem vis "],
    [["vis", "d.json", "-o", "m.png", "--width"], "vkmem vis: --width needs a value (N)\n"],
    [
      ["vis", "d.json", "-o", "m.png", "--width", "wide"],
      "vkmem vis: --width needs a whole number from 64 to 16384, got wide\n",
    ],
    [
      ["vis", "d.json", "-o", "m.png", "--width", "10"],
      "vkmem vis: --width needs a whole number from 64 to 16384, got 10\n",
    ],
    [["vis", "a.json", "b.json", "-o", "m.png"], "vkmem vis: unexpected argument 'b.json'\n"],
    [["help", "bogus"], "vkmem help: unknown command 'bogus'\n"],
    [["start", "--frames"], "vma-sample: --frames needs a value (N)\n\nusage: vma-sample "],
    [["start", "--frames", "many"], "vma-sample: --frames needs a whole number from 1 to 1000000000, got many\n"],
    [["start", "--bogus"], "vma-sample: unknown argument --bogus\n"],
  ];
  for (const [args, message] of cases) {
    const r = await vkmem(...args);
    expect({ args, status: r.status, stdout: r.stdout }).toEqual({
      args,
      status: 2,
      stdout: "",
    });
    expect(r.stderr.startsWith(message), `${args.join(" ")}: ${r.stderr}`).toBe(true);
  }
});
