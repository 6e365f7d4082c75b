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

// Share panel: the Copy link button (shown only where this script runs) copies the page's
// share link and says so; copying and the email link are reported as "shared" events.
(function () {
  "use strict";
  var root = document.querySelector("[data-events-url]");
  var button = document.querySelector("button[data-copy]");
  var status = document.querySelector("[data-copy-status]");
  var email = document.querySelector("[data-share-channel=email]");
  if (!root) return;
  var csrfInput = document.querySelector("input[name=csrfmiddlewaretoken]");

  function reportShare(channel) {
    fetch(root.getAttribute("data-events-url"), {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfInput ? csrfInput.value : "" },
      body: JSON.stringify({ type: "shared", channel: channel }),
    }).catch(function () {});
  }

  if (email) email.addEventListener("click", function () { reportShare("email"); });
  if (!button) return;
  var input = document.getElementById(button.getAttribute("data-copy"));
  input.addEventListener("focus", function () { input.select(); });
  button.hidden = false;
  button.addEventListener("click", function () {
    function copied() {
      status.textContent = "Link copied. Paste it anywhere to share the video.";
      reportShare("copy");
    }
    function manual() {
      input.focus();
      input.select();
      status.textContent = "Press Ctrl+C (or ⌘+C) to copy the selected link.";
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(copied, manual);
    } else {
      manual();
    }
  });
})();
