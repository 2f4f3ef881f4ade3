/**
 * Demo Yealinks (`demoYealinkPhones`) work out of the box: their action URLs are set by
 * provisioning (docs/yealink.md §5), and since they are simulated, the server loads their
 * lines into them itself whenever settings are applied — the same lines `provisioning
 * <extension>` prints and the status page shows (docs/yealink.md §8).
 */

import type { Component, Settings } from "../contract.ts";
import { log } from "../log/mod.ts";
import { provisioningFor } from "../monitor/mod.ts";
import type { PhoneRegistry } from "../phones/mod.ts";
import { type SimPhone, YealinkPhone } from "../simulator/mod.ts";

/** Loads each demo Yealink's provisioning lines into it; apply it after the phone registry. */
export class DemoProvisioning implements Component {
  readonly name = "demoProvisioning";
  readonly #phones: PhoneRegistry<SimPhone | YealinkPhone>;
  readonly #callbackKey: () => string;

  constructor(phones: PhoneRegistry<SimPhone | YealinkPhone>, callbackKey: () => string) {
    this.#phones = phones;
    this.#callbackKey = callbackKey;
  }

  async apply(settings: Settings): Promise<void> {
    for (const extension of settings.config.demoYealinkPhones) {
      const phone = this.#phones.demoPhone(extension);
      if (!(phone instanceof YealinkPhone)) continue;
      let key: string;
      try {
        key = this.#callbackKey();
      } catch (e) {
        log("phones").error("demo Yealink {extension} cannot be provisioned: {error}", {
          extension,
          error: e,
        });
        continue;
      }
      const p = await provisioningFor(this.#phones, settings.config.server, key, extension);
      if ("lines" in p) {
        phone.provision(p.lines.join("\n"));
        log("phones").info("demo Yealink {extension} provisioned with {count} lines", {
          extension,
          count: p.lines.length,
        });
      } else {
        log("phones").error("demo Yealink {extension} cannot be provisioned: {error}", {
          extension,
          error: p.error,
        });
      }
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
