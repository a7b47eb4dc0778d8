// Roster panel: the idle-logout warning (SPEC A4). A minute before the
// session's idle timeout (read from the dialog's data attribute) a dialog
// counts down; "Stay signed in" pings the server, which touches the
// session, and the countdown starts over. No inline script: the CSP
// forbids it.
(function () {
  'use strict';
  var dlg = document.getElementById('idle-warning');
  if (!dlg || typeof dlg.showModal !== 'function') { return; }
  var idle = parseInt(dlg.getAttribute('data-idle-seconds'), 10);
  if (!(idle > 0)) { return; }
  var lead = Math.min(60, Math.max(5, Math.floor(idle / 2)));
  var text = document.getElementById('idle-text');
  var template = dlg.getAttribute('data-template') || '%d';
  var warnTimer = 0, tick = 0, deadline = 0;

  function schedule() {
    clearTimeout(warnTimer);
    clearInterval(tick);
    deadline = Date.now() + idle * 1000;
    warnTimer = setTimeout(warn, (idle - lead) * 1000);
  }
  function render() {
    var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    text.textContent = template.replace('%d', String(left));
    if (left <= 0) {
      clearInterval(tick);
      window.location.assign('/signin?next=' + encodeURIComponent(window.location.pathname + window.location.search));
    }
  }
  function warn() {
    render();
    if (!dlg.open) { dlg.showModal(); }
    tick = setInterval(render, 1000);
  }
  dlg.querySelector('form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    fetch('/profile/ping', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'X-CSRF-Token': dlg.getAttribute('data-csrf') }
    }).then(function (res) {
      if (res.status === 204) { dlg.close(); schedule(); return; }
      window.location.assign('/signin');
    }, function () { /* offline: keep counting */ });
  });
  dlg.addEventListener('cancel', function (ev) { ev.preventDefault(); });
  schedule();
})();
