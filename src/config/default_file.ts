/**
 * The fully commented configuration file written on first start (docs/configuration.md "Where the file
 * is"). Generated from the key table, so every key is documented with its default.
 */

import { KEYS } from "./schema.ts";

const GROUPS: readonly { title: string; prefix: RegExp }[] = [
  { title: "Channel and HTTP listeners", prefix: /^(server(?!LogFilePath)|adminPassword)/ },
  { title: "Log file", prefix: /^(serverLogFilePath|log)/ },
  { title: "Phones", prefix: /^(phone|demo)/ },
  { title: "Channel behaviour", prefix: /^channel/ },
  { title: "Telephony provider (RawCommand)", prefix: /^provider/ },
  { title: "This file", prefix: /^config/ },
];

/** Vendor keys the runtime accepts but cannot act on: written commented out, not as noise. */
const IGNORED = new Set(["providerMinProtocolVersion", "providerVerifyDepth"]);

function comment(text: string, width = 92): string[] {
  const out: string[] = [];
  let line = "#";
  for (const word of text.split(/\s+/)) {
    if (line.length + word.length + 1 > width) {
      out.push(line);
      line = "#";
    }
    line += " " + word;
  }
  out.push(line);
  return out;
}

/** The text of the default configuration file, with CR LF line ends on Windows. */
export function renderDefaultConfig(eol = "\n"): string {
  const out: string[] = [
    "# Phone Companion Server configuration",
    "#",
    ...comment(
      "Written on first start with every setting and its default. The server checks this file " +
        "every configReloadSeconds (5) and applies a changed, valid file without a restart; a file " +
        "with mistakes is ignored and the server keeps its last good settings (see the log and " +
        "the status page). Check a file with: phone-companion-server --check-config --config <file>",
    ),
    "#",
    ...comment(
      "Format: key = value, one per line. Keys are not case-sensitive. Lines starting with # or ; " +
        "are comments; there are no comments after a value, so passwords may contain # and ;. " +
        "Relative paths are relative to this file's folder.",
    ),
  ];
  for (const group of GROUPS) {
    out.push(
      "",
      `# ${"=".repeat(4)} ${group.title} ${"=".repeat(Math.max(4, 80 - group.title.length))}`,
    );
    if (group.title === "Phones") {
      out.push(
        "",
        ...comment(
          "One line per desk phone: phone=<extension>@<host>[:<port>] <profile file> " +
            "[<username> <password>]. The profile file says how to drive that phone model; " +
            "snom.cfg and yealink.cfg are built in, and a file of that name beside this one " +
            "overrides it. The phone's web interface must allow remote control (SNOM: hidden " +
            "tags off; Yealink: load the lines of 'provisioning <extension>'). " +
            "Remove the # to use a line, and set demoPhones = 0 when real phones are listed.",
        ),
        "# phone=201@192.168.1.21 snom.cfg",
        "# phone=202@192.168.1.22:8080 snom.cfg admin s3cret",
        "# phone=203@192.168.1.23 yealink.cfg admin s3cret",
        "",
        ...comment(
          "An extension of your RingCentral account (a desk phone, softphone or the app) is a " +
            "device too: phone=<extension>@provider, with providerId = ringcentral and the app's " +
            "keys below (docs/cloud-phones.md).",
        ),
        "# phone=101@provider",
      );
    }
    for (const key of KEYS.filter((k) => group.prefix.test(k.name))) {
      const origin = key.source === "vendor" ? "vendor setting" : "setting of this server";
      const def = "default" in key ? `default ${key.default}` : "not set by default";
      out.push("", ...comment(`${key.doc} (${origin}, ${def})`));
      if ("default" in key && !IGNORED.has(key.name)) {
        out.push(`${key.name} = ${key.name === "demoPhones" ? "2" : key.default}`);
      } else {
        const shown = "default" in key ? key.default : "example" in key ? key.example : "";
        out.push(`# ${key.name} = ${shown}`.trimEnd());
      }
    }
  }
  return out.join(eol) + eol;
}
