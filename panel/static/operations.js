// Roster operations scripts: the member picker filters its list as you
// type. The page works without it (the search form reloads the page).
(function () {
  "use strict";
  var input = document.querySelector("[data-pick-filter]");
  var list = document.querySelector("[data-pick-list]");
  if (!input || !list) return;
  var empty = document.querySelector("[data-pick-empty]");
  var items = Array.prototype.slice.call(list.querySelectorAll("[data-pick-text]"));
  var filter = function () {
    var q = input.value.trim().toLowerCase(), shown = 0;
    items.forEach(function (el) {
      var hit = !q || el.getAttribute("data-pick-text").toLowerCase().indexOf(q) !== -1;
      // A checked user stays visible, so a choice is never hidden away.
      var keep = hit || el.querySelector("input").checked;
      el.hidden = !keep;
      if (keep) shown++;
    });
    if (empty) empty.hidden = shown > 0;
  };
  input.addEventListener("input", filter);
})();
