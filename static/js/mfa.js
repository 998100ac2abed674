// The Security page: once django-otp-webauthn's script has saved a new passkey, show the page again with it listed.
document.addEventListener("otp_webauthn.register_complete", () => {
  window.location.reload();
});
