"""User text inside Streamlit markdown, shown as text: never a link, an image, HTML or formatting.

Order ids, event names, event_ids, URLs and file names come from users and their files. Streamlit renders
st.markdown, st.caption, st.info/success/warning/error, subheaders, expander and metric labels as
markdown, so `![x](http://host/img.png)` there would fetch a remote image and `[y](http://host)` become a
link. Every such value goes through `plain` (escaped text) or `code` (an inline code span) first.
"""

from __future__ import annotations

import re

# what could make user text a link, an image, HTML, math or formatting: square brackets (every link and
# image needs them), `<` `>` (HTML, autolinks), `@` (bare e-mail autolinks), code/emphasis marks, `$` (LaTeX),
# `#` (a heading at the start);
# `_` unless inside a word (snake_case never emphasises); a backslash so an escape in the text cannot cancel ours
_SPECIAL = re.compile(r"([\\`*\[\]<>#~$@]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
# GitHub-flavoured markdown links bare URLs, www. hosts and e-mail addresses even when their punctuation is
# backslash-escaped (seen in Chromium): an invisible WORD JOINER (U+2060) inside `://`, `www.` and before `@`
# breaks the pattern without changing what the text reads as
_BARE_LINK = re.compile(r"(?i)(?<=[a-z0-9])(:)(?=//)|(?<=www)(\.)|(\\@)")
_JOINER = "\u2060"
_LINE_BREAKS = re.compile(r"[\r\n\t\v\f\u2028\u2029]+")


def plain(value: object) -> str:
    """`value` as markdown that renders exactly as its text on one line: punctuation backslash-escaped,
    `<` escaped (no HTML), line breaks folded into spaces (no headings, lists or quotes)."""
    text = _SPECIAL.sub(r"\\\1", _LINE_BREAKS.sub(" ", str(value)))
    return _BARE_LINK.sub(lambda m: m.group(0) + _JOINER if m.group(1) else _JOINER + m.group(0), text)


def code(value: object) -> str:
    """`value` as an inline markdown code span (`` `...` ``), fenced with more backticks than it holds, so
    nothing inside is read as markdown or HTML."""
    text = _LINE_BREAKS.sub(" ", str(value))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if not text or text.startswith("`") or text.endswith("`") or longest:
        text = f" {text} "  # CommonMark strips one space each side when both are there
    return f"{fence}{text}{fence}"
