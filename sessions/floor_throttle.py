"""Rates of the floor: asks (and changes, withdrawals) and written questions, counted per
site and per client address (app/throttle.py `Rate`, every request counts; in Redis when
workers share it, else in the process's memory: see app/main.py `_throttles`).

A site changes its request a few times in a discussion, not ten times a minute; a
client address may run several sites (a hub coordinator) or sit behind one office NAT,
so its rates are higher. Counted only once the caller may act for the site: nobody can
use up another site's rate.
"""

from app.throttle import Rate, Throttle

ASK_SITE = Rate("floor-site", limit=10)
ASK_CLIENT = Rate("floor-client", limit=60)
QUESTION_SITE = Rate("question-site", limit=5)
QUESTION_CLIENT = Rate("question-client", limit=30)


def count_ask(throttle: Throttle, *, site_id: int, client: str) -> None:
    """Count an ask, a change or a withdrawal (429 too_many_attempts past the rate)."""
    throttle.count((ASK_SITE, str(site_id)), (ASK_CLIENT, client),
                   detail="Điểm cầu gửi yêu cầu phát biểu quá nhiều lần, vui lòng đợi rồi thử lại.")


def count_question(throttle: Throttle, *, site_id: int, client: str) -> None:
    """Count a coordinator's written question (429 too_many_attempts past the rate)."""
    throttle.count((QUESTION_SITE, str(site_id)), (QUESTION_CLIENT, client),
                   detail="Điểm cầu gửi câu hỏi quá nhiều lần, vui lòng đợi rồi thử lại.")

