// Building DOM nodes without ever parsing markup: every string becomes a text node, so names
// and destinations chosen by an agent or a plugin cannot inject script or markup.
const SVG_NS = "http://www.w3.org/2000/svg";

/** el("td", { class: "x" }, "text", childNode) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

function setAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    // Event handler attributes would be code; they are never set from data.
    if (/^on/i.test(name)) throw new Error(`refusing to set ${name}`);
    node.setAttribute(name, String(value));
  }
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(
      typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child,
    );
  }
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
}
