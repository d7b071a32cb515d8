"""Normalising text for keyword matching, so disguised spellings meet the plain library terms.

`normalise(text)` returns lower-case ASCII-ish words separated by single spaces:

- Unicode compatibility forms folded (NFKC: full-width and "mathematical bold" letters), case
  folded, zero-width and other invisible format characters dropped;
- common Cyrillic and Greek look-alikes mapped to the Latin letters they imitate (`ѕuісіdе`);
- accents stripped (`suïcide` -> `suicide`);
- leetspeak inside words that also contain letters: 0->o 1->i 3->e 4->a 5->s 7->t @->a $->s
  (`k1ll`, `$uicide`, `h3r0in`); numbers on their own (`1984`, `top 10`) stay numbers;
- apostrophes removed (`i'm` -> `im`), every other punctuation mark becomes a space;
- runs of three or more single letters joined (`s u i c i d e`, `k.i.l.l`, `s-e-x`), where
  punctuation or a single space separates letters and two spaces separate words;
- runs of three or more identical letters shortened to two (`killll` -> `kill`);
  `normalise_variants` also gives the one-letter form (`kiiiill` -> `kill`).

The same function normalises library terms, so terms are written in plain English.

Speed (issue 14: every search is scanned): most searches are already plain, lower-case ASCII
words with single spaces. A few cheap searches (`_is_plain`) tell whether a text needs any of
the steps above; when it does not, the text is returned as it is instead of passing through
each rewriting pattern in turn (the result is the same string either way: each step only
changes what `_is_plain` looks for).
"""

from __future__ import annotations

import re
import unicodedata

_HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic
        "а": "a",
        "в": "b",
        "с": "c",
        "ԁ": "d",
        "е": "e",
        "ё": "e",
        "һ": "h",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "ԛ": "q",
        "ѕ": "s",
        "т": "t",
        "у": "y",
        "ԝ": "w",
        "х": "x",
        "ү": "y",
        "ɡ": "g",
        # Greek
        "α": "a",
        "β": "b",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ω": "w",
        "ς": "s",
        "σ": "s",
        # Latin oddities NFKD does not decompose
        "ø": "o",
        "đ": "d",
        "ł": "l",
        "ı": "i",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
    }
)

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t"})
_SYMBOL_LETTERS = str.maketrans({"@": "a", "$": "s"})
_APOSTROPHES = re.compile(r"['’‘`´]")
_GAP = "\x00"
_WIDE_GAP = re.compile(r"\s{2,}")
_NON_WORD = re.compile(r"[^a-z0-9\x00]+")
_HAS_LETTER = re.compile(r"[a-z]")
_LONG_RUN = re.compile(r"([a-z])\1{2,}")
_LEET_CHAR = re.compile(r"[0-9@$]")
_NON_LETTER = re.compile(r"[^a-z]+")
# "k.i.l.l", "s-e-x", "s*u*i*c*i*d*e": three or more letters joined by punctuation.
_DOTTED_LETTERS = re.compile(r"(?<![a-z0-9])[a-z](?:[^a-z0-9\s]+[a-z]){2,}(?![a-z0-9])")
# "s u i c i d e": three or more letters with single spaces; two spaces separate words.
_SPACED_LETTERS = re.compile(r"(?<![a-z0-9])[a-z](?: [a-z]){2,}(?![a-z0-9])")


# `_is_plain`: lower-case ASCII text (apostrophes removed) that no rewriting step changes.
_NOT_LETTER = re.compile(r"[^a-z ]")
_NOT_PLAIN = re.compile(r"[^a-z0-9 ]")
_LETTER_DIGIT = re.compile(r"[a-z][0-9]")
_DIGIT_LETTER = re.compile(r"[0-9][a-z]")
_THREE_SINGLE_LETTERS = re.compile(r" [a-z] [a-z] [a-z](?![a-z0-9])")
_THREE_IN_A_ROW = re.compile(r"([a-z])\1\1")
"""Whether `_LONG_RUN` would change a text (a cheaper search than `_LONG_RUN`'s)."""


def normalise(text: str) -> str:
    """Lower-case, unaccented, de-disguised words separated by single spaces."""
    words = _words(text)
    return words if _THREE_IN_A_ROW.search(words) is None else _LONG_RUN.sub(r"\1\1", words)


def normalise_variants(text: str) -> tuple[str, ...]:
    """`normalise(text)`, plus the form with long runs cut to one letter if there were any.

    `killll` needs runs cut to two letters to read `kill`, `kiiiill` needs one: the scanner
    tries both rather than guessing.
    """
    words = _words(text)
    if _THREE_IN_A_ROW.search(words) is None:
        return (words,)
    return (_LONG_RUN.sub(r"\1\1", words), _LONG_RUN.sub(r"\1", words))


def _words(text: str) -> str:
    if text.isascii():
        text = text.lower()
        if "'" in text or "`" in text:  # the ASCII apostrophes of _APOSTROPHES
            text = text.replace("'", "").replace("`", "")
        if _is_plain(text):
            return text  # already plain words: every step below would leave it as it is
    else:
        text = _APOSTROPHES.sub("", _fold_unicode(text))
    return _rewritten(text)


def _is_plain(text: str) -> bool:
    """Whether lower-case `text` is words of letters and digits with single spaces, with no
    letter beside a digit (leetspeak is read only in words that mix them) and no three single
    letters in a row ("s u i c i d e"): text that `_rewritten` returns unchanged."""
    if "  " in text or text.startswith(" ") or text.endswith(" "):
        return False
    if _NOT_LETTER.search(text) is not None and (
        _NOT_PLAIN.search(text) is not None
        or _LETTER_DIGIT.search(text) is not None
        or _DIGIT_LETTER.search(text) is not None
    ):
        return False
    return _THREE_SINGLE_LETTERS.search(" " + text) is None


def _rewritten(text: str) -> str:
    """Lower-case `text` without apostrophes, leetspeak, dotted and spaced letters rewritten."""
    if _LEET_CHAR.search(text):
        text = " ".join(_unleet(word) for word in text.split(" "))
    text = _DOTTED_LETTERS.sub(lambda m: _NON_LETTER.sub("", m.group(0)), text)
    text = _NON_WORD.sub(" ", _WIDE_GAP.sub(_GAP, text))
    text = _SPACED_LETTERS.sub(lambda m: m.group(0).replace(" ", ""), text)
    return " ".join(text.replace(_GAP, " ").split())


def _fold_unicode(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    text = text.translate(_HOMOGLYPHS)
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


def _unleet(word: str) -> str:
    """Map digits and symbols to letters only in words that are partly letters (`k1ll`)."""
    if not _LEET_CHAR.search(word):
        return word
    mapped = word.translate(_SYMBOL_LETTERS)
    if not _HAS_LETTER.search(mapped):
        return word
    return mapped.translate(_LEET)
