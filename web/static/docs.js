// Renders /openapi.json and /asyncapi.json as a plain page: REST endpoints grouped by tag, their
// parameters, request bodies and responses with schemas; then the WebSocket protocol: streams,
// client frames, server frames and events with their payloads, close and error codes. Everything from the spec goes in as text nodes (never
// innerHTML), so a description cannot inject markup. No CDN, no framework.

const METHOD_ORDER = ["get", "post", "put", "patch", "delete"];
const MAX_DEPTH = 6;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function refName(ref) {
  return ref.split("/").pop();
}

function resolve(spec, schema) {
  if (schema && schema.$ref) {
    const name = refName(schema.$ref);
    return { name, schema: (spec.components?.schemas ?? {})[name] ?? {} };
  }
  return { name: null, schema: schema ?? {} };
}

// A short type label: "string", "integer | null", "array of Tweet", "Me"...
function typeLabel(spec, schema) {
  if (!schema) return "any";
  if (schema.$ref) return refName(schema.$ref);
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) return variants.map((s) => typeLabel(spec, s)).join(" | ");
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (schema.type === "array") return `array of ${typeLabel(spec, schema.items)}`;
  if (Array.isArray(schema.type)) return schema.type.join(" | ");
  return schema.type ?? "object";
}

function constraints(schema) {
  const parts = [];
  const keys = [
    ["minLength", "min length"], ["maxLength", "max length"], ["minimum", "min"],
    ["maximum", "max"], ["pattern", "pattern"], ["format", "format"], ["default", "default"],
  ];
  for (const variant of [schema, ...(schema.anyOf ?? [])]) {
    for (const [key, label] of keys) {
      if (variant && variant[key] !== undefined) parts.push(`${label}: ${JSON.stringify(variant[key])}`);
    }
  }
  return parts;
}

// The schema's fields as a nested list; $refs are expanded up to MAX_DEPTH (cycles stop).
function schemaView(spec, schema, depth = 0, seen = new Set()) {
  const { name, schema: body } = resolve(spec, schema);
  if (name && seen.has(name)) return el("p", { class: "muted" }, `(${name}, see above)`);
  const nextSeen = name ? new Set([...seen, name]) : seen;
  const wrap = el("div", { class: "schema" });
  if (name) wrap.append(el("p", { class: "schema-name" }, name));
  if (body.description) wrap.append(el("p", { class: "muted" }, body.description));

  if (body.type === "array" && body.items) {
    wrap.append(el("p", {}, `array of ${typeLabel(spec, body.items)}`));
    if (depth < MAX_DEPTH) wrap.append(schemaView(spec, body.items, depth + 1, nextSeen));
    return wrap;
  }
  const props = body.properties ?? {};
  if (Object.keys(props).length === 0) {
    wrap.append(el("p", {}, typeLabel(spec, body)));
    return wrap;
  }
  const required = new Set(body.required ?? []);
  const list = el("ul", { class: "fields" });
  for (const [field, sub] of Object.entries(props)) {
    const item = el(
      "li", {},
      el("code", { class: "field" }, field),
      " ",
      el("span", { class: "type" }, typeLabel(spec, sub)),
      required.has(field) ? el("span", { class: "required" }, " required") : null,
    );
    const notes = constraints(sub);
    if (sub.description) notes.unshift(sub.description);
    if (notes.length) item.append(el("span", { class: "muted" }, ` — ${notes.join("; ")}`));
    const nested = (sub.anyOf ?? [sub]).find((s) => s.$ref || s.properties || s.items?.$ref);
    if (nested && depth < MAX_DEPTH) {
      const target = nested.items ? nested.items : nested;
      item.append(schemaView(spec, target, depth + 1, nextSeen));
    }
    list.append(item);
  }
  if (body.additionalProperties === false) {
    wrap.append(el("p", { class: "muted" }, "Unknown fields are refused (422)."));
  }
  wrap.append(list);
  return wrap;
}

function parametersView(op) {
  const params = op.parameters ?? [];
  if (!params.length) return null;
  const rows = params.map((p) =>
    el(
      "tr", {},
      el("td", {}, el("code", {}, p.name)),
      el("td", {}, p.in),
      el("td", {}, p.schema?.type ?? ""),
      el("td", {}, p.required ? "yes" : "no"),
      el("td", {}, p.description ?? ""),
    ),
  );
  const head = el("tr", {}, ...["name", "in", "type", "required", "description"].map((h) => el("th", {}, h)));
  return el("section", {}, el("h4", {}, "Parameters"), el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows)));
}

// The first media type's schema (application/json, or multipart/form-data for an upload,
// or image/* for served bytes) and its name.
function contentSchema(content) {
  const [type, entry] = Object.entries(content ?? {})[0] ?? [];
  return entry?.schema ? { type, schema: entry.schema } : null;
}

function operationView(spec, path, method, op) {
  const id = `${method}-${path}`.replace(/[^A-Za-z0-9_-]+/g, "-");
  const summary = el(
    "summary", {},
    el("span", { class: `method method-${method}` }, method.toUpperCase()),
    " ",
    el("code", { class: "path" }, path),
    " ",
    el("span", { class: "summary" }, op.summary ?? ""),
    op.security?.length ? el("span", { class: "auth", title: "needs Authorization: Bearer <token>" }, " 🔒") : null,
  );
  const details = el("details", { class: "op", id }, summary);
  if (op.security?.length) details.append(el("p", { class: "muted" }, "Send Authorization: Bearer <access token>."));
  const params = parametersView(op);
  if (params) details.append(params);
  const body = contentSchema(op.requestBody?.content);
  if (body) details.append(el("section", {}, el("h4", {}, `Request body (${body.type})`), schemaView(spec, body.schema)));
  const responses = el("section", {}, el("h4", {}, "Responses"));
  for (const [status, response] of Object.entries(op.responses ?? {})) {
    const block = el("div", { class: `response status-${status[0]}xx` });
    block.append(el("p", {}, el("strong", {}, status), " ", response.description ?? ""));
    const schema = contentSchema(response.content);
    if (schema) block.append(schemaView(spec, schema.schema));
    responses.append(block);
  }
  details.append(responses);
  return details;
}

export function render(spec, root) {
  root.replaceChildren();
  const info = spec.info ?? {};
  root.append(el("h1", {}, `${info.title ?? "API"} ${info.version ?? ""}`.trim()));
  root.append(el("p", { class: "muted" }, `OpenAPI ${spec.openapi ?? "?"} — raw document: `, el("a", { href: "/openapi.json" }, "/openapi.json")));

  const byTag = new Map();
  for (const [path, ops] of Object.entries(spec.paths ?? {})) {
    for (const method of METHOD_ORDER) {
      const op = ops[method];
      if (!op) continue;
      const tag = (op.tags ?? ["other"])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push([path, method, op]);
    }
  }
  const nav = el("nav", {}, ...[...byTag.keys()].map((tag) => el("a", { href: `#tag-${tag}` }, tag)));
  root.append(nav);
  for (const [tag, ops] of byTag) {
    const section = el("section", { class: "tag", id: `tag-${tag}` }, el("h2", {}, tag));
    for (const [path, method, op] of ops) section.append(operationView(spec, path, method, op));
    root.append(section);
  }
  root.dataset.operations = String([...byTag.values()].reduce((n, ops) => n + ops.length, 0));
}

function table(headings, rows) {
  const head = el("tr", {}, ...headings.map((h) => el("th", {}, h)));
  const body = rows.map((cells) => el("tr", {}, ...cells.map((c) => el("td", {}, c))));
  return el("table", {}, el("thead", {}, head), el("tbody", {}, ...body));
}

function messageView(doc, name, message) {
  const summary = el("summary", {}, el("code", { class: "path" }, name), " ", el("span", { class: "summary" }, message.summary ?? ""));
  const details = el("details", { class: "op", id: `ws-${name}`.replace(/[^A-Za-z0-9_-]+/g, "-") }, summary);
  details.append(schemaView(doc, message.payload));
  return details;
}

// The AsyncAPI 3.0 document of /ws: same schema layout (components.schemas) as OpenAPI.
export function renderAsyncApi(doc, root) {
  const section = el("section", { class: "tag", id: "websocket" });
  const server = Object.values(doc.servers ?? {})[0] ?? {};
  section.append(
    el("h2", {}, doc.info?.title ?? "WebSocket"),
    el("p", { class: "muted" }, `AsyncAPI ${doc.asyncapi ?? "?"} — raw document: `, el("a", { href: "/asyncapi.json" }, "/asyncapi.json")),
    el("p", {}, doc.info?.description ?? ""),
    el("p", {}, "Connect to ", el("code", {}, `${server.protocol ?? "ws"}://${server.host ?? ""}${server.pathname ?? "/ws"}`),
      " with Authorization: Bearer <access token>, or ?access_token= from a browser."),
  );
  const streams = doc["x-streams"] ?? [];
  section.append(el("h3", {}, "Streams"), table(
    ["stream", "signed in", "resume with since", "what"],
    streams.map((s) => [el("code", {}, s.name), s.signedIn ? "yes" : "no", s.resumable ? "yes" : "no", s.description]),
  ));
  const messages = doc.components?.messages ?? {};
  const byAction = { receive: [], send: [] };
  for (const op of Object.values(doc.operations ?? {})) {
    for (const ref of op.messages ?? []) byAction[op.action]?.push(refName(ref.$ref));
  }
  section.append(el("h3", {}, "Client frames (you send)"));
  for (const name of byAction.receive) section.append(messageView(doc, name, messages[name]));
  section.append(el("h3", {}, "Server frames and events (you receive)"));
  for (const name of byAction.send) section.append(messageView(doc, name, messages[name]));
  section.append(el("h3", {}, "Close codes"), table(["code", "meaning"], (doc["x-close-codes"] ?? []).map((c) => [String(c.code), c.description])));
  section.append(el("h3", {}, "Error codes"), table(["code", "meaning"], (doc["x-error-codes"] ?? []).map((c) => [el("code", {}, c.code), c.description])));
  root.append(section);
  root.dataset.messages = String(Object.keys(messages).length);
}

async function fetchJson(path) {
  const response = await fetch(path, { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`GET ${path} answered ${response.status}`);
  return response.json();
}

async function main() {
  const root = document.getElementById("docs");
  try {
    const [rest, socket] = await Promise.all([fetchJson("/openapi.json"), fetchJson("/asyncapi.json")]);
    render(rest, root);
    root.querySelector("nav")?.append(el("a", { href: "#websocket" }, "WebSocket /ws"));
    renderAsyncApi(socket, root);
  } catch (err) {
    root.replaceChildren(el("h1", {}, "API documentation"), el("p", { class: "error" }, `Could not load the API description: ${err.message}`));
  }
}

main();
