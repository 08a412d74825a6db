"""Schemas of inviting registry sites to a conference (the participation table is in models)."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic import Field as PydField

from endpoints.models import SiteKind

#: Most sites one hand-picked invite may name (the national registry is ~3,400).
MAX_PICKED = 5_000

SiteId = Annotated[int, PydField(ge=1, le=2**31 - 1)]


class InviteSelection(BaseModel):
    """Which registry sites to invite: exactly one of `all`, `under_id`, `kind` (which
    `under_id` may narrow) or `site_ids`. Only active, approved sites are invited, and
    always with the sites above them."""

    model_config = ConfigDict(extra="forbid")

    all: bool = False
    under_id: SiteId | None = None
    kind: SiteKind | None = None
    site_ids: list[SiteId] | None = PydField(default=None, min_length=1, max_length=MAX_PICKED)

    @model_validator(mode="after")
    def _exactly_one(self) -> "InviteSelection":
        chosen = [self.all, self.under_id is not None and self.kind is None,
                  self.kind is not None, self.site_ids is not None]
        if sum(chosen) != 1:
            raise ValueError(
                "Chọn đúng một cách mời: toàn bộ danh mục (all), một nhánh (under_id), "
                "một loại điểm cầu (kind, có thể kèm under_id) hoặc danh sách (site_ids)"
            )
        return self


class InviteReport(BaseModel):
    """What an invite did: sites added now, sites of the selection already in the
    conference (skipped), and how many sites the conference has now."""

    invited: int
    already_in: int
    total_in_conference: int
