"""Throttle of the phones' answers: a rate per client address, and the personal code's
misses (counted with the follow page's: one guesser, one count)."""

from app.throttle import Rate, Rule, Throttle
from checkin.follow_question_throttle import code_attempts

# Generous: a room of 300 behind one venue Wi-Fi answers within a minute or two.
ANSWER_RATE = Rate("answer-client", limit=600)
RATE_DETAIL = "Có quá nhiều câu trả lời từ mạng này, vui lòng đợi rồi thử lại."


def answer_attempts(client: str) -> tuple[tuple[Rule, str], ...]:
    """The subjects a wrong personal code counts against (the follow page's rule)."""
    return code_attempts(client)


def count_answer(throttle: Throttle, client: str) -> None:
    """Count one answer of the client; `too_many_attempts` past the rate."""
    throttle.count((ANSWER_RATE, client), detail=RATE_DETAIL)
