// Weekly times: "Copy to weekdays" fills Monday to Friday with a row's times in the page.
// Without script the same button asks the server, which fills the rows the same way.
const table = document.querySelector("table.windows");
const status = document.getElementById("windows-status");

function rows() {
  return [...table.querySelectorAll("tbody tr")].map((tr) => ({
    day: tr.querySelector("select"),
    from: tr.querySelectorAll("input")[0],
    to: tr.querySelectorAll("input")[1],
  }));
}

const clock = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;

if (table) {
  table.addEventListener("click", (event) => {
    const button = event.target.closest("button[name=copy]");
    if (!button) return;
    const all = rows();
    const source = all[Number(button.value)];
    if (!source) return;
    const from = source.from.value.trim();
    const to = source.to.value.trim();
    if (!clock.test(from) || !clock.test(to) || from === to) return; // the server explains
    event.preventDefault();
    const present = new Set(all.map((r) => `${r.day.value}|${r.from.value}|${r.to.value}`));
    const empty = all.filter((r) => !r.day.value && !r.from.value && !r.to.value);
    for (const day of ["0", "1", "2", "3", "4"]) {
      if (present.has(`${day}|${from}|${to}`)) continue;
      const row = empty.shift();
      if (!row) {
        button.form.requestSubmit(button); // more rows than shown: the server makes room
        return;
      }
      row.day.value = day;
      row.from.value = from;
      row.to.value = to;
    }
    if (status) status.textContent = "Copied to Monday to Friday. Check the times, then save.";
  });
}
