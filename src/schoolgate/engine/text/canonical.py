"""Canonical words for the intent grammar: how pupils really write, folded to one spelling.

`canonical(words)` takes `normalise()`d text (lower case, no apostrophes, runs of letters cut to
two) and rewrites text-speak and common misspellings word by word, so one grammar rule reads
"im gonna kms", "i'm going to kill myself" and "i am goin 2 kill myslef" alike:

- contractions without apostrophes: `im` -> `i am`, `dont` -> `do not`, `ill` -> `i will`;
- txt spelling: `u` -> `you`, `ur` -> `your`, `r` -> `are`, `wanna` -> `want to`,
  `gonna` -> `going to`, `2` -> `to`, `pls` -> `please`;
- misspellings of the words the grammar needs: `myslef` -> `myself`, `sucide` -> `suicide`.

Only the intent grammar reads canonical text; the keyword libraries match the normalised text
as before, so a library term never changes meaning. Requirements: SH-024, CAV-065, HG-043.
"""

from __future__ import annotations

_WORDS: dict[str, str] = {
    # contractions written without apostrophes
    "im": "i am",
    "iam": "i am",
    "ima": "i am going to",
    "imma": "i am going to",
    "ive": "i have",
    "id": "i would",
    "dont": "do not",
    "dnt": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "cant": "can not",
    "cannot": "can not",
    "cnt": "can not",
    "wont": "will not",
    "wouldnt": "would not",
    "shouldnt": "should not",
    "isnt": "is not",
    "arent": "are not",
    "aint": "is not",
    "youre": "you are",
    "yourre": "you are",
    "youll": "you will",
    "hes": "he is",
    "shes": "she is",
    "theyre": "they are",
    "whats": "what is",
    "thats": "that is",
    "theres": "there is",
    # txt spelling
    "u": "you",
    "yu": "you",
    "ya": "you",
    "yoo": "you",
    "ur": "your",
    "yr": "your",
    "r": "are",
    "wanna": "want to",
    "wana": "want to",
    "wanta": "want to",
    "wantto": "want to",
    "gonna": "going to",
    "gona": "going to",
    "gunna": "going to",
    "gna": "going to",
    "finna": "going to",
    "goin": "going",
    "boutta": "about to",
    "bout": "about",
    "tryna": "trying to",
    "gotta": "got to",
    "2": "to",
    "pls": "please",
    "plz": "please",
    "plez": "please",
    "plis": "please",
    "rly": "really",
    "realy": "really",
    "srsly": "seriously",
    "jus": "just",
    "juss": "just",
    "anymore": "any more",
    "nomore": "no more",
    "ppl": "people",
    "nobody": "no one",
    "noone": "no one",
    "noi": "no one",
    "everyi": "everyone",
    "evryone": "everyone",
    "every1": "everyone",
    "somei": "someone",
    "sum1": "someone",
    "lyf": "life",
    "lyfe": "life",
    "livin": "living",
    "tierd": "tired",
    "tird": "tired",
    "ded": "dead",
    "frend": "friend",
    "freind": "friend",
    "bestie": "friend",
    "bff": "friend",
    "mate": "friend",
    "m8": "friend",
    "mom": "mum",
    "mam": "mum",
    # the grammar's own words, misspelt
    "myslef": "myself",
    "myslf": "myself",
    "mysef": "myself",
    "meself": "myself",
    "mself": "myself",
    "myselff": "myself",
    "urself": "yourself",
    "urslf": "yourself",
    "yourslef": "yourself",
    "yoself": "yourself",
    "yrself": "yourself",
    "youself": "yourself",
    "sucide": "suicide",
    "suicde": "suicide",
    "suiside": "suicide",
    "suacide": "suicide",
    "suicid": "suicide",
    "suiced": "suicide",
    "sucidal": "suicidal",
    "suicidel": "suicidal",
    "selfharm": "self harm",
    "selfharming": "self harming",
    "ugy": "ugly",
    "ugley": "ugly",
    "fatso": "fat",
    "stoopid": "stupid",
    "stupd": "stupid",
}

_PAIRS: dict[tuple[str, str], str] = {
    ("my", "self"): "myself",
    ("your", "self"): "yourself",
    ("any", "more"): "any more",
    ("no", "body"): "no one",
    ("no", "1"): "no one",
}


_PAIR_FIRST = frozenset(first for first, _ in _PAIRS)


def canonical(words: str) -> str:
    """Normalised `words` with text-speak and misspellings folded to one spelling."""
    tokens = words.split(" ")
    if _PAIR_FIRST.isdisjoint(tokens):
        get = _WORDS.get
        return " ".join([get(token, token) for token in tokens])
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if i + 1 < len(tokens) and (tokens[i], tokens[i + 1]) in _PAIRS:
            out.append(_PAIRS[tokens[i], tokens[i + 1]])
            i += 2
            continue
        out.append(_WORDS.get(tokens[i], tokens[i]))
        i += 1
    return " ".join(out)
