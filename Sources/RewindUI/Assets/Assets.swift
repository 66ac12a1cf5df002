/// The debugger's stylesheet and script, shipped in the binary (no files to find at run time,
/// no bundler, nothing from another site).
enum Assets {
    static let css = #"""
        :root { --fg: #1d2330; --muted: #6b7385; --line: #e2e5ec; --bg: #f7f8fb; --card: #fff; --accent: #3657d6;
          --ok: #1f8a4c; --bad: #c23a3a; --warn: #b7791f; --info: #3657d6; --shared: #eef1f8; --sel: #fff4d6; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
          color: var(--fg); background: var(--bg); }
        a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
        code, pre { font: 12px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
        header.top { display: flex; align-items: center; gap: 24px; padding: 10px 24px; background: #1d2330; color: #fff; }
        header.top .brand { color: #fff; font-weight: 700; font-size: 16px; }
        header.top nav a { color: #cfd6ea; margin-right: 16px; }
        header.top .store { margin-left: auto; color: #9aa3b8; font-size: 12px; }
        main { padding: 16px 24px 48px; max-width: 1600px; }
        h1 { font-size: 22px; margin: 4px 0 12px; } h2 { font-size: 16px; margin: 16px 0 8px; } h3 { font-size: 13px; margin: 0 0 6px; }
        .muted { color: var(--muted); font-weight: normal; } .small { font-size: 12px; }
        table { border-collapse: collapse; width: 100%; background: var(--card); border: 1px solid var(--line); }
        th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { background: #f0f2f7; font-weight: 600; font-size: 12px; color: #404859; }
        td.num, th.num { text-align: right; white-space: nowrap; } td.date { white-space: nowrap; color: var(--muted); }
        tfoot td { font-weight: 600; background: #f0f2f7; }
        .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #e6e8ef; }
        .status-completed { background: #dcf3e5; color: var(--ok); } .status-failed { background: #f9dede; color: var(--bad); }
        .status-running { background: #dde5fb; color: var(--info); } .status-pending { background: #eceff5; color: #505a70; }
        .status-suspended { background: #fbefd6; color: var(--warn); } .status-cancelled { background: #eee; color: #777; }
        .filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: end; margin-bottom: 12px; }
        label { display: block; font-size: 12px; color: #404859; margin-bottom: 8px; }
        .filters label { margin: 0; } label.inline { display: inline-block; }
        input, select, textarea { font: inherit; padding: 5px 7px; border: 1px solid #c9ceda; border-radius: 4px; background: #fff; }
        textarea { width: 100%; font: 12px/1.4 ui-monospace, Menlo, Consolas, monospace; } label > input:not([type]), label > input[type=number] { display: block; width: 100%; }
        .filters label > input, .filters label > select { display: block; width: auto; }
        button, .button { display: inline-block; font: inherit; padding: 5px 12px; border-radius: 4px; border: 1px solid #b9c0d0;
          background: #fff; color: var(--fg); cursor: pointer; }
        button:hover, .button:hover { background: #f0f2f7; text-decoration: none; }
        button.approve { background: var(--ok); border-color: var(--ok); color: #fff; }
        button.reject { background: #fff; border-color: var(--bad); color: var(--bad); }
        .live { color: var(--info); font-size: 12px; animation: pulse 1.5s infinite; }
        @keyframes pulse { 50% { opacity: .35; } }
        tr.run td.id { white-space: nowrap; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
        .indent { display: inline-block; width: 18px; } .fork { color: var(--muted); }
        td.pick, th.pick { width: 22px; text-align: center; padding: 6px 2px; }
        .empty { color: var(--muted); padding: 12px; background: var(--card); border: 1px dashed var(--line); }
        .error { color: var(--bad); background: #fdf0f0; border: 1px solid #f1c4c4; padding: 8px 12px; border-radius: 4px; }
        .notice { color: var(--ok); background: #eef9f2; border: 1px solid #bfe6cd; padding: 8px 12px; border-radius: 4px; }
        .run-head .meta { color: var(--muted); margin: 0 0 6px; }
        ul.totals { list-style: none; display: flex; flex-wrap: wrap; gap: 10px; padding: 0; margin: 10px 0; }
        ul.totals li { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; color: var(--muted); }
        ul.totals b { color: var(--fg); font-size: 15px; margin-right: 4px; }
        .actions { display: flex; gap: 8px; flex-wrap: wrap; }
        .columns { display: grid; grid-template-columns: minmax(0, 1.15fr) minmax(0, 1fr); gap: 20px; align-items: start; }
        .columns.even { grid-template-columns: 1fr 1fr; }
        table.timeline tr.entry { cursor: pointer; } table.timeline tr.entry:hover { background: #f5f7fc; }
        table.timeline tr.shared { background: var(--shared); } table.timeline tr.selected { background: var(--sel); outline: 2px solid #f0c24b; }
        table.timeline tr.failed td.name a { color: var(--bad); }
        td.name a { font-weight: 600; } .summary { color: var(--muted); font-size: 12px; overflow-wrap: anywhere; max-height: 3em; overflow: hidden; }
        td.duration { white-space: nowrap; } td.duration span { font-size: 12px; color: var(--muted); margin-left: 6px; }
        svg.bar { vertical-align: middle; } .bar-bg { fill: #e9ecf3; } .bar-fill { fill: #6d86e8; }
        .kind-tag { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 3px; background: #e8ebf3; color: #404859;
          font-family: ui-monospace, Menlo, Consolas, monospace; }
        .kind-llm .kind-tag, td .kind-tag.llm { background: #e5e0fb; color: #5a3fc0; } .kind-tool .kind-tag { background: #dff3ea; color: #1f7a4c; }
        .kind-signal .kind-tag { background: #fbefd6; color: #9a6512; } .kind-state .kind-tag, .kind-marker .kind-tag { background: #e0eefb; color: #2a5f9a; }
        .flag { display: inline-block; font-size: 11px; padding: 0 5px; border-radius: 3px; background: #eceff5; color: #505a70; margin: 0 2px 2px 0; }
        .flag.replayed { background: #e0e6f7; color: #3b4f94; } .flag.replaced { background: #fbefd6; color: #9a6512; }
        .flag.error { background: #f9dede; color: var(--bad); } .flag.doubt { background: #fbefd6; color: var(--warn); }
        #entry-panel { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; position: sticky; top: 8px; }
        #entry-panel h2 { margin-top: 0; } #entry-panel h2 .name { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 14px; }
        ul.entry-meta { list-style: none; padding: 0; margin: 0 0 8px; display: flex; flex-wrap: wrap; gap: 6px; }
        ul.entry-meta li { font-size: 12px; background: #f0f2f7; border-radius: 3px; padding: 1px 6px; }
        section.payload { margin: 10px 0; } section.payload pre { background: #f7f8fb; border: 1px solid var(--line); border-radius: 4px;
          padding: 8px; max-height: 320px; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
        section#state pre { background: #fffbea; border-color: #f0e2a8; }
        .truncated { font-size: 12px; color: var(--warn); margin: 4px 0 0; }
        .waiting { background: #fffaf0; border: 1px solid #f0d9a8; border-radius: 6px; padding: 8px 14px 12px; margin: 12px 0; }
        .waiting h2 { margin-top: 4px; } .waiting pre.prompt { background: #fff; border: 1px solid #f0e2c0; padding: 8px; max-height: 200px; overflow: auto; white-space: pre-wrap; }
        .decision { display: flex; gap: 24px; flex-wrap: wrap; } .decision form { display: flex; gap: 8px; align-items: end; }
        .decision label { margin: 0; } .decision input { display: block; min-width: 260px; }
        details.fork, details.signal-any { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; margin-top: 12px; }
        details summary { cursor: pointer; font-weight: 600; }
        .lineage, .changes, .output { margin: 4px 0; } .output code { overflow-wrap: anywhere; }
        .divergence-summary { background: #fdf0f0; border: 1px solid #f1c4c4; padding: 8px 12px; border-radius: 4px; }
        table.sides { table-layout: fixed; margin-bottom: 8px; } table.sides th:first-child { width: 120px; }
        table.sides td { overflow-wrap: anywhere; }
        table.aligned-journals tr.same td { color: #56607a; } table.aligned-journals tr.same { background: #fbfcfe; }
        table.aligned-journals tr.divergence { background: #fde2e2; outline: 2px solid var(--bad); }
        table.aligned-journals tr.after { background: #fff8ee; }
        .divergence-flag { background: var(--bad); color: #fff; display: block; margin-top: 2px; }
        td.missing { color: #aab; text-align: center; } table.tools tr.differs { background: #fff8ee; }
        ul.state-difference { background: var(--card); border: 1px solid var(--line); padding: 8px 8px 8px 28px; }
        .error-page { max-width: 720px; }
        dl.api dt { font-family: ui-monospace, Menlo, Consolas, monospace; font-weight: 600; margin-top: 10px; } dl.api dd { margin: 2px 0 0 16px; color: #404859; }
        @media (max-width: 1000px) { .columns, .columns.even { grid-template-columns: 1fr; } }
        """#

    static let javascript = #"""
        // Rewind web debugger: entry selection through the JSON API, and live updates by polling.
        (function () {
          "use strict";
          var body = document.body;
          var page = body.dataset.page;

          function poll(url, interval, changed) {
            var last = null;
            function tick() {
              fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
                .then(function (response) { return response.ok ? response.json() : null; })
                .then(function (json) {
                  if (!json) { return; }
                  var now = changed(json);
                  if (last !== null && now !== last) { window.location.reload(); return; }
                  last = now;
                })
                .catch(function () {})
                .then(function () { window.setTimeout(tick, interval * 1000); });
            }
            tick();
          }

          if (page === "runs" && body.dataset.refresh) {
            poll(body.dataset.watch, Number(body.dataset.refresh), function (json) {
              return json.runs.map(function (run) { return run.id + ":" + run.status + ":" + run.entries; }).join(",");
            });
          }

          if (page === "run") {
            var api = body.dataset.api;
            if (body.dataset.refresh) {
              poll(api + "?timeline=false", Number(body.dataset.refresh), function (json) {
                return json.status + ":" + json.entries;
              });
            }
            var timeline = document.getElementById("timeline");
            var panel = document.getElementById("entry-panel");
            function select(seq, row) {
              fetch(api + "/entries/" + seq + "?view=panel", { headers: { "Accept": "application/json" }, credentials: "same-origin" })
                .then(function (response) { return response.json(); })
                .then(function (json) {
                  if (json.error) { panel.textContent = json.error.message; return; }
                  panel.innerHTML = json.html;  // rendered and escaped by the server
                  var rows = timeline.querySelectorAll("tr.entry");
                  for (var i = 0; i < rows.length; i++) { rows[i].classList.remove("selected"); }
                  row.classList.add("selected");
                  body.dataset.seq = String(seq);
                  var at = document.querySelector("#fork-form input[name=at]");
                  if (at) { at.value = String(Math.min(seq + 1, Number(at.max))); }
                  var url = new URL(window.location.href);
                  url.searchParams.set("seq", String(seq));
                  url.searchParams.delete("delivered");
                  url.searchParams.delete("forked");
                  window.history.replaceState(null, "", url.toString());
                })
                .catch(function () { window.location.href = "?seq=" + seq; });
            }
            if (timeline) {
              timeline.addEventListener("click", function (event) {
                var row = event.target.closest("tr.entry");
                if (!row || event.metaKey || event.ctrlKey || event.shiftKey) { return; }
                event.preventDefault();
                select(Number(row.dataset.seq), row);
              });
            }
          }
        })();
        """#
}
