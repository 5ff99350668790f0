/**
 * The status page's stylesheet and refresh script, served by the app itself: no CDN, and the
 * Content-Security-Policy needs no inline script or style.
 */

/** The stylesheet: light and dark, readable on a phone. */
export const STYLE = `
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #5b6572; --bg: #fff; --line: #d8dee4;
  --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --info: #0969da; --chip: #eef1f4; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9aa5b1; --bg: #0d1117; --line: #30363d; --ok: #3fb950;
    --warn: #d29922; --bad: #f85149; --info: #58a6ff; --chip: #21262d; }
}
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 90rem; padding: .75rem; font: 14px/1.45 system-ui, sans-serif;
  color: var(--fg); background: var(--bg); }
h1 { font-size: 1.4rem; margin: .25rem 0; display: flex; flex-wrap: wrap; gap: .5rem;
  align-items: baseline; }
h2 { font-size: 1.1rem; margin: 1.25rem 0 .4rem; display: flex; flex-wrap: wrap; gap: .5rem;
  align-items: baseline; }
small, .count, .uuid, .members { color: var(--muted); font-weight: normal; }
.uuid { font-family: ui-monospace, monospace; font-size: .8em; }
.count { font-size: .85rem; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .75rem; margin: .25rem 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.offering { margin-right: .75rem; }
.state { font-size: .9rem; padding: .1rem .5rem; border-radius: 1rem; color: #fff; }
.state.fresh { background: var(--ok); }
.state.stale, .state.starting { background: var(--warn); }
.state.failing { background: var(--bad); }
.scroll { overflow-x: auto; }
li, h1, .what, .action { overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { font-weight: 600; white-space: nowrap; }
td.num, td time { white-space: nowrap; }
.badge, .flag { display: inline-block; padding: 0 .4rem; border-radius: .3rem;
  background: var(--chip); margin: 0 .2rem .1rem 0; white-space: nowrap; }
.badge.ok { color: var(--ok); }
.badge.partial, .flag.warn { color: var(--warn); }
.badge.failed, .flag.bad { color: var(--bad); }
.badge.running, .flag.info { color: var(--info); }
.ok { color: var(--ok); }
.bad, .error, .missing { color: var(--bad); }
.error.past { color: var(--muted); }
.added { color: var(--ok); }
.removed { color: var(--warn); }
.usage { display: inline-flex; flex-wrap: wrap; gap: .4rem; align-items: center; }
meter { width: 6rem; }
.pct { min-width: 3rem; }
details.error summary { cursor: pointer; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: .3rem 0; font-size: .85em; }
.pager { display: flex; gap: 1rem; align-items: center; margin: .4rem 0; }
.tree, .tree ul { list-style: none; padding-left: 1rem; margin: .2rem 0; }
.tree .parent { font-weight: 600; }
.tree li > span { margin-right: .3rem; }
#filter { display: flex; gap: .5rem; flex-wrap: wrap; align-items: center; }
#filter input[type=search] { flex: 1 1 16rem; padding: .35rem .5rem; font: inherit; }
#refresh-state { color: var(--muted); font-size: .85rem; }
.empty { color: var(--muted); }
svg.spark, svg.chart { fill: none; stroke-width: 1.5; stroke-linejoin: round; }
svg.spark { vertical-align: middle; }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart polyline, svg.chart line, svg.chart circle { vector-effect: non-scaling-stroke; }
svg polyline, svg circle { stroke: currentColor; }
svg .base { stroke: var(--line); stroke-width: 1; }
svg .dot { fill: currentColor; }
svg .c0, svg .usage, svg .mean, .k-c0, .k-usage, .k-mean, .k-bar { color: var(--info); }
svg .c1, .k-c1 { color: var(--ok); }
svg .c2, .k-c2 { color: var(--warn); }
svg .c3, .k-c3 { color: var(--muted); }
svg .max, .k-max { color: var(--warn); stroke-dasharray: 4 3; }
svg .quota, .k-quota { color: var(--bad); stroke-dasharray: 6 4; }
svg .peak, .k-peak { color: var(--info); opacity: .3; }
svg .peak { stroke-width: 5; }
svg .bar { fill: var(--info); stroke: none; }
.k { display: inline-block; width: 1.5em; height: 0; border-top: 2px solid currentColor;
  vertical-align: middle; margin: 0 .3em 0 .5em; }
.k-max, .k-quota { border-top-style: dashed; }
.k-peak { border-top-width: 6px; }
.key { white-space: nowrap; }
figcaption .keys { display: block; }
p.legend { color: var(--muted); font-size: .85rem; margin: .2rem 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(18rem, 1fr)); gap: .75rem 1.25rem; }
.charts h3 { grid-column: 1 / -1; margin: .5rem 0 0; font-size: 1rem; }
figure { margin: 0; }
figure.plot { max-width: 40rem; }
.axis { display: flex; justify-content: space-between; color: var(--muted); font-size: .8rem;
  font-variant-numeric: tabular-nums; }
.axis.y { border-bottom: 1px dotted var(--line); }
figcaption { color: var(--muted); font-size: .85rem; }
.unshown { color: var(--bad); }
.banner { border: 2px solid var(--bad); border-radius: .4rem; padding: .5rem .75rem;
  margin: .5rem 0; }
.banner strong { color: var(--bad); }
.summary { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .75rem;
  margin: .25rem 0; }
.summary dt { color: var(--muted); }
.summary dd { margin: 0; }
.summary .n { margin-right: .6rem; white-space: nowrap; }
.summary .n.bad b { color: var(--bad); }
ol.attention { margin: .25rem 0; padding-left: 1.5rem; }
ol.attention li { margin: .2rem 0 .5rem; }
ol.attention .action { color: var(--muted); }
ol.attention .action b { color: var(--fg); }
tr.attention > td:first-child { box-shadow: inset 3px 0 var(--bad); }
tr:target > td { background: var(--chip); }
details.fold > summary, details.more > summary { cursor: pointer; color: var(--muted);
  margin: .2rem 0; }
@media (max-width: 40rem) {
  body { padding: .4rem; font-size: 15px; }
  th, td { padding: .25rem .35rem; }
}
`;

/**
 * The refresh script: reloads the live part of the page every `data-refresh` seconds, keeps
 * open error details open, filters as you type and pages in place.
 */
export const SCRIPT = `"use strict";
(() => {
  const seconds = Number(document.body.dataset.refresh) || 5;
  const state = document.getElementById("refresh-state");
  const input = document.querySelector("#filter input[name=q]");
  let busy = false;
  let timer = 0;
  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const response = await fetch(location.pathname + location.search, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { accept: "text/html" },
      });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const next = new DOMParser().parseFromString(await response.text(), "text/html")
        .getElementById("live");
      const current = document.getElementById("live");
      if (!next || !current) throw new Error("no live section in the answer");
      const open = [...current.querySelectorAll("details[open][id]")].map((d) => d.id);
      current.replaceWith(document.adoptNode(next));
      for (const id of open) document.getElementById(id)?.setAttribute("open", "");
      document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
      if (state) state.textContent = "";
    } catch (error) {
      if (state) state.textContent = "refresh failed: " + error.message;
    } finally {
      busy = false;
    }
  }
  setInterval(refresh, seconds * 1000);
  input?.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const url = new URL(location.href);
      if (input.value) url.searchParams.set("q", input.value);
      else url.searchParams.delete("q");
      for (const key of [...url.searchParams.keys()]) {
        if (key.startsWith("p.")) url.searchParams.delete(key);
      }
      history.replaceState(null, "", url);
      refresh();
    }, 250);
  });
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest("a[data-nav]") : null;
    if (!link) return;
    event.preventDefault();
    history.pushState(null, "", link.href);
    refresh();
  });
  addEventListener("popstate", refresh);
})();
`;
