import assert from "node:assert/strict";
import { test } from "node:test";
import { parseLongVolume, parseShortVolume, parseTmpfs, resolveBindSource, resolveShortVolume } from "./volumes.ts";

test("short syntax", () => {
  assert.deepEqual(parseShortVolume("./a:/b:ro"), { type: "bind", source: "./a", target: "/b", readOnly: true });
  assert.deepEqual(parseShortVolume("named:/b"), { type: "volume", source: "named", target: "/b", readOnly: false });
  assert.deepEqual(parseShortVolume("/abs:/b:rw,z"), { type: "bind", source: "/abs", target: "/b", readOnly: false });
  assert.deepEqual(parseShortVolume("/b"), { type: "volume", target: "/b", readOnly: false });
  assert.deepEqual(parseShortVolume("~/.x:/x:ro,rshared"), {
    type: "bind",
    source: "~/.x",
    target: "/x",
    readOnly: true,
    propagation: "rshared",
  });
  assert.deepEqual(parseShortVolume("C:\\data:/data"), {
    type: "bind",
    source: "C:\\data",
    target: "/data",
    readOnly: false,
  });
  assert.ok("error" in parseShortVolume(":/x"));
});

test("long syntax", () => {
  assert.deepEqual(
    parseLongVolume({
      type: "bind",
      source: "/var/run/docker.sock",
      target: "/s",
      read_only: true,
      propagation: "rslave",
    }),
    {
      type: "bind",
      source: "/var/run/docker.sock",
      target: "/s",
      readOnly: true,
      propagation: "rslave",
    },
  );
  assert.deepEqual(parseLongVolume({ type: "tmpfs", target: "/t" }), { type: "tmpfs", target: "/t", readOnly: false });
  assert.ok("error" in parseLongVolume({ type: "volume" }));
});

test("tmpfs entries", () => {
  assert.deepEqual(parseTmpfs("/tmp:mode=1777,size=512m"), { type: "tmpfs", target: "/tmp", readOnly: false });
});

test("container paths are cleaned as compose cleans them", () => {
  assert.equal((parseShortVolume("data:/var/lib/data/") as { target: string }).target, "/var/lib/data");
  assert.equal((parseShortVolume("/anon/./x/../") as { target: string }).target, "/anon");
  assert.equal((parseLongVolume({ type: "bind", source: "/a", target: "/b//" }) as { target: string }).target, "/b");
  assert.equal((parseShortVolume("/:/") as { target: string }).target, "/");
});

test("bind sources resolve against the project directory and HOME", () => {
  assert.equal(resolveBindSource("./a/", "/p", undefined), "/p/a");
  assert.equal(resolveBindSource("../..", "/p/q/r", undefined), "/p");
  assert.equal(resolveBindSource("data", "/p", undefined), "/p/data");
  assert.equal(resolveBindSource("~/.x", "/p", "/home/u"), "/home/u/.x");
  assert.equal(resolveBindSource("~", "/p", "/home/u"), "/home/u");
  // compose leaves `~` unexpanded (with a warning) when HOME is unknown
  assert.equal(resolveBindSource("~/.x", "/p", undefined), "~/.x");
  assert.equal(resolveBindSource("/var/run/docker.sock", "/p", "/home/u"), "/var/run/docker.sock");
  assert.equal(resolveBindSource("C:\\data", "/p", undefined), "C:\\data");
  assert.equal(resolveShortVolume("./a:/b:ro", "/p", undefined), "/p/a:/b:ro");
  assert.equal(resolveShortVolume("named:/b", "/p", undefined), "named:/b");
  assert.equal(resolveShortVolume("./anon-looking", "/p", undefined), "./anon-looking");
});
