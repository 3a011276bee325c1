// nbtrack widgets: the DOM helpers every view starts with (front_end() puts this file first).
// User text (run names, notes, params, labels, cell sources) only ever goes in via textContent.
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs = {}, parent = null, ns = null) {
  const node = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (parent) parent.appendChild(node);
  return node;
}

function text(tag, content, attrs = {}, parent = null, ns = null) {
  const node = el(tag, attrs, parent, ns);
  node.textContent = content ?? "";
  return node;
}

