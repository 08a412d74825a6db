"""Throttle of the follow page's questions: a rate per client address, and the personal
code's misses.

A question may carry the attendee's personal code (8 characters of 31). Any attendee of
the conference matches, so a wrong code must cost the guesser: it counts against the
client address like a wrong code on the attendee's own pages (waits from 2 s, doubling,
up to 15 minutes). Every question counts against the client's rate too, so a phone or
a script cannot flood the moderators.
"""

from app.throttle import Rate, Rule

FORGET = 15 * 60.0
CODE_RULE = Rule("follow-code-client", free=5, first_delay=2.0, max_delay=15 * 60.0,
                 forget=FORGET)
# Generous: a venue's Wi-Fi puts a whole room behind one address.
QUESTION_RATE = Rate("question-follow", limit=20)
RATE_DETAIL = "Bạn đã gửi nhiều câu hỏi, vui lòng đợi rồi thử lại."


def code_attempts(client: str) -> tuple[tuple[Rule, str], ...]:
    """The subjects a wrong personal code counts against."""
    return ((CODE_RULE, client),)
