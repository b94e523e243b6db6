"""The leaders' PDF: figures checked by hand against the ``closed_round`` fixture (conftest.py).

Customer Care (6 people at 4) with North (5 at 5): index (6*4 + 5*5) / 11 = 4.45; every answer
is 4 or 5, so 100% favourable. Each statement has 11 answers, 4 (x6) and 5 (x5): s = 0.522,
se = 0.157; so does each capability (the answer-weighted mean of its statements' standard
errors) and the index (the mean of the capabilities'). With t(10) = 2.228 (the fewest answers to
a statement, less one) the 95% interval is 4.45 ± 0.35 = 4.10 to 4.81.
"""

import io
import logging
import re
from dataclasses import replace
from datetime import timedelta

import pdfplumber
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from surveyapp.analysis.confidentiality import ORGANISATION
from surveyapp.analysis.report import tally_by_team
from surveyapp.clock import today
from surveyapp.instrument import load_default
from surveyapp.models import Invitation, Person, Round, Team
from surveyapp.reports.export import csv_rows, to_csv
from surveyapp.reports.pdf import css_string, pdf_inputs, render_pdf, scoring_rules
from surveyapp.reports.queries import load_context, load_responses
from surveyapp.rounds.operations import close_round, create_round, launch_round
from surveyapp.survey.storage import save_draft, submit_response

# slow: renders PDFs, left to the full run by scripts/test --quick.
pytestmark = pytest.mark.slow


CAPABILITIES = [c.name for c in load_default().capabilities]


#: Rendered PDFs by everything they are made from, so that tests reading the same report
#: (read from the database each time) share one rendering. The ideas count in any order: their
#: order comes from random response ids, and no test here depends on it.
_rendered: dict[str, bytes] = {}


def make_pdf(db, round_id, team_id):
    round_ = db.session.get(Round, round_id)
    inputs = pdf_inputs(round_, team_id, "Northwind Services")
    ideas = [sorted(i.texts) for i in inputs.report.ideas or ()]
    key = repr((replace(inputs.report, ideas=None), ideas, inputs.aggregates, today()))
    if key not in _rendered:
        _rendered[key] = render_pdf(inputs.report, inputs.aggregates)
    return _rendered[key]


def pages_text(pdf):
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def squash(text):
    """Text without whitespace: extraction does not always put a space between two blocks."""
    return re.sub(r"\s+", "", text)


@pytest.fixture
def care_pdf(db, closed_round):
    return make_pdf(db, closed_round.round_id, closed_round.teams["Customer Care"])


def test_pdf_shows_the_hand_computed_figures(care_pdf):
    text = squash("\n".join(pages_text(care_pdf)))
    assert squash("4.45 out of 5 Service Capability Index") in text
    assert squash("95% interval 4.10 to 4.81") in text
    assert squash("11 people responded") in text
    assert squash("100% response rate") in text
    # A capability pools its four statements' answers: 11 people, 44 answers
    assert squash("44 answers to its 4 statements") in text
    assert "alpha" not in text and "people with a score" not in text


def test_each_capability_starts_its_own_page(care_pdf):
    pages = pages_text(care_pdf)
    starts = []
    for number, name in enumerate(CAPABILITIES, start=1):
        found = [i for i, text in enumerate(pages) if f"CAPABILITY {number} OF 7\n{name}\n" in text]
        assert len(found) == 1, name
        starts.append(found[0])
    assert starts == list(range(starts[0], starts[0] + 7))


def test_every_page_has_the_footer_and_page_n_of_m(care_pdf):
    pages = pages_text(care_pdf)
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        assert "Aggregated results — confidential" in text


def test_pages_after_the_cover_have_the_running_header_in_the_top_margin(care_pdf):
    header = "Northwind Services · Customer Care · Spring 2026"
    top_margin = 20 / 25.4 * 72  # 20 mm in points
    with pdfplumber.open(io.BytesIO(care_pdf)) as doc:
        tops = [page.crop((0, 0, page.width, top_margin)).extract_text() for page in doc.pages]
    assert tops[0] == ""
    assert tops[1:] == [header] * (len(tops) - 1)


def test_the_strongest_and_weakest_statements_are_at_a_glance(db, closed_round):
    pdf = make_pdf(db, closed_round.round_id, closed_round.teams["Sales"])
    glance = pages_text(pdf)[1]
    assert "At a glance" in glance
    assert "Three strongest statements" in glance and "Three weakest statements" in glance
    assert "No earlier round to compare" in glance


def test_ideas_are_shown_masked(care_pdf):
    text = "\n".join(pages_text(care_pdf))
    assert "Fewer hand-offs between teams." in text
    assert "Call me on [phone number removed]." in text
    assert "07700" not in text


def test_ideas_stay_hidden_below_the_comment_minimum_while_scores_show(db, closed_round):
    db.session.get(Round, closed_round.round_id).min_comment_group_size = 12
    db.session.commit()
    text = "\n".join(pages_text(make_pdf(db, closed_round.round_id,
                                          closed_round.teams["Customer Care"])))
    assert "4.45" in text
    assert "Improvement ideas are shown only for groups of at least 12 people" in text
    assert "Fewer hand-offs between teams." not in text


def test_a_hidden_team_gets_a_cover_and_an_explanation_without_any_figure(db, closed_round):
    pdf = make_pdf(db, closed_round.round_id, closed_round.teams["Field Service"])
    pages = pages_text(pdf)
    text = "\n".join(pages)
    assert len(pages) == 1
    assert "Results for Field Service are not shown" in text
    assert not re.search(r"\d\.\d", text)  # no mean or interval
    assert "%" not in text and "responded" not in text
    assert "Better vans." not in text  # the hidden team's idea


def test_heatmap_numbers_visible_teams_and_hatches_hidden_ones(db, closed_round):
    pdf = make_pdf(db, closed_round.round_id, closed_round.teams["Operations"])
    text = "\n".join(pages_text(pdf))
    # Care 4.45 -> 4.5 in each of the 7 capability cells and the index cell
    row = re.search(r"Customer Care 11 ((?:\d\.\d ?){8})", text)
    assert row and row.group(1).split() == ["4.5"] * 8
    assert text.count("Hidden: too few responses to show without revealing anyone") == 2


def test_attached_csv_equals_the_aggregates_export(db, closed_round):
    team_id = closed_round.teams["Operations"]
    pdf = make_pdf(db, closed_round.round_id, team_id)
    round_ = db.session.get(Round, closed_round.round_id)
    ctx = load_context(round_)
    # From the answers themselves, not the tallies stored when the round closed.
    from_answers = tally_by_team(ctx.info.instrument, load_responses(round_.id))
    expected = to_csv(csv_rows(ctx, team_id, from_answers, "Northwind Services", notice=""))
    (attached,) = PdfReader(io.BytesIO(pdf)).attachments["aggregates.csv"]
    assert attached.decode("utf-8") == expected
    assert "Operations/Field Service,Bounce back,,,,,,,\n" in expected  # hidden: figures empty


def test_pdf_is_tagged_with_a_title_and_a_language(care_pdf):
    reader = PdfReader(io.BytesIO(care_pdf))
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root
    assert root["/MarkInfo"]["/Marked"].value is True
    assert root["/Lang"] == "en-GB"
    assert reader.metadata.title == "Customer Care: service capability report, Spring 2026"
    assert root["/ViewerPreferences"]["/DisplayDocTitle"].value is True


def test_every_font_is_dejavu_sans_and_embedded(care_pdf):
    fonts = {}
    for page in PdfReader(io.BytesIO(care_pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            fonts[str(font["/BaseFont"])] = "/FontFile2" in descriptor
    assert fonts
    assert all(re.fullmatch(r"/[A-Z]{6}\+DejaVu-Sans(-Bold)?", name) for name in fonts), fonts
    assert all(fonts.values())


def test_rendering_logs_no_warning(db, closed_round, caplog):
    inputs = pdf_inputs(db.session.get(Round, closed_round.round_id),
                        closed_round.teams["Operations"], "Northwind Services")
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        render_pdf(inputs.report, inputs.aggregates)
    assert not caplog.records, [r.getMessage() for r in caplog.records]


def test_the_organisation_report_covers_every_team(db, closed_round):
    pdf = make_pdf(db, closed_round.round_id, ORGANISATION)
    pages = pages_text(pdf)
    assert "Northwind Services · Whole organisation · Spring 2026" in pages[1]
    assert "Teams in the organisation" in "\n".join(pages)


def test_the_download_route_serves_the_tagged_pdf_with_its_csv(client, hr, closed_round):
    response = client.get(f"/reports/{closed_round.round_id}/{closed_round.teams['Sales']}/report.pdf")
    assert response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    assert "aggregates.csv" in reader.attachments
    assert "/StructTreeRoot" in reader.trailer["/Root"]


# --- A large team: 30 sub-teams on a long heatmap ----------------------------------------------


def make_big_round(db, sizes):
    """A closed round for "Network" with one sub-team per size; sub-team i answers 1 + i % 5."""
    network = Team(name="Network")
    teams = [Team(name=f"Branch {i:02d}", parent=network) for i in range(1, len(sizes) + 1)]
    db.session.add_all([network, *teams])
    for team, size in zip(teams, sizes, strict=True):
        db.session.add_all(Person(email=f"{team.name.replace(' ', '').lower()}.{n}@example.test",
                                  name=f"{team.name} {n}", team=team) for n in range(size))
    db.session.commit()
    now = today()
    round_ = create_round(name="Big round", teams=[network], opens_on=now,
                          closes_on=now + timedelta(days=14), today=now)
    launch_round(round_, today=now)
    value = {team.id: 1 + i % 5 for i, team in enumerate(teams, start=1)}
    keys = load_default().statement_keys
    for invitation in db.session.scalars(select(Invitation).where(Invitation.round_id == round_.id)):
        save_draft(invitation, dict.fromkeys(keys, value[invitation.team_id]), {})
        submit_response(invitation)
    close_round(round_)
    db.session.commit()
    return round_.id, network.id


def test_a_long_heatmap_continues_with_its_header_and_never_splits_a_row(db):
    round_id, network_id = make_big_round(db, [5] * 30)
    pdf = make_pdf(db, round_id, network_id)
    rows_seen, header_pages = [], 0
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        for page in doc.pages:
            words = page.extract_words()
            labels = [w for w in words if w["text"] == "Branch"]
            if not labels:
                continue
            header_pages += any(w["text"] == "Responses" for w in words)
            for label in labels:
                line = [w["text"] for w in words if abs(w["top"] - label["top"]) < 3]
                numbers = [t for t in line if re.fullmatch(r"\d\.\d", t)]
                rows_seen.append(line[1])
                assert len(numbers) == 8, line  # 7 capabilities and the index, on one line
    assert rows_seen == [f"{i:02d}" for i in range(1, 31)]
    assert header_pages >= 2


def test_a_team_of_40_in_30_sub_teams_lists_the_hidden_sub_teams_without_figures(db):
    round_id, network_id = make_big_round(db, [2] * 10 + [1] * 20)
    text = "\n".join(pages_text(make_pdf(db, round_id, network_id)))
    assert squash("40 people responded") in squash(text)
    assert "None of the 30 teams below Network can be shown on its own" in text
    assert "Branch 30" in text


# --- Pure helpers -----------------------------------------------------------------------------


def test_css_string_escapes_what_could_end_the_string_or_the_style_element():
    assert css_string('A "B" \\ </style>') == '"A \\22 B\\22  \\5c  \\3c /style\\3e "'


def test_scoring_rules_are_the_ones_stated_in_the_scores_module():
    rules = scoring_rules()
    assert len(rules) == 5  # the list only, not the definitions after it
    assert rules[0] == ("A statement's mean, its shares and the 95% interval of its mean use "
                        "every answer to it.")
    assert rules[1].startswith("A capability's scores pool every answer to its statements")
    assert "4–5 / 3 / 1–2" in rules[2]
    assert rules[4].startswith("The Service Capability Index is the mean of the seven")
    assert not any("alpha" in rule or "SE_c" in rule for rule in rules)


def test_a_large_group_lists_a_random_sample_of_its_ideas_and_says_so(db, closed_round,
                                                                       monkeypatch):
    monkeypatch.setattr("surveyapp.reports.pdf.IDEAS_LISTED", 1)
    inputs = pdf_inputs(db.session.get(Round, closed_round.round_id),
                        closed_round.teams["Customer Care"], "Northwind Services")
    first = inputs.report.ideas[0]
    assert len(first.texts) >= 2
    text = squash("\n".join(pages_text(render_pdf(inputs.report, inputs.aggregates))))
    assert squash(f"These are 1 of the {len(first.texts)} answers, chosen at random. "
                  "The dashboard lists every one.") in text
    assert squash(first.texts[0]) in text
    unlisted = set(first.texts) - {first.texts[0]}
    assert unlisted and all(squash(idea) not in text for idea in unlisted)
