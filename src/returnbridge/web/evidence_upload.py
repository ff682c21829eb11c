"""Evidence photos uploaded with a reject: read with a size cap and checked by content before anything else.

The checks are the decision service's (TikTok's limits: at most 6 images of at most 5 MB, JPEG, PNG, GIF or WebP
judged by their first bytes, never by the name or the browser's content type). They run here first so a wrong
file gets a 400 with the reason before TikTok is asked for anything.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import UploadFile

from returnbridge.errors import UserFacingError
from returnbridge.sync.decisions import (
    MAX_IMAGE_BYTES,
    MAX_IMAGES,
    EvidenceImage,
    InvalidDecisionParams,
    check_evidence_images,
)


class EvidenceRefused(UserFacingError):
    """An uploaded file that TikTok would refuse as evidence: answered with 400."""

    http_status = 400


def _chosen(files: Sequence[UploadFile | str]) -> list[UploadFile]:
    # An <input type=file> left empty still sends one part, without a name and without content.
    return [f for f in files if isinstance(f, UploadFile) and (f.filename or (f.size or 0) > 0)]


async def read_evidence(files: Sequence[UploadFile | str]) -> tuple[EvidenceImage, ...]:
    uploads = _chosen(files)
    if len(uploads) > MAX_IMAGES:
        raise EvidenceRefused(f"{len(uploads)} images chosen; TikTok takes at most {MAX_IMAGES}")
    images = []
    for upload in uploads:
        # One byte over the limit is enough to know it is too large; the rest is never read into memory.
        data = await upload.read(MAX_IMAGE_BYTES + 1)
        images.append(EvidenceImage(upload.filename or "image", data))
    check_images(images)
    return tuple(images)


def check_images(images: Sequence[EvidenceImage]) -> None:
    """``EvidenceRefused`` (400) with TikTok's reason when an image would be refused."""
    try:
        check_evidence_images(images)
    except InvalidDecisionParams as refused:
        raise EvidenceRefused(f"evidence not accepted: {refused}") from None
