"""Header values that identify a mailing's messages to receivers.

- `message_id(...)`: `<run<R>.client<C>@<domain>>`, deterministic per run
  and client as before, at the sending domain (not `localhost`).
- `list_id(...)`: RFC 2919 `List-Id`, one per mailing:
  `"<name>" <mailing<M>.<owner>.<domain>>`; receivers group and filter by it.
- `feedback_id(...)`: Gmail's Feedback Loop header, `<mailing>:<customer>:
  mailsite` (fields from the most to the least specific, the last one the
  sender's constant identifier); Gmail reports complaint rates per field.
"""

from email.header import Header


def message_id(*, run_id: int, client_id: int | None, domain: str) -> str:
    return f"<run{run_id}.client{client_id or 0}@{domain}>"


def list_id(*, mailing_id: int, owner_id: int, domain: str, name: str = "") -> str:
    ident = f"<mailing{mailing_id}.customer{owner_id}.{domain}>"
    name = " ".join((name or "").split()).replace('"', "'")
    if not name:
        return ident
    if name.isascii():
        return f'"{name}" {ident}'
    return f"{Header(name, 'utf-8').encode()} {ident}"


def feedback_id(*, mailing_id: int, owner_id: int) -> str:
    return f"mailing{mailing_id}:customer{owner_id}:mailsite"
