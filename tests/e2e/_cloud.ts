/**
 * A server whose devices 201 and 202 are extensions of the fake provider's account
 * (docs/cloud-phones.md §2), with ERROR replies carrying their reason; shared by the cloud
 * phone tests.
 */

import type { FakeProvider } from "../fakes/fake_provider.ts";
import { configLines, ringCentralLines } from "../provider/_helpers.ts";
import { startServer, type TestServer } from "./_server.ts";

/** Starts the server on the fake's account; `extra` config lines come last. */
export async function cloudServer(fake: FakeProvider, extra: string[] = []): Promise<TestServer> {
  return await startServer({
    lines: [
      ...configLines(ringCentralLines(fake)),
      "channelErrorDetail = on",
      "phone=201@provider",
      "phone=202@provider",
      ...extra,
    ],
  });
}
