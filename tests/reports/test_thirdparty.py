"""surveyapp/thirdparty.py: each patch of a library's internals gives the same PDF as the library
unpatched, applies to the pinned releases, and is left out, with one warning, for any other.

"Unpatched" is the patch's own fallback (the installed release pretended to be outside the
patch's range), which is the library exactly as upstream wrote it: the tests check that too.
"""

import io
import logging
import re
import tomllib
from pathlib import Path

import pydyf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from tinyhtml5.inputstream import HTMLUnicodeInputStream, characters_until_regex
from weasyprint import HTML

from surveyapp import thirdparty
from surveyapp.analysis.confidentiality import ORGANISATION
from surveyapp.models import Round
from surveyapp.reports.pdf import pdf_inputs, render_pdf
from surveyapp.thirdparty import LEAN_UA_STYLESHEET, PAGE_REFERENCES, PARSER_REGEXES, PATCHES

# slow: renders PDFs, left to the full run by scripts/test --quick.
pytestmark = pytest.mark.slow


PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"
#: Releases just outside each patch's range.
UNSUPPORTED = {"pydyf": "0.14.0", "weasyprint": "71.0", "tinyhtml5": "2.2.0"}
#: The attachment's dates: the second it was rendered in (same length, so the offsets hold).
DATES = re.compile(rb"/(CreationDate|ModDate) \(D:\d{14}Z\)")


@pytest.fixture
def installed():
    """``installed[distribution] = version`` makes thirdparty see that release installed; every
    patch is decided again, and put back as the real releases want it afterwards."""
    versions: dict[str, str | None] = {}
    real = thirdparty.installed_version
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(thirdparty, "installed_version", lambda d: versions.get(d, real(d)))
        thirdparty.forget()
        yield versions
    thirdparty.forget()
    thirdparty.cache_page_references()
    thirdparty.cache_parser_regexes()


def render(db, closed_round, group: str) -> bytes:
    """The PDF of ``group`` (a team's name, or ORGANISATION), read and rendered now."""
    group_id = ORGANISATION if group == ORGANISATION else closed_round.teams[group]
    inputs = pdf_inputs(db.session.get(Round, closed_round.round_id), group_id, "Northwind Services")
    return render_pdf(inputs.report, inputs.aggregates, inputs.exports)


def assert_same_pdf(patched: bytes, unpatched: bytes) -> None:
    """Same pages, the same text on each, the same drawing on each; then the same bytes."""
    a, b = PdfReader(io.BytesIO(patched)), PdfReader(io.BytesIO(unpatched))
    assert len(a.pages) == len(b.pages) > 1
    for number, (page, other) in enumerate(zip(a.pages, b.pages, strict=True), start=1):
        assert page.extract_text() == other.extract_text(), f"text of page {number}"
        assert page.get_contents().get_data() == other.get_contents().get_data(), \
            f"content stream of page {number}"
    # Everything else too: the structure tree, the attachment, the fonts, the metadata.
    assert DATES.sub(b"", patched) == DATES.sub(b"", unpatched)


def fall_back(installed, patch) -> None:
    installed[patch.distribution] = UNSUPPORTED[patch.distribution]


# --- The installed releases: both patches apply, silently --------------------------------------


def test_every_patch_applies_to_the_installed_releases(db, closed_round, installed, caplog):
    with caplog.at_level(logging.WARNING, logger="surveyapp.thirdparty"):
        render(db, closed_round, "Sales")
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    assert all(thirdparty.applies(patch) for patch in PATCHES)
    assert pydyf.PDF.__dict__["page_references"] is thirdparty._CACHED_PAGE_REFERENCES
    assert type(thirdparty.report_html(string="<p>x")) is thirdparty._LeanHTML
    assert HTMLUnicodeInputStream.__dict__["chars_until"] is thirdparty._chars_until


def test_pyproject_pins_each_patched_library_to_the_patch_releases():
    """A new release needs the patch checked again (these tests) before the pin moves."""
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pins = {d.split(">")[0].split("<")[0].strip().lower(): d.replace(" ", "").lower()
            for d in dependencies}
    for patch in PATCHES:
        assert pins.get(patch.distribution) == patch.releases, patch.name


# --- Each patch gives the same PDF as the library without it -----------------------------------


@pytest.mark.parametrize("group", ["Customer Care", ORGANISATION])
def test_cached_page_references_give_the_same_pdf(db, closed_round, installed, group):
    patched = render(db, closed_round, group)
    fall_back(installed, PAGE_REFERENCES)
    thirdparty.forget()
    unpatched = render(db, closed_round, group)
    assert pydyf.PDF.__dict__["page_references"] is thirdparty._UPSTREAM_PAGE_REFERENCES
    assert_same_pdf(patched, unpatched)


@pytest.mark.parametrize("group", ["Customer Care", ORGANISATION])
def test_the_lean_user_agent_stylesheet_gives_the_same_pdf(db, closed_round, installed, group):
    patched = render(db, closed_round, group)
    fall_back(installed, LEAN_UA_STYLESHEET)
    thirdparty.forget()
    assert type(thirdparty.report_html(string="<p>x")) is HTML
    unpatched = render(db, closed_round, group)
    assert_same_pdf(patched, unpatched)


@pytest.mark.parametrize("group", ["Customer Care", ORGANISATION])
def test_cached_parser_expressions_give_the_same_pdf(db, closed_round, installed, group):
    patched = render(db, closed_round, group)
    fall_back(installed, PARSER_REGEXES)
    thirdparty.forget()
    unpatched = render(db, closed_round, group)
    assert HTMLUnicodeInputStream.__dict__["chars_until"] is thirdparty._UPSTREAM_CHARS_UNTIL
    assert_same_pdf(patched, unpatched)


@given(st.text(alphabet=st.sampled_from("ab<&'\"=- \t\n\x00é>/!"), max_size=300))
@settings(max_examples=300, deadline=None)
def test_the_patched_parser_scans_text_as_tinyhtml5_does(text):
    """Every call tinyhtml5's tokenizer makes, on any text: the same result, the same stream
    position after it."""
    for characters, opposite in [(("&", "<", "\x00"), False), (("<", "\x00"), False),
                                 (("'", "&", "\x00"), False), (("-", "\x00"), False),
                                 (frozenset("\t\n\x0c \r"), True), (frozenset("ab"), True)]:
        ours, theirs = HTMLUnicodeInputStream(text), HTMLUnicodeInputStream(text)
        for _ in range(3):  # from the start, then from where each scan stopped
            assert thirdparty._chars_until(ours, characters, opposite) == \
                thirdparty._UPSTREAM_CHARS_UNTIL(theirs, characters, opposite)
            assert ours.character() == theirs.character()


def test_the_patched_parser_builds_each_expression_once(installed):
    assert thirdparty.cache_parser_regexes()
    stream = HTMLUnicodeInputStream("<p>one &amp; two</p>")
    stream.chars_until(("&", "<", "\x00"))
    found = characters_until_regex[(("&", "<", "\x00"), False)]
    HTMLUnicodeInputStream("x & y").chars_until(("&", "<", "\x00"))
    assert characters_until_regex[(("&", "<", "\x00"), False)] is found


def test_cached_page_references_are_pydyfs_as_pages_are_added(installed):
    pdf = pydyf.PDF()
    assert thirdparty.cache_page_references()
    upstream = thirdparty._UPSTREAM_PAGE_REFERENCES.fget
    for _ in range(3):
        pdf.add_page(pydyf.Dictionary({"Type": "/Page"}))
        assert pdf.page_references == upstream(pdf)
    assert pdf.page_references is pdf.page_references  # built once, not on every read
    assert len(pdf.page_references) == 3


# --- Outside the range, or with the internal changed: upstream's behaviour, one warning ---------


def test_unsupported_releases_fall_back_with_one_warning_each_and_the_same_pdf(
        db, closed_round, installed, caplog):
    patched = render(db, closed_round, "Customer Care")
    for patch in PATCHES:
        fall_back(installed, patch)
    thirdparty.forget()
    with caplog.at_level(logging.WARNING, logger="surveyapp.thirdparty"):
        first = render(db, closed_round, "Customer Care")
        second = render(db, closed_round, "Customer Care")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3, messages
    assert any("pydyf 0.14.0 is installed; the patch is for pydyf>=0.13,<0.14" in m
               for m in messages), messages
    assert any("weasyprint 71.0 is installed; the patch is for weasyprint>=70,<71" in m
               for m in messages), messages
    assert any("tinyhtml5 2.2.0 is installed; the patch is for tinyhtml5>=2.1,<2.2" in m
               for m in messages), messages
    assert not thirdparty.cache_page_references() and not thirdparty.cache_parser_regexes()
    assert_same_pdf(patched, first)
    assert_same_pdf(first, second)


def test_a_changed_user_agent_stylesheet_falls_back(db, closed_round, installed, caplog,
                                                    monkeypatch):
    patched = render(db, closed_round, "Sales")
    monkeypatch.setattr(thirdparty, "_NOTE_RULES_EXPECTED", 6)  # as if one more were there
    thirdparty.forget()
    with caplog.at_level(logging.WARNING, logger="surveyapp.thirdparty"):
        unpatched = render(db, closed_round, "Sales")
    assert "html5_ua.css is not as expected" in caplog.text
    assert not thirdparty.applies(LEAN_UA_STYLESHEET)
    assert_same_pdf(patched, unpatched)


def test_a_library_not_installed_as_a_distribution_falls_back(installed):
    installed["pydyf"] = None
    assert thirdparty.out_of_range(PAGE_REFERENCES) == "pydyf is not installed as a distribution"
    assert not thirdparty.cache_page_references()
    assert pydyf.PDF.__dict__["page_references"] is thirdparty._UPSTREAM_PAGE_REFERENCES


@pytest.mark.parametrize(("version", "supported"), [
    ("70.0", True), ("70", True), ("70.0.1", True), ("70.1.dev0", True),
    ("69.9", False), ("71.0b1", False), ("71.0", False), ("170.0", False),
])
def test_the_range_compares_release_numbers(installed, version, supported):
    installed["weasyprint"] = version
    assert (thirdparty.out_of_range(LEAN_UA_STYLESHEET) is None) is supported


def test_release_reads_the_leading_numbers():
    assert thirdparty.release("0.13.0") == (0, 13, 0)
    assert thirdparty.release("0.13.0.post1") == (0, 13, 0)
    assert thirdparty.release("71.0rc2") == (71, 0)
    assert thirdparty.release("abc") == ()
