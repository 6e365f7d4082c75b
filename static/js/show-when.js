/* Shows a form's optional part only while a choice asks for it, e.g. the My Domain URL box
   while "My Domain URL" is the chosen environment:
     <div data-show-when="environment=mydomain">…</div>
   Without JavaScript every part stays visible (the server checks the values either way). */
(function () {
  "use strict";
  function chosen(form, name) {
    var radio = form.querySelector('input[name="' + name + '"]:checked');
    if (radio) return radio.value;
    var select = form.querySelector('select[name="' + name + '"]');
    return select ? select.value : "";
  }
  function update(form) {
    form.querySelectorAll("[data-show-when]").forEach(function (part) {
      var rule = part.getAttribute("data-show-when").split("=");
      part.hidden = chosen(form, rule[0]) !== rule[1];
    });
  }
  document.querySelectorAll("form").forEach(function (form) {
    if (!form.querySelector("[data-show-when]")) return;
    form.addEventListener("change", function () { update(form); });
    update(form);
  });
})();
