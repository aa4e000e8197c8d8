// The rule editor: a form for the common fields that builds the rule definition, a YAML/JSON text tab for
// the whole of it, validation with the problems shown field by field, a dry run over stored data (a table
// and a chart of the firings), saving a new version, and loading an earlier version.
(function () {
  "use strict";
  if (!window.AL) return;
  var B = AL.boot(), M = B.msg || {}, esc = AL.esc;
  var editor = document.getElementById("rule-editor");
  if (!editor) return;
  var form = document.getElementById("pane-form");
  var textPane = document.getElementById("pane-text");
  var text = document.getElementById("rule-text");
  var fmt = document.getElementById("text-format");
  var tabForm = document.getElementById("tab-form"), tabText = document.getElementById("tab-text");
  var whenType = document.getElementById("when-type");
  var useOnly = document.getElementById("use-only-during"), useInc = document.getElementById("use-incident");
  var errorsEl = document.getElementById("rule-errors"), validEl = document.getElementById("rule-valid");
  var inputs = Array.prototype.slice.call(form.querySelectorAll("[data-path]"));
  var mode = "form";
  var base = {};

  // ---- plain-object paths ----
  function clone(x) { return JSON.parse(JSON.stringify(x == null ? {} : x)); }
  function get(obj, path) {
    return path.split(".").reduce(function (o, k) { return o == null ? undefined : o[k]; }, obj);
  }
  function put(obj, path, value) {
    var keys = path.split("."), o = obj;
    for (var i = 0; i < keys.length - 1; i++) {
      if (o[keys[i]] == null || typeof o[keys[i]] !== "object") o[keys[i]] = {};
      o = o[keys[i]];
    }
    o[keys[keys.length - 1]] = value;
  }
  function drop(obj, path) {
    var keys = path.split("."), chain = [obj], o = obj;
    for (var i = 0; i < keys.length - 1; i++) {
      o = o == null ? undefined : o[keys[i]];
      if (o == null || typeof o !== "object") return;
      chain.push(o);
    }
    delete o[keys[keys.length - 1]];
    for (var j = chain.length - 1; j > 0; j--) { // drop the containers left empty
      if (Object.keys(chain[j]).length) break;
      delete chain[j - 1][keys[j - 1]];
    }
  }

  // ---- YAML out (block mappings; lists and GeoJSON in flow style, which YAML reads as JSON) ----
  var PLAIN = /^[\p{L}\p{N}][\p{L}\p{N} _.\/()-]*$/u;
  function scalar(v) {
    if (v === null || v === undefined) return "null";
    if (typeof v === "boolean" || typeof v === "number") return String(v);
    var s = String(v);
    if (PLAIN.test(s) && !/ $/.test(s) && !/^(true|false|null|yes|no|on|off|y|n|~)$/i.test(s) && isNaN(Number(s))) return s;
    return JSON.stringify(s);
  }
  function toYAML(obj, indent) {
    indent = indent || "";
    return Object.keys(obj).map(function (k) {
      var v = obj[k], key = indent + k + ":";
      if (v && typeof v === "object" && !Array.isArray(v)) {
        return Object.keys(v).length ? key + "\n" + toYAML(v, indent + "  ") : key + " {}";
      }
      if (Array.isArray(v)) return key + " " + JSON.stringify(v);
      return key + " " + scalar(v);
    }).join("\n");
  }

  // ---- the form ----
  function relevant(input) {
    var holder = input.closest("[data-when]");
    if (holder && holder.dataset.when.split(" ").indexOf(whenType.value) < 0) return false;
    var p = input.dataset.path;
    if (p.indexOf("only_during.") === 0 && !useOnly.checked) return false;
    if (p.indexOf("alert.incident.") === 0 && !useInc.checked) return false;
    return true;
  }
  function showFields() {
    Array.prototype.forEach.call(form.querySelectorAll("[data-when]"), function (el) {
      el.hidden = el.dataset.when.split(" ").indexOf(whenType.value) < 0;
    });
    document.getElementById("only-during").hidden = !useOnly.checked;
    document.getElementById("incident-fields").hidden = !useInc.checked;
  }
  function FieldError(path, msg) { this.path = path; this.msg = msg; }

  function read(input) {
    var kind = input.dataset.kind, v = input.value == null ? "" : String(input.value).trim();
    if (kind === "bool") return input.checked;
    if (v === "") return undefined;
    if (input.type === "number") { var n = Number(v); return isNaN(n) ? v : n; }
    if (kind === "list") {
      var items = v.split(",").map(function (x) { return x.trim(); }).filter(Boolean);
      return items.length ? items : undefined;
    }
    if (kind === "json") {
      try { return JSON.parse(v); } catch (e) { throw new FieldError(input.dataset.path, M.bad_json); }
    }
    return v;
  }

  // The definition the form describes: what it does not show (e.g. scope.unit_path) is kept from the
  // definition loaded last; `when` is rebuilt for the chosen condition type.
  function build() {
    var d = clone(base);
    var type = whenType.value;
    d.when = base.when && base.when.type === type ? clone(base.when) : {};
    d.when.type = type;
    if (!useOnly.checked) delete d.only_during;
    if (!useInc.checked && d.alert) delete d.alert.incident;
    inputs.forEach(function (input) {
      var p = input.dataset.path;
      if (p === "when.type" || !relevant(input)) return;
      var v = read(input);
      if (v === undefined) drop(d, p); else put(d, p, v);
    });
    if (useOnly.checked && !d.only_during) d.only_during = {};
    if (useInc.checked && d.alert && !d.alert.incident) d.alert.incident = { type: "other" };
    return d;
  }

  function fill(def) {
    base = clone(def);
    whenType.value = (def.when && def.when.type) || "threshold";
    useOnly.checked = !!def.only_during;
    useInc.checked = !!(def.alert && def.alert.incident);
    inputs.forEach(function (input) {
      var p = input.dataset.path;
      if (p === "when.type") return;
      var v = get(def, p), kind = input.dataset.kind;
      if (kind === "bool") { input.checked = !!v; return; }
      if (kind === "list") { input.value = Array.isArray(v) ? v.join(", ") : (v == null ? "" : String(v)); return; }
      if (kind === "json") { input.value = v == null ? "" : JSON.stringify(v); return; }
      var s = v == null ? "" : String(v);
      if (input.tagName === "SELECT" && s && !Array.prototype.some.call(input.options, function (o) { return o.value === s; })) {
        input.add(new Option(s, s));
      }
      if (input.tagName === "SELECT" && !s) {
        input.selectedIndex = Array.prototype.findIndex.call(input.options, function (o) { return o.value === ""; });
        if (input.selectedIndex < 0) input.selectedIndex = 0;
        return;
      }
      input.value = s;
    });
    if (!get(def, "alert.incident.group_within_s")) form.querySelector('[data-path="alert.incident.group_within_s"]').placeholder = "3600";
    if (!get(def, "alert.incident.group_radius_m")) form.querySelector('[data-path="alert.incident.group_radius_m"]').placeholder = "1000";
    showFields();
  }

  // ---- problems ----
  function clearErrors() {
    errorsEl.hidden = true;
    errorsEl.innerHTML = "";
    validEl.hidden = true;
    Array.prototype.forEach.call(form.querySelectorAll(".al-field-error"), function (el) { el.hidden = true; el.textContent = ""; });
    Array.prototype.forEach.call(form.querySelectorAll(".is-invalid"), function (el) { el.classList.remove("is-invalid"); });
  }
  function inputFor(loc) {
    var best = null;
    inputs.forEach(function (input) {
      var p = input.dataset.path;
      if ((loc === p || loc.indexOf(p + ".") === 0) && (!best || p.length > best.dataset.path.length)) best = input;
    });
    return best;
  }
  function problems(err) {
    var det = err && err.body && err.body.error && err.body.error.details;
    if (err instanceof FieldError) return [{ loc: err.path, msg: err.msg }];
    if (!Array.isArray(det)) return [];
    return det.map(function (d) {
      var loc = Array.isArray(d.loc) ? d.loc.filter(function (x) { return x !== "body"; }).join(".") : String(d.loc || "");
      return { loc: loc, msg: AL.lang === "en" ? d.msg : (d.msg_vi || d.msg) };
    });
  }
  function showErrors(err) {
    clearErrors();
    var list = problems(err);
    var head = err instanceof FieldError ? M.invalid : (err.message || M.error);
    errorsEl.innerHTML = "<b>" + esc(head) + "</b>" + (list.length ? "<ul>" + list.map(function (p) {
      return "<li><code>" + esc(p.loc) + "</code> " + esc(p.msg) + "</li>";
    }).join("") + "</ul>" : "");
    errorsEl.hidden = false;
    list.forEach(function (p) {
      var input = inputFor(p.loc);
      if (!input) return;
      input.classList.add("is-invalid");
      var holder = input.closest(".al-field");
      var slot = holder && holder.querySelector(".al-field-error");
      if (slot) { slot.textContent = (slot.textContent ? slot.textContent + "; " : "") + p.msg; slot.hidden = false; }
    });
    editor.dataset.errors = String(list.length || 1);
    errorsEl.scrollIntoView({ block: "nearest" });
  }

  // ---- the two tabs ----
  function setMode(m) {
    mode = m;
    form.hidden = m !== "form";
    textPane.hidden = m !== "text";
    tabForm.setAttribute("aria-selected", m === "form" ? "true" : "false");
    tabText.setAttribute("aria-selected", m === "text" ? "true" : "false");
    editor.dataset.mode = m;
  }
  function render(def) { text.value = fmt.value === "json" ? JSON.stringify(def, null, 2) : toYAML(def) + "\n"; }
  // The definition in the text box, as an object (YAML is read by the server's own parser).
  function parseText(format) {
    if (format === "json") {
      try { return Promise.resolve(JSON.parse(text.value)); }
      catch (e) { return Promise.reject(new FieldError("(text)", M.bad_json + ": " + e.message)); }
    }
    return AL.send("POST", "/api/v1/alerts/rules/validate", { text: text.value, format: format }, M)
      .then(function (r) { return r.definition; });
  }
  tabText.addEventListener("click", function () {
    if (mode === "text") return;
    try { render(build()); } catch (e) { showErrors(e); return; }
    clearErrors();
    setMode("text");
  });
  tabForm.addEventListener("click", function () {
    if (mode === "form") return;
    parseText(fmt.value).then(function (def) { clearErrors(); fill(def); setMode("form"); }, showErrors);
  });
  var lastFormat = fmt.value;
  fmt.addEventListener("change", function () {
    var to = fmt.value;
    if (!text.value.trim()) { lastFormat = to; return; }
    parseText(lastFormat).then(function (def) { lastFormat = to; render(def); clearErrors(); },
      function (e) { fmt.value = lastFormat; showErrors(e); });
  });
  whenType.addEventListener("change", showFields);
  useOnly.addEventListener("change", showFields);
  useInc.addEventListener("change", showFields);

  function payload() {
    if (mode === "form") return { definition: build() };
    return { text: text.value, format: fmt.value };
  }

  // ---- validate ----
  var validateBtn = document.getElementById("rule-validate");
  validateBtn.addEventListener("click", function () {
    var body;
    try { body = payload(); } catch (e) { showErrors(e); return; }
    validateBtn.disabled = true;
    AL.send("POST", "/api/v1/alerts/rules/validate", body, M).then(function () {
      clearErrors();
      validEl.textContent = "✔ " + M.valid;
      validEl.hidden = false;
      editor.dataset.errors = "0";
    }, showErrors).then(function () { validateBtn.disabled = false; });
  });

  // ---- save ----
  var saveForm = document.getElementById("save-form");
  if (saveForm) {
    saveForm.addEventListener("submit", function (e) {
      e.preventDefault();
      var body;
      try { body = payload(); } catch (err) { showErrors(err); return; }
      body.unit_id = parseInt(saveForm.elements.unit_id.value, 10);
      body.domain = saveForm.elements.domain.value;
      body.enabled = saveForm.elements.enabled.checked;
      body.comment = saveForm.elements.comment.value.trim();
      var btn = document.getElementById("rule-save");
      var errEl = saveForm.querySelector(".error");
      btn.disabled = true;
      errEl.hidden = true;
      var id = editor.dataset.id;
      AL.send(id ? "PUT" : "POST", "/api/v1/alerts/rules" + (id ? "/" + id : ""), body, M).then(function (r) {
        window.location.href = "/alerts/rules/" + r.id + "?saved=" + r.version;
      }, function (err) {
        btn.disabled = false;
        errEl.textContent = err.message;
        errEl.hidden = false;
        showErrors(err);
      });
    });
  }

  // ---- versions ----
  Array.prototype.forEach.call(document.querySelectorAll(".al-load-version"), function (btn) {
    btn.addEventListener("click", function () {
      var v = parseInt(btn.dataset.version, 10);
      var found = (B.versions || []).filter(function (x) { return x.version === v; })[0];
      if (!found) return;
      clearErrors();
      fill(found.definition);
      render(found.definition);
      validEl.textContent = M.loaded_version + " v" + v;
      validEl.hidden = false;
      editor.scrollIntoView({ block: "start" });
    });
  });

  // ---- dry run ----
  var dryForm = document.getElementById("dry-form");
  var chart = null, assetNames = null;
  function localInput(d) {
    var p = function (n) { return (n < 10 ? "0" : "") + n; };
    return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + "T" + p(d.getHours()) + ":" + p(d.getMinutes());
  }
  var now = new Date();
  dryForm.elements.end.value = localInput(now);
  dryForm.elements.start.value = localInput(new Date(now.getTime() - 7 * 86400000));
  function names() {
    if (!assetNames) {
      assetNames = AL.getJSON("/api/v1/assets?format=json").then(function (list) {
        var out = {};
        list.forEach(function (a) { out[a.id] = a.code; });
        return out;
      }).catch(function () { return {}; });
    }
    return assetNames;
  }
  function drawChart(firings, startMs, endMs) {
    var el = document.getElementById("dry-chart");
    if (!window.echarts || !el) return;
    var span = endMs - startMs;
    var step = span <= 3 * 86400000 ? 3600000 : (span <= 90 * 86400000 ? 86400000 : 7 * 86400000);
    var buckets = {};
    firings.forEach(function (f) {
      if (f.clear) return;
      var k = Math.floor(f.ts / step) * step;
      buckets[k] = (buckets[k] || 0) + 1;
    });
    var data = Object.keys(buckets).map(function (k) { return [Number(k), buckets[k]]; }).sort(function (a, b) { return a[0] - b[0]; });
    if (!chart) chart = echarts.init(el, null, { renderer: "canvas" });
    var axis = { axisLine: { lineStyle: { color: "#1f4564" } }, splitLine: { lineStyle: { color: "#14324a" } } };
    chart.setOption({
      textStyle: { color: "#8fb0c8" }, grid: { left: 40, right: 14, top: 14, bottom: 28 }, tooltip: { trigger: "axis" },
      xAxis: Object.assign({ type: "time", min: startMs, max: endMs }, axis),
      yAxis: Object.assign({ type: "value", minInterval: 1 }, axis),
      series: [{ name: M.per_hour, type: "bar", data: data, itemStyle: { color: "#ff8c42" }, barMaxWidth: 18 }]
    }, true);
    chart.resize();
  }
  dryForm.addEventListener("submit", function (e) {
    e.preventDefault();
    var body;
    try { body = payload(); } catch (err) { showErrors(err); return; }
    var start = new Date(dryForm.elements.start.value), end = new Date(dryForm.elements.end.value);
    if (isNaN(start) || isNaN(end) || end <= start) { showErrors(new FieldError("start", M.need_range)); return; }
    body.unit_id = parseInt(dryForm.elements.unit_id.value, 10);
    body.start = start.toISOString();
    body.end = end.toISOString();
    body.max_firings = 1000;
    var btn = document.getElementById("dry-run-btn");
    btn.disabled = true;
    var summary = document.getElementById("dry-summary");
    Promise.all([AL.send("POST", "/api/v1/alerts/rules/dry-run", body, M), names()]).then(function (res) {
      var r = res[0], codes = res[1];
      clearErrors();
      document.getElementById("dry-result").hidden = false;
      var firings = r.firings || [];
      summary.innerHTML = "<b id=\"dry-total\">" + esc(r.total_firings) + "</b> " + esc(M.firings) +
        (r.total_firings > firings.length ? " (" + esc(M.shown) + " " + firings.length + ")" : "") +
        ' <small class="muted">· ' + esc(M.scanned) + " " + esc(r.readings_scanned) + " " + esc(M.readings) + ", " +
        esc(r.events_scanned) + " " + esc(M.events) + " · " + esc(Number(r.elapsed_s || 0).toFixed(2)) + " s</small>";
      editor.dataset.dryTotal = String(r.total_firings);
      var table = document.getElementById("dry-table");
      table.tHead.innerHTML = "<tr><th>" + esc(M.time) + "</th><th>" + esc(M.asset) + "</th><th>" + esc(M.title) + "</th><th>" +
        esc(M.severity) + "</th><th>" + esc(M.value) + "</th></tr>";
      table.tBodies[0].innerHTML = firings.length ? firings.slice(0, 50).map(function (f) {
        var d = f.details || {};
        var value = d.value != null ? d.value : (d.count != null ? d.count : (d.silent_s != null ? Math.round(d.silent_s) + " s" : ""));
        return "<tr" + (f.clear ? ' class="is-clear"' : "") + "><td>" + esc(AL.dateTime(new Date(f.ts).toISOString())) + "</td><td>" +
          esc(f.asset_id != null ? (codes[f.asset_id] || "#" + f.asset_id) : "") + "</td><td>" + esc(AL.lang === "en" ? (f.title_en || f.title) : f.title) +
          "</td><td>" + (f.clear ? esc(M.cleared) : "<span class=\"al-sev-chip sev-" + esc(f.severity) + "\">" + esc((B.severity || {})[f.severity] || f.severity) + "</span>") +
          "</td><td>" + esc(value) + "</td></tr>";
      }).join("") : '<tr><td colspan="5" class="muted">' + esc(M.no_firings) + "</td></tr>";
      drawChart(firings, start.getTime(), end.getTime());
    }, showErrors).then(function () { btn.disabled = false; });
  });
  window.addEventListener("resize", function () { if (chart) chart.resize(); });

  fill(B.definition || {});
  setMode("form");
  editor.dataset.ready = "1";
})();
