"""Links of an HTML index page (PEP 503), for ``simple``; imported only when one is read."""

from __future__ import annotations

from html.parser import HTMLParser


class LinkCollector(HTMLParser):
    """The <base href> and the <a> tags of a PEP 503 page, each with its text as "#text"."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.anchors: list[dict[str, str | None]] = []
        self.saw_tag = False
        self._anchor: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.saw_tag = True
        if tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag == "a":
            self._anchor = dict(attrs)
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._anchor is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._anchor is not None:
            self._anchor["#text"] = "".join(self._text).strip()
            self.anchors.append(self._anchor)
            self._anchor = None
