"""Message bodies from Jinja2 templates: NAME.txt for the text part, NAME.html for the HTML one."""

from functools import cached_property
from pathlib import Path


class Templates:
    def __init__(self, directory: Path) -> None:
        self._directory = directory

    # Built on the first message, not at import: jinja2 was 0.07 s of every web worker's start,
    # and mail is sent by jobs.
    @cached_property
    def _environment(self):
        from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

        return Environment(
            loader=FileSystemLoader(self._directory),
            # User-supplied names and titles end up in the HTML part: escape them there, and only
            # there (the text part must show "R&B", not "R&amp;B").
            autoescape=select_autoescape(["html"], default_for_string=False, default=False),
            # A missing value is a bug in whoever enqueued the message, not an empty string.
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def render(self, name: str, data: dict) -> tuple[str, str]:
        """The text and HTML bodies of message `name`."""
        return (self._environment.get_template(f"{name}.txt").render(data),
                self._environment.get_template(f"{name}.html").render(data))
