// Sign-up: pre-select the browser's own time zone, when the server left the choice to it.
// Without script the page keeps its default; the person can always pick another zone.
document.querySelectorAll("select[data-browser-zone]").forEach((select) => {
  let zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (err) {
    return;
  }
  if ([...select.options].some((option) => option.value === zone)) {
    select.value = zone;
  }
});
