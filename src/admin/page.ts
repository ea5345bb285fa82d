// The live status page (GET / on the admin listener): one self-contained HTML document, no CDN and
// no build step, that polls GET /stats. The token, when one is set, is typed into the page, kept in
// sessionStorage and sent as a bearer header; it never travels in a URL. Everything the proxy
// reports (keys, Cache-Status) is written with textContent, never parsed as HTML.

import { createHash } from 'node:crypto'

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{display:flex;gap:1em;align-items:baseline;padding:.6em 1.2em;background:#1d2330;color:#fff}
header h1{font-size:1.1em;margin:0}header span{opacity:.8}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:1em;padding:1em 1.2em}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:.8em 1em}
section.wide{grid-column:1/-1}
h2{font-size:.85em;text-transform:uppercase;letter-spacing:.05em;color:#5b6475;margin:0 0 .4em}
.big{font-size:1.8em;font-weight:600;font-variant-numeric:tabular-nums}
canvas{width:100%;height:48px;display:block}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
td,th{text-align:left;padding:.15em .4em;border-bottom:1px solid #eef0f3;vertical-align:top}
td.k{font-family:ui-monospace,monospace;word-break:break-all}
.bar{height:8px;background:#eef0f3;border-radius:4px;overflow:hidden}.bar div{height:100%;width:0;background:#3a7bd5}
.ok{color:#1a7f37}.bad{color:#c62828}.muted{color:#5b6475}
#auth{display:none;padding:.6em 1.2em;background:#fff4e5}
input,select,button{font:inherit}
`

const SCRIPT = `
"use strict";
var KEY = "freshgate-admin-token";
function $(id) { return document.getElementById(id); }
function text(id, v) { $(id).textContent = v; }
function token() { return sessionStorage.getItem(KEY) || ""; }
function headers(extra) {
  var h = extra || {};
  if (token() !== "") h.authorization = "Bearer " + token();
  return h;
}
function fmt(n, digits) { return n === null || n === undefined ? "–" : n.toFixed(digits); }
function bytes(n) {
  var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + u[i];
}
function sum(a, from) { var s = 0; for (var i = from; i < a.length; i++) s += a[i]; return s; }
/* Buckets of 5 s over the whole history, so a sparkline is not all spikes. */
function buckets(a, size) { var out = []; for (var i = 0; i < a.length; i += size) out.push(sum(a.slice(i, i + size), 0)); return out; }
function spark(id, values, max) {
  var c = $(id), w = c.clientWidth, h = c.clientHeight, ctx = c.getContext("2d");
  c.width = w * devicePixelRatio; c.height = h * devicePixelRatio; ctx.scale(devicePixelRatio, devicePixelRatio);
  ctx.clearRect(0, 0, w, h);
  var top = max || Math.max.apply(null, values.map(function (v) { return v === null ? 0 : v; }).concat([1]));
  ctx.strokeStyle = ctx.fillStyle = "#3a7bd5"; ctx.lineWidth = 1.5; ctx.beginPath();
  var run = 0;
  values.forEach(function (v, i) {
    var x = 2 + i * (w - 4) / Math.max(1, values.length - 1), y = h - 2 - (h - 4) * (v || 0) / top;
    /* a point with no neighbour is drawn as a dot, or it would not show */
    var alone = v !== null && (i === 0 || values[i - 1] === null) && (i === values.length - 1 || values[i + 1] === null);
    if (alone) ctx.fillRect(x - 2, y - 2, 4, 4);
    if (v === null) { run = 0; return; }
    if (run > 0) ctx.lineTo(x, y); else ctx.moveTo(x, y);
    run++;
  });
  ctx.stroke();
}
function rows(id, list, cells) {
  var body = $(id); body.replaceChildren();
  list.forEach(function (item) {
    var tr = document.createElement("tr");
    cells(item).forEach(function (c) {
      var td = document.createElement("td"); td.textContent = String(c[0]); if (c[1]) td.className = c[1]; tr.appendChild(td);
    });
    body.appendChild(tr);
  });
}
function render(s) {
  var sr = s.series, recent = sr.requests.length - 11;
  /* the last 10 full seconds (the current one is still filling) */
  var req = sum(sr.requests.slice(0, -1), recent), org = sum(sr.origin.slice(0, -1), recent);
  var hits = sum(sr.fromCache.slice(0, -1), recent), looks = sum(sr.lookups.slice(0, -1), recent);
  text("hit-ratio", looks === 0 ? "–" : (100 * hits / looks).toFixed(1) + " %");
  text("hit-ratio-minute", s.lastMinute.hitRatio === null ? "–" : (100 * s.lastMinute.hitRatio).toFixed(1) + " %");
  text("rps", fmt(req / 10, 1));
  text("origin-rps", fmt(org / 10, 1));
  var fc = buckets(sr.fromCache, 5), lk = buckets(sr.lookups, 5);
  spark("spark-hit", fc.map(function (v, i) { return lk[i] === 0 ? null : v / lk[i]; }), 1);
  spark("spark-rps", buckets(sr.requests, 5).map(function (v) { return v / 5; }));
  spark("spark-origin", buckets(sr.origin, 5).map(function (v) { return v / 5; }));
  ["hits", "misses"].forEach(function (k) {
    var p = s.latencyMs[k];
    ["p50", "p90", "p99"].forEach(function (q) { text("lat-" + k + "-" + q, fmt(p[q], 3)); });
    text("lat-" + k + "-n", p.count);
  });
  text("store-entries", s.store.enabled ? s.store.entries : "storing off");
  text("bytes", bytes(s.store.bytes) + " of " + bytes(s.store.maxBytes));
  $("bytes-bar").style.width = (s.store.maxBytes === 0 ? 0 : Math.min(100, 100 * s.store.bytes / s.store.maxBytes)) + "%";
  text("ev-size", s.evictions.size); text("ev-ttl", s.evictions.ttl); text("ev-purge", s.evictions.purge);
  text("connections", s.connections);
  text("answered", Object.keys(s.answered).map(function (k) { return k + " " + s.answered[k]; }).join(" · "));
  if (s.origin === null) { text("origin", "routes only (not probed)"); $("origin").className = "muted"; }
  else { text("origin", s.origin.url + (s.origin.reachable ? " reachable" : " NOT reachable: " + s.origin.reason)); $("origin").className = s.origin.reachable ? "ok" : "bad"; }
  text("last-error", s.upstream.lastError === null ? "none" : s.upstream.lastError.code + " at " + s.upstream.lastError.at);
  text("statuses", Object.keys(s.upstream.statuses).sort().map(function (k) { return k + ": " + s.upstream.statuses[k]; }).join("  ") || "none yet");
  rows("top-keys", s.topKeys, function (k) { return [[k.key, "k"], [k.hits]]; });
  rows("not-stored", s.notStored, function (n) { return [[n.at.slice(11, 19)], [n.method + " " + n.status], [n.key, "k"], [n.cacheStatus, "k"]]; });
  text("version", "freshgate " + s.version + " · node " + s.node + " · up " + s.uptimeSeconds + " s" + (s.draining ? " · DRAINING" : ""));
  text("updated", "updated " + new Date().toLocaleTimeString());
}
function poll() {
  fetch("stats", { headers: headers(), cache: "no-store" }).then(function (r) {
    if (r.status === 401) { $("auth").style.display = "block"; text("updated", "token needed"); return; }
    $("auth").style.display = "none";
    return r.json().then(render);
  }).catch(function (e) { text("updated", "cannot reach freshgate: " + e.message); });
}
$("auth").addEventListener("submit", function (e) {
  e.preventDefault(); sessionStorage.setItem(KEY, $("token").value); $("token").value = ""; poll();
});
$("forget").addEventListener("click", function () { sessionStorage.removeItem(KEY); poll(); });
$("purge-form").addEventListener("submit", function (e) {
  e.preventDefault();
  var kind = $("purge-kind").value, v = $("purge-value").value.trim(), body = { soft: $("purge-soft").checked };
  body[kind] = kind === "prefix" ? v : v.split(/[\\s,]+/).filter(Boolean);
  fetch("purge", { method: "POST", headers: headers({ "content-type": "application/json" }), body: JSON.stringify(body) })
    .then(function (r) { return r.json(); })
    .then(function (j) { text("purge-result", j.error !== undefined ? "refused: " + j.error : "purged " + j.purged + (j.soft ? " (soft)" : "")); poll(); })
    .catch(function (e) { text("purge-result", "failed: " + e.message); });
});
poll();
setInterval(poll, 2000);
`

const BODY = `
<header><h1>freshgate</h1><span id="version">connecting…</span><span id="updated" class="muted"></span></header>
<form id="auth"><label>Admin token <input id="token" type="password" autocomplete="off"></label> <button>Use</button> <button type="button" id="forget">Forget</button> <span class="muted">kept in this tab only (sessionStorage)</span></form>
<main>
<section><h2>Hit ratio (10 s)</h2><div class="big" id="hit-ratio">–</div><canvas id="spark-hit"></canvas><div class="muted">last minute <span id="hit-ratio-minute">–</span> · 5 min</div></section>
<section><h2>Requests / s (10 s)</h2><div class="big" id="rps">–</div><canvas id="spark-rps"></canvas><div class="muted"><span id="connections">–</span> open client connections · 5 min</div></section>
<section><h2>Origin requests / s (10 s)</h2><div class="big" id="origin-rps">–</div><canvas id="spark-origin"></canvas><div class="muted">5 min</div></section>
<section><h2>Latency (ms, recent responses)</h2><table><tr><th></th><th>p50</th><th>p90</th><th>p99</th><th>n</th></tr>
<tr><th>hits</th><td id="lat-hits-p50">–</td><td id="lat-hits-p90">–</td><td id="lat-hits-p99">–</td><td id="lat-hits-n">–</td></tr>
<tr><th>misses</th><td id="lat-misses-p50">–</td><td id="lat-misses-p90">–</td><td id="lat-misses-p99">–</td><td id="lat-misses-n">–</td></tr></table></section>
<section><h2>Store (memory)</h2><div><span class="big" id="store-entries">–</span> variants</div><div id="bytes">–</div><div class="bar"><div id="bytes-bar"></div></div>
<div class="muted">evictions: size <span id="ev-size">–</span> · ttl <span id="ev-ttl">–</span> · purge <span id="ev-purge">–</span></div></section>
<section><h2>Upstream</h2><div id="origin">–</div><div>last error: <span id="last-error">–</span></div><div class="muted">responses: <span id="statuses">–</span></div></section>
<section class="wide"><h2>Answers since start (revalidated: a 304 from the origin folded into a stored response)</h2><div id="answered" class="k">–</div></section>
<section class="wide"><h2>Top keys by hits (last 5–10 min)</h2><table><thead><tr><th>key</th><th>hits</th></tr></thead><tbody id="top-keys"></tbody></table></section>
<section class="wide"><h2>Recent responses not stored: why was this not cached?</h2><table><thead><tr><th>time</th><th>request</th><th>key</th><th>Cache-Status</th></tr></thead><tbody id="not-stored"></tbody></table></section>
<section class="wide"><h2>Purge</h2><form id="purge-form"><select id="purge-kind"><option value="urls">URLs or paths</option><option value="prefix">prefix</option><option value="tags">tags</option></select>
<input id="purge-value" size="60" placeholder="http://host/path, /path, /prefix/ or tag" required> <label><input type="checkbox" id="purge-soft"> soft</label> <button>Purge</button> <span id="purge-result"></span></form></section>
</main>
`

const sha256 = (s: string): string => createHash('sha256').update(s).digest('base64')

/** The page, built once: its bytes and the hashes its Content-Security-Policy allows. */
let built: { bytes: Buffer, scriptHash: string, styleHash: string } | undefined

/** The status page and the CSP hashes of its inline script and style. */
export function statusPage (): { bytes: Buffer, scriptHash: string, styleHash: string } {
  if (built !== undefined) return built
  const html = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>freshgate status</title><style>${STYLE}</style></head><body>${BODY}<script>${SCRIPT}</script></body></html>\n`
  built = { bytes: Buffer.from(html, 'utf8'), scriptHash: sha256(SCRIPT), styleHash: sha256(STYLE) }
  return built
}
