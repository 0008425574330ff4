// A photo over the limit is caught here, before a slow link spends minutes sending it: the form stays as it
// is, with a word beside the photo. The server checks again, and keeps what was typed if it must refuse.
for (const input of document.querySelectorAll("input[type=file][data-max-bytes]")) {
  const notice = Object.assign(document.createElement("p"), { className: "problem" });
  notice.setAttribute("role", "alert");
  notice.hidden = true;
  input.after(notice);
  const check = () => {
    const tooBig = [...input.files].some((file) => file.size > Number(input.dataset.maxBytes));
    notice.textContent = tooBig ? input.dataset.tooBig : "";
    notice.hidden = !tooBig;
    return !tooBig;
  };
  input.addEventListener("change", check);
  input.form.addEventListener("submit", (event) => {
    if (!check()) {
      event.preventDefault();
      input.focus();
    }
  });
}
