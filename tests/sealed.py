"""Reading sealed drafts and pending responses in tests, as the server can with its key.

Nothing in the application reads them this way: a draft opens with its link's token, and a
pending response only when its round closes (surveyapp/survey/release.py).
"""

from __future__ import annotations

from sqlalchemy import select

from surveyapp.extensions import db
from surveyapp.models import Draft, PendingResponse
from surveyapp.sealing import open_sealed, response_context, response_key
from surveyapp.survey.reading import read_invitation


def drafts() -> list[dict]:
    """Every draft, opened: {"invitation_id", "answers", "comments", "step"}."""
    out = []
    for invitation_id in db.session.scalars(select(Draft.invitation_id)):
        invitation = read_invitation(invitation_id)
        out.append({"invitation_id": invitation_id, "answers": invitation.answers,
                    "comments": invitation.comments, "step": invitation.step})
    return out


def draft_of(invitation_id: int) -> dict | None:
    """The invitation's draft, opened ({"answers", "comments", "step"}), or None."""
    return next((d for d in drafts() if d["invitation_id"] == invitation_id), None)


def pending_responses(round_id: int | None = None) -> list[dict]:
    """The pending responses (of one round, if given), opened: {"team_id", "location",
    "role_level", "tenure_band", "answers", "comments"}."""
    query = select(PendingResponse.round_id, PendingResponse.sealed)
    if round_id is not None:
        query = query.where(PendingResponse.round_id == round_id)
    return [open_sealed(response_key(rid), sealed, response_context(rid))
            for rid, sealed in db.session.execute(query)]
