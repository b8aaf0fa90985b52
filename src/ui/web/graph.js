// Draws the server's graph layout as SVG. Coordinates come from the server (deterministic);
// names are set as text content only.
import { clear, el, svg } from "./dom.js";

function marker(id) {
  return svg(
    "marker",
    {
      id,
      viewBox: "0 0 10 10",
      refX: 9,
      refY: 5,
      markerWidth: 7,
      markerHeight: 7,
      orient: "auto-start-reverse",
      class: id,
    },
    svg("path", { d: "M0,0 L10,5 L0,10 z" }),
  );
}

function edgeTitle(e) {
  const what = {
    declared: "declared flow",
    excess: "reachable but NOT declared",
    missing: "declared but not reachable",
  }[e.kind];
  return `${e.from} → ${e.to}: ${what} (${e.ports})${e.wider ? "; reachable on more ports than declared" : ""}`;
}

export function renderGraph(container, layout) {
  clear(container);
  if (!layout) {
    container.append(
      el("p", { class: "empty" }, "No graph: start 'corral ui' with -p corral.yaml and -f docker-compose.yml."),
    );
    return;
  }
  const root = svg("svg", {
    xmlns: "http://www.w3.org/2000/svg",
    viewBox: `0 0 ${layout.width} ${layout.height}`,
    width: layout.width,
    height: layout.height,
    role: "img",
    "aria-label": "zone graph",
    id: "zone-graph",
  });
  root.append(svg("defs", {}, marker("arrow-declared"), marker("arrow-excess"), marker("arrow-missing")));

  const zones = svg("g", { class: "zones" });
  for (const z of layout.zones) {
    zones.append(
      svg(
        "g",
        { class: `zone${z.unzoned ? " unzoned" : ""}`, "data-zone": z.name },
        svg("rect", { x: z.x, y: z.y, width: z.w, height: z.h, rx: 8 }),
        svg(
          "text",
          { x: z.x + 10, y: z.y + 20, class: "zone-name" },
          z.isolate === "per-service" ? `${z.name} (per-service)` : z.name,
        ),
      ),
    );
  }
  const services = svg("g", { class: "services" });
  for (const s of layout.services) {
    services.append(
      svg(
        "g",
        { class: "service", "data-service": s.name },
        svg("rect", { x: s.x, y: s.y, width: s.w, height: s.h, rx: 4 }),
        svg("text", { x: s.x + s.w / 2, y: s.y + s.h / 2 + 4, "text-anchor": "middle" }, s.name),
      ),
    );
  }
  const edges = svg("g", { class: "edges" });
  const labels = svg("g", { class: "edge-labels" });
  for (const e of layout.edges) {
    edges.append(
      svg(
        "path",
        {
          d: e.path,
          class: `edge ${e.kind}${e.wider ? " wider" : ""}`,
          "marker-end": `url(#arrow-${e.kind})`,
          "data-from": e.from,
          "data-to": e.to,
        },
        svg("title", {}, edgeTitle(e)),
      ),
    );
    // Arcs inside a zone are short and their labels would sit on the boxes: the tooltip has them.
    if (e.kind !== "excess" && !e.intraZone) {
      const text = e.wider ? `${e.ports} *` : e.ports;
      labels.append(
        svg("text", { x: e.label.x, y: e.label.y - 3, class: `edge-label ${e.kind}`, "text-anchor": "middle" }, text),
      );
    }
  }
  // Zones under arrows under services, so arrowheads stay visible at the service boxes.
  root.append(zones, edges, services, labels);
  container.append(root);
}
