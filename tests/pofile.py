"""A small reader and writer of gettext .po files, enough for our catalogues:
the completeness test reads them, and `fill()` writes translations in."""

import re
from dataclasses import dataclass, field
from pathlib import Path

_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+"(.*)"$')
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), text)


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\t", "\\t")
        .replace("\n", "\\n")
    )


@dataclass
class Entry:
    """One message: its id (and plural id), translations and flags."""

    msgid: str = ""
    msgid_plural: str = ""
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    comments: list[str] = field(default_factory=list)

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    def untranslated(self, nplurals: int) -> bool:
        """Whether any form the language needs is missing or empty."""
        forms = range(nplurals) if self.msgid_plural else [0]
        return any(not self.msgstr.get(i, "").strip() for i in forms)

    def lines(self) -> list[str]:
        out = list(self.comments)
        if self.flags:
            out.append("#, " + ", ".join(sorted(self.flags)))
        if self.msgctxt is not None:
            out.append(f'msgctxt "{_escape(self.msgctxt)}"')
        out.append(f'msgid "{_escape(self.msgid)}"')
        if self.msgid_plural:
            out.append(f'msgid_plural "{_escape(self.msgid_plural)}"')
            for i in sorted(self.msgstr):
                out.append(f'msgstr[{i}] "{_escape(self.msgstr[i])}"')
        else:
            out.append(f'msgstr "{_escape(self.msgstr.get(0, ""))}"')
        return out


def read(path: Path) -> list[Entry]:
    """The entries of a .po file (obsolete `#~` entries left out)."""
    entries: list[Entry] = []
    for block in re.split(r"\n\s*\n", Path(path).read_text(encoding="utf-8")):
        entry, target = Entry(), None
        for line in block.splitlines():
            line = line.strip()
            if not line or line.startswith("#~"):
                continue
            if line.startswith("#,"):
                entry.flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
            elif line.startswith("#"):
                entry.comments.append(line)
            elif line.startswith('"'):
                _append(entry, target, _unescape(line[1:-1]))
            elif match := _KEYWORD.match(line):
                keyword, index, text = match.groups()
                target = (keyword, int(index or 0))
                _append(entry, target, _unescape(text), start=True)
        if target is not None:
            entries.append(entry)
    return entries


def _append(entry: Entry, target, text: str, start: bool = False) -> None:
    keyword, index = target
    if keyword.startswith("msgstr"):
        entry.msgstr[index] = ("" if start else entry.msgstr.get(index, "")) + text
    elif keyword == "msgctxt":
        entry.msgctxt = ("" if start else entry.msgctxt or "") + text
    else:
        setattr(entry, keyword, ("" if start else getattr(entry, keyword)) + text)


def nplurals(entries: list[Entry]) -> int:
    """The number of plural forms the catalogue's header declares."""
    header = next((e for e in entries if e.is_header), None)
    match = re.search(
        r"nplurals\s*=\s*(\d+)", header.msgstr.get(0, "") if header else ""
    )
    return int(match.group(1)) if match else 2


def write(path: Path, entries: list[Entry]) -> None:
    """Write `entries` back (msgmerge or makemessages re-wraps the lines)."""
    text = "\n\n".join("\n".join(e.lines()) for e in entries)
    Path(path).write_text(text + "\n", encoding="utf-8")
