"""Labels that Graphviz draws literally: escaping for HTML-like labels, and what it cannot draw."""

from __future__ import annotations

import html
import re

# Graphviz reads an HTML-like label into a buffer of 16384 bytes; a label's escaped text must
# leave room for the table around it.
MAX_LABEL_BYTES = 15_000
REPLACEMENT = "\ufffd"  # drawn instead of a character Graphviz cannot take

# C0 controls except tab/newline/carriage return (handled as spacing), and DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# What `dot` cannot take: lone surrogates (not encodable as UTF-8) and U+FFFE, U+FFFF (its XML
# parser rejects them as "not well-formed").
_UNDRAWABLE = re.compile("[\ud800-\udfff\ufffe\uffff]")


def label_text(text: str, where: str) -> str:
    """``text`` escaped for an HTML-like label, or a ValueError naming ``where`` if too long.

    A character Graphviz cannot draw at all (a lone surrogate, U+FFFE, U+FFFF) is drawn as the
    visible replacement character U+FFFD; everything else is drawn literally (see
    :func:`escape_html_label`). A label longer than Graphviz can read (about 15,000 bytes once
    escaped) is refused: it is a mistake, and cutting it would draw something else.
    """
    if not isinstance(text, str):
        raise TypeError(f"{where}: a label must be a str, got {type(text).__name__}")
    escaped = escape_html_label(_UNDRAWABLE.sub(REPLACEMENT, text))
    size = len(escaped.encode("utf-8"))
    if size > MAX_LABEL_BYTES:
        raise ValueError(
            f"{where}: the label is too long to draw ({len(text)} characters, {size} bytes once "
            f"escaped for Graphviz; at most {MAX_LABEL_BYTES}); shorten it"
        )
    return escaped


def escape_html_label(text: str) -> str:
    """Text made safe inside a Graphviz HTML-like label: it is drawn exactly as written.

    Every character that means something to DOT records (``{ } | < >``), to DOT strings
    (``"``), to HTML (``& < >``) or to Graphviz's own escapes (a backslash: ``\\N`` would become
    the node's name, ``\\G`` the graph's, even inside HTML-like labels) comes out as itself.
    Newlines become line breaks; tabs a space; other control characters ``\\x07`` and so on.
    :func:`label_text` also replaces what Graphviz cannot draw and bounds the length.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    # Graphviz reads a doubled backslash as one literal backslash; a single one starts an escape.
    text = text.replace("\\", "\\\\")
    lines = [html.escape(line, quote=True).replace("&#x27;", "&#39;") for line in text.split("\n")]
    return "<br/>".join(lines)


def html_label(content: str) -> str:
    """An HTML-like label value for the graphviz package: ``content`` in angle brackets.

    The graphviz package passes a string that starts with ``<`` and ends with ``>`` through
    unquoted; ``content`` must already be escaped (see :func:`escape_html_label`).
    """
    return f"<{content}>"
