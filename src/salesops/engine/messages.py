"""Marking the engine's messages for translation without importing Django.

Role in the flow: every :class:`~salesops.engine.decomposition.Problem` carries an English *template* with
named ``str.format`` placeholders (``"the total {total} is negative"``) and the *params* that fill it. The
engine wraps each template in :func:`gettext_noop`, which does nothing at run time; Django's ``makemessages``
passes ``--keyword=gettext_noop`` to xgettext, so the templates land in the catalogues, and the web app
translates a problem when it shows it (``gettext(template).format(**params)``, see ``targets.services``). The
CLI and the tests read the English text (``Problem.message``).

Rules for a template: plain string literals only (no f-strings: xgettext cannot read them); named brace
placeholders only; a value that changes the sentence (``over`` / ``short of``) is a second template, never an
English word passed as a param.
"""

from __future__ import annotations


def gettext_noop(text: str) -> str:
    """Mark ``text`` for extraction into the translation catalogues; return it unchanged."""
    return text
