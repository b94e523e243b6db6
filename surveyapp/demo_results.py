"""Realistic rounds and answers for the demo organisation (and for benchmarks).

Answers come from a simple model: each team has a culture level, each capability a typical
strength, each person their own tilt, plus noise; the result is rounded onto the 1..5 scale.
Teams drift between rounds so that trends show. Everything is seeded, so the demo is the same
every time.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time

from sqlalchemy import select

from .extensions import db
from .instrument import Instrument
from .models import Invitation, Round, Team
from .rounds.operations import close_round, create_round, launch_round
from .survey.storage import save_draft, submit_response

#: How strong each capability typically is (added to a team's level).
CAPABILITY_TILT = {
    "awareness": 0.15, "curiosity": -0.25, "empathy": 0.35, "initiative": -0.1,
    "flexibility": 0.05, "bounce_back": -0.35, "responsibility": 0.3,
}

IDEAS = [
    "Let us fix small billing mistakes on the phone instead of raising a ticket for each one.",
    "A shared list of the questions customers ask most, with the best answers we have found.",
    "Fewer hand-offs. Customers get passed between three teams before anyone owns the problem.",
    "Call customers back when we said we would, even if we have no news yet.",
    "Give new starters a buddy for their first month, not just the training course.",
    "Spend a day a year sitting with another team so we know what happens after we pass a case on.",
    "Ask customers at the end of the call what we could have done better, and actually read it.",
    "Stop closing cases just to hit the target. Close them when the customer says it is fixed.",
    "Share the good feedback too, not only the complaints.",
    "Let field engineers order parts directly from the van tablet.",
    "Plain-English letters. Half our templates read like legal notices.",
    "A quick huddle on Monday mornings to look at last week's complaints together.",
    "More time between calls to finish notes properly, so the next person has the full story.",
    "Let us offer a small goodwill gesture without asking a manager every time.",
    "Tell us when a process changes before customers find out.",
    "Put the customer's history on one screen. We switch between four systems during a call.",
    "Celebrate people who go the extra mile, by name, in the team meeting.",
    "Train us on the products other teams sell so we can answer simple questions ourselves.",
    "Treat complaints as free advice: one person a week reads them all and suggests one fix.",
    "Follow up a week after a repair to check everything still works.",
    "Managers could take a few calls each month to feel what the job is like now.",
    "Agree on one promise we make to every customer and keep it.",
    "Give us a direct line to the warehouse so we can tell customers where their order really is.",
    "Let the person who took the complaint see it through to the end.",
    "Write down the workarounds we all use and fix the ones that happen every week.",
    "Listen to a few recorded calls together once a month and talk about what went well.",
    "Answer e-mails the same day, even if it is only to say we are looking into it.",
    "Let us see the customer satisfaction scores for our own cases, not just the team average.",
    "Ask the quiet people in meetings what they think. They often know the answer.",
    "Keep the Friday afternoon slot free for fixing our own processes.",
    "A simple way to pass an idea up to managers without it getting lost.",
    "Visit a few customers in person each year to see how they use what we sell.",
    "Stop asking customers to repeat their account details every time they are transferred.",
    "Thank the people in other teams who help us out. It makes the next favour easier.",
    "Review one lost customer each month and ask honestly what we could have done.",
    "Let us rearrange shifts among ourselves when someone needs cover.",
]
OBSTACLES = [
    "The booking system is slow in the mornings and customers wait while it loads.",
    "Too many approvals for simple refunds.",
    "We hear about changes from customers before we hear about them internally.",
    "Targets that count calls, not problems solved.",
    "Not enough people on the late shift.",
    "Information is spread across too many tools.",
    "Parts take days to arrive, so we cannot finish jobs on the first visit.",
    "Meetings that could have been an e-mail.",
    "The knowledge base is out of date, so we ask around instead.",
    "Customers are transferred to us with no notes about what they already tried.",
    "We are not allowed to change a delivery date, even when the customer asks nicely.",
    "The phone queue hides how long people have been waiting.",
    "Half-finished projects that nobody owns any more.",
]


def _answer(level: float, rng: random.Random) -> int:
    return max(1, min(5, round(level + rng.gauss(0, 0.75))))


def simulate_answers(instrument: Instrument, team_level: float, rng: random.Random,
                     skip_rate: float = 0.03) -> dict[str, int]:
    """One person's answers: team level + capability tilt + personal tilt + noise."""
    personal = rng.gauss(0, 0.35)
    answers = {}
    for capability in instrument.capabilities:
        base = team_level + CAPABILITY_TILT.get(capability.key, 0.0) + personal
        for statement in capability.statements:
            if rng.random() >= skip_rate:
                answers[statement.key] = _answer(base + rng.gauss(0, 0.2), rng)
    return answers


class Deck:
    """Draws texts in a shuffled order, reshuffling when all are used: few exact repeats."""

    def __init__(self, texts: Sequence[str], rng: random.Random):
        self.texts, self.rng = list(texts), rng
        self.pile: list[str] = []

    def draw(self) -> str:
        if not self.pile:
            self.pile = self.texts[:]
            self.rng.shuffle(self.pile)
        return self.pile.pop()


def simulate_comments(rng: random.Random, ideas: Deck | None = None, obstacles: Deck | None = None,
                      idea_rate: float = 0.55, obstacle_rate: float = 0.3) -> dict[str, str]:
    """One person's comments (often none), drawn from the decks of everyday wording."""
    ideas = ideas or Deck(IDEAS, rng)
    obstacles = obstacles or Deck(OBSTACLES, rng)
    comments = {}
    if rng.random() < idea_rate:
        comments["improve"] = ideas.draw()
    if rng.random() < obstacle_rate:
        comments["obstacles"] = obstacles.draw()
    return comments


def team_levels(teams: Sequence[Team], rng: random.Random) -> dict[int, float]:
    """A culture level per team, around 3.6 on the 1..5 scale."""
    return {t.id: 3.6 + rng.gauss(0, 0.35) for t in teams}


def run_round(*, name: str, teams: Sequence[Team], opens_on: date, closes_on: date,
              levels: dict[int, float], response_rate: float, rng: random.Random,
              close: bool) -> Round:
    """Create, launch and answer a round as if it had run between the two dates."""
    round_ = create_round(name=name, teams=teams, opens_on=opens_on, closes_on=closes_on,
                          today=opens_on)
    launch_round(round_, today=opens_on)
    round_.launched_at = datetime.combine(opens_on, time(9), tzinfo=UTC)
    db.session.flush()
    instrument = Instrument.from_dict(round_.instrument)
    invitations = db.session.scalars(
        select(Invitation).where(Invitation.round_id == round_.id).order_by(Invitation.id)
    ).all()
    ideas, obstacles = Deck(IDEAS, rng), Deck(OBSTACLES, rng)
    for invitation in invitations:
        invitation.sent_at = round_.launched_at
        roll = rng.random()
        if roll >= response_rate:
            if roll < response_rate + 0.08 and not close:  # started, not finished yet
                save_draft(invitation, dict(list(simulate_answers(
                    instrument, levels.get(invitation.team_id, 3.6), rng).items())[:9]), {},
                    step=3)
            continue
        answers = simulate_answers(instrument, levels.get(invitation.team_id, 3.6), rng)
        save_draft(invitation, answers, simulate_comments(rng, ideas, obstacles))
        submit_response(invitation)
    if close:
        close_round(round_)
        round_.closed_at = datetime.combine(closes_on, time(18), tzinfo=UTC)
    db.session.flush()
    return round_


def drift(levels: dict[int, float], rng: random.Random, trend: float = 0.12) -> dict[int, float]:
    """Levels one round later: most teams improve a little, some slip."""
    return {team: level + trend + rng.gauss(0, 0.15) for team, level in levels.items()}
