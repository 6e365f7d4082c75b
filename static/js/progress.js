// Progress of long work (a contacts import, a campaign send), kept current without reloading.
//
// Progressive enhancement: the server renders the state as of page load, with a Refresh
// link; this script polls the JSON at [data-progress-url] and updates the page in place:
//   [data-progress-label]          text = data.label (a role=status live region)
//   progress[data-progress-bar=K]  value/max = data.bars[K] (null: indeterminate)
//   [data-progress-field=K]        text = data.fields[K] (numbers get thousands separators)
//   [data-progress-result]         innerHTML = data.html once finished (server-rendered, escaped)
//   [data-progress-while-running]  hidden once finished (the bars and the Refresh link)
// The root's data-progress-state mirrors data.status. Polling backs off from 1 s to 5 s
// while nothing changes and on network errors, and stops when data.finished is true.
(function () {
  "use strict";
  var root = document.querySelector("[data-progress-url]");
  if (!root || !window.fetch) return;
  var url = root.getAttribute("data-progress-url");
  var MIN = 1000, MAX = 5000;
  var delay = MIN;
  var last = "";
  var format = window.Intl && Intl.NumberFormat ? new Intl.NumberFormat().format : String;

  function each(selector, fn) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), fn);
  }

  function apply(data) {
    root.setAttribute("data-progress-state", data.status);
    each("[data-progress-label]", function (el) {
      if (el.textContent !== data.label) el.textContent = data.label;
    });
    var bars = data.bars || {};
    each("progress[data-progress-bar]", function (el) {
      var bar = bars[el.getAttribute("data-progress-bar")];
      if (bar === undefined) return;
      if (bar === null) {
        el.removeAttribute("value");
      } else {
        el.max = Math.max(bar.max, 1);
        el.value = bar.value;
      }
    });
    var fields = data.fields || {};
    each("[data-progress-field]", function (el) {
      var value = fields[el.getAttribute("data-progress-field")];
      if (value === undefined || value === null) return;
      el.textContent = typeof value === "number" ? format(value) : value;
    });
    if (data.finished) {
      each("[data-progress-while-running]", function (el) { el.hidden = true; });
      if (data.html) {
        each("[data-progress-result]", function (el) { el.innerHTML = data.html; });
      }
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        var snapshot = JSON.stringify([data.status, data.label, data.bars, data.fields]);
        delay = snapshot === last ? Math.min(delay * 1.5, MAX) : MIN;
        last = snapshot;
        each("[data-progress-refresh]", function (el) { el.hidden = true; });
        apply(data);
        if (!data.finished) window.setTimeout(poll, delay);
      })
      .catch(function () {
        // Can't reach the server: offer the Refresh link again, and keep trying slowly.
        each("[data-progress-refresh]", function (el) { el.hidden = false; });
        delay = Math.min(delay * 2, MAX);
        window.setTimeout(poll, delay);
      });
  }

  each("[data-progress-refresh]", function (el) { el.hidden = true; });
  if (root.getAttribute("data-progress-finished") !== "true") window.setTimeout(poll, 300);
})();
