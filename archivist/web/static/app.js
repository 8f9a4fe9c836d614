/* archivist web: the only script besides htmx (no inline script: the CSP forbids it).
   Drag and drop onto the upload box fills its file input and submits the form. */
(function () {
  "use strict";
  function wire(root) {
    var zone = (root || document).querySelector("form.dropzone");
    if (!zone || zone.dataset.wired) { return; }
    zone.dataset.wired = "1";
    var input = zone.querySelector("input[type=file]");
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      if (!e.dataTransfer || !e.dataTransfer.files.length) { return; }
      input.files = e.dataTransfer.files;
      zone.requestSubmit();
    });
  }
  document.addEventListener("DOMContentLoaded", function () { wire(document); });
  document.addEventListener("htmx:afterSwap", function (e) { wire(e.target); });
}());
