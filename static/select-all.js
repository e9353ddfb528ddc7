// "Select all on this page" for lists with checkboxes; without script the box stays hidden.
document.querySelectorAll("[data-select-all]").forEach((label) => {
  const box = label.querySelector("input");
  const form = label.closest("form");
  label.hidden = false;
  box.addEventListener("change", () => {
    form.querySelectorAll("input[type=checkbox][name]").forEach((item) => {
      item.checked = box.checked;
    });
  });
});
