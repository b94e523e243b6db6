"""Survey pages for employees (/s/<token>/...) and HR's preview of a round's survey.

CSRF: these forms are exempt from the session-bound CSRF token. The link's own token is a
192-bit secret that a forging site cannot know, so it already proves the request comes from the
survey page; a session token would expire and lose answers (docs/PRODUCT.md: nothing typed is lost). Posts
whose Origin header names another site are refused as well.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    get_template_attribute,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup

from ..access import hr_required
from ..clock import today
from ..extensions import csrf, db, login_manager
from ..instrument import COMMENT_MAX_LENGTH, Instrument, ScalePoint, Statement
from ..models import Round
from .answers import BadAnswers, Survey, parse_answers
from .reading import SurveyInvitation, find_for_writing, find_invitation, survey_state
from .steps import steps_of, unanswered
from .storage import AlreadySubmitted, save_answers, store_response

bp = Blueprint("survey", __name__)
csrf.exempt(bp)


@bp.after_request
def private_headers(response):
    # The token is in the URL: never send it on as a Referer; answers must not be cached.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.context_processor
def nobody_signed_in() -> dict:
    """On a link's pages, templates see an anonymous ``current_user``, and the signed-in user
    is never loaded: the pages are the same for anyone who holds the link, so loading the user
    would read the session and the database for nothing. (The code of these pages does not
    read ``current_user`` either; HR's preview, which has no link, does.)"""
    if request.view_args and "token" in request.view_args:
        return {"current_user": login_manager.anonymous_user()}
    return {}


@bp.app_template_global()
def statement_fieldset(statement: Statement, scale: tuple[ScalePoint, ...],
                       value: object) -> Markup:
    """A statement's fieldset with its five options, ``value`` checked.

    The same few variants make every step page, so each worker renders them once (the macro's
    loop was half of rendering a step), except while templates reload during development.
    """
    # The point's own value; None: nothing checked, as for an answer off the scale.
    checked = next((point.value for point in scale if point.value == value), None)
    if current_app.jinja_env.auto_reload:
        return _render_statement(statement, scale, checked)
    return _cached_statement(statement, scale, checked)


def _render_statement(statement: Statement, scale: tuple[ScalePoint, ...],
                      value: int | None) -> Markup:
    return get_template_attribute("survey/macros.html", "statement")(statement, scale, value)


_cached_statement = lru_cache(maxsize=4096)(_render_statement)


@bp.before_request
def same_origin_posts_only():
    if request.method != "POST":
        return None
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return None
    try:
        site = urlsplit(origin).netloc
    except ValueError:  # "http://[": not an address, so not this site
        abort(403)
    if site != request.host:
        abort(403)
    return None


def _open_invitation(token: str, *, for_writing: bool = False) -> SurveyInvitation:
    """Return the invitation if its survey is open now; else abort with the right page.

    ``for_writing``: the request will save answers; see ``find_for_writing``.
    """
    invitation = find_for_writing(token) if for_writing else find_invitation(token)
    if invitation is None:
        abort(404)
    state = survey_state(invitation, today())
    if state.kind != "open":
        abort(redirect(url_for(".start", token=token)))
    return invitation


def _page_context(invitation: SurveyInvitation, survey: Survey) -> dict:
    return {
        "round": invitation.round,
        "token": invitation.token,  # the link's, which found the invitation
        "steps": survey.steps,
        "instrument": survey.instrument,
        "comment_max": COMMENT_MAX_LENGTH,
        "preview": False,
    }


@bp.get("/s/<token>")
def start(token: str):
    """The link from the e-mail: the welcome page, the page to resume, or the round's state."""
    invitation = find_invitation(token)
    if invitation is None:
        return render_template("survey/unknown.html"), 404
    state = survey_state(invitation, today())
    if state.kind != "open":
        return render_template(f"survey/{state.kind}.html", round=state.round)
    survey = invitation.survey
    if invitation.step >= 1 and not request.args.get("intro"):
        if invitation.step > len(survey.steps):
            return redirect(url_for(".review", token=token))
        return redirect(url_for(".step", token=token, number=invitation.step))
    return render_template("survey/intro.html", **_page_context(invitation, survey))


@bp.route("/s/<token>/step/<int:number>", methods=["GET", "POST"])
def step(token: str, number: int):
    """One step: show it (GET) or save its answers and move on (POST).

    A POST with ``X-Autosave: 1`` (the page's script, on every change) saves and answers 204.
    """
    invitation = _open_invitation(token, for_writing=request.method == "POST")
    survey = invitation.survey
    steps = survey.steps
    if not 1 <= number <= len(steps):
        abort(404)
    if request.method == "POST":
        try:
            answers, comments = parse_answers(survey, request.form)
        except BadAnswers as error:
            return render_template("survey/bad_input.html", message=str(error), round=invitation.round,
                                   back=url_for(".step", token=token, number=number)), 400
        if request.headers.get("X-Autosave") == "1":
            save_answers(invitation, answers, comments)
            db.session.commit()
            return "", 204
        action = request.form.get("action", "next")
        target = {"back": number - 1, "next": number + 1, "review": len(steps) + 1}.get(action, number + 1)
        save_answers(invitation, answers, comments, step=max(target, 1))
        db.session.commit()
        if target < 1:
            return redirect(url_for(".start", token=token, intro=1))
        if target > len(steps):
            return redirect(url_for(".review", token=token))
        return redirect(url_for(".step", token=token, number=target))
    return render_template(
        "survey/step.html", step=steps[number - 1], answers=invitation.answers,
        comments=invitation.comments, **_page_context(invitation, survey),
    )


@bp.get("/s/<token>/review")
def review(token: str):
    """Check your answers: the statements still unanswered, with links back to them."""
    invitation = _open_invitation(token)
    survey = invitation.survey
    return render_template(
        "survey/review.html", missing=unanswered(survey.instrument, invitation.answers),
        answers=invitation.answers, comments=invitation.comments,
        **_page_context(invitation, survey),
    )


@bp.post("/s/<token>/submit")
def submit(token: str):
    """Store the answers anonymously, once. A second submit shows "already submitted"."""
    invitation = find_for_writing(token)
    if invitation is None:
        return render_template("survey/unknown.html"), 404
    state = survey_state(invitation, today())
    if state.kind == "submitted":
        return render_template("survey/submitted.html", round=state.round, again=True)
    if state.kind != "open":
        return render_template(f"survey/{state.kind}.html", round=state.round)
    try:
        store_response(invitation)
        db.session.commit()
    except AlreadySubmitted:
        return render_template("survey/submitted.html", round=invitation.round, again=True)
    return redirect(url_for(".thanks", token=token))


@bp.get("/s/<token>/thanks")
def thanks(token: str):
    invitation = find_invitation(token)
    if invitation is None:
        return render_template("survey/unknown.html"), 404
    if survey_state(invitation, today()).kind != "submitted":
        return redirect(url_for(".start", token=token))
    return render_template("survey/thanks.html", round=invitation.round)


# --- HR's preview ----------------------------------------------------------------------------


@bp.get("/rounds/<int:round_id>/preview", defaults={"number": 0})
@bp.get("/rounds/<int:round_id>/preview/<int:number>")
@hr_required
def preview(round_id: int, number: int):
    """The survey exactly as employees see it, for HR; nothing is saved."""
    round_ = db.get_or_404(Round, round_id)
    instrument = Instrument.from_dict(round_.instrument)
    steps = steps_of(instrument)
    if not 0 <= number <= len(steps) + 1:
        abort(404)
    context = {"round": round_, "token": None, "steps": steps, "instrument": instrument,
               "comment_max": COMMENT_MAX_LENGTH, "preview": True}
    if number == 0:
        return render_template("survey/intro.html", **context)
    if number == len(steps) + 1:
        return render_template("survey/review.html", missing=unanswered(instrument, {}),
                               answers={}, comments={}, **context)
    return render_template("survey/step.html", step=steps[number - 1], answers={}, comments={},
                           **context)
