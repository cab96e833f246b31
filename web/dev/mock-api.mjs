#!/usr/bin/env node
// SPDX-License-Identifier: AGPL-3.0-or-later
// A stand-in for weir's console server, FOR DEVELOPMENT AND SCREENSHOTS ONLY:
// it answers Akvorado's /api/v0/console/ shapes with made-up but plausible
// data and serves web/dist. The browser tests never use it (they run against
// weir itself). No dependencies.
// Usage: node web/dev/mock-api.mjs [--port 8081] [--delay MS]
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const port = Number(opt("--port", "8081"));
const delay = Number(opt("--delay", "150"));
const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");

// ---- made-up world ----
const values = {
  SrcAS: ["15169: Google", "16509: Amazon", "32934: Facebook", "13335: Cloudflare", "2906: Netflix", "20940: Akamai",
    "8075: Microsoft", "714: Apple", "46489: Twitch", "3356: Level3", "174: Cogent", "6939: Hurricane Electric",
    "12322: Free", "5410: Bouygues", "3215: Orange"],
  ExporterName: ["edge1.par1", "edge2.par1", "edge1.ams1", "core1.par1", "edge1.fra1", "border1.lon1"],
  SrcCountry: ["US", "FR", "DE", "NL", "GB", "IE", "SE", "JP", "BR", "SG"],
  Proto: ["TCP", "UDP", "ICMP", "GRE", "ESP", "IPv6-ICMP"],
  EType: ["IPv4", "IPv6"],
  InIfName: ["Gi0/0/0/1", "Gi0/0/0/2", "Te0/1/0/0", "Hu0/2/0/3", "et-0/0/1", "ae0.100"],
  InIfBoundary: ["external", "internal"],
  InIfConnectivity: ["transit", "pni", "ix", "customer"],
  InIfProvider: ["cogent", "level3", "franceix", "amsix", "google", "netflix"],
  SrcPort: ["443", "80", "53", "123", "1935", "8080", "3478", "993"],
  SrcAddr: ["142.250.179.78", "2a00:1450:4007:80e::200e", "52.94.236.248", "157.240.202.35", "104.16.132.229",
    "198.38.120.10", "23.55.44.1", "2606:4700::6810:84e5"],
  SrcNetName: ["google", "aws", "facebook", "cloudflare", "netflix"],
  ExporterGroup: ["edge", "core", "border"],
  ExporterSite: ["par1", "ams1", "fra1", "lon1"],
  ExporterRole: ["edge", "core"],
};
values.DstAS = values.SrcAS.slice(10).concat(["64512: Private", "12876: Scaleway"]);
values.DstCountry = ["FR", "BE", "CH", "DE", "ES"];
values.DstPort = ["443", "80", "22", "53", "3389", "25"];
values.DstAddr = ["192.0.2.10", "198.51.100.7", "203.0.113.40", "2001:db8::1", "2001:db8:1::25"];
values.OutIfName = values.InIfName;
values.OutIfBoundary = values.InIfBoundary;
values.OutIfConnectivity = values.InIfConnectivity;
values.OutIfProvider = values.InIfProvider;
values.DstNetName = ["customers", "hosting", "office"];
values.SrcVlan = ["100", "200", "300"];
values.DstVlan = values.SrcVlan;
values.ForwardingStatus = ["64", "128", "130"];
values.PacketSizeBucket = ["0-64", "65-128", "129-256", "257-512", "513-1024", "1025-1500", "1501-9000"];
const dimensions = ["ExporterAddress", "ExporterName", "ExporterGroup", "ExporterRole", "ExporterSite", "ExporterRegion",
  "ExporterTenant", "SrcAddr", "DstAddr", "SrcNetPrefix", "DstNetPrefix", "SrcAS", "DstAS", "SrcNetName", "DstNetName",
  "SrcNetRole", "DstNetRole", "SrcNetSite", "DstNetSite", "SrcCountry", "DstCountry", "SrcGeoCity", "DstGeoCity",
  "DstASPath", "Dst1stAS", "Dst2ndAS", "Dst3rdAS", "DstCommunities", "InIfName", "OutIfName", "InIfDescription",
  "OutIfDescription", "InIfSpeed", "OutIfSpeed", "InIfConnectivity", "OutIfConnectivity", "InIfProvider",
  "OutIfProvider", "InIfBoundary", "OutIfBoundary", "EType", "Proto", "SrcPort", "DstPort", "PacketSizeBucket",
  "ForwardingStatus", "SrcVlan", "DstVlan", "SrcMAC", "DstMAC", "IPTTL", "IPTos", "TCPFlags", "NextHop", "MPLSLabels"];
const truncatable = ["SrcAddr", "DstAddr", "NextHop", "ExporterAddress"];
const reverse = (d) => d.replace(/^Src/, "\0").replace(/^Dst/, "Src").replace(/^\0/, "Dst")
  .replace(/^InIf/, "\0").replace(/^OutIf/, "InIf").replace(/^\0/, "OutIf");
const valuesOf = (d) => values[d] ?? ["a", "b", "c", "d"].map((x) => `${d}-${x}`);

// Deterministic noise: the same series keeps its shape between requests.
function hash(s) {
  let h = 2166136261;
  for (const c of s) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return (h >>> 0) / 4294967296;
}
const unitScale = { l3bps: 1, l2bps: 1.04, pps: 1 / 8 / 700, fps: 1 / 8 / 700 / 300, "inl2%": 0, "outl2%": 0 };
function rate(key, t, units) {
  const weight = Math.pow(hash(key), 2.2) * 9e9 + 4e7;
  const day = Math.sin(((t / 3600e3 + 4) / 24) * 2 * Math.PI) * 0.35 + 1;
  const wiggle = 1 + 0.12 * Math.sin(t / 1.7e6 + hash(key) * 50) + 0.05 * Math.sin(t / 2.3e5 + hash(key) * 9);
  const v = weight * day * wiggle;
  if (units === "inl2%" || units === "outl2%") return Math.round((v / 1e11) * 100);
  return Math.round(v * unitScale[units]);
}

// Rows for dimensions: combinations, the top `limit`, the rest as Other.
function combos(dims, limit, filter) {
  const m = /(\w+)\s*=\s*['"]?([\w.:\- ]+?)['"]?\s*$/.exec((filter ?? "").toLowerCase());
  const want = m ? m[2].replace(/^as(?=\d)/, "") : "";
  let rows = [[]];
  for (const d of dims) {
    let vs = valuesOf(d);
    if (m && d.toLowerCase() === m[1]) vs = vs.filter((v) => v.toLowerCase().startsWith(want));
    rows = rows.flatMap((r) => vs.slice(0, 8).map((v) => [...r, v]));
  }
  rows.sort((a, b) => hash(b.join()) ** 2.2 - hash(a.join()) ** 2.2);
  return { top: rows.slice(0, limit), hasOther: rows.length > limit };
}

function graphLine(input) {
  const start = Date.parse(input.start), end = Date.parse(input.end);
  const points = Math.max(5, Math.min(input.points ?? 200, 2000));
  const step = Math.max(60e3, Math.ceil((end - start) / points / 60e3) * 60e3);
  const t = [];
  for (let x = Math.floor(start / step) * step; x <= end; x += step) t.push(x);
  const out = { t: t.map((x) => new Date(x).toISOString()), rows: [], points: [], axis: [], "axis-names": {},
    average: [], min: [], max: [], last: [], "95th": [], total: [] };
  const dims = input.dimensions ?? [];
  const axes = [[1, dims, ""]];
  if (input.bidirectional) axes.push([2, dims.map(reverse), "rev"]);
  for (const [axis, ds, salt] of axes) {
    const { top, hasOther } = combos(ds, input.limit ?? 10, input.filter);
    const rows = hasOther ? [...top, ds.map(() => "Other")] : top;
    for (const row of rows) {
      const key = salt + (row.length ? row.join() : "total");
      const scale = axis === 2 ? 0.35 : 1;
      const pts = t.map((x) => Math.round(rate(key, x, input.units) * scale * (row[0] === "Other" ? 2.5 : 1)));
      add(out, axis, row, pts, step, input.units);
    }
  }
  if (input["previous-period"]) {
    const period = end - start < 2 * 3600e3 ? 3600e3 : end - start < 2 * 86400e3 ? 86400e3 : 7 * 86400e3;
    const name = period === 3600e3 ? "hour" : period === 86400e3 ? "day" : "week";
    for (const [axis] of axes) {
      const pts = t.map((x) => out.rows.reduce((s, _, i) => (out.axis[i] === axis ? s + out.points[i][t.indexOf(x)] : s), 0) * (0.85 + 0.1 * Math.sin(x / 5e6)));
      add(out, axis + 2, [], pts.map(Math.round), step, input.units);
      out["axis-names"][axis + 2] = `Previous ${name}`;
    }
  }
  out["axis-names"][1] = "Direct";
  if (input.bidirectional) out["axis-names"][2] = "Reverse";
  return out;
}
function add(out, axis, row, pts, step, units) {
  const sorted = [...pts].sort((a, b) => a - b);
  out.rows.push(row);
  out.points.push(pts);
  out.axis.push(axis);
  out.min.push(sorted[0]);
  out.max.push(sorted[sorted.length - 1]);
  out.last.push(pts[pts.length - 1]);
  out.average.push(Math.round(pts.reduce((a, b) => a + b, 0) / pts.length));
  out["95th"].push(sorted[Math.floor(sorted.length * 0.95)]);
  const perUnit = units === "l3bps" || units === "l2bps" ? 1 / 8 : 1;
  out.total.push(Math.round(pts.reduce((a, b) => a + b, 0) * (step / 1000) * perUnit));
}

function graphSankey(input) {
  const dims = input.dimensions ?? [];
  const out = { rows: [], xps: [], axis: [], "axis-names": { 1: "Direct" }, nodes: [], links: [] };
  const axes = [[1, dims]];
  if (input.bidirectional) {
    axes.push([2, dims.map(reverse)]);
    out["axis-names"][2] = "Reverse";
  }
  const now = Date.now();
  for (const [axis, ds] of axes) {
    const { top, hasOther } = combos(ds, input.limit ?? 10, input.filter);
    const rows = hasOther ? [...top, ds.map(() => "Other")] : top;
    for (const row of rows) {
      const xps = rate((axis === 2 ? "rev" : "") + row.join(), now, input.units);
      out.rows.push(row);
      out.xps.push(xps);
      out.axis.push(axis);
      for (let i = 0; i + 1 < row.length; i++) {
        const a = `${ds[i]}: ${row[i]}`, b = `${ds[i + 1]}: ${row[i + 1]}`;
        for (const n of [a, b]) if (!out.nodes.some((x) => x.name === n && x.axis === axis)) out.nodes.push({ name: n, axis });
        const l = out.links.find((x) => x.source === a && x.target === b && x.axis === axis);
        if (l) l.xps += xps;
        else out.links.push({ source: a, target: b, xps, axis });
      }
    }
  }
  return out;
}

// ---- filters: a small checker good enough to show errors ----
const operators = ["=", "!=", "<", "<=", ">", ">=", "<<", "!<<", "IN", "NOTIN", "LIKE", "ILIKE", "UNLIKE", "IUNLIKE"];
function validate(text) {
  const re = /\s+|--[^\n]*|\/\*[\s\S]*?\*\/|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|!<<|<<|!=|<=|>=|[=<>]|[(),]|[^\s()=<>!,"']+/g;
  const toks = [];
  let m;
  while ((m = re.exec(text))) if (!/^(\s|--|\/\*)/.test(m[0])) toks.push({ s: m[0], o: m.index });
  let i = 0;
  const err = (message, o) => ({ message, errors: [{ message, line: 1, column: o + 1, offset: o }] });
  const expr = () => {
    for (;;) {
      while (toks[i] && /^NOT$/i.test(toks[i].s)) i++;
      if (toks[i]?.s === "(") {
        i++;
        const e = expr();
        if (e) return e;
        if (toks[i]?.s !== ")") return err("expecting “)”", toks[i]?.o ?? text.length);
        i++;
      } else {
        const c = toks[i];
        if (!c) return err("expecting a column name", text.length);
        if (!dimensions.includes(c.s) && !["Bytes", "Packets", "PacketSize"].includes(c.s)) return err(`unknown column “${c.s}”`, c.o);
        i++;
        const op = toks[i];
        if (!op || !operators.includes(op.s.toUpperCase())) return err("expecting an operator", op?.o ?? text.length);
        i++;
        if (/^(NOT)?IN$/i.test(op.s)) {
          if (toks[i]?.s !== "(") return err("expecting “(”", toks[i]?.o ?? text.length);
          while (toks[i] && toks[i].s !== ")") i++;
          if (!toks[i]) return err("expecting “)”", text.length);
          i++;
        } else {
          if (!toks[i] || /^[(),]$/.test(toks[i].s)) return err("expecting a value", toks[i]?.o ?? text.length);
          i++;
        }
      }
      if (!toks[i] || toks[i].s === ")") return null;
      if (!/^(AND|OR)$/i.test(toks[i].s)) return err("expecting AND or OR", toks[i].o);
      i++;
    }
  };
  const e = expr();
  if (e) return e;
  if (toks[i]) return err("unexpected “)”", toks[i].o);
  return { message: "ok", parsed: text.trim() };
}
function complete(input) {
  const prefix = (input.prefix ?? "").toLowerCase();
  let list = [];
  if (input.what === "column") list = dimensions.map((d) => ({ label: d, detail: "column name", quoted: false }));
  else if (input.what === "operator") list = operators.map((o) => ({ label: o, detail: "comparison operator", quoted: false }));
  else list = (values[input.column] ?? []).map((v) => {
    const asn = /^(\d+): (.*)$/.exec(v);
    if (asn && /AS$/.test(input.column)) return { label: `AS${asn[1]}`, detail: asn[2], quoted: false };
    return { label: v, detail: input.column, quoted: !/^\d+$/.test(v) };
  });
  return { completions: list.filter((c) => c.label.toLowerCase().startsWith(prefix)).slice(0, input.limit ?? 20) };
}
const saved = [
  { id: 1, user: "alice", shared: false, description: "External traffic", content: "InIfBoundary = external" },
  { id: 2, user: "bob", shared: true, description: "Transit only", content: "InIfConnectivity = transit" },
  { id: 3, user: "alice", shared: false, description: "Web (TCP 443)", content: "Proto = TCP AND SrcPort = 443" },
];
let nextId = 4;

// ---- HTTP ----
const json = (res, status, body) => {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(body === undefined ? "" : JSON.stringify(body));
};
const readBody = (req) => new Promise((ok) => {
  let b = "";
  req.on("data", (c) => (b += c));
  req.on("end", () => { try { ok(JSON.parse(b || "{}")); } catch { ok({}); } });
});
const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png" };

createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  const p = url.pathname;
  if (p.startsWith("/api/v0/console/")) {
    const route = p.slice("/api/v0/console/".length);
    const body = req.method === "POST" ? await readBody(req) : {};
    if (/^graph\//.test(route)) await new Promise((r) => setTimeout(r, delay));
    const now = Date.now();
    switch (true) {
      case route === "configuration":
        return json(res, 200, {
          version: "0.1.0-mock", dimensionsLimit: 50, dimensions, truncatable, branding: false,
          homepageTopWidgets: ["src-as", "src-port", "protocol", "src-country", "exporter", "etype"],
          defaultVisualizeOptions: { graphType: "stacked", start: "6 hours ago", end: "now", filter: "InIfBoundary = external",
            dimensions: ["SrcAS"], limit: 10, limitType: "avg", bidirectional: false, previousPeriod: false },
        });
      case route === "widget/flow-rate":
        return json(res, 200, { rate: 48213.6 + Math.sin(now / 1e4) * 800, period: "second" });
      case route === "widget/exporters":
        return json(res, 200, { exporters: values.ExporterName });
      case route.startsWith("widget/top/"): {
        const what = route.slice(11);
        const src = { "src-as": values.SrcAS, "dst-as": values.DstAS, "src-country": values.SrcCountry, "dst-country": values.DstCountry,
          exporter: values.ExporterName, protocol: values.Proto, etype: values.EType,
          "src-port": values.SrcPort.map((x) => `TCP/${x}`), "dst-port": values.DstPort.map((x) => `TCP/${x}`) }[what];
        if (!src) return json(res, 404, { message: "Unknown top request." });
        const w = src.slice(0, 5).map((n) => ({ name: n, w: hash(what + n) ** 2 + 0.05 })).sort((a, b) => b.w - a.w);
        const sum = w.reduce((s, x) => s + x.w, 0) * 1.25;
        return json(res, 200, { top: w.map((x) => ({ name: x.name, percent: (x.w / sum) * 100 })) });
      }
      case route === "widget/graph": {
        const data = [];
        for (let x = now - 86400e3; x <= now; x += 432e3) data.push({ t: new Date(Math.floor(x / 60e3) * 60e3).toISOString(), gbps: rate("home", x, "l3bps") / 1e9 * 6 });
        return json(res, 200, { data });
      }
      case route === "widget/flow-last":
        return json(res, 200, { TimeReceived: new Date(now).toISOString(), SamplingRate: 1000, ExporterAddress: "::ffff:192.0.2.1",
          ExporterName: "edge1.par1", SrcAddr: "::ffff:142.250.179.78", DstAddr: "::ffff:192.0.2.10", SrcAS: 15169, DstAS: 64512,
          SrcCountry: "US", DstCountry: "FR", InIfName: "Hu0/2/0/3", OutIfName: "Te0/1/0/0", InIfBoundary: "external",
          OutIfBoundary: "internal", InIfSpeed: 100000, OutIfSpeed: 10000, EType: 2048, Proto: 6, SrcPort: 443, DstPort: 51234,
          Bytes: 1452, Packets: 1, PacketSize: 1452, ForwardingStatus: 64, TCPFlags: 16, SrcMAC: "00:1b:21:3c:4d:5e",
          DstMAC: "3c:fd:fe:00:11:22", IPTTL: 57, DstASPath: [64512], DstCommunities: ["64512:100"] });
      case route === "graph/line":
        if (!body.start || !body.end) return json(res, 400, { message: "Key: 'start' Error: required" });
        return json(res, 200, graphLine(body));
      case route === "graph/sankey":
        if (!body.dimensions?.length) return json(res, 400, { message: "At least one dimension is required." });
        return json(res, 200, graphSankey(body));
      case route === "filter/validate":
        return json(res, 200, (body.filter ?? "").trim() === "" ? { message: "ok" } : validate(body.filter));
      case route === "filter/complete":
        return json(res, 200, complete(body));
      case route === "filter/saved" && req.method === "GET":
        return json(res, 200, { filters: saved });
      case route === "filter/saved" && req.method === "POST":
        saved.push({ id: nextId++, user: "alice", shared: !!body.shared, description: body.description, content: body.content });
        return json(res, 204);
      case route.startsWith("filter/saved/") && req.method === "DELETE": {
        const i = saved.findIndex((f) => f.id === Number(route.slice(13)));
        if (i < 0) return json(res, 404, { message: "filter not found" });
        saved.splice(i, 1);
        return json(res, 204);
      }
      default:
        return json(res, 404, { message: "not found" });
    }
  }
  const file = normalize(join(dist, p === "/" ? "index.html" : p));
  if (!file.startsWith(dist)) return json(res, 403, { message: "forbidden" });
  try {
    const data = await readFile(file);
    res.writeHead(200, { "Content-Type": types[extname(file)] ?? "application/octet-stream" });
    res.end(data);
  } catch {
    res.writeHead(404, { "Content-Type": "text/plain" });
    res.end("not found");
  }
}).listen(port, "127.0.0.1", () => console.log(`mock console API and web/dist on http://127.0.0.1:${port}/`));
