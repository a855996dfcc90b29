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
