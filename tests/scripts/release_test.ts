/**
 * The release helpers (docs/building.md §8): archives that the system's own `tar` and `unzip`
 * unpack into the executable (still executable) and the documents, checksums `sha256sum -c`
 * accepts, and a tag that must match the version and the changelog.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { archiveName, changelogSection, pack, sums, tagProblem } from "../../scripts/release.ts";
import { ROOT, tempDir } from "../helpers.ts";

async function sh(cmd: string[], cwd: string) {
  const out = await new Deno.Command(cmd[0], { args: cmd.slice(1), cwd }).output();
  const dec = new TextDecoder();
  assert.equal(out.code, 0, `${cmd.join(" ")}: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout);
}

Deno.test("archives unpack with the system's tar and unzip, checksums verify with sha256sum", async () => {
  const dir = await tempDir();
  try {
    const exe = join(dir.path, "fake-exe");
    const payload = new Uint8Array(300_000).map((_, i) => (i * 7919) % 251);
    await Deno.writeFile(exe, payload);
    const out = join(dir.path, "out");
    const targz = await pack("aarch64-unknown-linux-gnu", exe, out, 1_767_225_600);
    const zipped = await pack("x86_64-pc-windows-msvc", exe, out, 1_767_225_600);
    assert.equal(targz, join(out, "phone-companion-server-0.1.0-aarch64-unknown-linux-gnu.tar.gz"));
    assert.equal(zipped, join(out, "phone-companion-server-0.1.0-x86_64-pc-windows-msvc.zip"));

    const listing = await sh(["tar", "-tzvf", targz], dir.path);
    assert.match(
      listing,
      /^-rwxr-xr-x .* phone-companion-server-0\.1\.0-aarch64-unknown-linux-gnu\/phone-companion-server$/m,
    );
    assert.match(
      listing,
      /^-rw-r--r-- .* phone-companion-server-0\.1\.0-aarch64-unknown-linux-gnu\/LICENSE$/m,
    );
    const unpacked = join(dir.path, "unpacked");
    await Deno.mkdir(unpacked);
    await sh(["tar", "-xzf", targz], unpacked);
    await sh(["unzip", "-q", zipped], unpacked);
    for (
      const [folder, exeName] of [
        ["phone-companion-server-0.1.0-aarch64-unknown-linux-gnu", "phone-companion-server"],
        ["phone-companion-server-0.1.0-x86_64-pc-windows-msvc", "phone-companion-server.exe"],
      ]
    ) {
      const names = [...Deno.readDirSync(join(unpacked, folder))].map((e) => e.name).sort();
      assert.deepEqual(names, [
        "CHANGELOG.md",
        "LICENSE",
        "README.md",
        "THIRD_PARTY_NOTICES.md",
        exeName,
      ]);
      assert.deepEqual(await Deno.readFile(join(unpacked, folder, exeName)), payload);
      assert.equal(
        await Deno.readTextFile(join(unpacked, folder, "README.md")),
        await Deno.readTextFile(join(ROOT, "README.md")),
      );
    }
    const mode = (await Deno.stat(
      join(
        unpacked,
        "phone-companion-server-0.1.0-aarch64-unknown-linux-gnu",
        "phone-companion-server",
      ),
    )).mode!;
    assert.equal(mode & 0o111, 0o111, "still executable after tar -x");

    await Deno.writeTextFile(join(out, "SHA256SUMS"), await sums(out));
    const checked = await sh(["sha256sum", "-c", "SHA256SUMS"], out);
    assert.equal(
      checked,
      "phone-companion-server-0.1.0-aarch64-unknown-linux-gnu.tar.gz: OK\n" +
        "phone-companion-server-0.1.0-x86_64-pc-windows-msvc.zip: OK\n",
    );
  } finally {
    await dir.remove();
  }
});

Deno.test("a tag is released only as v<version> with a dated changelog section", () => {
  const dated =
    "# Changelog\n\n## [Unreleased]\n\n## [0.1.0] - 2027-01-15\n\n### Added\n\n- It.\n\n## [0.0.9] - 2026-12-01\n- Old.\n";
  assert.equal(tagProblem("v0.1.0", dated, "0.1.0"), undefined);
  assert.equal(tagProblem("refs/tags/v0.1.0", dated, "0.1.0"), undefined);
  assert.match(tagProblem("v0.1.1", dated, "0.1.0")!, /does not match the version .*\(v0\.1\.0\)/);
  assert.match(
    tagProblem("v0.1.0", "## [Unreleased]\n- It.\n", "0.1.0")!,
    /no section '## \[0\.1\.0\] - YYYY-MM-DD'/,
  );
  assert.equal(changelogSection(dated, "0.1.0"), "### Added\n\n- It.");
  assert.equal(
    archiveName("aarch64-apple-darwin", "1.2.3"),
    "phone-companion-server-1.2.3-aarch64-apple-darwin.tar.gz",
  );
});
