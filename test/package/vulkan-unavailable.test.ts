/**
 * A game's machine without Vulkan: importing vkmem still works, and createContext throws one
 * VulkanUnavailableError that names what to install. Both cases for real, in child processes: no driver (the
 * loader pointed at a driver list that does not exist), and no loader (libvulkan.so.1 hidden by a bind mount of
 * /dev/null in a private mount namespace, which needs root: CI runs as root).
 *
 * Under Wine (test:win) neither child can be made: the driver is Wine's winevulkan, and neither VK_DRIVER_FILES /
 * VK_ICD_FILENAMES nor a WINEDLLOVERRIDES set by the Windows parent hides it from a child process (tried: the child
 * creates its context); and nvk's Windows build ships vulkan-1.dll beside its addon, so a Windows machine cannot lack
 * the loader. There, the third test checks the Windows wording of the same errors.
 */
import { spawnSync } from "node:child_process";
import { expect, test } from "vitest";
import { driverMissingError, loaderMissingError } from "../../engine/vulkan/availability.js";

const PROGRAM = `
import("vkmem").then((m) => {
  try { m.createContext(); console.log("created"); }
  catch (e) { console.log(JSON.stringify({ name: e.name, missing: e.missing, isVkError: e instanceof m.VkError, result: e.result, message: e.message })); }
});`;

// Linux only (see above); root for the mount namespace.
const canUnshare =
  process.platform === "linux" && process.getuid?.() === 0 && spawnSync("unshare", ["-m", "true"]).status === 0;

test.runIf(process.platform === "linux")(
  "no Vulkan driver: createContext throws VulkanUnavailableError naming mesa-vulkan-drivers",
  () => {
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", PROGRAM], {
      encoding: "utf8",
      env: { ...process.env, VK_DRIVER_FILES: "/nonexistent/none.json", VK_ICD_FILENAMES: "/nonexistent/none.json" },
    });
    expect(r.status).toBe(0);
    const e = JSON.parse(r.stdout.trim().split("\n").pop()!);
    expect(e).toMatchObject({ name: "VulkanUnavailableError", missing: "driver", isVkError: true, result: -9 });
    expect(e.message).toMatch(
      /^vkCreateInstance failed: VK_ERROR_INCOMPATIBLE_DRIVER \(-9\): the Vulkan loader found no driver: install a Vulkan driver: .*mesa-vulkan-drivers/,
    );
  },
);

test.skipIf(!canUnshare)(
  "no Vulkan loader (libvulkan.so.1 unloadable): import works, createContext names libvulkan1 and a driver",
  () => {
    const lib = spawnSync("sh", ["-c", "ldconfig -p | awk '/libvulkan\\.so\\.1 .*x86-64/ {print $NF; exit}'"], {
      encoding: "utf8",
    }).stdout.trim();
    expect(lib).toMatch(/libvulkan\.so\.1$/);
    const script = `mount --bind /dev/null ${lib} && exec "${process.execPath}" --input-type=module -e '${PROGRAM.replace(/'/g, "'\\''")}'`;
    const r = spawnSync("unshare", ["-m", "sh", "-c", script], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const e = JSON.parse(r.stdout.trim());
    expect(e).toMatchObject({ name: "VulkanUnavailableError", missing: "loader", isVkError: true, result: -9 });
    expect(e.message).toMatch(
      /the Vulkan loader \(libvulkan\.so\.1\) cannot be loaded: install it \(Debian\/Ubuntu: libvulkan1;/,
    );
    expect(e.message).toMatch(/then install a Vulkan driver: .*mesa-vulkan-drivers/);
  },
);

test("on Windows the same errors name what a Windows machine installs, not Debian's packages", () => {
  const driver = driverMissingError("vkCreateInstance", "win32");
  expect([driver.name, driver.missing]).toEqual(["VulkanUnavailableError", "driver"]);
  expect(driver.message).toMatch(
    /the Vulkan loader found no driver: install your GPU vendor's driver \(it brings Vulkan\)/,
  );
  expect(driver.message).not.toMatch(/Debian|mesa-vulkan-drivers/);
  const loader = loaderMissingError(new Error("Cannot load vulkan-1.dll"), "nvk", "win32");
  expect(loader?.message).toMatch(
    /the Vulkan loader \(vulkan-1\.dll\) cannot be loaded: install your GPU vendor's driver or the Vulkan Runtime/,
  );
});
