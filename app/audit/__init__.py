"""The audit log: an append-only, hash-chained record of every write and of every view or
export of personal data (who, role, address, when, what, before and after)."""

from app.audit.recorder import install

# Any domain declaring a policy imports this package: from then on every Session's
# writes are logged.
install()
