"""E-mail addresses as mailboxes: when two addresses reach the same person, and the ASCII
form of an address that is sent to Coolblue.

Two addresses are one mailbox when they differ only in case, in a `+tag` after the local
part (`mark+perks@acme.example` is Mark's), or in the form of an internationalised domain
(`bücher.example` and `xn--bcher-kva.example` are one domain). Domains are compared in
their ASCII (IDNA 2008, UTS #46) form, the form email_validator gives the address HR types,
so the address stored and the address Slack knows are compared alike.
"""

from __future__ import annotations

import functools
import unicodedata

import idna

from bot.i18n import t

__all__ = ["ascii_address", "ascii_domain", "mailbox", "same_mailbox"]


def mailbox(address: str) -> str:
    """A key that two addresses of one mailbox share; "" for an empty address."""
    local, at, domain = address.strip().rpartition("@")
    if not at:
        return _fold(address)
    return f"{_fold(local.split('+', 1)[0])}@{ascii_domain(domain)}"


def same_mailbox(first: str, second: str) -> bool:
    """True when both addresses are given and reach the same mailbox."""
    return bool(first.strip() and second.strip()) and mailbox(first) == mailbox(second)


@functools.lru_cache(maxsize=1024)
def ascii_domain(domain: str) -> str:
    """The domain in lower-case ASCII: an internationalised one in its punycode form.
    Remembered: IDNA's checks are pure Python, a filing asks four times, and a community's
    people share a handful of domains."""
    domain = unicodedata.normalize("NFC", domain.strip().rstrip("."))
    try:
        return idna.encode(domain, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError, ValueError):
        try:  # IDNA 2003 accepts some names IDNA 2008 refuses (symbols, emoji)
            return domain.lower().encode("idna").decode("ascii")
        except UnicodeError:
            return _fold(domain)


def ascii_address(address: str) -> str:
    """The address with its domain in ASCII (punycode), the local part as given. Raises
    ValueError when the local part is not ASCII: Coolblue takes ASCII addresses only."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        raise ValueError(t("An e-mail address needs a part before and after the @."))
    if not local.isascii():
        raise ValueError(t("Use an address whose part before the @ has only ASCII characters."))
    return f"{local}@{ascii_domain(domain)}"


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text.strip()).casefold()
