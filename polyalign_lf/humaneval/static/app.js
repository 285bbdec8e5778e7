// PolyAlign blind human evaluation page: plain JS, no network, progress in localStorage, JSON export.
(function () {
  "use strict";
  var DIMS = ["usefulness", "answerability", "naturalness"];
  var sample = window.POLYALIGN_SAMPLE;
  var statusEl = document.getElementById("status");
  if (!sample || !sample.items || !sample.items.length) {
    statusEl.textContent = "No items found: items.js is missing or empty. Rebuild the page with `polyalign human-eval build`.";
    return;
  }
  var STORE = "polyalign-human-eval:" + sample.sample_id;
  var state = load();
  var byId = {};
  sample.items.forEach(function (item) { byId[item.item_id] = item; });

  function load() {
    try {
      var saved = JSON.parse(localStorage.getItem(STORE) || "null");
      if (saved && saved.ratings) return saved;
    } catch (e) { /* corrupt storage: start fresh */ }
    return { rater: "", index: 0, ratings: {} };
  }
  function save() { localStorage.setItem(STORE, JSON.stringify(state)); }
  function complete(r) { return r && DIMS.every(function (d) { return r[d] >= 1 && r[d] <= 5; }); }
  function nDone() { return sample.items.filter(function (it) { return complete(state.ratings[it.item_id]); }).length; }
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }

  // Build the 1-5 buttons once.
  DIMS.forEach(function (dim) {
    var fs = document.querySelector('fieldset[data-dim="' + dim + '"]');
    for (var v = 1; v <= 5; v++) {
      var label = el("label"); label.setAttribute("data-value", v);
      var input = document.createElement("input");
      input.type = "radio"; input.name = dim; input.value = String(v); input.id = dim + "-" + v;
      label.appendChild(input); label.appendChild(el("span", String(v)));
      fs.appendChild(label);
    }
  });

  function render() {
    var n = sample.items.length;
    state.index = Math.max(0, Math.min(n - 1, state.index || 0));
    var item = sample.items[state.index];
    var r = state.ratings[item.item_id] || {};
    document.getElementById("item").hidden = false;
    document.getElementById("position").textContent = "Item " + (state.index + 1) + " of " + n;
    var meta = document.getElementById("meta"); meta.innerHTML = "";
    [["language", item.language], ["track", item.track], ["type", item.family], ["style", item.style_bucket],
     ["length", item.length_bin]].forEach(function (kv) { if (kv[1]) meta.appendChild(el("span", kv[0] + ": " + kv[1])); });
    var history = document.getElementById("history"); history.innerHTML = "";
    (item.dialogue_history || []).forEach(function (t) {
      var p = el("div", undefined, "turn"); p.appendChild(el("b", t.role + ": ")); p.appendChild(document.createTextNode(t.text)); history.appendChild(p);
    });
    document.getElementById("history-block").hidden = !(item.dialogue_history || []).length;
    document.getElementById("context").textContent = item.context || "";
    document.getElementById("context-block").hidden = !item.context;
    document.getElementById("question").textContent = item.question;
    document.getElementById("reference").textContent = item.reference;
    document.getElementById("candidate").textContent = item.candidate || "(empty response)";
    DIMS.forEach(function (dim) {
      document.querySelectorAll('fieldset[data-dim="' + dim + '"] label').forEach(function (label) {
        var on = Number(label.getAttribute("data-value")) === r[dim];
        label.classList.toggle("checked", on); label.querySelector("input").checked = on;
      });
    });
    document.getElementById("comment").value = r.comment || "";
    document.getElementById("rater").value = state.rater || "";
    var done = nDone();
    statusEl.innerHTML = "";
    statusEl.appendChild(el("span", done + " of " + n + " items rated" + (done === n ? " — all done, please export." : ""), done === n ? "done" : ""));
    var bar = el("div", undefined, "bar"); var fill = el("span"); fill.style.width = (100 * done / n) + "%"; bar.appendChild(fill); statusEl.appendChild(bar);
    document.body.setAttribute("data-rated", String(done));
  }

  function rate(dim, value) {
    var id = sample.items[state.index].item_id;
    var r = state.ratings[id] || (state.ratings[id] = {});
    r[dim] = value; r.updated_at = new Date().toISOString();
    save(); render();
  }

  document.getElementById("ratings").addEventListener("change", function (e) {
    if (e.target.name && DIMS.indexOf(e.target.name) >= 0) rate(e.target.name, Number(e.target.value));
  });
  document.getElementById("comment").addEventListener("input", function (e) {
    var id = sample.items[state.index].item_id;
    (state.ratings[id] || (state.ratings[id] = {})).comment = e.target.value; save();
  });
  document.getElementById("rater").addEventListener("input", function (e) { state.rater = e.target.value.trim(); save(); });
  document.getElementById("prev").addEventListener("click", function () { state.index--; save(); render(); });
  document.getElementById("next").addEventListener("click", function () { state.index++; save(); render(); });
  document.getElementById("next-unrated").addEventListener("click", function () {
    var n = sample.items.length;
    for (var k = 1; k <= n; k++) {
      var j = (state.index + k) % n;
      if (!complete(state.ratings[sample.items[j].item_id])) { state.index = j; break; }
    }
    save(); render();
  });
  document.addEventListener("keydown", function (e) {
    if (e.target.tagName === "INPUT" || e.target.tagName === "TEXTAREA") return;
    if (e.key === "ArrowRight") document.getElementById("next").click();
    if (e.key === "ArrowLeft") document.getElementById("prev").click();
  });

  function exportObject() {
    return {
      format: "polyalign-human-eval-ratings/v1", sample_id: sample.sample_id, rater: state.rater || "anonymous",
      exported_at: new Date().toISOString(), n_items: sample.items.length,
      ratings: sample.items.filter(function (it) { return state.ratings[it.item_id]; }).map(function (it) {
        var r = state.ratings[it.item_id];
        return { item_id: it.item_id, usefulness: r.usefulness || null, answerability: r.answerability || null,
                 naturalness: r.naturalness || null, comment: r.comment || "" };
      })
    };
  }
  document.getElementById("export").addEventListener("click", function () {
    var blob = new Blob([JSON.stringify(exportObject(), null, 2)], { type: "application/json" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "ratings-" + (state.rater || "anonymous").replace(/[^A-Za-z0-9_-]+/g, "_") + "-" + sample.sample_id + ".json";
    document.body.appendChild(a); a.click(); a.remove();
  });
  document.getElementById("import").addEventListener("change", function (e) {
    var file = e.target.files[0]; if (!file) return;
    file.text().then(function (text) {
      var data = JSON.parse(text);
      if (data.sample_id !== sample.sample_id) { alert("This file belongs to another sample (" + data.sample_id + ")."); return; }
      data.ratings.forEach(function (r) { if (byId[r.item_id]) state.ratings[r.item_id] = r; });
      if (data.rater) state.rater = data.rater;
      save(); render();
    }).catch(function (err) { alert("Could not read that file: " + err); });
  });
  document.getElementById("reset").addEventListener("click", function () {
    if (confirm("Delete all your ratings for this sample from this browser?")) { state = { rater: "", index: 0, ratings: {} }; save(); render(); }
  });
  render();
})();
