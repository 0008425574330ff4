// 朗读: reads the plate page's key facts aloud with the browser's own speech synthesis. The button
// stays hidden where there is none, and the page needs no script without it.
(function () {
  var button = document.getElementById("read-aloud");
  if (!button || !("speechSynthesis" in window)) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    window.speechSynthesis.cancel();
    var words = new SpeechSynthesisUtterance(button.getAttribute("data-text"));
    words.lang = document.documentElement.lang;
    words.rate = 0.85;
    window.speechSynthesis.speak(words);
  });
})();
