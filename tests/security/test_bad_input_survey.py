"""Bad input on the employee's survey (/s/<token>/step/<n>, /review, /submit).

Whatever a tampered or broken client posts, the survey answers with a page that says what is
wrong (4xx), never a 500, and stores a step's answers whole or not at all: a refused post leaves
the draft exactly as it was. Text is stored as typed and shown escaped, in the pages and in the
leaders' PDF.

Hypothesis drives the posts (modest example counts, so that each database takes seconds); the
tables cover the URL shapes and the submit.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from pypdf import PdfReader
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from surveyapp.clock import today
from surveyapp.instrument import COMMENT_MAX_LENGTH, load_default
from surveyapp.models import (
    Answer,
    Comment,
    Draft,
    Invitation,
    Participation,
    Response,
    Role,
)
from surveyapp.rounds.operations import close_round, create_round, launch_round
from surveyapp.rounds.tokens import token_for

from ..profiles import examples
from ..sealed import drafts, pending_responses
from ..survey import conftest as survey_fixtures

# slow: attacks and fuzzing, left to the full run by scripts/test --quick.
pytestmark = [pytest.mark.both_databases, pytest.mark.slow]


#: The survey tests' open round (Care: 3 people, North: 4), as a fixture of this module too.
open_round = survey_fixtures.open_round
INSTRUMENT = load_default()
STATEMENTS = list(INSTRUMENT.statement_keys)
QUESTIONS = [q.key for q in INSTRUMENT.questions]
STEPS = len(INSTRUMENT.capabilities) + (1 if QUESTIONS else 0)
SCALE = [str(v) for v in INSTRUMENT.scale_values]
REFUSED = "could not be read"

#: Each property runs this many examples per database; enough to find the classic mistakes
#: (the first runs found the ones fixed in surveyapp/), small enough to keep the file quick.
EXAMPLES = examples(60)
fuzz = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

#: Text a person could type or paste: any printable character, HTML, script, right-to-left,
#: emoji, combining marks, zero-width joiners, line breaks.
typed_text = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=300),
    st.sampled_from([
        "<script>alert('x')</script>", "<img src=x onerror=alert(1)>", "\"'><svg/onload=alert(1)>",
        "{{ 7*7 }} {% raw %}", "&amp; &lt; &#x3C;", "Ünïcödé ✓ 日本語 עברית مرحبا 👩🏽‍💻",
        "line one\r\nline two\nline three", "\u202egnp.exe", "Robert'); DROP TABLE response;--",
    ]),
)
#: Values that are not a point on the scale (1..5) but look like input a client might send.
off_scale = st.one_of(
    st.integers().filter(lambda n: not 1 <= n <= 5).map(str),
    st.sampled_from(["0", "6", "-1", "4.5", "1e1", "five", "3 3", "0x3", "٣٣", "99999999999999999999",
                     "\x00", "3\x00", "NaN", "inf", "[]", "{}", "None", "true"]),
    st.text(min_size=1, max_size=20).filter(lambda s: s.strip() not in SCALE and s.strip() != ""),
)
junk_names = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["s:", "q:", "s:nope", "q:nope", "s:awareness", "S:" + STATEMENTS[0],
                     "s: " + STATEMENTS[0], "csrf_token", "action", "x" * 5000]),
)


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def draft_state(db) -> list[tuple]:
    """Every draft as plain values, read fresh (the request's session may have cached them)."""
    db.session.rollback()
    db.session.expire_all()
    return sorted((d["invitation_id"], d["step"], sorted(d["answers"].items()),
                   sorted(d["comments"].items())) for d in drafts())


def stored_rows(db) -> tuple[int, int, int, int]:
    """(responses, answers, comments, participations) submitted: sealed until the round
    closes, so none is readable yet."""
    db.session.rollback()
    assert count(db, Response) == count(db, Answer) == count(db, Comment) == 0
    pending = pending_responses()
    return (len(pending), sum(len(p["answers"]) for p in pending),
            sum(len(p["comments"]) for p in pending), count(db, Participation))


def stored_comments(db) -> list[str]:
    return [text for p in pending_responses() for text in p["comments"].values()]


def body(response) -> str:
    return response.get_data(as_text=True)


def post(client, token: str, number: int, fields: list[tuple[str, str]], *, autosave=False,
         headers=None):
    extra = {"X-Autosave": "1"} if autosave else {}
    return client.post(f"/s/{token}/step/{number}", data=MultiDict(fields),
                       headers={**extra, **(headers or {})})


# --- posts a form of ours could send: always saved, exactly ------------------------------------


@fuzz
@given(
    answers=st.dictionaries(st.sampled_from(STATEMENTS), st.sampled_from([*SCALE, ""]), max_size=10),
    comments=st.dictionaries(st.sampled_from(QUESTIONS), typed_text, max_size=2),
    junk=st.lists(st.tuples(junk_names, st.text(max_size=50)), max_size=5),
    number=st.integers(1, STEPS),
    action=st.sampled_from(["next", "back", "review", "", "jump", "<b>"]),
    autosave=st.booleans(),
)
def test_well_formed_answers_are_saved_exactly_with_unknown_fields_ignored(
        client, db, open_round, answers, comments, junk, number, action, autosave):
    before = draft_state(db)
    saved_answers = dict(before[0][2]) if before else {}
    saved_comments = dict(before[0][3]) if before else {}
    junk = [(name, value) for name, value in junk
            if name.partition(":")[0] not in ("s", "q") and name != "action"]
    fields = [*[(f"s:{k}", v) for k, v in answers.items()],
              *[(f"q:{k}", v) for k, v in comments.items()], *junk, ("action", action)]

    response = post(client, open_round.token, number, fields, autosave=autosave)

    assert response.status_code == (204 if autosave else 302), body(response)[:500]
    after = draft_state(db)
    assert len(after) == 1
    expected_answers = {**saved_answers, **{k: int(v) for k, v in answers.items() if v}}
    typed = {k: v.replace("\r\n", "\n").strip() for k, v in comments.items()}
    expected_comments = {k: v for k, v in {**saved_comments, **typed}.items() if v}
    assert dict(after[0][2]) == expected_answers
    assert dict(after[0][3]) == expected_comments


# --- posts no form of ours could send: refused whole, with a page that says so ---------------


def _with_one_bad_field(draw) -> tuple[list[tuple[str, str]], str]:
    """(fields with good answers and one bad field, what is wrong), bad field at any position."""
    good = draw(st.dictionaries(st.sampled_from(STATEMENTS), st.sampled_from(SCALE), max_size=6))
    fields = [(f"s:{k}", v) for k, v in good.items()]
    kind = draw(st.sampled_from(["off_scale", "duplicate", "duplicate_comment", "long_comment"]))
    if kind == "off_scale":
        bad = [(f"s:{draw(st.sampled_from(STATEMENTS))}", draw(off_scale))]
    elif kind == "duplicate":
        key = draw(st.sampled_from(STATEMENTS))
        first, second = draw(st.lists(st.sampled_from(SCALE), min_size=2, max_size=2, unique=True))
        bad = [(f"s:{key}", first), (f"s:{key}", second)]
    elif kind == "duplicate_comment":
        key = draw(st.sampled_from(QUESTIONS))
        bad = [(f"q:{key}", draw(typed_text)), (f"q:{key}", draw(typed_text))]
    else:
        extra = draw(st.integers(1, 3000))
        bad = [(f"q:{draw(st.sampled_from(QUESTIONS))}", "é" * (COMMENT_MAX_LENGTH + extra))]
    position = draw(st.integers(0, len(fields)))
    return fields[:position] + bad + fields[position:], kind


@st.composite
def tampered_posts(draw):
    return _with_one_bad_field(draw)


@fuzz
@given(post_=tampered_posts(), number=st.integers(1, STEPS), autosave=st.booleans())
def test_a_post_with_any_bad_field_is_refused_with_a_message_and_saves_nothing(
        client, db, open_round, post_, number, autosave):
    fields, _kind = post_
    # Something saved before, which the refused post must leave as it is.
    post(client, open_round.token, 1, [(f"s:{STATEMENTS[0]}", "2"), ("q:improve", "Kept.")])
    before = draft_state(db)

    response = post(client, open_round.token, number, fields, autosave=autosave)

    assert response.status_code == 400, body(response)[:500]
    assert REFUSED in body(response)
    assert "Your earlier answers are saved" in body(response)
    assert draft_state(db) == before


@pytest.mark.parametrize(("name", "value"), [
    ("s:" + STATEMENTS[0], "0"), ("s:" + STATEMENTS[0], "6"), ("s:" + STATEMENTS[0], "-3"),
    ("s:" + STATEMENTS[0], "99999999999999999999"), ("s:" + STATEMENTS[0], "2.0"),
    ("s:" + STATEMENTS[0], "three"), ("s:" + STATEMENTS[0], "<script>alert(1)</script>"),
    ("q:improve", "x" * (COMMENT_MAX_LENGTH + 1)),
])
def test_the_refusal_names_the_problem_without_echoing_markup(client, db, open_round, name, value):
    response = post(client, open_round.token, 1, [(name, value)])
    assert response.status_code == 400
    page = body(response)
    assert "<script>alert(1)</script>" not in page
    assert re.search(r"not a point on the scale|at most 2000 characters", page)
    assert count(db, Draft) == 0


def test_nul_characters_are_dropped_from_comments_and_ignored_elsewhere(client, db, open_round):
    """PostgreSQL cannot store NUL in text: it must never reach a draft or a response."""
    fields = [("junk\x00", "1"), ("q:obstacles", "\x00"), ("action", "next\x00"),
              (f"s:{STATEMENTS[0]}", "3"), ("q:improve", "\x00Fewer\x00 hand-offs\x00")]
    assert post(client, open_round.token, STEPS, fields).status_code == 302
    assert draft_state(db)[0][2:] == ([(STATEMENTS[0], 3)], [("improve", "Fewer hand-offs")])
    assert client.post(f"/s/{open_round.token}/submit").status_code == 302
    assert stored_rows(db) == (1, 1, 1, 1)
    assert stored_comments(db) == ["Fewer hand-offs"]


def test_a_comment_of_exactly_the_limit_is_kept_whole(client, db, open_round):
    text = "ü" * COMMENT_MAX_LENGTH
    assert post(client, open_round.token, STEPS, [("q:improve", text)]).status_code == 302
    assert draft_state(db)[0][3] == [("improve", text)]


def test_a_huge_form_is_refused_not_a_crash(client, db, open_round):
    response = post(client, open_round.token, 1, [("q:improve", "x" * 600_000)])
    assert response.status_code in (400, 413)
    assert "too large" in body(response) or REFUSED in body(response)
    huge = client.post(f"/s/{open_round.token}/step/1", data=b"q%3Aimprove=" + b"x" * 17_000_000,
                       content_type="application/x-www-form-urlencoded")
    assert huge.status_code == 413 and "too large" in body(huge)
    assert count(db, Draft) == 0
    many = [(f"junk{i}", "1") for i in range(5000)] + [(f"s:{STATEMENTS[0]}", "4")]
    assert post(client, open_round.token, 1, many).status_code == 302
    assert draft_state(db)[0][2] == [(STATEMENTS[0], 4)]


@pytest.mark.parametrize("content_type", [
    "application/json", "text/plain", "multipart/form-data; boundary=nothing",
    "multipart/form-data", "application/x-www-form-urlencoded; charset=utf-16",
])
def test_a_body_in_another_format_saves_nothing_and_does_not_crash(client, db, open_round,
                                                                   content_type):
    payload = b'{"s:awareness.impact": "4"}\xff\xfe\x00'
    response = client.post(f"/s/{open_round.token}/step/1", data=payload,
                           content_type=content_type)
    assert response.status_code in (302, 400)
    assert count(db, Draft) <= 1
    assert all(not answers for _i, _s, answers, _c in draft_state(db))


def test_invalid_utf8_in_a_comment_is_replaced_not_a_crash(client, db, open_round):
    payload = b"q%3Aimprove=caf%E9+%FF%FEend&s%3Aawareness.impact=4"
    response = client.post(f"/s/{open_round.token}/step/1", data=payload,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 302
    [(_id, _step, answers, comments)] = draft_state(db)
    assert answers == [("awareness.impact", 4)]
    assert comments[0][1].startswith("caf") and comments[0][1].endswith("end")


# --- the URLs: odd steps, tokens and methods --------------------------------------------------


@pytest.mark.parametrize("step", ["0", "9", "-1", "99999999999999999999", "abc", "1.5", "%00",
                                  "1%20", "+1", "0x1", "2147483648"])
def test_a_step_that_does_not_exist_is_not_found(client, db, open_round, step):
    for method in (client.get, client.post):
        response = method(f"/s/{open_round.token}/step/{step}", data={f"s:{STATEMENTS[0]}": "3"})
        assert response.status_code == 404, (method, step)
    assert count(db, Draft) == 0


@fuzz
@given(token=st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/"),
                           max_size=80)
       .filter(lambda t: t not in ("", ".", "..")))
def test_any_wrong_token_gets_the_link_does_not_work_page(client, db, open_round, token):
    path = quote(token, safe="")
    for method, suffix in (("GET", ""), ("GET", "/step/1"), ("POST", "/step/1"), ("GET", "/review"),
                           ("POST", "/submit"), ("GET", "/thanks")):
        response = client.open(f"/s/{path}{suffix}", method=method, data={"q:improve": "x"})
        assert response.status_code == 404, (method, suffix, response.status_code)
    assert stored_rows(db) == (0, 0, 0, 0)
    assert count(db, Draft) == 0


@fuzz
@given(origin=st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=60),
    st.sampled_from(["http://[", "http://[::1", "https://localhost:99999", "http://a:b:c",
                     "null", "file://", "http://localhost:80", "//localhost", "http://LOCALHOST",
                     "http://localhost.", "http://localhost@evil.example", "http://%00"]),
))
def test_any_origin_header_is_accepted_or_refused_never_a_crash(client, db, open_round, origin):
    response = post(client, open_round.token, 1, [(f"s:{STATEMENTS[0]}", "3")],
                    headers={"Origin": origin})
    assert response.status_code in (302, 403), (origin, response.status_code)
    if response.status_code == 403:
        assert "do not have access" in body(response)


def test_an_origin_of_this_site_is_accepted_and_another_refused(client, db, open_round):
    ok = post(client, open_round.token, 1, [(f"s:{STATEMENTS[0]}", "3")],
              headers={"Origin": "http://localhost"})
    evil = post(client, open_round.token, 1, [(f"s:{STATEMENTS[0]}", "1")],
                headers={"Origin": "http://localhost.evil.example"})
    broken = post(client, open_round.token, 1, [(f"s:{STATEMENTS[0]}", "1")],
                  headers={"Origin": "http://["})
    assert (ok.status_code, evil.status_code, broken.status_code) == (302, 403, 403)
    assert draft_state(db)[0][2] == [(STATEMENTS[0], 3)]


@pytest.mark.parametrize(("method", "suffix"), [
    ("PUT", "/step/1"), ("DELETE", "/step/1"), ("PATCH", "/submit"), ("GET", "/submit"),
    ("POST", "/review"), ("POST", "/thanks"), ("POST", ""),
])
def test_other_methods_are_not_allowed(client, db, open_round, method, suffix):
    response = client.open(f"/s/{open_round.token}{suffix}", method=method)
    assert response.status_code == 405
    assert "not allowed" in body(response)
    assert stored_rows(db) == (0, 0, 0, 0)


# --- submitting --------------------------------------------------------------------------------


def test_a_submit_with_any_body_stores_the_draft_and_nothing_posted_with_it(client, db, open_round):
    post(client, open_round.token, 1, [(f"s:{STATEMENTS[0]}", "4"), ("q:improve", "<b>Kept</b>")])
    response = client.post(f"/s/{open_round.token}/submit",
                           data={f"s:{STATEMENTS[1]}": "5", "q:improve": "Injected", "team_id": "1",
                                 "round_id": "99999999999999999999", "person_id": "-1"})
    assert response.status_code == 302
    db.session.rollback()
    [pending] = pending_responses()
    assert pending["answers"] == {STATEMENTS[0]: 4}
    assert stored_comments(db) == ["<b>Kept</b>"]
    assert count(db, Participation) == 1 and count(db, Draft) == 0


def test_submitting_twice_or_then_posting_answers_changes_nothing(client, db, open_round):
    post(client, open_round.token, 1, [(f"s:{STATEMENTS[0]}", "4")])
    client.post(f"/s/{open_round.token}/submit")
    stored = stored_rows(db)
    again = client.post(f"/s/{open_round.token}/submit")
    late = post(client, open_round.token, 1, [(f"s:{STATEMENTS[0]}", "1")])
    late_autosave = post(client, open_round.token, 2, [(f"s:{STATEMENTS[5]}", "1")], autosave=True)
    assert again.status_code == 200 and "already submitted" in body(again)
    assert late.status_code == 302 and late_autosave.status_code == 302
    assert stored_rows(db) == stored == (1, 1, 0, 1)
    assert count(db, Draft) == 0


def test_a_submit_with_no_draft_stores_an_empty_response_once(client, db, open_round):
    assert client.post(f"/s/{open_round.token}/submit").status_code == 302
    assert stored_rows(db) == (1, 0, 0, 1)


# --- text is shown as typed, escaped: pages and the leaders' PDF ------------------------------

SCRIPT = "<script>alert('owned')</script> & <b>bold</b> \"quoted\""


def test_script_in_a_comment_is_shown_escaped_on_the_step_and_review_pages(client, open_round):
    post(client, open_round.token, STEPS, [("q:improve", SCRIPT)])
    for url in (f"/s/{open_round.token}/step/{STEPS}", f"/s/{open_round.token}/review"):
        page = body(client.get(url))
        assert SCRIPT not in page
        assert "<script>alert" not in page
        assert str(escape(SCRIPT)) in page


@settings(max_examples=examples(30), deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=typed_text.filter(lambda t: t.strip()))
def test_any_typed_comment_comes_back_escaped_in_the_page(client, open_round, text):
    assert post(client, open_round.token, STEPS, [("q:improve", text)]).status_code == 302
    page = body(client.get(f"/s/{open_round.token}/review"))
    stored = text.replace("\r\n", "\n").strip()
    assert str(escape(stored)) in page
    if "<" in stored:
        assert stored not in page


def pdf_text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_script_in_a_comment_and_a_round_name_appears_as_literal_text_in_the_report(
        client, db, auth, make_team, make_person, make_user):
    """Five people (the comment threshold) each post the comment through the survey pages."""
    team = make_team("<i>Care</i> & Co")
    for _ in range(5):
        make_person(team=team)
    now = today()
    round_ = create_round(name="Spring <script>x()</script>", teams=[team], opens_on=now,
                          closes_on=now + timedelta(days=7), today=now)
    launch_round(round_, today=now)
    db.session.commit()
    round_id, team_id = round_.id, team.id
    tokens = [token_for(i.nonce) for i in db.session.scalars(select(Invitation))]
    db.session.rollback()
    for token in tokens:
        post(client, token, 1, [(f"s:{STATEMENTS[0]}", "4")])
        post(client, token, STEPS, [("q:improve", SCRIPT)])
        assert client.post(f"/s/{token}/submit").status_code == 302
    close_round(db.session.get(type(round_), round_id))
    db.session.commit()
    auth.login_as(make_user(Role.HR))

    page = body(client.get(f"/reports/{round_id}/{team_id}"))
    pdf = client.get(f"/reports/{round_id}/{team_id}/report.pdf")

    assert "<script>" not in page and "<i>Care</i>" not in page
    assert str(escape(SCRIPT)) in page
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    squashed = re.sub(r"\s+", "", pdf_text(pdf.data))
    assert re.sub(r"\s+", "", SCRIPT) in squashed
    assert "Spring<script>x()</script>" in squashed
    assert "<i>Care</i>&Co" in squashed
