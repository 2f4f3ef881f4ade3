/**
 * The house rules for imports, checked on the module graph Deno computes (`deno info --json`).
 * See docs/architecture.md "Layers and import rules".
 *
 * 1. No import cycle between files of `src/`, type-only imports included.
 * 2. A folder of `src/` is imported from outside only through its `mod.ts`; so files starting
 *    with `_` are private to their folder.
 * 3. A file imports only its own layer or lower ones (LAYERS), and one feature folder never
 *    imports another.
 * 4. A folder's `mod.ts` is its face only: comments and `export … from` lines, no code.
 *
 * Usage: `deno run --allow-read --allow-write --allow-run scripts/check_imports.ts [src-dir]`.
 * Prints one line per broken rule and exits 1 when there is any.
 */

import { join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** A unit of the house: a folder under `src/`, or a file directly in it. */
export interface Layering {
  /** Unit name (`config`, `contract.ts`, …) → layer; higher layers may import lower ones. */
  readonly layers: Readonly<Record<string, number>>;
  /** Units not named in `layers` (ground files such as `clock.ts`) get this layer. */
  readonly defaultLayer: number;
  /** Layers whose folders must not import one another (the feature folders). */
  readonly isolated: readonly number[];
}

/** This project's layers, bottom to top (docs/architecture.md). */
export const LAYERS: Layering = {
  defaultLayer: 0, // clock.ts, bytes.ts, net.ts, serial.ts, secret.ts, text.ts, version.ts
  layers: {
    "http": 0,
    "config": 1,
    "log": 2,
    "contract.ts": 3,
    "channel": 4,
    "phones": 4,
    "monitor": 4,
    "provider": 4,
    "admin": 4,
    "journal": 4,
    "simulator": 4,
    "service": 4,
    "server": 5,
  },
  isolated: [4],
};

/** One broken rule, as a line for people. */
export type Problem = string;

/** Every `src/` file → the `src/` files it imports, from `deno info --json`. */
export async function importGraph(srcDir: string): Promise<Map<string, string[]>> {
  const root = resolve(srcDir);
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      if (e.isDirectory) await walk(path);
      else if (e.isFile && path.endsWith(".ts")) files.push(path);
    }
  };
  await walk(root);
  files.sort();
  // One root that imports every file, so files no entry point reaches are checked too.
  const entry = await Deno.makeTempFile({ prefix: "check-imports-", suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      entry,
      files.map((f) => `import ${JSON.stringify(pathToFileURL(f).href)};`).join("\n") + "\n",
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    if (!out.success) {
      throw new Error(`deno info failed: ${new TextDecoder().decode(out.stderr).trim()}`);
    }
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: {
        specifier: string;
        dependencies?: { code?: { specifier?: string }; type?: { specifier?: string } }[];
      }[];
    };
    const graph = new Map<string, string[]>();
    const inSrc = (spec: string | undefined): string | undefined => {
      if (!spec?.startsWith("file:")) return undefined;
      const path = fileURLToPath(spec);
      return path.startsWith(root + sep) ? relative(root, path).split(sep).join("/") : undefined;
    };
    for (const m of info.modules) {
      const from = inSrc(m.specifier);
      if (!from) continue;
      const to = new Set<string>();
      for (const d of m.dependencies ?? []) {
        for (const s of [d.code?.specifier, d.type?.specifier]) {
          const file = inSrc(s);
          if (file && file !== from) to.add(file);
        }
      }
      graph.set(from, [...to].sort());
    }
    return graph;
  } finally {
    await Deno.remove(entry).catch(() => {});
  }
}

/** The unit a `src/`-relative path belongs to: its first folder, or the file itself. */
function unitOf(path: string): string {
  const slash = path.indexOf("/");
  return slash < 0 ? path : path.slice(0, slash);
}

/** Every cycle (strongly connected component of more than one file), each sorted. */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  // Tarjan's algorithm, iterative so a deep graph cannot overflow the stack.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: { node: string; next: number }[] = [{ node: start, next: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const edges = graph.get(frame.node) ?? [];
      if (frame.next < edges.length) {
        const to = edges[frame.next++];
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, next: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        if (component.length > 1) found.push(component.sort());
      }
    }
  }
  return found;
}

/** Every broken rule in the graph of `src/` (paths relative to `src/`). */
export function problems(
  graph: ReadonlyMap<string, readonly string[]>,
  layering: Layering = LAYERS,
): Problem[] {
  const out: Problem[] = [];
  for (const cycle of cycles(graph)) {
    out.push(`import cycle between ${cycle.length} files: ${cycle.join(", ")}`);
  }
  const layer = (unit: string) => layering.layers[unit] ?? layering.defaultLayer;
  for (const [from, deps] of graph) {
    const fromUnit = unitOf(from);
    for (const to of deps) {
      const toUnit = unitOf(to);
      if (fromUnit === toUnit) continue;
      if (to.includes("/") && !to.endsWith("/mod.ts")) {
        out.push(`${from} imports ${to}: import the folder through ${toUnit}/mod.ts`);
      }
      if (layer(toUnit) > layer(fromUnit)) {
        out.push(`${from} imports ${to}: ${toUnit} is in a higher layer than ${fromUnit}`);
      } else if (layer(toUnit) === layer(fromUnit) && layering.isolated.includes(layer(fromUnit))) {
        out.push(`${from} imports ${to}: feature folders do not import one another`);
      }
    }
  }
  return out;
}

/**
 * Rule 4: what a `mod.ts` holds besides comments and `export … from "…";` statements, as one
 * problem per file (`path` is the file's path relative to `src/`).
 */
export function faceProblem(path: string, text: string): Problem | undefined {
  const rest = text
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\/\/[^\n]*/g, "")
    .replace(/export\s+(?:type\s+)?(?:\*|\{[^}]*\})\s+from\s+"[^"]*";/g, "")
    .trim();
  if (rest === "") return undefined;
  return `${path} holds code (${JSON.stringify(rest.slice(0, 40))}…): a mod.ts only hands names on`;
}

/** Rule 4 over every folder's `mod.ts` under `srcDir`. */
export async function faceProblems(srcDir: string): Promise<Problem[]> {
  const out: Problem[] = [];
  for await (const e of Deno.readDir(srcDir)) {
    if (!e.isDirectory) continue;
    const path = `${e.name}/mod.ts`;
    let text: string;
    try {
      text = await Deno.readTextFile(join(srcDir, path));
    } catch {
      continue;
    }
    const problem = faceProblem(path, text);
    if (problem) out.push(problem);
  }
  return out.sort();
}

if (import.meta.main) {
  const srcDir = Deno.args[0] ?? join(import.meta.dirname ?? ".", "..", "src");
  const graph = await importGraph(srcDir);
  const found = [...problems(graph), ...await faceProblems(srcDir)];
  for (const p of found) console.error(p);
  if (found.length > 0) {
    console.error(`imports: ${found.length} broken rule(s) in ${graph.size} files`);
    Deno.exit(1);
  }
  console.log(`imports: ${graph.size} files of src/, no cycle, every rule kept`);
}
