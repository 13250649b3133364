"""Whether a prompt asks for a secret: its last line names a password, key, token, secret or PIN.

Used wherever the runner asks the agent for input (a program's stdin, the batch `input()`
hook, a kernel's input request), so that the answer is recorded as `<redacted>`. A false
alarm only hides an answer from the log; a miss writes a secret into it, so the words are
generous ("API key", "passphrase", "ACCESS_TOKEN", "PIN"); only a key to press ("press any
key") is not taken for a secret.
"""

from __future__ import annotations

import re

SECRET_WORDS = re.compile(
    r"(?<![a-z0-9])(password|passwd|passphrase|passcode|pass|pin|secret|token|apikey|key"
    r"|credential|otp)s?(?![a-z0-9])", re.IGNORECASE)
KEY_TO_PRESS = re.compile(r"\b(press|hit|any)\b.*\bkeys?\b", re.IGNORECASE)


def is_secret_prompt(prompt: str) -> bool:
    """Whether the last line of `prompt` asks for a secret."""
    last = prompt.rstrip().rsplit("\n", 1)[-1]
    pressed = KEY_TO_PRESS.search(last) is not None
    return any(not (pressed and m.group(1).lower() == "key")
               for m in SECRET_WORDS.finditer(last))
