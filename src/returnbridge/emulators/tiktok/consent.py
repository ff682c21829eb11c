"""The seller consent page (contract §2.1): pick a seeded seller, Authorize or Cancel, get redirected.

Everything placed in the HTML is escaped: seller and shop names come from the control API and ``state`` comes from
whoever built the consent URL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#161823}
h1{font-size:1.4rem} .seller{border:1px solid #ddd;border-radius:8px;padding:1rem;margin:1rem 0}
.shops{margin:.3rem 0 .8rem;padding-left:1.2rem;color:#555} button{padding:.5rem 1rem;border-radius:6px;
border:0;background:#fe2c55;color:#fff;cursor:pointer} button.cancel{background:#eee;color:#161823}
code{background:#f4f4f4;padding:.1rem .3rem}
"""


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def _hidden_fields(fields: Mapping[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">' for name, value in fields.items()
    )


def consent_page(
    *,
    app_label: str,
    sellers: Iterable[tuple[str, str, str, list[tuple[str, str]]]],
    form_action: str,
    hidden: Mapping[str, str],
) -> str:
    """The page listing sellers; ``sellers`` holds (seller_id, name, base_region, [(shop name, region)…])."""
    blocks = []
    for seller_id, name, region, shops in sellers:
        shop_items = "".join(f"<li>{escape(shop)} ({escape(shop_region)})</li>" for shop, shop_region in shops)
        blocks.append(
            '<div class="seller">'
            f"<strong>{escape(name)}</strong> · {escape(region)} · <code>{escape(seller_id)}</code>"
            f'<ul class="shops">{shop_items}</ul>'
            f'<form method="post" action="{escape(form_action)}">'
            f"{_hidden_fields({**hidden, 'seller_id': seller_id, 'decision': 'authorize'})}"
            f'<button type="submit">Authorize</button></form></div>'
        )
    cancel = (
        f'<form method="post" action="{escape(form_action)}">'
        f"{_hidden_fields({**hidden, 'decision': 'cancel'})}"
        '<button class="cancel" type="submit">Cancel</button></form>'
    )
    body = (
        "<h1>Authorize app</h1>"
        f"<p><strong>{escape(app_label)}</strong> asks to access your TikTok Shop data "
        "(orders, returns, refunds and cancellations). Choose the seller account to authorize.</p>"
        + "".join(blocks)
        + cancel
    )
    return _page("TikTok Shop authorization (emulator)", body)


def message_page(title: str, text: str, details: Mapping[str, str] | None = None) -> str:
    rows = "".join(
        f"<p>{escape(key)}: <code>{escape(value)}</code></p>" for key, value in (details or {}).items()
    )
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>{rows}")


def with_query(url: str, params: Mapping[str, str]) -> str:
    """``url`` with ``params`` added to its query string (existing parameters are kept)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
