/**
 * A game's machine without Vulkan: importing vkmem still works, and createContext throws one
 * VulkanUnavailableError that names what to install. Both cases for real, in child processes: no driver (the
 * loader pointed at a driver list that does not exist), and no loader (libvulkan.so.1 hidden by a bind mount of
 * /dev/null in a private mount namespace, which needs root: CI runs as root).
 */
import { spawnSync } from "node:child_process";
import { expect, test } from "vitest";

const PROGRAM = `
import("vkmem").then((m) => {
  try { m.createContext(); console.log("created"); }
  catch (e) { console.log(JSON.stringify({ name: e.name, missing: e.missing, isVkError: e instanceof m.VkError, result: e.result, message: e.message })); }
});`;

const canUnshare = process.getuid?.() === 0 && spawnSync("unshare", ["-m", "true"]).status === 0;

test("no Vulkan driver: createContext throws VulkanUnavailableError naming mesa-vulkan-drivers", () => {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", PROGRAM], {
    encoding: "utf8",
    env: { ...process.env, VK_DRIVER_FILES: "/nonexistent/none.json", VK_ICD_FILENAMES: "/nonexistent/none.json" },
  });
  expect(r.status).toBe(0);
  const e = JSON.parse(r.stdout.trim().split("\n").pop()!);
  expect(e).toMatchObject({ name: "VulkanUnavailableError", missing: "driver", isVkError: true, result: -9 });
  expect(e.message).toMatch(/^vkCreateInstance failed: VK_ERROR_INCOMPATIBLE_DRIVER \(-9\): the Vulkan loader found no driver: install a Vulkan driver: .*mesa-vulkan-drivers/);
});

test.skipIf(!canUnshare)("no Vulkan loader (libvulkan.so.1 unloadable): import works, createContext names libvulkan1 and a driver", () => {
  const lib = spawnSync("sh", ["-c", "ldconfig -p | awk '/libvulkan\\.so\\.1 .*x86-64/ {print $NF; exit}'"], { encoding: "utf8" }).stdout.trim();
  expect(lib).toMatch(/libvulkan\.so\.1$/);
  const script = `mount --bind /dev/null ${lib} && exec "${process.execPath}" --input-type=module -e '${PROGRAM.replace(/'/g, "'\\''")}'`;
  const r = spawnSync("unshare", ["-m", "sh", "-c", script], { encoding: "utf8" });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  const e = JSON.parse(r.stdout.trim());
  expect(e).toMatchObject({ name: "VulkanUnavailableError", missing: "loader", isVkError: true, result: -9 });
  expect(e.message).toMatch(/the Vulkan loader \(libvulkan\.so\.1\) cannot be loaded: install it \(Debian\/Ubuntu: libvulkan1;/);
  expect(e.message).toMatch(/then install a Vulkan driver: .*mesa-vulkan-drivers/);
});
