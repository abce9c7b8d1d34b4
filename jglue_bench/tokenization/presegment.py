"""Juman++ pre-segmentation: words split by Juman++ before the model's own tokenizer, as some models were
pre-trained (Waseda RoBERTa, ku-nlp DeBERTa-v2: Juman++ 2.0.0-rc3, words joined by spaces).

The words go to the tokenizer as pre-split input (`is_split_into_words=True`), which gives the ids of the words
joined by spaces, and keeps each token's character offsets inside its word; `WordSplitter.words` knows where each
word starts in the original text, so offsets map back to it exactly. Juman++ runs through `rhoknp` and the
user's `jumanpp` binary (it cannot be pip-installed); one persistent process serves a whole run.
"""

from __future__ import annotations

import re
import shutil
from functools import lru_cache

from jglue_bench.errors import UserError

JUMANPP_HELP = (
    "Juman++ is not installed: model '{model}' is pre-segmented with Juman++ (model.tokenizer."
    "pre_segment: jumanpp) and no `{command}` binary was found on PATH. Install Juman++ 2.0.0-rc3 "
    "(https://github.com/ku-nlp/jumanpp/releases: cmake, make, make install) or set "
    "model.tokenizer.jumanpp_command to its path."
)
WHITESPACE = re.compile(r"\S+")
PRE_SEGMENTERS = ("jumanpp",)
CACHE_SIZE = 200_000  # texts; contexts and questions repeat across epochs, splits and runs in one process


class WordSplitter:
    """`words(text)` -> [(word, start in text)]: the text cut at whitespace, each piece split by Juman++."""

    def __init__(self, command: str):
        from rhoknp import Jumanpp

        self.command = command
        self.jumanpp = Jumanpp(executable=command)
        self.words = lru_cache(maxsize=CACHE_SIZE)(self._words)

    def _words(self, text: str) -> tuple[tuple[str, int], ...]:
        words: list[tuple[str, int]] = []
        for chunk in WHITESPACE.finditer(text):
            cursor = chunk.start()
            for surface in self._surfaces(chunk.group()):
                found = text.find(surface, cursor, chunk.end())
                if found < 0:  # Juman++ rewrote a character: keep the rest of the chunk as one word
                    words.append((text[cursor : chunk.end()], cursor))
                    cursor = chunk.end()
                    break
                if found > cursor:  # characters Juman++ dropped stay with the next word
                    surface, found = text[cursor : found + len(surface)], cursor
                words.append((surface, found))
                cursor = found + len(surface)
            if cursor < chunk.end():
                words.append((text[cursor : chunk.end()], cursor))
        return tuple(words)

    def _surfaces(self, chunk: str) -> list[str]:
        try:
            sentence = self.jumanpp.apply_to_sentence(chunk)
        except Exception as error:  # a crashed or hung binary: say which and on what
            raise UserError(f"Juman++ ({self.command}) failed on {chunk[:40]!r}: {error}") from error
        return [morpheme.text for morpheme in sentence.morphemes]

    def __reduce__(self):  # the process does not pickle; a copy starts its own
        return WordSplitter, (self.command,)


def word_splitter(recipe: dict, model_name: str) -> WordSplitter | None:
    """The recipe's pre-segmenter, or None. A missing binary is one line before any work."""
    command = jumanpp_command(recipe, model_name)
    return None if command is None else WordSplitter(command)


def jumanpp_command(recipe, model_name: str) -> str | None:
    """The Juman++ binary a recipe needs (None when it pre-segments nothing); a missing one is a UserError
    saying where to get it. `train` asks before reading any data."""
    kind = recipe.get("pre_segment")
    if kind in (None, "none"):
        return None
    if kind not in PRE_SEGMENTERS:
        raise UserError(
            f"model.tokenizer.pre_segment is {kind!r}; expected one of {', '.join(PRE_SEGMENTERS)} or null."
        )
    command = str(recipe.get("jumanpp_command") or "jumanpp")
    if shutil.which(command) is None:
        raise UserError(JUMANPP_HELP.format(model=model_name, command=command))
    return command


def split_texts(splitter: WordSplitter, texts):
    """Each text as its list of words (the tokenizer's pre-split input)."""
    return [[word for word, _ in splitter.words(text)] for text in texts]
