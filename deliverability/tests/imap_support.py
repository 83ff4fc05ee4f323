"""Test-only: Debian's dovecot as a throw-away IMAP server on a free
loopback port, its configuration and mailbox in a temporary directory (no
system configuration is read or touched). Plain IMAP, one user, a static
password."""

import grp
import imaplib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from mailing.devtools.smtp_sink import free_port

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "bounces", "secret-pass"

_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
first_valid_uid = {uid}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home
}}
"""


def _identities() -> dict:
    """Who the server's processes run as: the current user; as root (which
    dovecot's login and mail processes refuse to be), the accounts Debian's
    package made."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        group = grp.getgrgid(os.getegid()).gr_name
        return {
            "login_user": me.pw_name,
            "internal_user": me.pw_name,
            "internal_group": group,
            "uid": me.pw_uid,
            "gid": me.pw_gid,
        }
    dovecot = pwd.getpwnam("dovecot")
    return {
        "login_user": "dovenull",
        "internal_user": "dovecot",
        "internal_group": "dovecot",
        "uid": dovecot.pw_uid,
        "gid": dovecot.pw_gid,
    }


class DovecotServer:
    """`with DovecotServer() as imap:` → `imap.url`, `imap.append(raw)`,
    `imap.unseen()`."""

    def __init__(self):
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-"))
        self.process = None

    @property
    def url(self) -> str:
        return f"imap://{USER}:{PASSWORD}@127.0.0.1:{self.port}/INBOX"

    def start(self) -> "DovecotServer":
        ids = _identities()
        self.root.chmod(0o755)  # the login process must reach base_dir
        for name in ("run", "state", "mail", "home"):
            (self.root / name).mkdir()
        for name in ("mail", "home"):
            os.chown(self.root / name, ids["uid"], ids["gid"])
        config = self.root / "dovecot.conf"
        config.write_text(
            _CONFIG.format(root=self.root, port=self.port, password=PASSWORD, **ids)
        )
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with self._client():
                    return self
            except (OSError, imaplib.IMAP4.error):
                if self.process.poll() is not None:
                    raise RuntimeError(self.process.stderr.read().decode()) from None
                time.sleep(0.2)
        raise RuntimeError("dovecot did not start: " + self.log())

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _client(self):
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=5)
        imap.login(USER, PASSWORD)
        return _Session(imap)

    def append(self, raw: bytes) -> None:
        with self._client() as imap:
            imap.append("INBOX", None, None, raw)

    def unseen(self) -> int:
        with self._client() as imap:
            imap.select("INBOX")
            return len(imap.search(None, "UNSEEN")[1][0].split())


class _Session:
    def __init__(self, imap):
        self.imap = imap

    def __enter__(self):
        return self.imap

    def __exit__(self, *exc):
        self.imap.logout()
