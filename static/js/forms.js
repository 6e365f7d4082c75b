// Small form behaviours without inline handlers (the Content-Security-Policy allows no
// inline script): <input data-select-on-focus> selects its text when focused, and
// <form data-confirm="question"> asks before it is submitted.
(function () {
  "use strict";
  document.querySelectorAll("input[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
})();
