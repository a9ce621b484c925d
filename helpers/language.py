"""The language the course speaks to the learner: English, or Chinese for the Chinese edition (notebooks/zh/).

The notebook chooses it, not a setting: a kernel runs in its notebook's folder, so a notebook in a folder named
`zh` gets Chinese feedback, hints and messages, every other one English. `KIMI_COURSE_LANGUAGE` (`en` or `zh`)
overrides that where there is no notebook (a script, a test).

A message is written once, in both languages, where it is used: `say(english, chinese)` gives a `Said`, which
becomes the right one when it is printed (str), so a hint made when a module is imported still follows the notebook
that shows it.

Example:
    >>> message = say("Replace every ... with your answer first.", "先把每个 ... 换成你的答案。")
    >>> with speaking("zh"):
    ...     str(message)
    '先把每个 ... 换成你的答案。'
    >>> str(message)
    'Replace every ... with your answer first.'
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

LANGUAGES = ("en", "zh")
_forced: list[str] = []


def language() -> str:
    """"zh" in the Chinese edition's folder (or when KIMI_COURSE_LANGUAGE=zh), else "en"."""
    if _forced:
        return _forced[-1]
    chosen = os.environ.get("KIMI_COURSE_LANGUAGE", "").strip().lower()
    if chosen in LANGUAGES:
        return chosen
    try:
        return language_of(Path.cwd())
    except OSError:  # the folder was deleted under the process
        return "en"


def language_of(path: Path) -> str:
    """The language of a notebook's folder (or of a folder): "zh" for the Chinese edition's, else "en".

    >>> language_of(Path("notebooks/zh/05_errors.ipynb")), language_of(Path("notebooks/05_errors.ipynb"))
    ('zh', 'en')
    """
    folder = path.parent if path.suffix == ".ipynb" else path
    return "zh" if folder.name == "zh" else "en"


@contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Speak `lang` inside the block (for tests and tools that make both editions' texts)."""
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r}: use one of {', '.join(LANGUAGES)}")
    _forced.append(lang)
    try:
        yield
    finally:
        _forced.pop()


@dataclass(frozen=True)
class Said:
    """A message in both languages; str() gives the one the learner reads."""

    en: str
    zh: str

    def __str__(self) -> str:
        return self.zh if language() == "zh" else self.en

    def __add__(self, other: object) -> Said:
        """Joining two messages joins each language (a plain str is the same in both)."""
        if isinstance(other, Said):
            return Said(self.en + other.en, self.zh + other.zh)
        if isinstance(other, str):
            return Said(self.en + other, self.zh + other)
        return NotImplemented

    def __radd__(self, other: object) -> Said:
        if isinstance(other, str):
            return Said(other + self.en, other + self.zh)
        return NotImplemented


def say(en: str, zh: str) -> Said:
    """One message, in English and in Chinese."""
    if not en or not zh:
        raise ValueError("say() needs the message in both languages")
    return Said(en, zh)
