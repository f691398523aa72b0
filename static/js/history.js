// History page: the repository filter suggests names from the repository picker as one types.
// Without script it is a plain text box.
const input = document.querySelector('#history-search input[name="repository"]');
const list = document.getElementById("history-repos");
if (input && list) {
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      fetch(input.dataset.pickerUrl + "?q=" + encodeURIComponent(input.value), { credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : { results: [] }))
        .then((data) => {
          list.textContent = "";
          data.results.forEach((r) => {
            const option = document.createElement("option");
            option.value = r.full_name;
            list.appendChild(option);
          });
        });
    }, 150);
  });
}
