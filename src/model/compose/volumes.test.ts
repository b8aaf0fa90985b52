import assert from "node:assert/strict";
import { test } from "node:test";
import { parseLongVolume, parseShortVolume, parseTmpfs } from "./volumes.ts";

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
