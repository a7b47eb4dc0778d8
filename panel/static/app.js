// Roster panel scripts: live search, selection, bulk confirmation and
// dialogs. Every page works without them; they only make it quicker.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // ---- Live search on the users list ----
  var live = $("form[data-live]");
  if (live) {
    var timer = null, ctrl = null;
    var params = function () {
      var p = new URLSearchParams();
      new FormData(live).forEach(function (v, k) { if (v !== "" && !(k === "sort" && v === "name")) p.append(k, v); });
      return p;
    };
    var refresh = function () {
      var p = params(), qs = p.toString();
      if (ctrl) ctrl.abort();
      ctrl = new AbortController();
      var fp = new URLSearchParams(p); fp.set("fragment", "1");
      fetch("/users?" + fp.toString(), { signal: ctrl.signal, credentials: "same-origin" })
        .then(function (res) {
          if (res.status === 401) { location.href = res.headers.get("X-Roster-Signin") || "/signin"; return null; }
          if (!res.ok) throw new Error(res.status);
          return res.text();
        })
        .then(function (html) {
          if (html === null) return;
          $("#results").innerHTML = html;
          history.replaceState(null, "", "/users" + (qs ? "?" + qs : ""));
          $all("[data-view]").forEach(function (a) {
            var vp = new URLSearchParams(p); vp.set("view", a.getAttribute("data-view"));
            a.href = "/users?" + vp.toString();
          });
          updateSelection();
        })
        .catch(function (e) { if (e.name !== "AbortError") live.submit(); });
    };
    live.addEventListener("input", function (e) {
      if (e.target.name !== "q") return;
      clearTimeout(timer);
      timer = setTimeout(refresh, 200);
    });
    live.addEventListener("change", function (e) {
      if (e.target.tagName === "SELECT") { clearTimeout(timer); refresh(); }
    });
    live.addEventListener("submit", function (e) { e.preventDefault(); clearTimeout(timer); refresh(); });
  }

  // ---- Selection and bulk actions ----
  function updateSelection() {
    var form = $("form[data-bulk]");
    if (!form) return;
    var rows = $all("[data-row]", form), checked = rows.filter(function (r) { return r.checked; });
    var all = $("[data-all]", form), page = $("[data-select-page]", form);
    if (page) {
      page.checked = rows.length > 0 && checked.length === rows.length;
      page.indeterminate = checked.length > 0 && checked.length < rows.length;
    }
    var n = all && all.checked ? +form.getAttribute("data-total") : checked.length;
    var out = $("[data-selcount]", form);
    if (out) out.textContent = n ? n + " " + form.getAttribute("data-selected") : "";
    var action = $("[data-bulk-action]", form), role = $("[data-bulk-role]", form);
    if (role && action) role.hidden = !/role$/.test(action.value);
    return n;
  }
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches("[data-select-page]")) {
      $all("[data-row]", t.form).forEach(function (r) { r.checked = t.checked; });
    }
    if (t.matches("[data-row]") && !t.checked) {
      var all = $("[data-all]", t.form); if (all) all.checked = false;
    }
    if (t.matches("[data-row], [data-select-page], [data-all], [data-bulk-action]")) updateSelection();
    if (t.matches("[data-autosubmit]")) t.form.submit();
  });
  updateSelection();

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.matches("form[data-bulk]")) {
      var sub = e.submitter;
      if (sub && sub.name === "confirm") return;
      e.preventDefault();
      var action = $("[data-bulk-action]", form), role = $("[data-bulk-role]", form);
      var n = updateSelection();
      if (!action.value) { action.focus(); return; }
      if (/role$/.test(action.value) && role && !role.value) { role.focus(); return; }
      if (!n) { var first = $("[data-row]", form); if (first) first.focus(); return; }
      // The server's confirmation names the users and counts them with the
      // same query the action runs: never the list's estimate.
      form.submit();
      return;
    }
    if (form.matches("form[data-confirm]") && !form.dataset.confirmed) {
      e.preventDefault();
      confirmDialog(form.getAttribute("data-confirm"), function () {
        form.dataset.confirmed = "1";
        form.requestSubmit ? form.requestSubmit() : form.submit();
      });
    }
  });

  // A small confirmation dialog of our own, in place of window.confirm.
  function confirmDialog(text, ok) {
    var dlg = document.createElement("dialog");
    dlg.className = "modal small";
    var p = document.createElement("p"); p.textContent = text;
    var row = document.createElement("div"); row.className = "actions";
    var yes = document.createElement("button"); yes.type = "button"; yes.className = "button danger"; yes.textContent = "OK";
    var no = document.createElement("button"); no.type = "button"; no.className = "button ghost";
    no.textContent = document.documentElement.lang === "ru" ? "Отмена" : "Cancel";
    row.appendChild(yes); row.appendChild(no); dlg.appendChild(p); dlg.appendChild(row);
    document.body.appendChild(dlg);
    dlg.addEventListener("close", function () { dlg.remove(); });
    yes.addEventListener("click", function () { dlg.close(); ok(); });
    no.addEventListener("click", function () { dlg.close(); });
    dlg.showModal(); no.focus();
  }

  // ---- Dialogs ----
  document.addEventListener("click", function (e) {
    var opener = e.target.closest("[data-dialog]");
    if (opener) {
      var d = document.getElementById(opener.getAttribute("data-dialog"));
      if (d && d.showModal) { e.preventDefault(); d.showModal(); var f = $("input:not([type=hidden]):not([type=radio])", d); if (f) f.focus(); }
      return;
    }
    var closer = e.target.closest("[data-close]");
    if (closer) {
      var dlg = closer.closest("dialog");
      if (dlg) dlg.close(); else location.href = "/users";
      return;
    }
    var copy = e.target.closest("[data-copy]");
    if (copy) {
      var input = document.getElementById(copy.getAttribute("data-copy"));
      var done = function () { var m = $("[data-copied]"); if (m) m.hidden = false; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
      } else { input.select(); try { document.execCommand("copy"); done(); } catch (_) {} }
    }
  });

  // ---- Add-user form: the method switches the fields ----
  $all("form[data-user-form]").forEach(function (form) {
    var sync = function () {
      var m = (form.querySelector("input[name=auth_method]:checked") || {}).value || "email";
      var inv = form.querySelector("input[name=credentials][value=invitation]");
      if (m === "login" && inv && inv.checked) form.querySelector("input[name=credentials][value=generated]").checked = true;
      $all("[data-method]", form).forEach(function (el) { el.hidden = el.getAttribute("data-method") !== m; });
      var c = (form.querySelector("input[name=credentials]:checked") || {}).value;
      $all("[data-cred]", form).forEach(function (el) { el.hidden = el.getAttribute("data-cred") !== c; });
    };
    form.addEventListener("change", sync);
    sync();
  });

  // A dialog with server-side errors opens by itself.
  $all("dialog[data-open]").forEach(function (d) { d.showModal(); });
})();
