"""Row ids in URLs and JSON bodies (``/api/v1/cases/{case_id}``, ``case_ids`` of a bulk decision, ...).

Our ids are INTEGER columns: 32 bits on PostgreSQL, and SQLite refuses a Python int past 64 bits with an
OverflowError. An id past that range can name no row, so it is refused as a 422 at the door instead of reaching the
database and coming back as a 500.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import Field

from returnbridge.domain.row_ids import MAX_ROW_ID

CaseId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="Our case id (``id`` in the case list)")]
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
RowIdItem = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
