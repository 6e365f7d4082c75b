// Landing page player: reports started_watching on each new play (the first play, or a
// replay after the end) and finished_watching once per view (at the end or at >= 95 %).
// The state of each report is mirrored on the <video> (data-started / data-finished) so
// tests and assistive tooling can see it.
(function () {
  "use strict";
  var root = document.querySelector("[data-events-url]");
  var video = document.querySelector("video[data-track]");
  if (!root || !video) return;
  var url = root.getAttribute("data-events-url");
  var csrfInput = document.querySelector("input[name=csrfmiddlewaretoken]");
  var csrf = csrfInput ? csrfInput.value : "";
  var viewing = false;
  var finished = false;

  function report(type, flag) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ type: type }),
    }).then(function (response) {
      video.setAttribute(flag, response.ok ? String(Number(video.getAttribute(flag) || 0) + 1) : "error");
    }).catch(function () {
      video.setAttribute(flag, "error");
    });
  }

  function finish() {
    if (viewing && !finished) {
      finished = true;
      report("finished_watching", "data-finished");
    }
  }

  video.addEventListener("play", function () {
    if (!viewing) {
      viewing = true;
      finished = false;
      report("started_watching", "data-started");
    }
  });
  video.addEventListener("timeupdate", function () {
    if (video.duration && video.currentTime / video.duration >= 0.95) finish();
  });
  video.addEventListener("ended", function () {
    finish();
    viewing = false;
  });
})();
