"""Test doubles of the external SMS provider for the fault tests (chosen with SMS_BACKEND in a worker's environment).

Both append what they accept to SMS_FILE_PATH like `recovery.sms.FileBackend`, so the test can count every
message the "provider" received, by its reference (the notification's UUID).
"""

import time

from recovery.sms import FileBackend, SmsError

SEND_SECONDS = 0.02
UNREACHABLE_NUMBER = "+46700000666"


class SlowFileBackend(FileBackend):
    """A provider that takes 20 ms to answer: a batch takes long enough for a kill -9 to land in the middle of it."""

    def send(self, *, to: str, text: str, reference: str) -> None:
        time.sleep(SEND_SECONDS)
        super().send(to=to, text=text, reference=reference)


class AlwaysFailingBackend(SlowFileBackend):
    """Like SlowFileBackend, except that every message to UNREACHABLE_NUMBER is refused, every time."""

    def send(self, *, to: str, text: str, reference: str) -> None:
        if to == UNREACHABLE_NUMBER:
            raise SmsError(f"The SMS provider refused the message: {to} is unreachable.")
        super().send(to=to, text=text, reference=reference)
