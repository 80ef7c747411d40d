// The colour scheme chosen (Mantine keeps it in localStorage), or the system's, on <html> before
// React starts, as Mantine's ColorSchemeScript does inline.
(function () {
  var chosen = null;
  try { chosen = window.localStorage.getItem("mantine-color-scheme-value"); } catch { /* private mode */ }
  var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  var scheme = chosen === "light" || chosen === "dark" ? chosen : dark ? "dark" : "light";
  document.documentElement.setAttribute("data-mantine-color-scheme", scheme);
})();
