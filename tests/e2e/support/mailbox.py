"""The platform's outgoing mail as Django's file e-mail backend writes it: one file per connection,
messages separated by a line of 79 dashes. The browser tests read it as a person reads their inbox."""
from __future__ import annotations

import email
import email.policy
import re
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path

SEPARATOR = "-" * 79
LINK = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True)
class Mail:
    to: list[str]
    subject: str
    body: str

    def links(self) -> list[str]:
        return [link.rstrip(".,;)") for link in LINK.findall(self.body)]

    def link(self, containing: str = "") -> str:
        found = [link for link in self.links() if containing in link]
        assert found, f"no link containing {containing!r} in the mail {self.subject!r}:\n{self.body}"
        return found[0]


def parse(raw: str) -> Mail:
    message = email.message_from_string(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("plain", "html"))
    body = part.get_content() if part is not None else ""
    to = [address.lower() for _, address in getaddresses(message.get_all("To", []))]
    return Mail(to=to, subject=str(message.get("Subject", "")), body=body)


class Mailbox:
    """Every message in `folder`; `newest_to` waits for the newest one sent to an address."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def messages(self) -> list[Mail]:
        """Oldest first: files by modification time, messages in the order they were written."""
        if not self.folder.is_dir():
            return []
        files = sorted(self.folder.iterdir(), key=lambda path: (path.stat().st_mtime_ns, path.name))
        found = []
        for path in files:
            for chunk in path.read_text(encoding="utf-8", errors="replace").split(SEPARATOR):
                if chunk.strip():
                    found.append(parse(chunk.lstrip("\n")))
        return found

    def newest_to(self, address: str, after: int = 0, timeout: float = 30) -> Mail:
        """The newest message to `address` among those after the first `after` ones to it (so a test
        can wait for a second message): count them first with `count_to`."""
        deadline = time.monotonic() + timeout
        while True:
            mails = [mail for mail in self.messages() if address.lower() in mail.to]
            if len(mails) > after:
                return mails[-1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail to {address} in {self.folder} after {timeout:.0f} s")
            time.sleep(0.2)

    def count_to(self, address: str) -> int:
        return sum(address.lower() in mail.to for mail in self.messages())
