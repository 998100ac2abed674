// The patient's calendar page (my_calendar.html): the button that copies the feed address, with a fallback
// for browsers without the asynchronous clipboard (or outside a secure context).
(function () {
  var button = document.getElementById("copy-feed-url");
  var input = document.getElementById("feed-url");
  var status = document.getElementById("copy-status");
  function copied() { status.textContent = "Copied. Now paste it into your calendar app."; }
  function fallback() {
    input.focus();
    input.select();
    try { document.execCommand("copy"); copied(); }
    catch (e) { status.textContent = "Press and hold the address to copy it."; }
  }
  input.addEventListener("focus", function () { input.select(); });
  button.addEventListener("click", function () {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(copied, fallback);
    } else {
      fallback();
    }
  });
})();
