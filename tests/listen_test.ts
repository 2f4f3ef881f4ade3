/**
 * The accept loop both listeners run (src/listen.ts), on a scripted listener and a manual
 * clock, so each pause is seen: none after one client's failed accept, 50 ms after any other,
 * 100 ms before listening again after the listener broke, then one try a second.
 */

import assert from "node:assert/strict";
import { AcceptLoop } from "../src/listen.ts";
import { ManualClock, waitFor } from "./helpers.ts";

class Conn {
  closed = false;
  constructor(readonly id: number) {}
  close() {
    this.closed = true;
  }
}

/** A listener whose accepts are handed out by the test, one at a time. */
class ScriptedListener {
  closed = false;
  readonly #waiting: PromiseWithResolvers<Conn>[] = [];
  readonly #script: (Conn | Error)[] = [];

  accept(): Promise<Conn> {
    if (this.closed) return Promise.reject(new Deno.errors.BadResource("closed"));
    const next = this.#script.shift();
    if (next instanceof Error) return Promise.reject(next);
    if (next) return Promise.resolve(next);
    const w = Promise.withResolvers<Conn>();
    this.#waiting.push(w);
    return w.promise;
  }

  /** The next accept gives `what` (a connection, or fails with an error). */
  give(what: Conn | Error) {
    const w = this.#waiting.shift();
    if (!w) this.#script.push(what);
    else if (what instanceof Error) w.reject(what);
    else w.resolve(what);
  }

  close() {
    this.closed = true;
    for (const w of this.#waiting.splice(0)) w.reject(new Deno.errors.BadResource("closed"));
  }
}

function loop(clock: ManualClock, listen: () => ScriptedListener = () => new ScriptedListener()) {
  const first = new ScriptedListener();
  const taken: number[] = [];
  const events: string[] = [];
  const accepting = new AcceptLoop<Conn, ScriptedListener>({
    listener: first,
    listen,
    take: (conn) => {
      if (conn.id < 0) throw new Error("cannot take it");
      taken.push(conn.id);
    },
    failed: (stage, e) => events.push(`${stage}: ${(e as Error).message}`),
    lost: (e) => events.push(`lost: ${(e as Error).name}`),
    relistenFailed: (e, attempt) => events.push(`relisten ${attempt}: ${(e as Error).message}`),
    clock,
  });
  return { first, accepting, taken, events };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

Deno.test("a client's failed accept is reported and the next accept follows at once", async () => {
  const clock = new ManualClock();
  const { first, accepting, taken, events } = loop(clock);
  first.give(new Deno.errors.ConnectionReset("reset by peer"));
  first.give(new Conn(1));
  await waitFor("the next connection", () => taken.length === 1);
  assert.deepEqual(events, ["accept: reset by peer"]);
  assert.equal(clock.pending, 0, "no pause");
  await accepting.close();
});

Deno.test("any other failed accept pauses 50 ms before the next one", async () => {
  const clock = new ManualClock();
  const { first, accepting, taken, events } = loop(clock);
  first.give(new Error("too many open files"));
  first.give(new Conn(1));
  assert.equal(await clock.nextTimer(), 50);
  await settle();
  assert.deepEqual(taken, [], "not before the pause");
  clock.advance(50);
  await waitFor("the next connection", () => taken.length === 1);
  assert.deepEqual(events, ["accept: too many open files"]);
  await accepting.close();
});

Deno.test("a connection that cannot be taken is closed and reported; the loop goes on", async () => {
  const clock = new ManualClock();
  const { first, accepting, taken, events } = loop(clock);
  const bad = new Conn(-1);
  first.give(bad);
  first.give(new Conn(2));
  await waitFor("the next connection", () => taken.length === 1);
  assert.equal(bad.closed, true);
  assert.deepEqual(events, ["take: cannot take it"]);
  await accepting.close();
});

Deno.test("a listener that breaks is reported and opened again after 100 ms, retried each second", async () => {
  const clock = new ManualClock();
  let tries = 0;
  const again = new ScriptedListener();
  const { first, accepting, taken, events } = loop(clock, () => {
    if (++tries < 3) throw new Deno.errors.AddrInUse("address in use");
    return again;
  });
  first.give(new Deno.errors.BadResource("closed under us"));
  assert.equal(await clock.nextTimer(), 100);
  assert.deepEqual(events, ["lost: BadResource"]);
  assert.equal(first.closed, true);
  assert.equal(accepting.listener, undefined, "no listener while it is opened again");
  clock.advance(100);
  for (const attempt of [1, 2]) {
    assert.equal(await clock.nextTimer(), 1000, `a second after attempt ${attempt}`);
    assert.equal(tries, attempt);
    clock.advance(1000);
  }
  await waitFor("the third try", () => tries === 3);
  assert.deepEqual(events, [
    "lost: BadResource",
    "relisten 1: address in use",
    "relisten 2: address in use",
  ]);
  assert.equal(accepting.listener, again);
  again.give(new Conn(7));
  await waitFor("a connection on the new listener", () => taken.length === 1);
  await accepting.close();
  assert.equal(again.closed, true);
});

Deno.test("only closing ends the loop, even in a pause, and closes the listener", async () => {
  const clock = new ManualClock();
  const { first, accepting, events } = loop(clock);
  first.give(new Error("too many open files"));
  await clock.nextTimer();
  await accepting.close(); // resolves without the clock moving
  assert.equal(first.closed, true);
  assert.equal(accepting.listener, undefined);
  assert.deepEqual(events, ["accept: too many open files"], "closing is not reported");
});
