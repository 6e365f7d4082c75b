// The phone menu of the site frame (templates/base.html): on narrow screens the navigation
// collapses behind a "Menu" button. Without this script the links simply stay visible.
(function () {
  "use strict";
  function init() {
    var nav = document.querySelector("[data-nav]");
    var button = nav && nav.querySelector(".nav-toggle");
    if (!button) return;
    nav.classList.add("has-menu");
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("open", open);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && nav.classList.contains("open")) {
        nav.classList.remove("open");
        button.setAttribute("aria-expanded", "false");
        button.focus();
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
