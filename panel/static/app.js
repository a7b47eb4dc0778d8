// Roster panel scripts: live search, selection, bulk confirmation, menus,
// dialogs and keyboard shortcuts. Every page works without them; they
// only make it quicker.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  var narrowQuery = window.matchMedia("(max-width: 720px)");

  // The server picks cards for the users list on a phone when the user
  // chose no view: it learns the screen is narrow from this cookie.
  function tellWidth() {
    document.cookie = "roster_narrow=" + (narrowQuery.matches ? "1" : "0") + "; path=/; SameSite=Lax";
  }
  tellWidth();
  if (narrowQuery.addEventListener) narrowQuery.addEventListener("change", tellWidth);

  // ---- Live search on the users list ----
  var live = $("form[data-live]");
  var refresh = function () {};
  if (live) {
    var timer = null, ctrl = null;
    var params = function () {
      var p = new URLSearchParams();
      new FormData(live).forEach(function (v, k) { if (v !== "" && !(k === "sort" && v === "name")) p.append(k, v); });
      return p;
    };
    refresh = function (done) {
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
          syncView();
          updateSelection();
          if (done) done();
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
    // No view chosen and a phone: the first page came as a table because
    // the server did not know the width yet; ask again, now it does.
    if (live.hasAttribute("data-view-auto") && narrowQuery.matches && $("#results table")) refresh();
  }
  // The view buttons say which view the list shows.
  function syncView() {
    var cards = !!$("#results ul.cards");
    $all("[data-view]").forEach(function (a) {
      if ((a.getAttribute("data-view") === "cards") === cards) a.setAttribute("aria-current", "true");
      else a.removeAttribute("aria-current");
    });
  }

  // ---- Filters fold behind a button on a phone ----
  document.addEventListener("click", function (e) {
    var t = e.target.closest("[data-filters-toggle]");
    if (!t) return;
    var panel = document.getElementById(t.getAttribute("aria-controls"));
    var open = t.getAttribute("aria-expanded") !== "true";
    t.setAttribute("aria-expanded", open ? "true" : "false");
    panel.classList.toggle("open", open);
    if (open) { var f = $("select, input", panel); if (f) f.focus(); }
  });

  // ---- Selection and bulk actions ----
  function updateSelection() {
    var form = $("form[data-bulk]");
    if (!form) return 0;
    var rows = $all("[data-row]", form), checked = rows.filter(function (r) { return r.checked; });
    var all = $("[data-all]", form), page = $("[data-select-page]", form);
    if (page) {
      page.checked = rows.length > 0 && checked.length === rows.length;
      page.indeterminate = checked.length > 0 && checked.length < rows.length;
    }
    var n = all && all.checked ? +form.getAttribute("data-total") : checked.length;
    var out = $("[data-selcount]", form);
    if (out) out.textContent = n ? form.getAttribute("data-selected").replace("%d", n) : "";
    var action = $("[data-bulk-action]", form), role = $("[data-bulk-role]", form);
    if (role && action) role.hidden = !/role$/.test(action.value);
    if (n) { var hint = $("[data-bulk-hint]", form); if (hint) hint.hidden = true; }
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
    if (t.form && t.form.matches("form[data-columns]")) saveColumns(t.form);
    if (t.matches("[data-company-switch]")) switchCompany(t);
  });
  updateSelection();

  // Apply with nothing to apply says why nothing happened.
  function bulkHint(form, key, focus) {
    var hint = $("[data-bulk-hint]", form);
    if (hint) { hint.textContent = form.getAttribute(key); hint.hidden = false; }
    if (focus) focus.focus();
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.matches("form[data-bulk]")) {
      var sub = e.submitter;
      if (sub && sub.name === "confirm") return;
      e.preventDefault();
      var action = $("[data-bulk-action]", form), role = $("[data-bulk-role]", form);
      var n = updateSelection();
      if (!n) { bulkHint(form, "data-none", $("[data-row]", form)); return; }
      if (!action.value) { bulkHint(form, "data-no-action", action); return; }
      if (/role$/.test(action.value) && role && !role.value) { bulkHint(form, "data-no-role", role); return; }
      // The server's confirmation names the users and counts them with the
      // same query the action runs: never the list's estimate.
      form.submit();
      return;
    }
    if (form.matches("form[data-user-form]")) {
      var list = $("[data-list-return]", form);
      if (list && location.pathname === "/users") list.value = location.pathname + location.search;
    }
    if (form.matches("form[data-columns]")) { e.preventDefault(); saveColumns(form); return; }
    if (form.matches("form[data-confirm]") && !form.dataset.confirmed) {
      e.preventDefault();
      // The confirming button names the action, as the form's own button does.
      var by = e.submitter || $("button[type=submit], button:not([type])", form);
      confirmDialog(form.getAttribute("data-confirm"), function () {
        form.dataset.confirmed = "1";
        form.requestSubmit ? form.requestSubmit() : form.submit();
      }, form.getAttribute("data-confirm-ok") || (by && by.textContent.trim()));
    }
  });

  // The column chooser saves at once and reloads the list.
  function saveColumns(form) {
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (res) {
        if (!res.ok) throw new Error(res.status);
        var keep = document.activeElement && document.activeElement.value;
        refresh(function () {
          var menu = $("#columns-menu");
          if (menu && menu.showPopover) {
            menu.showPopover();
            var box = keep && $("#columns-menu input[value='" + keep + "']");
            if (box) box.focus();
          }
        });
      })
      .catch(function () { form.submit(); });
  }

  // A small confirmation dialog of our own, in place of window.confirm.
  function confirmDialog(text, ok, okLabel) {
    var ru = document.documentElement.lang === "ru";
    var dlg = document.createElement("dialog");
    dlg.className = "modal small";
    var p = document.createElement("p"); p.textContent = text;
    var row = document.createElement("div"); row.className = "actions";
    var yes = document.createElement("button"); yes.type = "button"; yes.className = "button danger"; yes.textContent = okLabel || (ru ? "Подтвердить" : "Confirm");
    var no = document.createElement("button"); no.type = "button"; no.className = "button ghost";
    no.textContent = ru ? "Отмена" : "Cancel";
    row.appendChild(yes); row.appendChild(no); dlg.appendChild(p); dlg.appendChild(row);
    document.body.appendChild(dlg);
    dlg.addEventListener("close", function () { dlg.remove(); });
    yes.addEventListener("click", function () { dlg.close(); ok(); });
    no.addEventListener("click", function () { dlg.close(); });
    dlg.showModal(); no.focus();
  }

  // ---- Menus (popovers): placed beside their button ----
  document.addEventListener("toggle", function (e) {
    var pop = e.target;
    if (!pop.matches || !pop.matches("[popover].menu") || e.newState !== "open") return;
    var btn = $("[popovertarget='" + pop.id + "']");
    if (!btn) return;
    var r = btn.getBoundingClientRect(), w = pop.offsetWidth, h = pop.offsetHeight;
    var left = Math.max(8, Math.min(r.right - w, window.innerWidth - w - 8));
    var top = r.bottom + 4;
    if (top + h > window.innerHeight - 8 && r.top - h - 4 > 8) top = r.top - h - 4;
    pop.style.inset = "auto";
    pop.style.left = left + "px";
    pop.style.top = top + "px";
    var first = $("a, input, button", pop);
    if (first) first.focus();
  }, true);

  // ---- Tooltips (a blocked user's reason): fixed, so no table clips them ----
  function placeTip(e) {
    var t = e.target.closest && e.target.closest(".tip");
    if (!t) return;
    var tip = t.nextElementSibling;
    if (!tip) return;
    tip.classList.add("fixed");
    requestAnimationFrame(function () {
      var r = t.getBoundingClientRect();
      var left = Math.max(8, Math.min(r.left, window.innerWidth - tip.offsetWidth - 8));
      var top = r.bottom + 6;
      if (top + tip.offsetHeight > window.innerHeight - 8) top = r.top - tip.offsetHeight - 6;
      tip.style.left = left + "px";
      tip.style.top = top + "px";
    });
  }
  document.addEventListener("mouseover", placeTip);
  document.addEventListener("focusin", placeTip);

  // ---- Dialogs ----
  var actionDialog = null;
  function openActionDialog(href) {
    if (!actionDialog) {
      actionDialog = document.createElement("dialog");
      actionDialog.id = "action-dialog";
      actionDialog.className = "modal";
      actionDialog.setAttribute("aria-labelledby", "action-title");
      document.body.appendChild(actionDialog);
    }
    var url = href + (href.indexOf("?") < 0 ? "?" : "&") + "fragment=1";
    fetch(url, { credentials: "same-origin" })
      .then(function (res) {
        if (!res.ok) throw new Error(res.status);
        return res.text();
      })
      .then(function (html) {
        $all("[popover]:popover-open").forEach(function (p) { p.hidePopover(); });
        actionDialog.innerHTML = html;
        actionDialog.showModal();
        var f = $("textarea, input:not([type=hidden]), button[type=submit]", actionDialog);
        if (f) f.focus();
      })
      .catch(function () { location.href = href; });
  }

  document.addEventListener("click", function (e) {
    var act = e.target.closest("a[data-action-dialog]");
    if (act && window.HTMLDialogElement) {
      e.preventDefault();
      openActionDialog(act.getAttribute("href"));
      return;
    }
    var opener = e.target.closest("[data-dialog]");
    if (opener) {
      var d = document.getElementById(opener.getAttribute("data-dialog"));
      if (d && d.showModal) { e.preventDefault(); d.showModal(); var f = $("input:not([type=hidden]):not([type=radio]), select", d); if (f) f.focus(); }
      return;
    }
    if (e.target.closest("[data-shortcuts]")) { openShortcuts(); return; }
    var closer = e.target.closest("[data-close]");
    if (closer) {
      var dlg = closer.closest("dialog");
      if (dlg) { e.preventDefault(); dlg.close(); }
      else if (closer.tagName === "BUTTON") location.href = "/users";
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
  function syncUserForm(form) {
    var m = (form.querySelector("input[name=auth_method]:checked") || {}).value || "email";
    var inv = form.querySelector("input[name=credentials][value=invitation]");
    if (m === "login" && inv && inv.checked) form.querySelector("input[name=credentials][value=generated]").checked = true;
    $all("[data-method]", form).forEach(function (el) { el.hidden = el.getAttribute("data-method") !== m; });
    var c = (form.querySelector("input[name=credentials]:checked") || {}).value;
    $all("[data-cred]", form).forEach(function (el) { el.hidden = el.getAttribute("data-cred") !== c; });
  }
  document.addEventListener("change", function (e) {
    var form = e.target.form;
    if (form && form.matches("form[data-user-form]")) syncUserForm(form);
  });
  $all("form[data-user-form]").forEach(syncUserForm);

  // The dialog's company chooser reloads the form (the roles are the
  // company's), keeping what was typed.
  function switchCompany(select) {
    var form = select.form;
    var list = $("[data-list-return]", form);
    var url = "/users/new?fragment=1&company=" + encodeURIComponent(select.value) + (list ? "&list=" + encodeURIComponent(list.value) : "");
    fetch(url, { credentials: "same-origin" })
      .then(function (res) { if (!res.ok) throw new Error(res.status); return res.text(); })
      .then(function (html) {
        var typed = {};
        $all("input[type=text], input:not([type]), input[type=email], input[type=tel]", form).forEach(function (i) { typed[i.name] = i.value; });
        var method = (form.querySelector("input[name=auth_method]:checked") || {}).value;
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = $("form[data-user-form]", holder);
        form.replaceWith(fresh);
        Object.keys(typed).forEach(function (k) { var i = fresh.querySelector("[name='" + k + "']"); if (i && i.type !== "hidden") i.value = typed[k]; });
        var m = method && fresh.querySelector("input[name=auth_method][value=" + method + "]"); if (m) m.checked = true;
        syncUserForm(fresh);
        var sel = $("[data-company-switch]", fresh); if (sel) sel.focus();
      })
      .catch(function () { location.href = "/users/new?company=" + encodeURIComponent(select.value); });
  }

  // A dialog with server-side errors opens by itself.
  $all("dialog[data-open]").forEach(function (d) {
    d.showModal();
    var bad = $("[aria-invalid=true], .invalid input", d);
    if (bad) bad.focus();
  });

  // ---- Keyboard shortcuts on the users list ----
  function openShortcuts() { var d = $("#shortcuts"); if (d && !d.open) d.showModal(); }
  function rows() { return $all("[data-row-item]"); }
  function currentRow() {
    var list = rows(), a = document.activeElement;
    for (var i = 0; i < list.length; i++) if (list[i].contains(a)) return i;
    var cur = $("[data-row-item].is-current");
    return cur ? list.indexOf(cur) : -1;
  }
  function moveTo(i) {
    var list = rows();
    if (!list.length) return;
    i = Math.max(0, Math.min(list.length - 1, i));
    list.forEach(function (r) { r.classList.remove("is-current"); });
    var row = list[i];
    row.classList.add("is-current");
    var link = $("[data-open-row]", row);
    if (link) link.focus();
    row.scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (e) {
    if (!live || e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t.closest && t.closest("input, textarea, select, [contenteditable], dialog[open]")) return;
    if ($("dialog[open]")) return;
    switch (e.key) {
    case "/":
      e.preventDefault(); var q = $("#q"); q.focus(); q.select(); break;
    case "j":
      e.preventDefault(); moveTo(currentRow() + 1); break;
    case "k":
      e.preventDefault(); moveTo(Math.max(0, currentRow() - 1)); break;
    case "x":
      var i = currentRow();
      if (i < 0) return;
      var box = $("[data-row]", rows()[i]);
      if (box) { e.preventDefault(); box.click(); var link = $("[data-open-row]", rows()[i]); if (link) link.focus(); }
      break;
    case "Enter":
      if (t === document.body) { var r = $("[data-row-item].is-current [data-open-row]"); if (r) { e.preventDefault(); r.click(); } }
      break;
    case "?":
      e.preventDefault(); openShortcuts(); break;
    case "n":
      var add = $("[data-dialog='add-user']");
      if (add) { e.preventDefault(); add.click(); }
      break;
    }
  });

  // ---- Event log: the person filter searches people as the users list does ----
  (function () {
    var input = $("[data-person-search]");
    if (!input) return;
    var form = input.form, id = $("[data-person-id]", form), box = $("[data-person-results]", form);
    var timer, ctl;
    function show(html) {
      box.innerHTML = html;
      input.setAttribute("aria-expanded", box.querySelector("a") ? "true" : "false");
    }
    function pick(a) {
      input.value = a.getAttribute("data-name");
      id.value = a.getAttribute("data-pick-person");
      show("");
      form.submit();
    }
    input.addEventListener("input", function () {
      id.value = "";
      clearTimeout(timer);
      if (ctl) ctl.abort();
      var q = input.value.trim();
      if (!q) { show(""); return; }
      timer = setTimeout(function () {
        ctl = window.AbortController ? new AbortController() : null;
        fetch("/events?fragment=1&person=" + encodeURIComponent(q), { credentials: "same-origin", signal: ctl && ctl.signal })
          .then(function (res) { if (!res.ok) throw new Error(res.status); return res.text(); })
          .then(show)
          .catch(function () {});
      }, 200);
    });
    box.addEventListener("click", function (e) {
      var a = e.target.closest("[data-pick-person]");
      if (a) { e.preventDefault(); pick(a); }
    });
    function links() { return $all("[data-pick-person]", box); }
    form.addEventListener("keydown", function (e) {
      var list = links(), i = list.indexOf(document.activeElement);
      if (!list.length || (e.target !== input && i < 0)) return;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        var next = e.key === "ArrowDown" ? i + 1 : i - 1;
        if (next < 0) { input.focus(); return; }
        list[Math.min(next, list.length - 1)].focus();
      } else if (e.key === "Escape") {
        show(""); input.focus();
      }
    });
    document.addEventListener("click", function (e) { if (!e.target.closest(".person-filter")) show(""); });
  })();
})();
