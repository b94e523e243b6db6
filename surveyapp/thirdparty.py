"""Every change surveyapp makes to a third-party library's internals, in this one module.

The patches make PDFs faster and change none of their content (tests/reports/test_thirdparty.py
renders reports with and without each and compares them):

- **pydyf's page references, cached.** ``pydyf.PDF.page_references`` builds the tuple of every
  page's reference each time it is read, and WeasyPrint reads it for every element it tags: a
  time quadratic in pages, most of the writing of a 1,000-page report.
- **A leaner user-agent stylesheet for WeasyPrint.** WeasyPrint's ``html5_ua.css`` gives every
  element ``::marker``, ``::footnote-*`` and ``::note-*`` pseudo-elements whose styles it
  computes one by one; a report shows none of them. No public option removes a user-agent rule
  (a rule of our own such as ``::marker { content: none }`` adds work instead), so reports are
  styled by a copy of the sheet without those rules, through the private
  ``HTML._ua_stylesheets``.
- **tinyhtml5's regular expressions, cached.** ``HTMLUnicodeInputStream.chars_until`` keeps a
  cache of the expression for each set of characters, but files each one under the expression
  itself rather than under the characters, so it never finds one and builds it again at every
  call: half the time of parsing a report's HTML. The patched method files them as intended.

Each patch was written and tested for a range of releases of the library it patches (the same
range as its pin in pyproject.toml). When the installed release is outside that range, or the
internal the patch relies on is missing or has changed, the patch is left out: the library
works as upstream wrote it (slower, never wrong), and a warning says so once per process. The
rest of the app calls this module and never touches those internals itself.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from functools import cache
from importlib import metadata, resources
from typing import Any

import pydyf
from tinyhtml5 import inputstream
from weasyprint import CSS, HTML
from weasyprint.css.counters import CounterStyle

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Patch:
    """A change to a library's internals and the releases it was written and tested for:
    ``lowest <= release < below``, compared by release numbers."""

    name: str
    distribution: str
    lowest: tuple[int, ...]
    below: tuple[int, ...]

    @property
    def releases(self) -> str:
        """The supported releases as a requirement, e.g. ``weasyprint>=70,<71``."""
        return f"{self.distribution}>={_dotted(self.lowest)},<{_dotted(self.below)}"


PAGE_REFERENCES = Patch("cached page references", "pydyf", (0, 13), (0, 14))
LEAN_UA_STYLESHEET = Patch("lean user-agent stylesheet", "weasyprint", (70,), (71,))
PARSER_REGEXES = Patch("cached parser expressions", "tinyhtml5", (2, 1), (2, 2))
PATCHES = (PAGE_REFERENCES, LEAN_UA_STYLESHEET, PARSER_REGEXES)

#: Whether each patch applies, once decided (``applies``), under ``_deciding``.
_decided: dict[Patch, bool] = {}
_deciding = threading.Lock()

#: pydyf's own ``PDF.page_references``, kept to put back when the patch must not apply.
_UPSTREAM_PAGE_REFERENCES = pydyf.PDF.__dict__.get("page_references")
#: tinyhtml5's own ``HTMLUnicodeInputStream.chars_until``, likewise.
_UPSTREAM_CHARS_UNTIL = inputstream.HTMLUnicodeInputStream.__dict__.get("chars_until")
#: The user-agent rules left out: the number of each that html5_ua.css 70 has. Another number
#: means the sheet has changed, and the patch is not applied.
_MARKER_RULE = re.compile(r"^::marker ", re.MULTILINE)
_NOTE_RULES = re.compile(r"^::(footnote|note)-[a-z]+ \{[^}]*\}$", re.MULTILINE)
_MARKER_RULES_EXPECTED = 1
_NOTE_RULES_EXPECTED = 5


def installed_version(distribution: str) -> str | None:
    """The installed release of ``distribution``, or None when it is not installed."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def release(version: str) -> tuple[int, ...]:
    """The release numbers at the start of ``version``: ``"70.0"`` is (70, 0), ``"71.0b1"``
    is (71, 0) (a pre-release counts as its release), ``"0.13.0.post1"`` is (0, 13, 0)."""
    numbers: list[int] = []
    for part in version.split("."):
        digits = re.match(r"\d+", part)
        if digits is None:
            break
        numbers.append(int(digits.group()))
        if digits.end() != len(part):
            break
    return tuple(numbers)


def out_of_range(patch: Patch) -> str | None:
    """Why ``patch`` must not apply to the installed release, or None when it may."""
    version = installed_version(patch.distribution)
    if version is None:
        return f"{patch.distribution} is not installed as a distribution"
    if not patch.lowest <= release(version) < patch.below:
        return f"{patch.distribution} {version} is installed; the patch is for {patch.releases}"
    return None


def applies(patch: Patch) -> bool:
    """Whether ``patch`` may apply here; decided once per process (see ``forget``), with one
    warning when it may not."""
    if patch not in _decided:
        with _deciding:  # threads rendering their first PDFs at once: one decision, one warning
            if patch not in _decided:
                problem = out_of_range(patch) or _missing_internal(patch)
                if problem:
                    log.warning("%s left out: %s; %s works as upstream wrote it, more slowly.",
                                patch.name, problem, patch.distribution)
                _decided[patch] = problem is None
    return _decided[patch]


def forget() -> None:
    """Decide ``applies`` again on next use (for tests that change the installed version)."""
    with _deciding:
        _decided.clear()
        _lean_ua_text.cache_clear()
        lean_ua_stylesheet.cache_clear()


def _missing_internal(patch: Patch) -> str | None:
    """Why the internal ``patch`` relies on is not as it was written for, or None."""
    if patch is PAGE_REFERENCES and not isinstance(_UPSTREAM_PAGE_REFERENCES, property):
        return "pydyf.PDF.page_references is not a property"
    if patch is PARSER_REGEXES:
        if not callable(_UPSTREAM_CHARS_UNTIL):
            return "tinyhtml5's HTMLUnicodeInputStream has no chars_until"
        if not isinstance(getattr(inputstream, "characters_until_regex", None), dict):
            return "tinyhtml5.inputstream has no characters_until_regex"
    if patch is LEAN_UA_STYLESHEET:
        if not callable(getattr(HTML, "_ua_stylesheets", None)):
            return "weasyprint.HTML has no _ua_stylesheets"
        if isinstance(text := _lean_ua_text(), Exception):
            return f"html5_ua.css is not as expected ({text})"
    return None


# pydyf: page references -------------------------------------------------------------------------

def cache_page_references() -> bool:
    """Make ``pydyf.PDF.page_references`` the cached one when the patch applies, and pydyf's own
    when it does not; return whether the cached one is in place.

    Process-wide, as a property can only be changed on the class: every PDF that pydyf writes
    gets the same references as before, sooner. Cheap enough to call before every PDF.
    """
    wanted = _CACHED_PAGE_REFERENCES if applies(PAGE_REFERENCES) else _UPSTREAM_PAGE_REFERENCES
    if wanted is not None and pydyf.PDF.__dict__.get("page_references") is not wanted:
        pydyf.PDF.page_references = wanted
    return wanted is _CACHED_PAGE_REFERENCES


def _page_references(pdf: pydyf.PDF) -> tuple[bytes, ...]:
    """pydyf's ``PDF.page_references``, rebuilt only when the list of pages has changed.

    pydyf only ever extends ``pages["Kids"]`` (three items a page), so the same list with the
    same length has the same pages; the cache sits in the PDF object and goes with it.
    """
    kids = pdf.pages["Kids"]
    cached = pdf.__dict__.get("_surveyapp_page_references")
    if cached is None or cached[0] is not kids or cached[1] != len(kids):
        references = tuple(f"{number} 0 R".encode("ascii") for number in kids[::3])
        cached = (kids, len(kids), references)
        pdf.__dict__["_surveyapp_page_references"] = cached
    return cached[2]


_CACHED_PAGE_REFERENCES = property(_page_references)


# tinyhtml5: the expressions of chars_until --------------------------------------------------------

def cache_parser_regexes() -> bool:
    """Make ``HTMLUnicodeInputStream.chars_until`` the patched one when the patch applies, and
    tinyhtml5's own when it does not; return whether the patched one is in place. Process-wide
    (a method of the class), and cheap enough to call before every PDF."""
    wanted = _chars_until if applies(PARSER_REGEXES) else _UPSTREAM_CHARS_UNTIL
    stream = inputstream.HTMLUnicodeInputStream
    if wanted is not None and stream.__dict__.get("chars_until") is not wanted:
        stream.chars_until = wanted
    return wanted is _chars_until


def _chars_until(self: Any, characters: Any, opposite: bool = False) -> str:
    """tinyhtml5 2.1's ``chars_until`` with its cache filed under the characters: the stream's
    text up to (not including) the first of ``characters`` (with ``opposite``: the first
    character not among them), or to the end."""
    key = (characters, opposite)
    regex = inputstream.characters_until_regex.get(key)
    if regex is None:
        escaped = "".join(f"\\x{ord(character):02x}" for character in characters)
        regex = re.compile(f"[{escaped}]+" if opposite else f"[^{escaped}]+")
        inputstream.characters_until_regex[key] = regex
    result = []
    while True:
        match = regex.match(self.chunk, self.chunk_offset)
        if match is None:
            if self.chunk_offset != self.chunk_size:
                break  # nothing matched, and not for want of text
        else:
            end = match.end()
            if end != self.chunk_size:  # the match stops inside the chunk: done
                result.append(self.chunk[self.chunk_offset:end])
                self.chunk_offset = end
                break
        result.append(self.chunk[self.chunk_offset:])  # the whole rest matched: read on
        if not self.read_chunk():
            break
    return "".join(result)


# WeasyPrint: the user-agent stylesheet ----------------------------------------------------------

def report_html(**kwargs: Any) -> HTML:
    """``weasyprint.HTML(**kwargs)``, styled by ``lean_ua_stylesheet()`` when that patch
    applies, and by WeasyPrint's own user-agent stylesheet when it does not."""
    return _LeanHTML(**kwargs) if applies(LEAN_UA_STYLESHEET) else HTML(**kwargs)


class _LeanHTML(HTML):
    """HTML styled by ``lean_ua_stylesheet()`` instead of WeasyPrint's html5_ua.css."""

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        if forms:  # reports have no forms: leave the form sheets to WeasyPrint
            return super()._ua_stylesheets(forms)
        return [lean_ua_stylesheet()]


@cache
def lean_ua_stylesheet() -> CSS:
    """WeasyPrint's html5_ua.css without its rules for ``::footnote-call``,
    ``::footnote-marker``, ``::note-call``, ``::note-marker`` and ``::note-callback`` on every
    element, and with ``::marker`` only on ``li`` (a report's only list items).

    Parsed once per process: the matcher WeasyPrint builds for it is read-only while
    rendering, so threads share it. Only called once ``applies(LEAN_UA_STYLESHEET)``.
    """
    text = _lean_ua_text()
    if isinstance(text, Exception):  # applies() has said no: a caller's mistake
        raise RuntimeError("the lean user-agent stylesheet cannot be made") from text
    return CSS(string=text, counter_style=CounterStyle())  # its counter styles: WeasyPrint's own


@cache
def _lean_ua_text() -> str | Exception:
    """The text of ``lean_ua_stylesheet()``, or what went wrong in making it."""
    try:
        text = resources.files("weasyprint.css").joinpath("html5_ua.css").read_text("utf-8")
    except (OSError, ModuleNotFoundError) as error:
        return error
    text, markers = _MARKER_RULE.subn("li::marker ", text)
    text, notes = _NOTE_RULES.subn("", text)
    if (markers, notes) != (_MARKER_RULES_EXPECTED, _NOTE_RULES_EXPECTED):
        return ValueError(f"found {markers} ::marker and {notes} footnote and note rules, "
                          f"not {_MARKER_RULES_EXPECTED} and {_NOTE_RULES_EXPECTED}")
    return text


def _dotted(numbers: tuple[int, ...]) -> str:
    return ".".join(map(str, numbers))
