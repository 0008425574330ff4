// The print form's road picker: as staff type, the registry's road names holding what they typed (in the chosen
// district) are offered in the field's list. Without scripts the field still works, and the form's count
// button catches a name the registry does not hold.
const road = document.getElementById("road");
const district = document.getElementById("district");
const names = document.getElementById("road-names");
let asked = 0;

async function offer() {
  const query = new URLSearchParams({ q: road.value.trim() });
  if (district.value) query.set("district", district.value);
  const ticket = ++asked;
  const answer = await fetch(`${road.dataset.names}?${query}`, { credentials: "same-origin" });
  if (!answer.ok || ticket !== asked) return; // a later keystroke has asked again
  const found = await answer.json();
  names.replaceChildren(...found.map((name) => Object.assign(document.createElement("option"), { value: name })));
}

let pause;
road.addEventListener("input", () => { clearTimeout(pause); pause = setTimeout(offer, 200); });
district.addEventListener("change", offer);
road.addEventListener("focus", offer, { once: true });
