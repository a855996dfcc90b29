// The portal's only script besides htmx: copy buttons. Progressive: without it the text stays selectable.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var source = document.getElementById(button.getAttribute("data-copy"));
  var text = source ? (source.value || source.textContent).trim() : "";
  navigator.clipboard.writeText(text).then(function () {
    var label = button.textContent;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 1500);
  });
});

// Logs (sites/templates/sites/logs_output.html): a log opens at its newest line, and stays there as a follow replaces it.
function scrollToEnd(root) {
  root.querySelectorAll("[data-scroll-end]").forEach(function (element) { element.scrollTop = element.scrollHeight; });
}
document.addEventListener("DOMContentLoaded", function () { scrollToEnd(document); });
document.addEventListener("htmx:afterSettle", function () { scrollToEnd(document); });

// Support attachments (support/templates/support/_attachments_field.html): say which file is too large
// before the upload starts, so nothing typed is lost; the server checks again.
document.addEventListener("change", function (event) {
  var input = event.target;
  if (!input.matches || !input.matches("input[type=file][data-max-bytes]")) return;
  var maxBytes = Number(input.getAttribute("data-max-bytes")), maxFiles = Number(input.getAttribute("data-max-files"));
  var tooLarge = Array.prototype.filter.call(input.files, function (file) { return file.size > maxBytes; });
  var problem = "";
  if (input.files.length > maxFiles) problem = "Choose at most " + maxFiles + " files.";
  else if (tooLarge.length) problem = tooLarge.map(function (file) { return file.name; }).join(", ") + ": too large.";
  input.setCustomValidity(problem);
  input.reportValidity();
});
