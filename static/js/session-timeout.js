// Session timeout warning. The server puts the seconds left before the session ends without activity on <body>
// (data-session-remaining); this shows the warning alert data-session-warning seconds before the end, and its
// "Stay signed in" button tells the server the person is still there. When the time is up the page goes to the
// sign-in page, where the server says why. Before either, it asks the server how long is really left (another
// tab may have been used meanwhile); that question is marked as a background request and extends nothing.
(function () {
  const body = document.body;
  const remaining = Number.parseInt(body.dataset.sessionRemaining || "", 10);
  const warning = Number.parseInt(body.dataset.sessionWarning || "", 10);
  const alertBox = document.querySelector("[data-testid='session-warning']");
  if (Number.isNaN(remaining) || Number.isNaN(warning) || !alertBox) return;
  const stay = alertBox.querySelector("[data-session-stay]");
  const url = body.dataset.sessionKeepAliveUrl;
  let endsAt = Date.now() + remaining * 1000;
  let timer = null;

  function signIn() {
    window.location.assign(body.dataset.sessionLoginUrl + "?next=" + encodeURIComponent(window.location.pathname));
  }

  function schedule() {
    window.clearTimeout(timer);
    const left = endsAt - Date.now();
    if (left <= 0) {
      check(true);
    } else if (left <= warning * 1000) {
      alertBox.hidden = false;
      timer = window.setTimeout(() => check(true), left);
    } else {
      alertBox.hidden = true;
      timer = window.setTimeout(() => check(false), left - warning * 1000);
    }
  }

  function update(response) {
    if (response.status === 401) {
      signIn(); // the server has ended the session; the sign-in page says why
      return null;
    }
    return response.json().then((data) => {
      endsAt = Date.now() + data.remaining * 1000;
      schedule();
    });
  }

  function check(atEnd) {
    fetch(url, { headers: { "X-Background-Refresh": "1" }, credentials: "same-origin" })
      .then(update)
      .catch(() => (atEnd ? signIn() : schedule()));
  }

  stay.addEventListener("click", () => {
    fetch(url, {
      method: "POST",
      headers: { "X-CSRFToken": body.dataset.csrfToken },
      credentials: "same-origin",
    })
      .then(update)
      .catch(() => {});
  });

  schedule();
})();
